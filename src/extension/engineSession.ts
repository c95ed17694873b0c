/**
 * What the engine worker does, without the thread: holds one tensor and answers load/analyze/checks/npy
 * requests. Pure (engine only), so unit tests drive it directly; worker.ts wires it to a worker thread.
 *
 * Phase 1 (`analyze`) is analyze() minus the checks and flags: normalize, then statistics before and after.
 * The "before" statistics depend only on the channel layout, groups and bins, so parameter changes reuse them.
 * Phase 2 (`checks`) adds what analyze() computes last: the equivalence checks and the health flags.
 */
import { channelAxis, groupRanges } from '../engine/analyze';
import { equivalenceChecks, healthFlags } from '../engine/checks';
import { isNormScopeError, NormScopeError } from '../engine/errors';
import { listJsonTensors, decodeJsonText } from '../engine/formats/json';
import { loadTensor, detectFormat } from '../engine/formats/input';
import { listTensors } from '../engine/formats/open';
import { parseLiteral } from '../engine/formats/literal';
import { writeNpy } from '../engine/formats/npy';
import { normalize } from '../engine/ops';
import type { NormOutput, NormParams } from '../engine/params';
import { channelLayout, sideStats, SideStats } from '../engine/stats';
import { numel, Tensor, toComputeArray } from '../engine/tensor';
import type { AnalysisView } from '../protocol/messages';
import { checkView, flagView, paramChoices, runningView, toNormParams } from './panelModel';
import type { TensorChoice, WorkerReply, WorkerRequest } from './workerMessages';

interface Last {
  readonly params: NormParams;
  readonly out: NormOutput;
  readonly before: SideStats;
  readonly after: SideStats;
}

export class EngineSession {
  private x: Tensor | undefined;
  private last: Last | undefined;
  private beforeCache: { key: string; stats: SideStats } | undefined;

  /** `runOp` runs the ops: the TypeScript kernels by default; the worker passes the fast kernels'. */
  constructor(private readonly runOp: (x: Tensor, p: NormParams) => NormOutput = normalize) {}

  /** Answers one request; never throws (errors become `ok: false` replies). */
  handle(req: WorkerRequest): WorkerReply {
    try {
      return this.run(req);
    } catch (e) {
      if (isNormScopeError(e)) return { id: req.id, ok: false, user: true, message: e.message };
      if (e instanceof RangeError && /allocation|Array buffer|Invalid typed array length/i.test(e.message)) {
        return { id: req.id, ok: false, user: true, message: `out of memory: ${e.message}` };
      }
      return { id: req.id, ok: false, user: false, message: e instanceof Error ? e.stack ?? e.message : String(e) };
    }
  }

  private run(req: WorkerRequest): WorkerReply {
    switch (req.kind) {
      case 'load': {
        this.x = undefined;
        this.last = undefined;
        this.beforeCache = undefined;
        let x: Tensor;
        if (req.literal !== undefined) {
          x = parseLiteral(req.literal).tensor;
        } else {
          const bytes = req.bytes ?? new Uint8Array(0);
          let selector = req.selector;
          if (req.listIfSeveral && selector === undefined) {
            const tensors = this.list(req.name, bytes);
            if (tensors.length > 1) return { id: req.id, ok: true, kind: 'several', tensors };
            if (tensors.length === 1 && tensors[0].selector !== '') selector = tensors[0].selector;
          }
          x = loadTensor(req.name, bytes, selector);
        }
        this.x = x;
        return {
          id: req.id, ok: true, kind: 'loaded',
          info: { label: req.label, shape: [...x.shape], dtype: x.dtype, numel: numel(x.shape) },
          choices: paramChoices(x.shape),
        };
      }
      case 'analyze': {
        const x = this.tensor();
        const t0 = Date.now();
        const p = toNormParams(x, req.params);
        const out = this.runOp(x, p);
        const layout = channelLayout(x.shape, channelAxis(x.shape, p));
        const groups = groupRanges(layout.channels, p);
        const key = JSON.stringify([layout, groups, req.bins]);
        if (this.beforeCache?.key !== key) {
          this.beforeCache = { key, stats: sideStats(toComputeArray(x), layout, req.bins, groups) };
        }
        const before = this.beforeCache.stats;
        const after = sideStats(toComputeArray(out.output), layout, req.bins, groups);
        this.last = { params: p, out, before, after };
        const view: AnalysisView = {
          input: { shape: [...x.shape], dtype: x.dtype },
          op: out.resolved,
          shape_report: out.shapeReport,
          stats: { before, after },
          warnings: out.warnings,
          running: runningView(out),
          ms: Date.now() - t0,
        };
        return { id: req.id, ok: true, kind: 'analyzed', view };
      }
      case 'checks': {
        const x = this.tensor();
        const last = this.lastRun();
        const t0 = Date.now();
        const checks = equivalenceChecks(x, last.params, this.runOp).map(checkView);
        const flags = healthFlags(x, last.params, last.out, last.before, last.after, this.runOp).map(flagView);
        return { id: req.id, ok: true, kind: 'checked', checks, flags, ms: Date.now() - t0 };
      }
      case 'npy':
        return { id: req.id, ok: true, kind: 'npy', bytes: writeNpy(this.lastRun().out.output) };
      default: {
        const never: never = req;
        throw new Error(`unknown worker request ${JSON.stringify(never)}`);
      }
    }
  }

  /** The tensors of a .json/.npz/.safetensors file (empty for .npy: it holds one). */
  private list(name: string, bytes: Uint8Array): TensorChoice[] {
    if (detectFormat(name, bytes) === 'json') {
      const tensors = listJsonTensors(decodeJsonText(bytes));
      if (tensors.length === 0) throw new NormScopeError('no tensor (array of numbers or {shape, data} object) in this JSON document');
      return tensors.map((t) => ({ selector: t.pointer, shape: t.shape, dtype: t.dtype }));
    }
    const listing = listTensors(name, bytes);
    return listing ? listing.tensors.map((t) => ({ selector: t.name, shape: t.shape, dtype: t.dtype })) : [];
  }

  private tensor(): Tensor {
    if (!this.x) throw new Error('no tensor loaded');
    return this.x;
  }

  private lastRun(): Last {
    if (!this.last) throw new NormScopeError('nothing normalized yet');
    return this.last;
  }
}
