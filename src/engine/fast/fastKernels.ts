/**
 * The optional fast path: the five normalizations on WebAssembly SIMD kernels (kernels.wat) over tensors in a
 * shared WebAssembly memory. Same validation, same PyTorch semantics and the same numerics as `normalize`
 * (float64 statistics and outputs, rounded once to float32); the TypeScript kernels stay the reference and
 * the fallback. Selected explicitly: `fast.normalize(x, p)` where `normalize(x, p)` is the default; FastKernels
 * implements the engine's `Kernels` (kernels.ts), so analyze(), the streamed path and the engine session take it.
 *
 * Covered: float32 input with float32 output, every op and layout. Everything else (float64 and integer
 * input, tensors the memory cannot hold next to the outputs still alive) falls back to the TypeScript kernels,
 * with the same result type and `kernels: 'ts'`.
 *
 * Work is described as jobs (a kernel and its arguments over a range of rows or samples) so a worker pool can
 * split an op across threads: `steps(x, p, parts)` yields the jobs of each phase, one per part, and returns the
 * result once every phase has run. `normalize` runs them in this thread.
 *
 * Memory: inputs outside the arena are copied in for the call; outputs live in the arena (their `.buffer` is
 * the shared memory) and go back to it when garbage collected, or at once with `release(output)`.
 *
 * Statistics: `sideStats`/`sideStatsSteps` are stats.ts `sideStats` on the kernels (stats1_f32: count, sum, min,
 * max, NaN, Inf per channel; stats2_f32: squared deviations and histogram counts), each part of a phase writing
 * its own accumulators, merged here. `normalizeWithStats`/`normalizeWithStatsSteps` run the op and take both
 * sides' statistics: BatchNorm, GroupNorm and InstanceNorm take pass 1 of both sides in their write pass (it reads
 * every input and writes every output, channel block by channel block), so each side adds one pass (pass 2);
 * LayerNorm and RMSNorm add two per side. Exact where stats.ts is (counts, min, max, edges, histograms); mean and
 * std to float64 rounding (other summation order).
 */
import { NormScopeError } from '../errors';
import { NormOutput, NormParams } from '../params';
import { Tensor, isContiguous, numel, tensor, toComputeArray } from '../tensor';
import { normalize, planOf } from '../ops';
import { updateRunningStats } from '../ops/batchNorm';
import { OpPlan, channelsFirstToLast, channelsLastToFirst, invStdBatch, valuesOf, varianceOf } from '../ops/common';
import { ChannelAccumulator, ChannelLayout, DEFAULT_BINS, SideStats, finishSide, histogramPlan, newAccumulator, sideStats } from '../stats';
import { BothSides, Kernels, StatsSpec, WORK_PARTS, split, statsOfRun } from '../kernels';
import { ChunkKernels, chunkKernels } from '../streamKernels';
import { Arena, SharedMemoryLike } from './arena';

/** The exported kernels of kernels.wat (addresses are byte offsets into the shared memory). */
export interface KernelExports {
  group_f32(x: number, o: number, r0: number, r1: number, G: number, cpg: number, S: number, eps: number,
    w: number, b: number, batch: number, stats: number, accIn: number, accOut: number): void;
  layer_f32(x: number, o: number, r0: number, r1: number, K: number, eps: number, w: number, b: number, stats: number,
    accIn?: number, accOut?: number, C?: number, S?: number): void;
  rms_f32(x: number, o: number, r0: number, r1: number, K: number, eps: number, w: number, stats: number,
    accIn?: number, accOut?: number, C?: number, S?: number): void;
  bn_sums_f32(x: number, n0: number, n1: number, C: number, S: number, shift: number, sd: number, sq: number): void;
  bn_apply_f32(x: number, o: number, n0: number, n1: number, C: number, S: number, k: number, scale: number, shift: number,
    accIn: number, accOut: number): void;
  stats1_f32(x: number, o0: number, o1: number, c0: number, c1: number, C: number, inner: number, acc: number): void;
  stats2_f32(x: number, o0: number, o1: number, c0: number, c1: number, C: number, inner: number, lo: number, scale: number,
    bins: number, means: number, acc: number, copies: number): void;
}
export type KernelName = keyof KernelExports;

/** One kernel call; plain data, so it can be posted to a worker that shares the memory. */
export interface Job {
  readonly fn: KernelName;
  readonly args: readonly number[];
}

/** Runs one job on an instance of the kernels. */
export function runJob(k: KernelExports, job: Job): void {
  (k[job.fn] as (...a: number[]) => void)(...job.args);
}

/** What the engine needs of the host's WebAssembly (declared here: the engine has no DOM or Node types). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedMemoryLike;
  Instance: new (m: unknown, imports: object) => { exports: unknown };
}
function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

/** Instantiates the kernels of a compiled kernels.wasm on a shared memory. */
export function instantiateKernels(module: unknown, memory: SharedMemoryLike): KernelExports {
  const api = wasmApi();
  if (!api) throw new NormScopeError('WebAssembly is not available here');
  return new api.Instance(module, { env: { memory } }).exports as KernelExports;
}

/** The input's per-statistic-group mean and biased variance (RMSNorm: mean square), from the same pass. */
export interface GroupMoments {
  readonly mean: Float64Array;
  readonly var: Float64Array;
}

export interface FastOutput extends NormOutput {
  /** Which kernels ran: 'wasm', or 'ts' where the fast path does not apply (see the module comment). */
  readonly kernels: 'wasm' | 'ts';
  /**
   * Statistics the kernels computed on the way (no extra pass): per group for GroupNorm, InstanceNorm,
   * LayerNorm and RMSNorm (mean square in `mean`, `var` 0), per channel for BatchNorm in train mode.
   */
  readonly moments?: GroupMoments;
}

export interface FastStatsOutput extends FastOutput {
  /** `sideStats` of the input (unless `spec.before` is false) and of the output (see `sideStatsSteps`). */
  readonly stats: BothSides;
}

export interface FastOptions {
  /** Largest size the shared memory may grow to, in bytes (default and most: 4 GiB, WebAssembly's limit). */
  readonly maxMemoryBytes?: number;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
const SHIFT_TRUST = 16; // ops/common.ts
/**
 * LayerNorm/RMSNorm take their statistics' pass 1 per channel segment after writing rows (see the fuse test in
 * opSteps) when a segment holds at least this many values; shorter segments cost more in calls than a pass.
 */
const ROW_STATS_MIN_INNER = 16;

export class FastKernels implements Kernels {
  readonly memory: SharedMemoryLike;
  readonly arena: Arena;
  /** This thread's instance of the kernels. */
  readonly kernels: KernelExports;
  private readonly registry: FinalizationRegistry<number>;

  /**
   * `module` is a compiled kernels.wasm (WebAssembly.Module); throws NormScopeError where WebAssembly or
   * shared memory is missing (use `FastKernels.tryCreate` to get null instead).
   */
  constructor(readonly module: unknown, opts: FastOptions = {}) {
    const api = wasmApi();
    if (!api) throw new NormScopeError('WebAssembly is not available here');
    const maxPages = Math.min(MAX_PAGES, Math.floor((opts.maxMemoryBytes ?? MAX_PAGES * PAGE) / PAGE));
    this.memory = new api.Memory({ initial: 1, maximum: maxPages, shared: true });
    this.arena = new Arena(this.memory, maxPages * PAGE);
    this.kernels = instantiateKernels(module, this.memory);
    this.registry = new FinalizationRegistry((start) => this.arena.release(start));
  }

  private chunkKernels: ChunkKernels | undefined;

  /** The streamed passes' per-chunk statistics on this thread's kernels (see streamKernels.ts). */
  get chunks(): ChunkKernels {
    return (this.chunkKernels ??= chunkKernels(this));
  }

  static tryCreate(module: unknown, opts: FastOptions = {}): FastKernels | null {
    try {
      return new FastKernels(module, opts);
    } catch {
      return null;
    }
  }

  /**
   * A zeroed float32 array in the shared memory (a tensor built on it is read by the kernels in place), or
   * null when the memory cannot hold it. Freed when garbage collected, or by `release`.
   */
  allocFloat32(n: number): Float32Array | null {
    const start = this.arena.alloc(n * 4);
    if (start < 0) return null;
    const a = this.arena.f32(start, n);
    a.fill(0);
    this.registry.register(a, start, a);
    return a;
  }

  /** Gives an array from `allocFloat32` (or a fast output's data, or a tensor on it) back to the arena now. */
  release(a: Float32Array | Tensor): void {
    const view = ArrayBuffer.isView(a) ? a : a.data;
    const start = this.arena.addressOf(view);
    if (start < 0) return;
    this.registry.unregister(view);
    this.arena.release(start);
  }

  /** Runs `p` on `x` in this thread; like `normalize(x, p)`, plus which kernels ran and the fused moments. */
  normalize(x: Tensor, p: NormParams): FastOutput {
    return this.run(this.steps(x, p, WORK_PARTS));
  }

  /**
   * The op as phases of jobs: each yielded array holds up to `parts` jobs that may run at the same time (on
   * instances sharing this memory); resume the generator when all of them are done. Returns the result.
   */
  *steps(x: Tensor, p: NormParams, parts: number): Generator<Job[], FastOutput, void> {
    return yield* this.opSteps(x, p, parts, null);
  }

  /**
   * `normalize` plus `sideStats` of the input and the output (what `analyze` shows), in this thread. Equal to
   * `sideStats(toComputeArray(x), layout, bins, groups)` and the same of the output (see `sideStatsSteps`).
   */
  normalizeWithStats(x: Tensor, p: NormParams, spec: StatsSpec): FastStatsOutput {
    return this.run(this.normalizeWithStatsSteps(x, p, spec, WORK_PARTS));
  }

  /** `normalizeWithStats` as phases of at most `parts` jobs each (like `steps`). */
  *normalizeWithStatsSteps(x: Tensor, p: NormParams, spec: StatsSpec, parts: number): Generator<Job[], FastStatsOutput, void> {
    checkBins(spec.bins ?? DEFAULT_BINS);
    return (yield* this.opSteps(x, p, parts, spec)) as FastStatsOutput;
  }

  /**
   * `sideStats` (stats.ts) on the WebAssembly kernels, in this thread. Float32 values are read in place when
   * they lie in the shared memory, else copied in for the call; anything else (float64 or plain arrays, a
   * memory too full) runs the TypeScript `sideStats`. Identical counts, nan, inf, min, max, edges and histograms;
   * mean and std equal to float64 rounding (the sums run in another order).
   */
  sideStats(
    values: ArrayLike<number>, layout: ChannelLayout, bins: number = DEFAULT_BINS,
    groups: readonly (readonly [number, number])[] = [],
  ): SideStats {
    return this.run(this.sideStatsSteps(values, layout, bins, groups, WORK_PARTS));
  }

  /**
   * `sideStats` as two phases of at most `parts` jobs (pass 1: count, sum, min, max, NaN, Inf per channel; pass
   * 2: squared deviations and histogram counts), each job writing its own accumulators, merged here between
   * and after the phases. Splits the outer rows, or the channels when there are fewer rows than parts, or the
   * elements of a single channel.
   */
  *sideStatsSteps(
    values: ArrayLike<number>, layout: ChannelLayout, bins: number, groups: readonly (readonly [number, number])[],
    parts: number,
  ): Generator<Job[], SideStats, void> {
    checkBins(bins);
    const n = layout.outer * layout.channels * layout.inner;
    if (!(values instanceof Float32Array) || n === 0 || values.length < n) return sideStats(values, layout, bins, groups);
    let xs = this.arena.addressOf(values);
    let copy = -1;
    if (xs < 0) {
      copy = n * 4 < this.arena.maxBytes ? this.arena.alloc(n * 4) : -1;
      if (copy < 0) return sideStats(values, layout, bins, groups);
      this.arena.f32(copy, n).set(values.length === n ? values : values.subarray(0, n));
      xs = copy;
    }
    try {
      return yield* this.statsAt(xs, layout, bins, groups, parts);
    } finally {
      if (copy >= 0) this.arena.release(copy);
    }
  }

  /** Runs every phase of `run` in this thread (ParallelKernels.run does the same across threads). */
  run<T>(steps: Generator<Job[], T, void>): T {
    try {
      for (let r = steps.next(); ; r = steps.next()) {
        if (r.done) return r.value;
        for (const job of r.value) runJob(this.kernels, job);
      }
    } catch (e) {
      steps.return(undefined as T); // a kernel threw mid-phase: the generator's `finally` frees its scratch memory
      throw e;
    }
  }

  /** The two stats phases over n = outer * C * inner float32 at byte address xs (n > 0). */
  private *statsAt(
    xs: number, layout: ChannelLayout, bins: number, groups: readonly (readonly [number, number])[], parts: number,
  ): Generator<Job[], SideStats, void> {
    const C = layout.channels;
    const run = kernelLayout(layout);
    const ranges = statRanges(xs, run, parts);
    if (!statsFit(layout, bins, ranges.length)) return sideStats(this.arena.f32(xs, numel([layout.outer, C, layout.inner])), layout, bins, groups);
    const blocks = this.pass1Blocks(ranges.length, run.channels);
    try {
      if (blocks === null) return sideStats(this.arena.f32(xs, numel([layout.outer, C, layout.inner])), layout, bins, groups);
      yield ranges.map((r, i) => ({ fn: 'stats1_f32' as const, args: [r.x, r.o0, r.o1, r.c0, r.c1, run.channels, r.inner, blocks[i]] }));
      return yield* this.pass2(xs, layout, bins, groups, parts, this.mergePass1(xs, layout, blocks, run.channels / C));
    } finally {
      for (const s of blocks ?? []) this.arena.release(s);
    }
  }

  /** `count` blocks of pass-1 accumulators for C channels (float64 sum | min | max | nan | inf), or null. */
  private pass1Blocks(count: number, C: number): number[] | null {
    const blocks: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = this.arena.alloc(5 * C * 8);
      if (s < 0) {
        for (const b of blocks) this.arena.release(b);
        return null;
      }
      const f = this.arena.f64(s, 5 * C);
      f.fill(0);
      f.fill(Infinity, C, 2 * C);
      f.fill(-Infinity, 2 * C, 3 * C);
      blocks.push(s);
    }
    return blocks;
  }

  /**
   * The channels' accumulators from the pass-1 blocks of all parts (values at xs, for a zero's sign); the blocks
   * hold `k` consecutive sub-channels per channel (see `kernelLayout`).
   */
  private mergePass1(xs: number, layout: ChannelLayout, blocks: readonly number[], k = 1): ChannelAccumulator[] {
    const { outer, channels: C, inner } = layout;
    const K = C * k;
    const accs: ChannelAccumulator[] = [];
    for (let c = 0; c < C; c++) {
      const a = newAccumulator();
      a.count = outer * inner;
      accs.push(a);
    }
    for (const block of blocks) {
      const f = this.arena.f64(block, 5 * K);
      for (let s = 0; s < K; s++) {
        const a = accs[Math.floor(s / k)];
        a.sum += f[s];
        if (f[K + s] < a.min) a.min = f[K + s];
        if (f[2 * K + s] > a.max) a.max = f[2 * K + s];
        a.nan += f[3 * K + s];
        a.inf += f[4 * K + s];
      }
    }
    const x = this.arena.f32(xs, outer * C * inner);
    for (let c = 0; c < C; c++) {
      const a = accs[c];
      a.finite = a.count - a.nan - a.inf;
      // stats.ts keeps the first of equal values (`v < min`): only the sign of a zero can tell them apart
      if (a.min === 0) a.min = firstZero(x, layout, c);
      if (a.max === 0) a.max = firstZero(x, layout, c);
    }
    return accs;
  }

  /** Pass 2 (squared deviations, histograms) over the values at xs, after pass 1 gave `accs`; the side's stats. */
  private *pass2(
    xs: number, layout: ChannelLayout, bins: number, groups: readonly (readonly [number, number])[], parts: number,
    accs: ChannelAccumulator[],
  ): Generator<Job[], SideStats, void> {
    const plan = histogramPlan(accs, bins);
    const run = kernelLayout(layout);
    const C = run.channels; // the kernels' channels: k sub-channels per channel of `layout`
    const k = C / layout.channels;
    const ranges = statRanges(xs, run, parts);
    const copies = histogramCopies(run, bins, ranges.length);
    // per part: float64 sum | min | max | nan | inf | m2 | comp (the first five unused here), then histograms
    // [C][copies][bins + 1] int32; then the means and whether each channel is all finite
    const accBytes = 7 * C * 8 + C * copies * (bins + 1) * 4;
    const blocks: number[] = [];
    try {
      for (let i = 0; i <= ranges.length; i++) {
        const s = this.arena.alloc(i < ranges.length ? accBytes : 2 * C * 8);
        if (s < 0) return sideStats(this.arena.f32(xs, numel([layout.outer, layout.channels, layout.inner])), layout, bins, groups); // memory full
        blocks.push(s);
      }
      const meansAt = blocks[ranges.length];
      for (let i = 0; i < ranges.length; i++) new Uint8Array(this.memory.buffer, blocks[i], accBytes).fill(0);
      const means = this.arena.f64(meansAt, 2 * C);
      for (let s = 0; s < C; s++) {
        const a = accs[Math.floor(s / k)];
        means[s] = plan.means[Math.floor(s / k)];
        means[C + s] = a.finite === a.count ? 1 : 0; // no NaN or Inf: no masks
      }
      yield ranges.map((r, i) => ({
        fn: 'stats2_f32' as const,
        args: [r.x, r.o0, r.o1, r.c0, r.c1, C, r.inner, plan.lo, plan.scale, bins, meansAt, blocks[i], copies],
      }));
      const hist: number[][] = accs.map(() => new Array<number>(bins).fill(0));
      for (let i = 0; i < ranges.length; i++) {
        const f = this.arena.f64(blocks[i], 7 * C);
        const h = new Int32Array(this.memory.buffer, blocks[i] + 7 * C * 8, C * copies * (bins + 1));
        for (let s = 0; s < C; s++) {
          const c = Math.floor(s / k);
          accs[c].m2 += f[5 * C + s];
          accs[c].comp += f[6 * C + s];
          const hc = hist[c];
          for (let j = 0; j < copies; j++) for (let b = 0, o = (copies * s + j) * (bins + 1); b < bins; b++) hc[b] += h[o + b];
        }
      }
      return finishSide(accs, hist, plan.edges, groups);
    } finally {
      for (const s of blocks) this.arena.release(s);
    }
  }

  private *opSteps(x: Tensor, p: NormParams, parts: number, spec: StatsSpec | null): Generator<Job[], FastOutput, void> {
    const plan = planOf(x, p); // validates (throws as normalize would)
    const n = numel(x.shape);
    if (spec !== null && spec.layout.outer * spec.layout.channels * spec.layout.inner !== n) {
      throw new NormScopeError(`statistics layout (${spec.layout.outer}, ${spec.layout.channels}, ${spec.layout.inner}) does not match ${n} elements`);
    }
    /** The reference path (with the TypeScript statistics when asked for). */
    const reference = (): FastOutput => {
      const out = normalize(x, p);
      if (!spec) return { ...out, kernels: 'ts' };
      return { ...out, kernels: 'ts', stats: statsOfRun(x, out.output, spec) } as FastStatsOutput;
    };
    if (x.dtype !== 'float32' || plan.outDType !== 'float32' || n === 0 || n * 4 >= this.arena.maxBytes) {
      return reference();
    }
    const temps: number[] = [];
    const alloc = (bytes: number): number => {
      const s = this.arena.alloc(bytes);
      if (s < 0) throw new NormScopeError(`the fast kernels' memory cannot hold ${bytes} more bytes`);
      temps.push(s);
      return s;
    };
    const f64 = (values: ArrayLike<number> | null, len: number): number => {
      if (values === null) return 0;
      const s = alloc(len * 8);
      this.arena.f64(s, len).set(values);
      return s;
    };
    let outStart = -1;
    try {
      // input: in place when it already lies in the memory (C order from its offset), else one copy
      const g = plan.geometry;
      const channelOp = p.op === 'batch' || p.op === 'group' || p.op === 'instance';
      const transpose = channelOp && g.channelsLast;
      let xs = isContiguous(x) ? this.arena.addressOf(x.data) : -1;
      if (xs >= 0) xs += x.offset * 4;
      const copyIn = xs < 0 || transpose;
      const inStart = copyIn ? this.arena.alloc(n * 4) : -1;
      outStart = this.arena.alloc(n * 4);
      const tStart = transpose ? this.arena.alloc(n * 4) : -1;
      if (inStart >= 0) temps.push(inStart);
      if (tStart >= 0) temps.push(tStart);
      if ((copyIn && inStart < 0) || outStart < 0 || (transpose && tStart < 0)) {
        return reference(); // the memory is full (of live outputs)
      }
      if (copyIn) {
        const dst = this.arena.f32(inStart, n);
        const src = toComputeArray(x);
        if (transpose) channelsLastToFirst(src, dst, g.N, g.S, g.C);
        else dst.set(src);
        xs = inStart;
      }
      const os = transpose ? tStart : outStart;

      // Statistics (when asked for) over the data the kernels see: a channels-last tensor's channels are those
      // of its canonical (N, C, S) copy, value for value. BatchNorm, GroupNorm and InstanceNorm write the output
      // channel block by channel block: their write pass takes pass 1 of both sides (fused). LayerNorm and
      // RMSNorm rows run across channels: they take pass 1 of both sides channel segment by channel segment
      // right after writing the rows (in the cache), where a segment holds at least ROW_STATS_MIN_INNER values;
      // else (e.g. channels last, one value per segment) separate pass-1 phases.
      const bins = spec?.bins ?? DEFAULT_BINS;
      const groups = spec?.groups ?? [];
      const wantBefore = spec?.before !== false;
      const canonical = transpose && spec !== null && spec.layout.channels === g.C && spec.layout.inner === 1;
      const lay = canonical ? { outer: g.N, channels: g.C, inner: g.S } : spec?.layout;
      const rowOp = p.op === 'layer' || p.op === 'rms';
      const fuse = spec !== null && lay !== undefined && statsFit(lay, bins, parts) && (
        (channelOp && (canonical || !transpose) && lay.outer === g.N && lay.channels === g.C && lay.inner === g.S)
        || (rowOp && lay.inner >= ROW_STATS_MIN_INNER));
      let fused: { in: number[]; out: number[] } | null = null;
      if (fuse) {
        const bi = this.pass1Blocks(parts, lay.channels);
        const bo = bi && this.pass1Blocks(parts, lay.channels);
        if (bi) temps.push(...bi);
        if (bo) temps.push(...bo);
        if (bi && bo) fused = { in: bi, out: bo };
      }
      const accArgs = (i: number): [number, number] => (fused ? [fused.in[i], fused.out[i]] : [0, 0]);
      const rowAccArgs = (i: number): number[] => (fused && lay ? [...accArgs(i), lay.channels, lay.inner] : []);

      let extra: Partial<FastOutput> = {};
      if (p.op === 'batch') {
        extra = yield* this.batchSteps(plan, p, xs, os, parts, alloc, f64, accArgs);
      } else {
        const rows = plan.report.num_stat_groups;
        const statsStart = alloc(rows * 16);
        const K = plan.report.stat_group_size;
        let job: (r0: number, r1: number, i: number) => Job;
        if (p.op === 'group' || p.op === 'instance') {
          const G = p.op === 'group' ? plan.resolved.groups ?? 1 : g.C;
          const w = f64(valuesOf(p.weight), g.C);
          const b = f64(valuesOf(p.bias), g.C);
          const batch = p.op === 'instance' ? 1 : 0;
          job = (r0, r1, i) => ({
            fn: 'group_f32', args: [xs, os, r0, r1, G, g.C / G, g.S, plan.resolved.eps, w, b, batch, statsStart, ...accArgs(i)],
          });
        } else if (p.op === 'layer') {
          const affine = p.weight !== undefined || p.bias !== undefined;
          const w = affine ? f64(valuesOf(p.weight) ?? new Float64Array(K).fill(1), K) : 0;
          const b = affine ? f64(valuesOf(p.bias) ?? new Float64Array(K), K) : 0;
          job = (r0, r1, i) => ({ fn: 'layer_f32', args: [xs, os, r0, r1, K, plan.resolved.eps, w, b, statsStart, ...rowAccArgs(i)] });
        } else {
          const w = f64(valuesOf(p.weight), K);
          job = (r0, r1, i) => ({ fn: 'rms_f32', args: [xs, os, r0, r1, K, plan.resolved.eps, w, statsStart, ...rowAccArgs(i)] });
        }
        yield split(rows, parts).map(([r0, r1], i) => job(r0, r1, i));
        // one copy of the interleaved (mean, var) pairs; split into two arrays only if someone reads them
        extra = { moments: lazyMoments(this.arena.f64(statsStart, rows * 2).slice(), rows) };
      }
      let stats: FastStatsOutput['stats'] | undefined;
      if (fused && lay) {
        const before = wantBefore ? yield* this.pass2(xs, lay, bins, groups, parts, this.mergePass1(xs, lay, fused.in)) : undefined;
        const after = yield* this.pass2(os, lay, bins, groups, parts, this.mergePass1(os, lay, fused.out));
        stats = { before, after };
      } else if (spec !== null && lay !== undefined && (canonical || !transpose)) {
        const before = wantBefore ? yield* this.statsAt(xs, lay, bins, groups, parts) : undefined;
        const after = yield* this.statsAt(os, lay, bins, groups, parts);
        stats = { before, after };
      }
      if (transpose) channelsFirstToLast(this.arena.f32(os, n), this.arena.f32(outStart, n), g.N, g.C, g.S);
      if (spec !== null && stats === undefined) {
        const before = wantBefore ? yield* this.sideStatsSteps(toComputeArray(x), spec.layout, bins, groups, parts) : undefined;
        const after = yield* this.statsAt(outStart, spec.layout, bins, groups, parts);
        stats = { before, after };
      }
      const data = this.arena.f32(outStart, n);
      this.registry.register(data, outStart, data);
      outStart = -1;
      return {
        output: tensor('float32', x.shape, data), resolved: plan.resolved, warnings: plan.warnings,
        shapeReport: plan.report, kernels: 'wasm', ...extra, ...(stats ? { stats } : {}),
      };
    } finally {
      for (const s of temps) this.arena.release(s);
      if (outStart >= 0) this.arena.release(outStart);
    }
  }

  /** BatchNorm: statistics phase (train; plus a second pass for channels whose shift was untrustworthy), then output. */
  private *batchSteps(
    plan: OpPlan, p: NormParams, xs: number, os: number, parts: number,
    alloc: (bytes: number) => number, f64: (v: ArrayLike<number> | null, len: number) => number,
    accArgs: (part: number) => [number, number],
  ): Generator<Job[], Partial<FastOutput>, void> {
    const { N, C, S } = plan.geometry;
    const train = plan.resolved.mode === 'train';
    const eps = plan.resolved.eps;
    const rm = valuesOf(p.running_mean);
    const rv = valuesOf(p.running_var);
    const w = valuesOf(p.weight);
    const b = valuesOf(p.bias);
    const shift = new Float64Array(C);
    const off = new Float64Array(C);
    const mean = new Float64Array(C);
    const variance = new Float64Array(C);
    const ranges = split(N, parts);
    if (train && N * S > 0) {
      const cnt = N * S;
      const x = this.arena.f32(xs, N * C * S);
      for (let c = 0; c < C; c++) shift[c] = x[c * S];
      const sd = new Float64Array(C);
      const sq = new Float64Array(C);
      const sums = function* (this: FastKernels, shifts: Float64Array, only: Uint8Array | null): Generator<Job[], void, void> {
        const sh = f64(shifts, C);
        const acc = ranges.map(() => [f64(new Float64Array(C), C), f64(new Float64Array(C), C)]);
        yield ranges.map(([n0, n1], i) => ({ fn: 'bn_sums_f32' as const, args: [xs, n0, n1, C, S, sh, acc[i][0], acc[i][1]] }));
        for (const [d, q] of acc) {
          const dv = this.arena.f64(d, C);
          const qv = this.arena.f64(q, C);
          for (let c = 0; c < C; c++) if (only === null || only[c]) { sd[c] += dv[c]; sq[c] += qv[c]; }
        }
      };
      yield* sums.call(this, shift, null);
      const redo = new Uint8Array(C);
      const redoShift = new Float64Array(C).fill(NaN);
      let anyRedo = false;
      for (let c = 0; c < C; c++) {
        const dm = sd[c] / cnt;
        if (dm * dm <= SHIFT_TRUST * ((sq[c] - sd[c] * dm) / cnt)) continue;
        redo[c] = 1;
        anyRedo = true;
        shift[c] = redoShift[c] = Math.fround(shift[c] + dm);
        sd[c] = 0;
        sq[c] = 0;
      }
      if (anyRedo) yield* sums.call(this, redoShift, redo);
      for (let c = 0; c < C; c++) {
        off[c] = sd[c] / cnt;
        mean[c] = shift[c] + off[c];
        variance[c] = varianceOf(sd[c], sq[c], cnt);
      }
    } else if (!train) {
      for (let c = 0; c < C; c++) {
        mean[c] = rm ? rm[c] : 0;
        variance[c] = rv ? rv[c] : 1;
      }
      shift.set(mean);
    }
    const scale = new Float64Array(C);
    const bias = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const inv = train ? invStdBatch(variance[c], eps) : 1 / Math.sqrt(variance[c] + eps);
      scale[c] = w ? inv * w[c] : inv;
      bias[c] = (b ? b[c] : 0) - off[c] * scale[c];
      const m = shift[c] + off[c];
      if (m * m * inv * inv <= SHIFT_TRUST) {
        // mean within 4 standard deviations of zero: x * scale + (bias - mean * scale) loses nothing that
        // float32 can see (the kernel skips the subtraction when the shift is 0)
        bias[c] = (b ? b[c] : 0) - m * scale[c];
        shift[c] = 0;
      }
    }
    if (N * C * S > 0) {
      const k = f64(shift, C), sc = f64(scale, C), bi = f64(bias, C);
      yield ranges.map(([n0, n1], i) => ({ fn: 'bn_apply_f32' as const, args: [xs, os, n0, n1, C, S, k, sc, bi, ...accArgs(i)] }));
    }
    if (!train) return {};

    const { newMean, newVar, nbt } = updateRunningStats(plan, N * S, mean, variance, rm, rv);
    return {
      running_mean: tensor('float32', [C], Float32Array.from(newMean)),
      running_var: tensor('float32', [C], Float32Array.from(newVar)),
      num_batches_tracked: nbt,
      moments: { mean, var: variance },
    };
  }
}

/** Moments of `rows` groups from interleaved (mean, var) pairs, split on first read (most callers never read them). */
function lazyMoments(pairs: Float64Array, rows: number): GroupMoments {
  let split: GroupMoments | undefined;
  const get = (): GroupMoments => {
    if (split === undefined) {
      const mean = new Float64Array(rows);
      const variance = new Float64Array(rows);
      for (let r = 0; r < rows; r++) { mean[r] = pairs[2 * r]; variance[r] = pairs[2 * r + 1]; }
      split = { mean, var: variance };
    }
    return split;
  };
  return { get mean() { return get().mean; }, get var() { return get().var; } };
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1 || bins > 10000) throw new RangeError(`bins must be an integer in 1..10000, got ${bins}`);
}

/**
 * Whether the kernels' accumulators are worth their memory (the shared memory never shrinks): every part's
 * pass-1 and pass-2 blocks with one histogram copy within max(2 x the data, 1 MiB); else the TypeScript sideStats
 * (tensors with more channels than values per channel, e.g. (1, 1000000) with channels on axis 1).
 */
function statsFit(layout: ChannelLayout, bins: number, parts: number): boolean {
  const n = layout.outer * layout.channels * layout.inner;
  const perPart = kernelLayout(layout).channels * (12 * 8 + (bins + 1) * 4);
  return perPart * Math.max(1, parts) <= Math.max(8 * n, 1 << 20);
}

/**
 * The view the stats kernels take of `layout`: itself, or for short channel blocks (1 < inner <= 16, where the
 * calls per block cost more than the block: measured at 6M values, inner 8: 61 -> 25 ms) each (channel, i) as a
 * channel of its own with inner = 1 (the channels-last kernels, four at a step), merged back into channels.
 */
function kernelLayout(layout: ChannelLayout): ChannelLayout {
  const { outer, channels: C, inner } = layout;
  return inner > 1 && inner <= 16 ? { outer, channels: C * inner, inner: 1 } : layout;
}

/** Histogram copies per channel in pass 2: 4 (one per SIMD lane) when they fit as `statsFit` counts, else 1. */
function histogramCopies(layout: ChannelLayout, bins: number, parts: number): number {
  const n = layout.outer * layout.channels * layout.inner;
  return layout.channels * (12 * 8 + 4 * (bins + 1) * 4) * parts <= Math.max(8 * n, 1 << 20) ? 4 : 1;
}

/** One stats job's share of an (outer, C, inner) view at x: rows [o0, o1), channels [c0, c1), blocks of inner. */
interface StatRange { x: number; o0: number; o1: number; c0: number; c1: number; inner: number }

/** Splits a stats pass into at most `parts` jobs: by rows, by channels when fewer rows, by elements for one channel. */
function statRanges(xs: number, layout: ChannelLayout, parts: number): StatRange[] {
  const { outer, channels: C, inner } = layout;
  if (C === 1) {
    return split(outer * inner, parts).map(([e0, e1]) => ({ x: xs + e0 * 4, o0: 0, o1: 1, c0: 0, c1: 1, inner: e1 - e0 }));
  }
  if (outer >= parts || outer >= C) return split(outer, parts).map(([o0, o1]) => ({ x: xs, o0, o1, c0: 0, c1: C, inner }));
  return split(C, parts).map(([c0, c1]) => ({ x: xs, o0: 0, o1: outer, c0, c1, inner }));
}

/** The first zero (+0 or -0) of channel c in C order, as stats.ts's `v < min` keeps it. */
function firstZero(x: Float32Array, layout: ChannelLayout, c: number): number {
  const { outer, channels: C, inner } = layout;
  for (let o = 0; o < outer; o++) {
    const base = (o * C + c) * inner;
    for (let i = base; i < base + inner; i++) if (x[i] === 0) return x[i];
  }
  return 0;
}
