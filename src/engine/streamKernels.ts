/**
 * The streamed statistics' per-chunk passes on the WebAssembly stats kernels (kernels.wat `stats1_f32`,
 * `stats2_f32`), for float32 chunks that lie in the kernels' shared memory (forEachChunk reads a chunk straight
 * into such a buffer when given `ChunkKernels`; fast normalize outputs live there too).
 *
 * A chunk starts and ends anywhere in the (outer, C, inner) layout: its whole channel blocks go to the kernels as
 * up to three views (the rest of a first row, whole rows, the start of a last row), each a rectangle the kernels
 * take; the partial blocks at its ends (chunks not aligned to a block) go to the TypeScript StreamingStats.
 * Short blocks (1 < inner <= 16) are viewed as C x inner channels of one value (the channels-last kernels), as
 * fastKernels.ts does, and merged back into their channel.
 *
 * - Moments (streamed pass 1): per view, stats1 (count, sum, min, max, NaN, Inf per channel), then the sums of
 *   deviations and squared deviations about the view's float64 means (bn_sums_f32 where every value is finite
 *   and blocks are long, else stats2 with one bin), so the corrected two-pass moments: each channel's moments of
 *   the view, merged into StreamingStats with Chan's formula. Counts, min and max exact (a zero's sign as the
 *   TypeScript pass keeps it: the first zero); mean and M2 to float64 rounding.
 * - Histograms (streamed pass 2): stats2 over the edges StreamingStats fixed (same lo, scale and bin formula as
 *   the TypeScript pass: identical counts).
 */
import type { FastKernels, Job } from './fast/fastKernels';
import { WORK_PARTS, split } from './kernels';
import { Moments, StreamingStats } from './streamStats';

/** What the streamed passes need of the fast kernels (one thread: the kernels of this thread's instance). */
export interface ChunkKernels {
  /** A float32 buffer in the kernels' memory (a chunk is read into it in place), or null when it cannot hold it. */
  allocFloat32(n: number): Float32Array | null;
  release(a: Float32Array): void;
  /** Pass 1 of `acc` over a chunk; false when the kernels do not take it (then the caller runs TypeScript). */
  addMoments(acc: StreamingStats, values: Float32Array | Float64Array, start: number): boolean;
  /** Pass 2 of `acc` over a chunk; false when the kernels do not take it. */
  addHistogram(acc: StreamingStats, values: Float32Array | Float64Array, start: number): boolean;
}

/** A rectangle of whole channel blocks of a chunk, in the kernels' view (K channels of `inner` per row). */
interface View {
  /** Element offset in the chunk of the view's first value. */
  at: number;
  rows: number;
  /** The view's row length in blocks (the kernels' C) and the channel range [s0, s1) it covers. */
  K: number;
  s0: number;
  s1: number;
  /** Kernel channel (sub-channel) of slot 0: slot s is sub-channel first + s. */
  first: number;
}

/** Fewest values a job of a per-chunk pass takes (a view is split into parts of at least this many). */
const MIN_JOB = 1 << 16;

/** What runs phases of jobs to their result: FastKernels (its own thread) or ParallelKernels (its threads). */
export interface PhaseRunner {
  run<T>(steps: Generator<Job[], T, void>): T;
}

/**
 * The chunk kernels on a FastKernels instance: each pass over a view is split into jobs (see `ranges`: a split
 * fixed by the view, so the same bits on any thread count), run by `on` (the kernels' own thread by default; a ParallelKernels
 * on `fast` runs them across its threads).
 */
export function chunkKernels(fast: FastKernels, on: PhaseRunner = fast): ChunkKernels {
  const arena = fast.arena;
  const run = <T>(steps: Generator<Job[], T, void>): T => on.run(steps);
  /** Splits [start, start + len) into TypeScript ends and kernel views; null when the layout is degenerate. */
  const plan = (acc: StreamingStats, start: number, len: number) => {
    const { channels: C, inner } = acc.layout;
    if (C === 0 || inner === 0) return null;
    const k = inner > 1 && inner <= 16 ? inner : 1; // sub-channels per channel
    const kin = k > 1 ? 1 : inner; // the kernels' inner
    const K = C * k;
    const end = start + len;
    const b0 = Math.ceil(start / kin), b1 = Math.floor(end / kin); // whole blocks [b0, b1)
    const ends: [number, number][] = [];
    const views: View[] = [];
    if (b1 <= b0) return { k, kin, ends: [[0, len] as [number, number]], views };
    if (b0 * kin > start) ends.push([0, b0 * kin - start]);
    if (b1 * kin < end) ends.push([b1 * kin - start, len]);
    const at = (b: number) => b * kin - start;
    let b = b0;
    const headSlot = b % K;
    if (headSlot !== 0) {
      const stop = Math.min(b1, b - headSlot + K);
      views.push({ at: at(b), rows: 1, K: stop - b, s0: 0, s1: stop - b, first: headSlot });
      b = stop;
    }
    const rows = Math.floor((b1 - b) / K);
    if (rows > 0) {
      views.push({ at: at(b), rows, K, s0: 0, s1: K, first: 0 });
      b += rows * K;
    }
    if (b < b1) views.push({ at: at(b), rows: 1, K: b1 - b, s0: 0, s1: b1 - b, first: 0 });
    return { k, kin, ends, views };
  };

  /**
   * Zeroed blocks of float64 counts in the memory (`fill` then sets each block's start), or null when it is full
   * (nothing is left allocated then); `done()` gives them all back.
   */
  const blocks = () => {
    const held: number[] = [];
    return {
      take(count: number, f64s: number, fill?: (f: Float64Array) => void): number[] | null {
        const out: number[] = [];
        for (let i = 0; i < count; i++) {
          const at = arena.alloc(f64s * 8);
          if (at < 0) return null;
          held.push(at);
          const f = arena.f64(at, f64s);
          f.fill(0);
          fill?.(f);
          out.push(at);
        }
        return out;
      },
      done() { for (const at of held) arena.release(at); },
    };
  };

  /**
   * A view's jobs: its rows split into up to WORK_PARTS parts of at least MIN_JOB values, or its channels when
   * it has fewer rows. The split depends on the view alone (same bits on any thread count); small views (tiny
   * chunks) stay one job, whose scheduling would cost more than it saves.
   */
  const ranges = (v: View, kin: number): { o0: number; o1: number; c0: number; c1: number }[] => {
    const S = v.s1 - v.s0;
    const parts = Math.max(1, Math.min(WORK_PARTS, Math.floor((v.rows * v.K * kin) / MIN_JOB)));
    if (v.rows >= parts || v.rows >= S) return split(v.rows, parts).map(([o0, o1]) => ({ o0, o1, c0: 0, c1: S }));
    return split(S, parts).map(([c0, c1]) => ({ o0: 0, o1: v.rows, c0, c1 }));
  };

  /** Each channel's moments of a view (true), or false when the memory is full. */
  function* viewMoments(acc: StreamingStats, values: Float32Array, x: number, v: View, k: number, kin: number): Generator<Job[], boolean, void> {
    const S = v.s1 - v.s0;
    const rs = ranges(v, kin);
    const mem = blocks();
    try {
      const b1 = mem.take(rs.length, 5 * S, (f) => { f.fill(Infinity, S, 2 * S); f.fill(-Infinity, 2 * S, 3 * S); });
      const mAt = mem.take(1, 2 * S)?.[0];
      if (!b1 || mAt === undefined) return false;
      yield rs.map((r, i) => ({ fn: 'stats1_f32', args: [x, r.o0, r.o1, r.c0, r.c1, v.K, kin, b1[i]] }));
      // the parts' pass-1 accumulators, in part order: sum | min | max | nan | inf per channel
      const f1 = new Float64Array(5 * S);
      f1.fill(Infinity, S, 2 * S); f1.fill(-Infinity, 2 * S, 3 * S);
      for (const b of b1) {
        const f = arena.f64(b, 5 * S);
        for (let s = 0; s < S; s++) {
          f1[s] += f[s];
          if (f[S + s] < f1[S + s]) f1[S + s] = f[S + s];
          if (f[2 * S + s] > f1[2 * S + s]) f1[2 * S + s] = f[2 * S + s];
          f1[3 * S + s] += f[3 * S + s];
          f1[4 * S + s] += f[4 * S + s];
        }
      }
      const m = arena.f64(mAt, 2 * S);
      const per = v.rows * kin;
      let finite = true;
      for (let s = 0; s < S; s++) {
        const fin = per - f1[3 * S + s] - f1[4 * S + s];
        m[s] = fin > 0 ? f1[s] / fin : 0;
        m[S + s] = fin === per ? 1 : 0;
        if (fin !== per) finite = false;
      }
      // sum (x - mean) and sum (x - mean)^2 per channel: where every value is finite and the blocks are long,
      // bn_sums_f32 (a third of the time of stats2_f32, which also counts a histogram: measured 111 vs 320 ms
      // per GB), else stats2_f32 with one bin. Each part: float64 sum | min | max | nan | inf | m2 | comp (the
      // layout stats2_f32 writes; bn_sums_f32 fills m2 and comp), then stats2's 2 S int32 counts.
      const b2 = mem.take(rs.length, 7 * S + S);
      if (!b2) return false;
      if (finite && kin > 16) {
        // a part that splits the channels sees NaN shifts outside its own (bn_sums_f32 skips those)
        const shifts = rs.length > 1 && rs[0].c1 - rs[0].c0 < S
          ? mem.take(rs.length, S, (f) => f.fill(NaN)) : rs.map(() => mAt);
        if (!shifts) return false;
        rs.forEach((r, i) => { if (shifts[i] !== mAt) arena.f64(shifts[i], S).set(m.subarray(r.c0, r.c1), r.c0); });
        yield rs.map((r, i) => ({ fn: 'bn_sums_f32', args: [x, r.o0, r.o1, v.K, kin, shifts[i], b2[i] + 6 * S * 8, b2[i] + 5 * S * 8] }));
      } else {
        yield rs.map((r, i) => ({ fn: 'stats2_f32', args: [x, r.o0, r.o1, r.c0, r.c1, v.K, kin, 0, 0, 1, mAt, b2[i], 1] }));
      }
      const m2 = new Float64Array(S), comp = new Float64Array(S);
      for (const b of b2) {
        const f = arena.f64(b, 7 * S);
        for (let s = 0; s < S; s++) { m2[s] += f[5 * S + s]; comp[s] += f[6 * S + s]; }
      }
      let zeros: Map<number, number> | null = null;
      for (let s = 0; s < S; s++) {
        const fin = per - f1[3 * S + s] - f1[4 * S + s];
        let min = f1[S + s], max = f1[2 * S + s];
        if (min === 0 || max === 0) {
          zeros ??= firstZeros(values, v, kin, k);
          const z = zeros.get(Math.floor((v.first + s) / k)) ?? 0;
          if (min === 0) min = z;
          if (max === 0) max = z;
        }
        const mo: Moments = { count: per, finite: fin, nan: f1[3 * S + s], inf: f1[4 * S + s], min, max, mean: 0, m2: 0 };
        if (fin > 0) {
          mo.mean = m[s] + comp[s] / fin;
          mo.m2 = Math.max(0, m2[s] - (comp[s] * comp[s]) / fin);
        }
        acc.addChannelMoments(Math.floor((v.first + s) / k), mo);
      }
      return true;
    } finally {
      mem.done();
    }
  }

  /** Each channel's histogram counts of a view over `acc`'s edges (true), or false when they do not fit. */
  function* viewHistogram(acc: StreamingStats, x: number, v: View, k: number, kin: number, finite: Uint8Array): Generator<Job[], boolean, void> {
    const S = v.s1 - v.s0;
    const bins = acc.bins;
    const edges = acc.edges();
    const lo = edges[0];
    const scale = bins / (edges[bins] - lo);
    const rs = ranges(v, kin);
    // per part: the 7 S float64 accumulators stats2_f32 writes, then S (bins + 1) int32 counts; the counters stay
    // within max(8 x the view's values, 1 MiB), else TypeScript
    const f64s = 7 * S + Math.ceil((S * (bins + 1) * 4) / 8);
    if (rs.length * S * (bins + 1) * 4 > Math.max(8 * 4 * v.rows * v.K * kin, 1 << 20)) return false;
    const mem = blocks();
    try {
      const b = mem.take(rs.length, f64s);
      const mAt = mem.take(1, 2 * S)?.[0];
      if (!b || mAt === undefined) return false;
      const m = arena.f64(mAt, 2 * S);
      for (let s = 0; s < S; s++) m[S + s] = finite[Math.floor((v.first + s) / k)] ? 1 : 0;
      yield rs.map((r, i) => ({ fn: 'stats2_f32', args: [x, r.o0, r.o1, r.c0, r.c1, v.K, kin, lo, scale, bins, mAt, b[i], 1] }));
      for (const at of b) {
        const h = new Int32Array(arena.f64(at, 1).buffer, at + 7 * S * 8, S * (bins + 1));
        for (let s = 0; s < S; s++) acc.addChannelHistogram(Math.floor((v.first + s) / k), h.subarray(s * (bins + 1), s * (bins + 1) + bins));
      }
      return true;
    } finally {
      mem.done();
    }
  }

  return {
    allocFloat32: (n) => fast.allocFloat32(n),
    release: (a) => fast.release(a),

    addMoments(acc, values, start) {
      if (!(values instanceof Float32Array)) return false;
      const xs = arena.addressOf(values);
      const p = xs < 0 ? null : plan(acc, start, values.length);
      if (!p) return false;
      // in element order (head end, whole blocks, tail end): of a -0 and a +0, the first seen is the min or max,
      // as in memory
      const [head, tail] = [p.ends.filter(([a]) => a === 0), p.ends.filter(([a]) => a !== 0)];
      for (const [a, b] of head) acc.addMoments(values.subarray(a, b), start + a);
      for (const v of p.views) {
        if (!run(viewMoments(acc, values, xs + v.at * 4, v, p.k, p.kin))) {
          acc.addMoments(values.subarray(v.at, v.at + v.rows * v.K * p.kin), start + v.at); // the memory is full
        }
      }
      for (const [a, b] of tail) acc.addMoments(values.subarray(a, b), start + a);
      return true;
    },

    addHistogram(acc, values, start) {
      if (!(values instanceof Float32Array)) return false;
      const xs = arena.addressOf(values);
      const p = xs < 0 ? null : plan(acc, start, values.length);
      if (!p) return false;
      const finite = acc.finiteChannels();
      for (const [a, b] of p.ends) acc.addHistogram(values.subarray(a, b), start + a);
      for (const v of p.views) {
        if (!run(viewHistogram(acc, xs + v.at * 4, v, p.k, p.kin, finite))) {
          acc.addHistogram(values.subarray(v.at, v.at + v.rows * v.K * p.kin), start + v.at);
        }
      }
      return true;
    },
  };
}

/** The first zero (its sign) of each channel in a view, in C order (what the TypeScript pass's `x < min` keeps). */
function firstZeros(values: Float32Array, v: View, kin: number, k: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let r = 0; r < v.rows; r++) {
    for (let s = v.s0; s < v.s1; s++) {
      const c = Math.floor((v.first + s) / k);
      if (out.has(c)) continue;
      const base = v.at + (r * v.K + s) * kin;
      for (let i = base; i < base + kin; i++) if (values[i] === 0) { out.set(c, values[i]); break; }
    }
  }
  return out;
}
