/**
 * One call that does what every front end shows: run the op, take statistics before and after, run the
 * equivalence checks and raise health flags. The CLI's --json, the panel and the notebook renderer all
 * present this object.
 */
import { DType } from './dtype';
import { NormOutput, NormParams, ResolvedParams, ShapeReport } from './params';
import { Tensor, toComputeArray } from './tensor';
import { ChannelLayout, channelLayout, DEFAULT_BINS, SideStats, wideAxisNote } from './stats';
import { CheckResult, equivalenceChecks, Flag, healthFlags } from './checks';
import { Kernels, tsKernels } from './kernels';

export interface AnalyzeOptions {
  /** Histogram bins per side (default 50). */
  readonly bins?: number;
  /** Run the equivalence checks (several more op runs). Default true. */
  readonly checks?: boolean;
  /** The kernels the op, the checks' ops and the statistics run on (default `tsKernels`; the CLI passes its pool). */
  readonly kernels?: Kernels;
}

export interface Analysis {
  readonly input: { readonly shape: readonly number[]; readonly dtype: DType };
  readonly op: ResolvedParams;
  readonly shape_report: ShapeReport;
  readonly stats: { readonly before: SideStats; readonly after: SideStats };
  readonly checks: CheckResult[];
  readonly flags: Flag[];
  readonly warnings: readonly string[];
  /** The normalized tensor and updated running statistics (not serialized by front ends). */
  readonly result: NormOutput;
}

/** The axis the statistics call "channel": 1 for (N, C, *), 0 when unbatched, the last one for nhwc. */
export function channelAxis(shape: readonly number[], p: Pick<NormParams, 'unbatched' | 'layout'>): number {
  if (shape.length === 0) return -1;
  if (p.layout === 'nhwc') return shape.length - 1;
  if (p.unbatched) return 0;
  return shape.length >= 2 ? 1 : -1;
}

/** Why statistics of `shape` are of the whole tensor, not per channel as `p` defines channels (see stats.ts wideAxisNote). */
export function wideAxisWarning(shape: readonly number[], p: Pick<NormParams, 'unbatched' | 'layout'>): string | undefined {
  return wideAxisNote(shape, channelAxis(shape, p));
}

/** `warnings` and, where the channel axis is too long for per-channel statistics, why they are of the whole tensor. */
export function withWideAxisNote(warnings: readonly string[], shape: readonly number[], p: Pick<NormParams, 'unbatched' | 'layout'>): readonly string[] {
  const note = wideAxisWarning(shape, p);
  return note ? [...warnings, note] : warnings;
}

/** Channel ranges [first, last] of GroupNorm's groups, or none for the other ops. */
export function groupRanges(channels: number, p: NormParams): [number, number][] {
  if (p.op !== 'group' || !p.groups || channels % p.groups !== 0) return [];
  const size = channels / p.groups;
  return Array.from({ length: p.groups }, (_, g) => [g * size, g * size + size - 1] as [number, number]);
}

/**
 * Statistics of one tensor with channels as `p` defines them (for `normscope stats` and hovers), on `kernels`
 * (the TypeScript kernels by default; any `Kernels` gives the same results).
 */
export function tensorStats(
  x: Tensor, p: Pick<NormParams, 'unbatched' | 'layout'> = {}, bins = DEFAULT_BINS,
  kernels: Pick<Kernels, 'sideStats'> = tsKernels,
): SideStats {
  return kernels.sideStats(toComputeArray(x), channelLayout(x.shape, channelAxis(x.shape, p)), bins, []);
}

/** Runs `p` on `x` and gathers statistics, checks and flags. Throws NormScopeError for bad input or params. */
export function analyze(x: Tensor, p: NormParams, opts: AnalyzeOptions = {}): Analysis {
  const bins = opts.bins ?? DEFAULT_BINS;
  const k = opts.kernels ?? tsKernels;
  const run = (y: Tensor, q: NormParams): NormOutput => k.normalize(y, q);
  const stats = (v: ArrayLike<number>, l: ChannelLayout, b: number, g: readonly (readonly [number, number])[]): SideStats => k.sideStats(v, l, b, g);
  const layout = channelLayout(x.shape, channelAxis(x.shape, p));
  const groups = groupRanges(layout.channels, p);
  const { stats: fused, ...result } = k.normalizeWithStats(x, p, { layout, bins, groups });

  const before = fused.before ?? stats(toComputeArray(x), layout, bins, groups);
  const after = fused.after;
  return {
    input: { shape: [...x.shape], dtype: x.dtype },
    op: result.resolved,
    shape_report: result.shapeReport,
    stats: { before, after },
    checks: opts.checks === false ? [] : equivalenceChecks(x, p, run),
    flags: healthFlags(x, p, result, before, after, run, stats),
    warnings: withWideAxisNote(result.warnings, x.shape, p),
    result,
  };
}
