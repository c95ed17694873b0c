/**
 * One call that does what every front end shows: run the op, take statistics before and after, run the
 * equivalence checks and raise health flags. The CLI's --json, the panel and the notebook renderer all
 * present this object.
 */
import { DType } from './dtype';
import { NormOutput, NormParams, ResolvedParams, ShapeReport } from './params';
import { Tensor, toComputeArray } from './tensor';
import { normalize } from './ops';
import { ChannelLayout, channelLayout, DEFAULT_BINS, sideStats, SideStats } from './stats';
import { CheckResult, equivalenceChecks, Flag, healthFlags } from './checks';

export interface AnalyzeOptions {
  /** Histogram bins per side (default 50). */
  readonly bins?: number;
  /** Run the equivalence checks (several more op runs). Default true. */
  readonly checks?: boolean;
  /** Runs the op and the checks' ops: `normalize` (TypeScript kernels) by default; the CLI passes the fast kernels'. */
  readonly normalize?: (x: Tensor, p: NormParams) => NormOutput;
  /**
   * Runs the op and takes both sides' statistics at once (the fast kernels' `normalizeWithStats`); when given,
   * the main run uses it instead of `normalize` and two `sideStats`. A result without `stats` gets the others'.
   */
  readonly normalizeWithStats?: (x: Tensor, p: NormParams, spec: StatsRequest) => NormOutput & { readonly stats?: { readonly before?: SideStats; readonly after: SideStats } };
  /** One side's statistics: stats.ts `sideStats` by default; the fast kernels' `sideStats` gives the same. */
  readonly sideStats?: (values: ArrayLike<number>, layout: ChannelLayout, bins: number, groups: readonly (readonly [number, number])[]) => SideStats;
}

/** What `analyze` takes statistics of: the channel layout of the input's shape, the bins and the groups. */
export interface StatsRequest {
  readonly layout: ChannelLayout;
  readonly bins: number;
  readonly groups: readonly (readonly [number, number])[];
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

/** Channel ranges [first, last] of GroupNorm's groups, or none for the other ops. */
export function groupRanges(channels: number, p: NormParams): [number, number][] {
  if (p.op !== 'group' || !p.groups || channels % p.groups !== 0) return [];
  const size = channels / p.groups;
  return Array.from({ length: p.groups }, (_, g) => [g * size, g * size + size - 1] as [number, number]);
}

/**
 * Statistics of one tensor with channels as `p` defines them (for `normscope stats` and hovers); `stats` is
 * stats.ts `sideStats` by default, or the fast kernels' (same results).
 */
export function tensorStats(
  x: Tensor, p: Pick<NormParams, 'unbatched' | 'layout'> = {}, bins = DEFAULT_BINS,
  stats: NonNullable<AnalyzeOptions['sideStats']> = sideStats,
): SideStats {
  return stats(toComputeArray(x), channelLayout(x.shape, channelAxis(x.shape, p)), bins, []);
}

/** Runs `p` on `x` and gathers statistics, checks and flags. Throws NormScopeError for bad input or params. */
export function analyze(x: Tensor, p: NormParams, opts: AnalyzeOptions = {}): Analysis {
  const bins = opts.bins ?? DEFAULT_BINS;
  const run = opts.normalize ?? normalize;
  const stats = opts.sideStats ?? sideStats;
  const layout = channelLayout(x.shape, channelAxis(x.shape, p));
  const groups = groupRanges(layout.channels, p);
  let result: NormOutput;
  let fused: { readonly before?: SideStats; readonly after: SideStats } | undefined;
  if (opts.normalizeWithStats) {
    const { stats: s, ...out } = opts.normalizeWithStats(x, p, { layout, bins, groups });
    result = out;
    fused = s;
  } else {
    result = run(x, p);
  }
  const before = fused?.before ?? stats(toComputeArray(x), layout, bins, groups);
  const after = fused?.after ?? stats(toComputeArray(result.output), layout, bins, groups);
  return {
    input: { shape: [...x.shape], dtype: x.dtype },
    op: result.resolved,
    shape_report: result.shapeReport,
    stats: { before, after },
    checks: opts.checks === false ? [] : equivalenceChecks(x, p, run),
    flags: healthFlags(x, p, result, before, after, run, stats),
    warnings: result.warnings,
    result,
  };
}
