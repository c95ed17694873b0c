/**
 * Statistics of a tensor that arrives in chunks (a file larger than memory), giving the same SideStats as
 * `sideStats` over the whole tensor.
 *
 * - Moments merge across chunks with Chan et al.'s pairwise formula: each chunk's per-channel mean and M2 are
 *   taken two-pass (corrected) inside the chunk, then combined as
 *   n = na + nb, d = mb - ma, mean = ma + d nb / n, M2 = M2a + M2b + d^2 na nb / n.
 *   Each channel's values are shifted by its first finite value first, so the merged means are of the size of
 *   the spread, not of the offset (data at mean 1e4 with std 1e-2 keeps 12 digits).
 *   Memory is O(channels), independent of the tensor's size.
 * - Histograms are exact and bounded (bins x channels counters) with two passes over the data: the first finds
 *   the min and max (with the moments), which fix the shared edges exactly as `sideStats` chooses them, the
 *   second counts. A single-pass scheme would have to guess or re-bin the edges and give counts that differ
 *   from the in-memory answer; a file can be read twice, so the exact scheme wins.
 */
import { ChannelLayout, ChannelStats, DEFAULT_BINS, GroupStats, SideStats, Summary, histogramEdges } from './stats';

/** Mergeable statistics of a set of values. mean/m2/min/max are over the finite values only. */
export interface Moments {
  count: number;
  finite: number;
  mean: number;
  /** Sum of squared deviations from `mean`. */
  m2: number;
  min: number;
  max: number;
  nan: number;
  inf: number;
}

export function newMoments(): Moments {
  return { count: 0, finite: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity, nan: 0, inf: 0 };
}

/** Adds `b` into `a` (Chan et al.); returns `a`. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  a.count += b.count;
  a.nan += b.nan;
  a.inf += b.inf;
  if (b.min < a.min) a.min = b.min;
  if (b.max > a.max) a.max = b.max;
  if (b.finite === 0) return a;
  if (a.finite === 0) {
    a.finite = b.finite; a.mean = b.mean; a.m2 = b.m2;
    return a;
  }
  const n = a.finite + b.finite;
  const d = b.mean - a.mean;
  a.mean += (d * b.finite) / n;
  a.m2 += b.m2 + ((d * d) * a.finite * b.finite) / n;
  a.finite = n;
  return a;
}

/** Moments of values[start..end) (two-pass, corrected). */
export function momentsOf(values: ArrayLike<number>, start = 0, end = values.length): Moments {
  const m = newMoments();
  let sum = 0, min = Infinity, max = -Infinity, nan = 0, inf = 0;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (v - v === 0) {
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    } else if (v !== v) nan++;
    else inf++;
  }
  const finite = end - start - nan - inf;
  m.count = end - start; m.finite = finite; m.min = min; m.max = max; m.nan = nan; m.inf = inf;
  if (finite === 0) return m;
  const mean = sum / finite;
  let m2 = 0, comp = 0;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (v - v !== 0) continue;
    const d = v - mean;
    m2 += d * d;
    comp += d;
  }
  m.mean = mean + comp / finite;
  m.m2 = Math.max(0, m2 - (comp * comp) / finite);
  return m;
}

/** The Summary of moments (population std; nulls without finite values). */
export function summaryOfMoments(m: Moments): Summary {
  if (m.finite === 0) return { count: m.count, mean: null, std: null, min: null, max: null, nan: m.nan, inf: m.inf };
  return { count: m.count, mean: m.mean, std: Math.sqrt(m.m2 / m.finite), min: m.min, max: m.max, nan: m.nan, inf: m.inf };
}

/**
 * Per-channel, per-group and overall statistics of a C-order tensor laid out as `layout`, fed in chunks of
 * consecutive elements: every chunk once to `addMoments` (pass 1), then every chunk again to
 * `addHistogram` (pass 2), then `result()`. Chunks may start and end anywhere (inside a channel's slab too);
 * `start` is the linear index of the chunk's first element. Pass 2 may be skipped: `result()` then has
 * all-zero histograms over the final edges.
 */
export class StreamingStats {
  private readonly accs: Moments[];
  private readonly chunk: Moments[];
  private readonly sums: Float64Array;
  /** Per-channel shift (the channel's first finite value): moments are kept of x - shift, so that the means
   * merged across chunks stay small and exact next to off-centre data. */
  private readonly shift: Float64Array;
  private readonly shifted: Uint8Array;
  private readonly hist: Float64Array;
  private edgesCache: number[] | null = null;
  /** Elements seen by each pass, to check the passes covered the tensor. */
  seen1 = 0;
  seen2 = 0;

  constructor(
    readonly layout: ChannelLayout,
    readonly bins: number = DEFAULT_BINS,
    readonly groups: readonly (readonly [number, number])[] = [],
  ) {
    if (!Number.isInteger(bins) || bins < 1 || bins > 10000) throw new RangeError(`bins must be an integer in 1..10000, got ${bins}`);
    const C = layout.channels;
    this.accs = Array.from({ length: C }, newMoments);
    this.chunk = Array.from({ length: C }, newMoments);
    this.sums = new Float64Array(C);
    this.shift = new Float64Array(C);
    this.shifted = new Uint8Array(C);
    this.hist = new Float64Array(C * bins);
  }

  /** Total element count the layout describes. */
  get total(): number {
    return this.layout.outer * this.layout.channels * this.layout.inner;
  }

  /** Pass 1: the moments of one chunk, merged into each channel. */
  addMoments(values: ArrayLike<number>, start: number): void {
    const C = this.layout.channels;
    const acc = this.chunk;
    for (const m of acc) { m.count = 0; m.finite = 0; m.mean = 0; m.m2 = 0; m.min = Infinity; m.max = -Infinity; m.nan = 0; m.inf = 0; }
    const sums = this.sums;
    sums.fill(0);
    const len = values.length;
    const shift = this.shift, shifted = this.shifted;
    // First the chunk's own per-channel sums, then deviations from the chunk's channel means.
    this.runs(start, len, (c, i, end) => {
      const m = acc[c];
      if (!shifted[c]) {
        for (let k = i; k < end; k++) if (values[k] - values[k] === 0) { shift[c] = values[k]; shifted[c] = 1; break; }
      }
      const K = shift[c];
      let sum = 0, min = m.min, max = m.max, nan = 0, inf = 0;
      for (let k = i; k < end; k++) {
        const v = values[k];
        if (v - v === 0) {
          sum += v - K;
          if (v < min) min = v;
          if (v > max) max = v;
        } else if (v !== v) nan++;
        else inf++;
      }
      m.count += end - i; m.finite += end - i - nan - inf;
      m.min = min; m.max = max; m.nan += nan; m.inf += inf;
      sums[c] += sum;
    });
    for (let c = 0; c < C; c++) if (acc[c].finite) acc[c].mean = sums[c] / acc[c].finite;
    const comps = sums;
    comps.fill(0);
    this.runs(start, len, (c, i, end) => {
      const mean = acc[c].mean;
      const K = shift[c];
      let m2 = 0, comp = 0;
      for (let k = i; k < end; k++) {
        const v = values[k];
        if (v - v !== 0) continue;
        const d = (v - K) - mean;
        m2 += d * d;
        comp += d;
      }
      acc[c].m2 += m2;
      comps[c] += comp;
    });
    for (let c = 0; c < C; c++) {
      const m = acc[c];
      if (m.count === 0) continue;
      if (m.finite) {
        m.mean += comps[c] / m.finite;
        m.m2 = Math.max(0, m.m2 - (comps[c] * comps[c]) / m.finite);
      }
      mergeMoments(this.accs[c], m);
    }
    this.seen1 += len;
    this.edgesCache = null;
  }

  /** Each channel's merged moments so far. */
  channelMoments(): Moments[] {
    return this.accs.map((m, c) => ({ ...m, mean: m.finite ? m.mean + this.shift[c] : 0 }));
  }

  /** The shared histogram edges, fixed by pass 1's min and max (as `sideStats` picks them). */
  edges(): number[] {
    if (!this.edgesCache) {
      let gmin = Infinity, gmax = -Infinity;
      for (const a of this.accs) { if (a.min < gmin) gmin = a.min; if (a.max > gmax) gmax = a.max; }
      this.edgesCache = histogramEdges(gmin, gmax, this.bins);
    }
    return this.edgesCache;
  }

  /** Pass 2: histogram counts of one chunk over the edges pass 1 fixed. */
  addHistogram(values: ArrayLike<number>, start: number): void {
    const edges = this.edges();
    const bins = this.bins;
    const lo = edges[0];
    const scale = bins / (edges[bins] - lo);
    const hist = this.hist;
    this.runs(start, values.length, (c, i, end) => {
      const base = c * bins;
      for (let k = i; k < end; k++) {
        const v = values[k];
        if (v - v !== 0) continue;
        let b = Math.floor((v - lo) * scale);
        if (b >= bins) b = bins - 1;
        else if (b < 0) b = 0;
        hist[base + b]++;
      }
    });
    this.seen2 += values.length;
  }

  /** The statistics so far (final once both passes have covered the tensor). */
  result(): SideStats {
    const { channels: C } = this.layout;
    const bins = this.bins;
    const edges = this.edges();
    const histOf = (c: number) => Array.from(this.hist.subarray(c * bins, (c + 1) * bins));
    const accs = this.channelMoments();
    const channels: ChannelStats[] = accs.map((a, c) => ({ channel: c, ...summaryOfMoments(a), histogram: histOf(c) }));
    const groups: GroupStats[] = this.groups.map(([first, last], g) => {
      const m = newMoments();
      const h = new Array<number>(bins).fill(0);
      for (let c = first; c <= last; c++) {
        mergeMoments(m, accs[c]);
        for (let b = 0; b < bins; b++) h[b] += this.hist[c * bins + b];
      }
      return { group: g, channels: [first, last] as const, ...summaryOfMoments(m), histogram: h };
    });
    const all = newMoments();
    const counts = new Array<number>(bins).fill(0);
    for (let c = 0; c < C; c++) {
      mergeMoments(all, accs[c]);
      for (let b = 0; b < bins; b++) counts[b] += this.hist[c * bins + b];
    }
    return { overall: { ...summaryOfMoments(all), histogram: { edges, counts } }, edges, channels, groups };
  }

  /** Calls fn(channel, from, to) for each run of chunk positions [from, to) that lie in one channel's slab. */
  private runs(start: number, len: number, fn: (c: number, from: number, to: number) => void): void {
    const { channels: C, inner } = this.layout;
    if (inner === 0 || C === 0) return;
    let i = 0;
    while (i < len) {
      const pos = start + i;
      const slab = Math.floor(pos / inner);
      const end = Math.min(len, (slab + 1) * inner - start);
      fn(slab % C, i, end);
      i = end;
    }
  }
}
