/**
 * The one interface the ops and statistics run on: analyze() (the CLI's in-memory path), the streamed path
 * (streaming.ts) and the extension's engine session all take a `Kernels`. Three implementations, each used
 * directly: `tsKernels` (the TypeScript reference kernels, and the fallback where WebAssembly does not load),
 * FastKernels (fast/fastKernels.ts: WebAssembly, this thread) and ParallelKernels (node/pool.ts: the same
 * split across threads). They agree: outputs bit for bit; statistics' counts, extremes, edges and histograms
 * exactly; means and stds to float64 rounding (sums in another order).
 */
import { normalize } from './ops';
import { NormOutput, NormParams } from './params';
import { ChannelLayout, DEFAULT_BINS, SideStats, sideStats } from './stats';
import { Tensor, toComputeArray } from './tensor';
import type { ChunkKernels } from './streamKernels';

/** Channel ranges [first, last] of groups (GroupNorm's), as `sideStats` takes them. */
export type GroupRanges = readonly (readonly [number, number])[];

/** What `normalizeWithStats` takes statistics of: the channel layout of the input's shape, as `analyze` uses. */
export interface StatsSpec {
  readonly layout: ChannelLayout;
  readonly bins?: number;
  readonly groups?: GroupRanges;
  /** false: the output's statistics only (`stats.before` absent), e.g. when the caller keeps the input's. */
  readonly before?: boolean;
}

/** Statistics of both sides of an op: `before` absent when `StatsSpec.before` is false. */
export interface BothSides {
  readonly before?: SideStats;
  readonly after: SideStats;
}

export interface Kernels {
  /** Runs `p` on `x` (PyTorch's semantics; see ops). */
  normalize(x: Tensor, p: NormParams): NormOutput;
  /** `normalize` plus `sideStats` of the input (unless `spec.before` is false) and of the output. */
  normalizeWithStats(x: Tensor, p: NormParams, spec: StatsSpec): NormOutput & { readonly stats: BothSides };
  /** stats.ts `sideStats`: per-channel, per-group and overall statistics with histograms. */
  sideStats(values: ArrayLike<number>, layout: ChannelLayout, bins: number, groups: GroupRanges): SideStats;
  /** A zeroed float32 array in the kernels' memory (a tensor on it is read in place), or null (no such memory). */
  allocFloat32(n: number): Float32Array | null;
  /** Gives an output's (or `allocFloat32`'s) memory back at once; a no-op where there is no such memory. */
  release(a: Tensor | Float32Array): void;
  /** The streamed passes' per-chunk statistics on these kernels (streamKernels.ts); absent: TypeScript. */
  readonly chunks?: ChunkKernels;
}

/** Both sides' `sideStats` of an op run in memory (`stats`: the TypeScript `sideStats` by default). */
export function statsOfRun(
  x: Tensor, output: Tensor, spec: StatsSpec, stats: Kernels['sideStats'] = sideStats,
): BothSides {
  const bins = spec.bins ?? DEFAULT_BINS;
  const groups = spec.groups ?? [];
  const before = spec.before === false ? undefined : stats(toComputeArray(x), spec.layout, bins, groups);
  return { before, after: stats(toComputeArray(output), spec.layout, bins, groups) };
}

/** The TypeScript reference kernels: the default, and the fallback where WebAssembly does not load. */
export const tsKernels: Kernels = {
  normalize,
  normalizeWithStats(x, p, spec) {
    const out = normalize(x, p);
    return { ...out, stats: statsOfRun(x, out.output, spec) };
  },
  sideStats,
  allocFloat32: () => null,
  release: () => undefined,
};

/**
 * How many jobs a phase is split into, whatever the thread count: float64 sums merge part by part, so a fixed
 * split makes every result (BatchNorm's batch moments, the statistics' means and stds) the same bits on 1 thread
 * and on many. Up to this many threads share one op; on fewer, each thread takes several jobs.
 */
export const WORK_PARTS = 8;

/** [start, end) ranges splitting `count` items into at most `parts` near-equal non-empty pieces. */
export function split(count: number, parts: number): [number, number][] {
  const k = Math.max(1, Math.min(parts, count));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) out.push([Math.floor((count * i) / k), Math.floor((count * (i + 1)) / k)]);
  return out;
}
