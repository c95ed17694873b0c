/**
 * The optional fast path: the five normalizations on WebAssembly SIMD kernels (kernels.wat) over tensors in a
 * shared WebAssembly memory. Same validation, same PyTorch semantics and the same numerics as `normalize`
 * (float64 statistics and outputs, rounded once to float32); the TypeScript kernels stay the reference and
 * the fallback. Selected explicitly: `fast.normalize(x, p)` where `normalize(x, p)` is the default.
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
 */
import { NormScopeError } from '../errors';
import { NormOutput, NormParams } from '../params';
import { Tensor, isContiguous, numel, tensor, toComputeArray } from '../tensor';
import { normalize, planOf } from '../ops';
import { updateRunningStats } from '../ops/batchNorm';
import { OpPlan, channelsFirstToLast, channelsLastToFirst, invStdBatch, valuesOf, varianceOf } from '../ops/common';
import { Arena, SharedMemoryLike } from './arena';

/** The exported kernels of kernels.wat (addresses are byte offsets into the shared memory). */
export interface KernelExports {
  group_f32(x: number, o: number, r0: number, r1: number, G: number, cpg: number, S: number, eps: number,
    w: number, b: number, batch: number, stats: number): void;
  layer_f32(x: number, o: number, r0: number, r1: number, K: number, eps: number, w: number, b: number, stats: number): void;
  rms_f32(x: number, o: number, r0: number, r1: number, K: number, eps: number, w: number, stats: number): void;
  bn_sums_f32(x: number, n0: number, n1: number, C: number, S: number, shift: number, sd: number, sq: number): void;
  bn_apply_f32(x: number, o: number, n0: number, n1: number, C: number, S: number, k: number, scale: number, shift: number): void;
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

export interface FastOptions {
  /** Largest size the shared memory may grow to, in bytes (default and most: 4 GiB, WebAssembly's limit). */
  readonly maxMemoryBytes?: number;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
const SHIFT_TRUST = 16; // ops/common.ts

export class FastKernels {
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
    const run = this.steps(x, p, 1);
    for (let r = run.next(); ; r = run.next()) {
      if (r.done) return r.value;
      for (const job of r.value) runJob(this.kernels, job);
    }
  }

  /**
   * The op as phases of jobs: each yielded array holds up to `parts` jobs that may run at the same time (on
   * instances sharing this memory); resume the generator when all of them are done. Returns the result.
   */
  *steps(x: Tensor, p: NormParams, parts: number): Generator<Job[], FastOutput, void> {
    const plan = planOf(x, p); // validates (throws as normalize would)
    const n = numel(x.shape);
    if (x.dtype !== 'float32' || plan.outDType !== 'float32' || n === 0 || n * 4 >= this.arena.maxBytes) {
      return { ...normalize(x, p), kernels: 'ts' };
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
        return { ...normalize(x, p), kernels: 'ts' }; // the memory is full (of live outputs): the reference path
      }
      if (copyIn) {
        const dst = this.arena.f32(inStart, n);
        const src = toComputeArray(x);
        if (transpose) channelsLastToFirst(src, dst, g.N, g.S, g.C);
        else dst.set(src);
        xs = inStart;
      }
      const os = transpose ? tStart : outStart;

      let extra: Partial<FastOutput> = {};
      if (p.op === 'batch') {
        extra = yield* this.batchSteps(plan, p, xs, os, parts, alloc, f64);
      } else {
        const rows = plan.report.num_stat_groups;
        const statsStart = alloc(rows * 16);
        const K = plan.report.stat_group_size;
        let job: (r0: number, r1: number) => Job;
        if (p.op === 'group' || p.op === 'instance') {
          const G = p.op === 'group' ? plan.resolved.groups ?? 1 : g.C;
          const w = f64(valuesOf(p.weight), g.C);
          const b = f64(valuesOf(p.bias), g.C);
          const batch = p.op === 'instance' ? 1 : 0;
          job = (r0, r1) => ({ fn: 'group_f32', args: [xs, os, r0, r1, G, g.C / G, g.S, plan.resolved.eps, w, b, batch, statsStart] });
        } else if (p.op === 'layer') {
          const affine = p.weight !== undefined || p.bias !== undefined;
          const w = affine ? f64(valuesOf(p.weight) ?? new Float64Array(K).fill(1), K) : 0;
          const b = affine ? f64(valuesOf(p.bias) ?? new Float64Array(K), K) : 0;
          job = (r0, r1) => ({ fn: 'layer_f32', args: [xs, os, r0, r1, K, plan.resolved.eps, w, b, statsStart] });
        } else {
          const w = f64(valuesOf(p.weight), K);
          job = (r0, r1) => ({ fn: 'rms_f32', args: [xs, os, r0, r1, K, plan.resolved.eps, w, statsStart] });
        }
        yield split(rows, parts).map(([r0, r1]) => job(r0, r1));
        const st = this.arena.f64(statsStart, rows * 2);
        const mean = new Float64Array(rows);
        const variance = new Float64Array(rows);
        for (let r = 0; r < rows; r++) { mean[r] = st[2 * r]; variance[r] = st[2 * r + 1]; }
        extra = { moments: { mean, var: variance } };
      }
      if (transpose) channelsFirstToLast(this.arena.f32(os, n), this.arena.f32(outStart, n), g.N, g.C, g.S);
      const data = this.arena.f32(outStart, n);
      this.registry.register(data, outStart, data);
      outStart = -1;
      return {
        output: tensor('float32', x.shape, data), resolved: plan.resolved, warnings: plan.warnings,
        shapeReport: plan.report, kernels: 'wasm', ...extra,
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
      yield ranges.map(([n0, n1]) => ({ fn: 'bn_apply_f32' as const, args: [xs, os, n0, n1, C, S, k, sc, bi] }));
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

/** [start, end) ranges splitting `count` items into at most `parts` near-equal non-empty pieces. */
export function split(count: number, parts: number): [number, number][] {
  const k = Math.max(1, Math.min(parts, count));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) out.push([Math.floor((count * i) / k), Math.floor((count * (i + 1)) / k)]);
  return out;
}

