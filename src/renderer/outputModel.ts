/**
 * What one notebook output shows, computed from its payload with the engine (plain TypeScript kernels: the
 * renderer's webview may allow neither WebAssembly nor workers). Pure: no DOM, so unit tests run it in Node.
 *   phase 1 (`firstPhase`): decode; without `norm`, statistics and one histogram; with `norm`, the op's before/after
 *                           statistics, shape report, warnings and health flags (analyze() minus the checks);
 *   phase 2 (`checksPhase`): the equivalence checks (several more op runs), drawn when they are done.
 */
import { analyze, tensorStats } from '../engine/analyze';
import { equivalenceChecks } from '../engine/checks';
import { DType } from '../engine/dtype';
import { decodePayload } from '../engine/formats/payload';
import { NormParams } from '../engine/params';
import { SideStats } from '../engine/stats';
import { Tensor, numel } from '../engine/tensor';
import type { AnalysisView, ChecksMessage } from '../protocol/messages';
import { checkView, flagView } from '../extension/panelModel';

/** Bins per histogram in notebook outputs (the panel's default). */
export const OUTPUT_BINS = 50;

interface Head {
  /** The payload's name, or "tensor". */
  readonly title: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly numel: number;
}

export type OutputModel =
  | { readonly kind: 'error'; readonly message: string }
  | (Head & { readonly kind: 'stats'; readonly stats: SideStats })
  | (Head & { readonly kind: 'norm'; readonly view: AnalysisView; readonly flags: ChecksMessage['flags']; readonly x: Tensor; readonly params: NormParams });

/** One line, prefixed, for the output: what is wrong with the payload or the parameters. */
export function errorLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return `NormScope: ${message.replace(/\s*\n\s*/g, ' ')}`;
}

function isUserError(e: unknown): boolean {
  return e instanceof Error && e.name === 'NormScopeError';
}

/** Decodes the payload and computes what is drawn first. Never throws: a bad payload becomes an error model. */
export function firstPhase(value: unknown, bins = OUTPUT_BINS): OutputModel {
  try {
    const p = decodePayload(value);
    const x = p.tensor;
    const head: Head = { title: p.name ?? 'tensor', shape: x.shape, dtype: x.dtype, numel: numel(x.shape) };
    if (!p.norm) return { ...head, kind: 'stats', stats: tensorStats(x, {}, bins) };
    const t0 = Date.now();
    const a = analyze(x, p.norm, { bins, checks: false });
    const view: AnalysisView = {
      input: a.input, op: a.op, shape_report: a.shape_report, stats: a.stats, warnings: a.warnings, ms: Date.now() - t0,
    };
    return { ...head, kind: 'norm', view, flags: a.flags.map(flagView), x, params: p.norm };
  } catch (e) {
    if (isUserError(e) || e instanceof RangeError) return { kind: 'error', message: errorLine(e) };
    return { kind: 'error', message: errorLine(`internal error (a bug, please report it): ${e instanceof Error ? e.message : String(e)}`) };
  }
}

/** The equivalence checks of a norm output, as the panel's cards take them (flags from phase 1). */
export function checksPhase(m: Extract<OutputModel, { kind: 'norm' }>): ChecksMessage {
  const t0 = Date.now();
  const checks = equivalenceChecks(m.x, m.params).map(checkView);
  return { type: 'checks', requestId: 0, checks, flags: m.flags, ms: Date.now() - t0 };
}
