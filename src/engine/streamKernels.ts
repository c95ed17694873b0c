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
import type { FastKernels } from './fast/fastKernels';
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

/** The chunk kernels on a FastKernels instance. */
export function chunkKernels(fast: FastKernels): ChunkKernels {
  const arena = fast.arena;
  // (called on the exports directly: fastKernels.ts imports this file, so no value import back)
  const run = (fn: 'stats1_f32' | 'stats2_f32' | 'bn_sums_f32', args: number[]) => (fast.kernels[fn] as (...a: number[]) => void)(...args);

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

  /** Scratch in the memory (float64 count), released by the caller. */
  const scratch = (n: number): number => arena.alloc(n * 8);

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
      const inner = acc.layout.inner;
      for (const v of p.views) {
        const S = v.s1 - v.s0;
        const at1 = scratch(5 * S);
        const at2 = scratch(7 * S + Math.ceil((S * 2 * 4) / 8));
        const mAt = scratch(2 * S);
        try {
          if (at1 < 0 || at2 < 0 || mAt < 0) {
            acc.addMoments(values.subarray(v.at, v.at + v.rows * v.K * p.kin), start + v.at);
            continue;
          }
          const f1 = arena.f64(at1, 5 * S);
          f1.fill(0); f1.fill(Infinity, S, 2 * S); f1.fill(-Infinity, 2 * S, 3 * S);
          const x = xs + v.at * 4;
          run('stats1_f32', [x, 0, v.rows, 0, S, v.K, p.kin, at1]);
          const m = arena.f64(mAt, 2 * S);
          const per = v.rows * p.kin;
          let finite = true;
          for (let s = 0; s < S; s++) {
            const fin = per - f1[3 * S + s] - f1[4 * S + s];
            m[s] = fin > 0 ? f1[s] / fin : 0;
            m[S + s] = fin === per ? 1 : 0;
            if (fin !== per) finite = false;
          }
          new Uint8Array(arena.f64(at2, 1).buffer, at2, 7 * S * 8 + S * 2 * 4).fill(0);
          // sum (x - mean) and sum (x - mean)^2 per channel: where every value is finite and the blocks are long,
          // bn_sums_f32 (a third of the time of stats2_f32, which also counts a histogram: measured 111 vs 320 ms
          // per GB), else stats2_f32 with one bin
          if (finite && p.kin > 16) run('bn_sums_f32', [x, 0, v.rows, v.K, p.kin, mAt, at2 + 6 * S * 8, at2 + 5 * S * 8]);
          else run('stats2_f32', [x, 0, v.rows, 0, S, v.K, p.kin, 0, 0, 1, mAt, at2, 1]);
          const f2 = arena.f64(at2, 7 * S);
          let zeros: Map<number, number> | null = null;
          for (let s = 0; s < S; s++) {
            const fin = per - f1[3 * S + s] - f1[4 * S + s];
            let min = f1[S + s], max = f1[2 * S + s];
            if (min === 0 || max === 0) {
              zeros ??= firstZeros(values, v, p.kin, p.k, inner === 0 ? 1 : acc.layout.channels);
              const z = zeros.get(Math.floor((v.first + s) / p.k)) ?? 0;
              if (min === 0) min = z;
              if (max === 0) max = z;
            }
            const mo: Moments = {
              count: per, finite: fin, nan: f1[3 * S + s], inf: f1[4 * S + s], min, max, mean: 0, m2: 0,
            };
            if (fin > 0) {
              const comp = f2[6 * S + s];
              mo.mean = m[s] + comp / fin;
              mo.m2 = Math.max(0, f2[5 * S + s] - (comp * comp) / fin);
            }
            acc.addChannelMoments(Math.floor((v.first + s) / p.k), mo);
          }
        } finally {
          for (const s of [at1, at2, mAt]) if (s >= 0) arena.release(s);
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
      const bins = acc.bins;
      const edges = acc.edges();
      const lo = edges[0];
      const scale = bins / (edges[bins] - lo);
      const finite = acc.finiteChannels();
      for (const [a, b] of p.ends) acc.addHistogram(values.subarray(a, b), start + a);
      for (const v of p.views) {
        const S = v.s1 - v.s0;
        const hBytes = S * (bins + 1) * 4;
        // the histogram counters stay within max(8 x the view's values, 1 MiB); else TypeScript
        if (hBytes > Math.max(8 * 4 * v.rows * v.K * p.kin, 1 << 20)) {
          acc.addHistogram(values.subarray(v.at, v.at + v.rows * v.K * p.kin), start + v.at);
          continue;
        }
        const accAt = arena.alloc(7 * S * 8 + hBytes);
        const mAt = scratch(2 * S);
        try {
          if (accAt < 0 || mAt < 0) {
            acc.addHistogram(values.subarray(v.at, v.at + v.rows * v.K * p.kin), start + v.at);
            continue;
          }
          new Uint8Array(arena.f64(accAt, 1).buffer, accAt, 7 * S * 8 + hBytes).fill(0);
          const m = arena.f64(mAt, 2 * S);
          for (let s = 0; s < S; s++) { m[s] = 0; m[S + s] = finite[Math.floor((v.first + s) / p.k)] ? 1 : 0; }
          run('stats2_f32', [xs + v.at * 4, 0, v.rows, 0, S, v.K, p.kin, lo, scale, bins, mAt, accAt, 1]);
          const h = new Int32Array(arena.f64(accAt, 1).buffer, accAt + 7 * S * 8, S * (bins + 1));
          for (let s = 0; s < S; s++) acc.addChannelHistogram(Math.floor((v.first + s) / p.k), h.subarray(s * (bins + 1), s * (bins + 1) + bins));
        } finally {
          for (const s of [accAt, mAt]) if (s >= 0) arena.release(s);
        }
      }
      return true;
    },
  };
}

/** The first zero (its sign) of each channel in a view, in C order (what the TypeScript pass's `x < min` keeps). */
function firstZeros(values: Float32Array, v: View, kin: number, k: number, _C: number): Map<number, number> {
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
