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
  /** Scratch for one run of values in one channel (its `shift` is the run's own). */
  private readonly run: Moments & { shift: number } = { ...newMoments(), shift: 0 };
  private scratch: Float64Array | null = null;
  /** Per-channel shift (the channel's first finite value): moments are kept of x - shift, so that the means
   * merged across chunks stay small and exact next to off-centre data. */
  private readonly shift: Float64Array;
  private readonly shifted: Uint8Array;
  private readonly hist: Float64Array;
  private edgesCache: number[] | null = null;
  /** Edges assumed while pass 1 runs (see `assumeEdges`), or null. */
  private assumed: number[] | null = null;

  constructor(
    readonly layout: ChannelLayout,
    readonly bins: number = DEFAULT_BINS,
    readonly groups: readonly (readonly [number, number])[] = [],
  ) {
    if (!Number.isInteger(bins) || bins < 1 || bins > 10000) throw new RangeError(`bins must be an integer in 1..10000, got ${bins}`);
    const C = layout.channels;
    this.accs = Array.from({ length: C }, newMoments);
    this.shift = new Float64Array(C);
    this.shifted = new Uint8Array(C);
    this.hist = new Float64Array(C * bins);
  }

  /** Pass 1: the moments of one chunk, merged into each channel. */
  addMoments(values: ArrayLike<number>, start: number): void {
    const { channels: C, inner } = this.layout;
    const len = values.length;
    if (inner === 0 || C === 0) return;
    if (inner === 1 && C > 1) { this.addMomentsInterleaved(values, start); return; }
    const run = this.run;
    for (let i = 0; i < len;) {
      const slab = Math.floor((start + i) / inner);
      const end = Math.min(len, (slab + 1) * inner - start);
      const c = slab % C;
      runMoments(values, i, end, run);
      const m = this.accs[c];
      if (!this.shifted[c] && run.finite) { this.shift[c] = run.shift; this.shifted[c] = 1; }
      // the run's mean relative to the channel's shift, so merged means stay of the size of the spread
      run.mean += run.shift - this.shift[c];
      mergeMoments(m, run);
      i = end;
    }
    this.edgesCache = null;
  }

  /**
   * Pass 1 for channels-last data (inner 1: consecutive values cycle through the channels): per-channel
   * shifted sums over the chunk in one sweep, then one Chan merge per channel. A channel whose shift lies far
   * from its mean in this chunk gets a second, strided pass about its mean.
   */
  private addMomentsInterleaved(values: ArrayLike<number>, start: number): void {
    const C = this.layout.channels;
    const len = values.length;
    const sc = this.scratch ?? (this.scratch = new Float64Array(6 * C));
    sc.fill(0);
    const shift = this.shift, shifted = this.shifted;
    // sc: [sd | sq | min | max | n | bad] per channel
    for (let c = 0; c < C; c++) { sc[2 * C + c] = Infinity; sc[3 * C + c] = -Infinity; }
    for (let i = 0, c = start % C; i < len; i++) {
      const x = values[i];
      if (x - x === 0) {
        if (!shifted[c]) { shift[c] = x; shifted[c] = 1; }
        const d = x - shift[c];
        sc[c] += d;
        sc[C + c] += d * d;
        if (x < sc[2 * C + c]) sc[2 * C + c] = x;
        if (x > sc[3 * C + c]) sc[3 * C + c] = x;
        sc[4 * C + c]++;
      } else if (x !== x) sc[5 * C + c]++;
      else this.accs[c].inf++;
      if (++c === C) c = 0;
    }
    const run = this.run;
    for (let c = 0; c < C; c++) {
      const n = sc[4 * C + c];
      // elements of channel c in this chunk
      const first = (c - (start % C) + C) % C;
      const count = first < len ? Math.floor((len - 1 - first) / C) + 1 : 0;
      let mean = n ? sc[c] / n : 0;
      let m2 = n ? Math.max(0, sc[C + c] - sc[c] * mean) : 0;
      if (n && mean * mean * n > SHIFT_TRUST * m2) {
        const centre = shift[c] + mean;
        let s2 = 0, comp = 0;
        for (let i = first; i < len; i += C) {
          const x = values[i];
          if (!(x - x === 0)) continue;
          const d = x - centre;
          s2 += d * d;
          comp += d;
        }
        mean += comp / n;
        m2 = Math.max(0, s2 - (comp * comp) / n);
      }
      run.count = count; run.finite = n; run.mean = mean; run.m2 = m2;
      run.min = sc[2 * C + c]; run.max = sc[3 * C + c]; run.nan = sc[5 * C + c]; run.inf = 0;
      mergeMoments(this.accs[c], run);
    }
    this.edgesCache = null;
  }

  /** Pass 2: histogram counts of one chunk over the edges pass 1 fixed. */
  addHistogram(values: ArrayLike<number>, start: number): void {
    const edges = this.edges();
    const bins = this.bins;
    const lo = edges[0];
    const scale = bins / (edges[bins] - lo);
    const hist = this.hist;
    const { channels: C, inner } = this.layout;
    const len = values.length;
    if (inner === 0 || C === 0) return;
    if (inner === 1) {
      // channels last: consecutive values cycle through the channels
      const last = bins - 1;
      for (let i = 0, c = start % C; i < len; i++) {
        const x = values[i];
        if (x - x === 0) {
          const b = ((x - lo) * scale) | 0;
          hist[c * bins + (b > last ? last : b)]++;
        }
        if (++c === C) c = 0;
      }
      return;
    }
    for (let i = 0; i < len;) {
      const slab = Math.floor((start + i) / inner);
      const end = Math.min(len, (slab + 1) * inner - start);
      histogramRun(values, i, end, hist, (slab % C) * bins, bins, lo, scale);
      i = end;
    }
  }

  /**
   * Merges moments of channel `c` taken elsewhere (e.g. by the stats kernels; `m.mean` absolute) into pass 1.
   * The channel's shift is its first merged finite mean, so merged means stay of the size of the spread.
   */
  addChannelMoments(c: number, m: Moments): void {
    if (m.count === 0) return;
    if (!this.shifted[c] && m.finite) { this.shift[c] = m.mean; this.shifted[c] = 1; }
    const run = this.run;
    run.count = m.count; run.finite = m.finite; run.nan = m.nan; run.inf = m.inf; run.min = m.min; run.max = m.max;
    run.mean = m.finite ? m.mean - this.shift[c] : 0;
    run.m2 = m.m2;
    mergeMoments(this.accs[c], run);
    this.edgesCache = null;
  }

  /** Adds histogram counts of channel `c` (over `edges()`, counted elsewhere) into pass 2. */
  addChannelHistogram(c: number, counts: ArrayLike<number>): void {
    const bins = this.bins;
    const h = this.hist;
    for (let b = 0, o = c * bins; b < bins; b++) h[o + b] += counts[b];
  }

  /** Per channel: 1 when pass 1 found no NaN or Inf in it. */
  finiteChannels(): Uint8Array {
    return Uint8Array.from(this.accs, (a) => (a.nan || a.inf ? 0 : 1));
  }

  /** Starts from channel moments merged earlier (`channelMoments()` of a StreamingStats of the same layout). */
  seedMoments(ch: readonly Moments[]): void {
    if (ch.length !== this.accs.length) throw new RangeError(`${ch.length} channel moments for ${this.accs.length} channels`);
    ch.forEach((m, c) => this.addChannelMoments(c, m));
  }

  /** Each channel's merged moments so far. */
  channelMoments(): Moments[] {
    return this.accs.map((m, c) => ({ ...m, mean: m.finite ? m.mean + this.shift[c] : 0 }));
  }

  /**
   * Lets pass 2 run beside pass 1: histograms count over `edges`, predicted before the values arrive (e.g. the
   * image of known input extremes under an affine map), until `settleEdges`. Count a chunk after its moments
   * and only while `withinAssumedEdges()` holds.
   */
  assumeEdges(edges: readonly number[]): void {
    if (edges.length !== this.bins + 1) throw new RangeError(`${edges.length} edges for ${this.bins} bins`);
    this.assumed = [...edges];
  }

  /** While edges are assumed: whether every finite value merged so far lies within them. */
  withinAssumedEdges(): boolean {
    const e = this.assumed;
    if (!e) return false;
    for (const a of this.accs) if (a.finite && (a.min < e[0] || a.max > e[this.bins])) return false;
    return true;
  }

  /**
   * Ends `assumeEdges` once pass 1 is complete: true when every chunk was counted (`complete`) and pass 1's min
   * and max fix exactly the assumed edges, so the counts are final; otherwise the histograms are zeroed for a
   * pass 2 over the true edges.
   */
  settleEdges(complete: boolean): boolean {
    const assumed = this.assumed;
    this.assumed = null;
    this.edgesCache = null;
    const edges = this.edges();
    const held = complete && assumed !== null && assumed.every((e, i) => Object.is(e, edges[i]));
    if (!held) this.hist.fill(0);
    return held;
  }

  /** The shared histogram edges, fixed by pass 1's min and max (as `sideStats` picks them), or the assumed ones. */
  edges(): number[] {
    if (this.assumed) return this.assumed;
    if (!this.edgesCache) {
      let gmin = Infinity, gmax = -Infinity;
      for (const a of this.accs) { if (a.min < gmin) gmin = a.min; if (a.max > gmax) gmax = a.max; }
      this.edgesCache = histogramEdges(gmin, gmax, this.bins);
    }
    return this.edgesCache;
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
}

/**
 * A run's shifted sums are trusted when (mean - shift)^2 <= SHIFT_TRUST var, i.e. the shift lies within 4 std
 * of the run's mean: M2 = sum d^2 - (sum d)^2 / n then loses at most a factor ~16 of float64's precision.
 * A shift further out (an outlier as the first value, data drifting away from a channel's first value) takes
 * a second pass about the mean (see runMoments).
 */
const SHIFT_TRUST = 16;

/**
 * Moments of values[from..to) into `out`, kept relative to `out.shift` (the run's first finite value). One pass
 * of shifted sums d = x - shift, sum d and sum d^2, without NaN checks; the rare run with a non-finite value
 * takes a checked loop, and the rare run whose first value lies far from its mean (mean^2 > SHIFT_TRUST var)
 * a second pass about its mean, so M2 never suffers the cancellation of a far shift.
 */
function runMoments(values: ArrayLike<number>, from: number, to: number, out: Moments & { shift: number }): void {
  let K = values[from];
  // two interleaved accumulator sets: half the length of the add chains that bound this loop
  let sd = 0, sq = 0, sd1 = 0, sq1 = 0, min = Infinity, max = -Infinity, min1 = Infinity, max1 = -Infinity;
  const pairs = to - ((to - from) & 1);
  for (let k = from; k < pairs; k += 2) {
    const x = values[k], y = values[k + 1];
    const d = x - K, e = y - K;
    sd += d;
    sq += d * d;
    sd1 += e;
    sq1 += e * e;
    min = x < min ? x : min;
    max = x > max ? x : max;
    min1 = y < min1 ? y : min1;
    max1 = y > max1 ? y : max1;
  }
  if (pairs < to) {
    const x = values[pairs];
    const d = x - K;
    sd1 += d;
    sq1 += d * d;
    min1 = x < min1 ? x : min1;
    max1 = x > max1 ? x : max1;
  }
  sd += sd1;
  sq += sq1;
  if (min1 < min) min = min1;
  if (max1 > max) max = max1;
  let n = to - from, nan = 0, inf = 0;
  if (!(sq - sq === 0) || min === -Infinity || max === Infinity) {
    // some value is NaN or infinite: count them and take the moments of the finite ones
    K = NaN;
    sd = 0; sq = 0; min = Infinity; max = -Infinity;
    for (let k = from; k < to; k++) {
      const x = values[k];
      if (x - x === 0) {
        if (K !== K) K = x;
        const d = x - K;
        sd += d;
        sq += d * d;
        if (x < min) min = x;
        if (x > max) max = x;
      } else if (x !== x) nan++;
      else inf++;
    }
    n -= nan + inf;
  }
  out.count = to - from; out.finite = n; out.nan = nan; out.inf = inf; out.min = min; out.max = max;
  if (n === 0) { out.shift = 0; out.mean = 0; out.m2 = 0; return; }
  let mean = sd / n;
  let m2 = Math.max(0, sq - sd * mean);
  if (mean * mean * n > SHIFT_TRUST * m2) {
    // the shift was far from the mean: deviations from the mean itself, corrected two-pass
    const c = K + mean;
    let s2 = 0, comp = 0;
    for (let k = from; k < to; k++) {
      const x = values[k];
      if (!(x - x === 0)) continue;
      const d = x - c;
      s2 += d * d;
      comp += d;
    }
    mean += comp / n;
    m2 = Math.max(0, s2 - (comp * comp) / n);
  }
  out.shift = K; out.mean = mean; out.m2 = m2;
}

/** Counts finite values[from..to) into hist[base..base+bins) (bin = floor((x - lo) * scale), last bin closed). */
function histogramRun(
  values: ArrayLike<number>, from: number, to: number, hist: Float64Array, base: number, bins: number, lo: number, scale: number,
): void {
  const last = bins - 1;
  for (let k = from; k < to; k++) {
    const x = values[k];
    if (!(x - x === 0)) continue;
    // x >= lo (the minimum), so truncation is floor; the maximum lands on `bins` and belongs to the last bin
    const b = ((x - lo) * scale) | 0;
    hist[base + (b > last ? last : b)]++;
  }
}
