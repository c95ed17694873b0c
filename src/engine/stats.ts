/**
 * Statistics and histograms per tensor, per channel and per group. Population (biased) std everywhere.
 * count is every element; mean/std/min/max are over the finite values (null when there are none).
 * All channels of one tensor share one set of histogram edges so they compare at a glance.
 */

/** Summary statistics of a set of values. */
export interface Summary {
  readonly count: number;
  readonly mean: number | null;
  /** Population standard deviation (divide by n), as the normalization itself uses. */
  readonly std: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly nan: number;
  readonly inf: number;
}

export interface Histogram {
  /** bins + 1 ascending edges; the last bin includes its right edge (numpy's convention). */
  readonly edges: number[];
  readonly counts: number[];
}

export interface ChannelStats extends Summary {
  readonly channel: number;
  /** Counts over the side's shared edges. */
  readonly histogram: number[];
}

export interface GroupStats extends Summary {
  readonly group: number;
  /** First and last channel (inclusive) of the group. */
  readonly channels: readonly [number, number];
  readonly histogram: number[];
}

/** One side (before or after) of a normalization. */
export interface SideStats {
  readonly overall: Summary & { readonly histogram: Histogram };
  /** The edges shared by every channel's and group's histogram on this side. */
  readonly edges: number[];
  readonly channels: ChannelStats[];
  readonly groups: GroupStats[];
}

/** How the values fall into channels: a C-order array viewed as (outer, channels, inner). */
export interface ChannelLayout {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
}

export const DEFAULT_BINS = 50;

/**
 * The most channels statistics are taken one by one for (65,536). Past it, a wide channel axis such as (1, 10^7),
 * or an empty tensor that declares (0, 10^12), would make per-channel statistics (a summary and a histogram each)
 * take far more memory than the values, or all of it; statistics are then of the whole tensor (`channelLayout`
 * gives one channel) and `wideAxisNote` says why.
 */
export const MAX_STAT_CHANNELS = 65536;

/** Why statistics along `axis` of `shape` are of the whole tensor, not per channel (undefined when they are per channel). */
export function wideAxisNote(shape: readonly number[], axis: number): string | undefined {
  if (axis < 0 || axis >= shape.length || shape[axis] <= MAX_STAT_CHANNELS) return undefined;
  return `statistics are of the whole tensor, not per channel: axis ${axis} has ${shape[axis].toLocaleString('en-US')} channels, more than the ${MAX_STAT_CHANNELS.toLocaleString('en-US')} NormScope takes one by one`;
}

/**
 * The (outer, C, inner) view of a C-order tensor of `shape` with channels on `axis` (-1, or more than
 * MAX_STAT_CHANNELS on it: one channel).
 */
export function channelLayout(shape: readonly number[], axis: number): ChannelLayout {
  const n = shape.reduce((a, b) => a * b, 1);
  if (axis < 0 || axis >= shape.length || shape[axis] > MAX_STAT_CHANNELS) return { outer: 1, channels: 1, inner: n };
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { outer, channels: shape[axis], inner };
}

/**
 * Running accumulation for one channel over both passes (exported for the fast kernels, which fill the same
 * fields in WebAssembly and finish with `histogramPlan` and `finishSide`).
 */
export interface ChannelAccumulator {
  count: number;
  finite: number;
  sum: number;
  min: number;
  max: number;
  nan: number;
  inf: number;
  m2: number;
  /** Sum of deviations from the channel's float64 mean (the corrected two-pass residue). */
  comp: number;
}

type Acc = ChannelAccumulator;

export function newAccumulator(): ChannelAccumulator {
  return { count: 0, finite: 0, sum: 0, min: Infinity, max: -Infinity, nan: 0, inf: 0, m2: 0, comp: 0 };
}

/**
 * Per-channel, per-group and overall statistics of `values` (C-order) laid out as `layout`.
 * Two passes: sums/min/max, then squared deviations from each channel's mean and the histograms.
 * `groups` lists channel ranges [first, last] (e.g. GroupNorm's groups); may be empty.
 */
export function sideStats(
  values: ArrayLike<number>,
  layout: ChannelLayout,
  bins: number = DEFAULT_BINS,
  groups: readonly (readonly [number, number])[] = [],
): SideStats {
  const { outer, channels: C, inner } = layout;
  if (!Number.isInteger(bins) || bins < 1 || bins > 10000) throw new RangeError(`bins must be an integer in 1..10000, got ${bins}`);
  const accs: Acc[] = [];
  for (let c = 0; c < C; c++) accs.push(newAccumulator());

  // Pass 1: count, sum, min, max, NaN/Inf per channel.
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const a = accs[c];
      const base = (o * C + c) * inner;
      let sum = 0, min = a.min, max = a.max, nan = 0, inf = 0;
      for (let i = base, end = base + inner; i < end; i++) {
        const v = values[i];
        if (v - v === 0) { // finite
          sum += v;
          if (v < min) min = v;
          if (v > max) max = v;
        } else if (v !== v) nan++;
        else inf++;
      }
      a.count += inner;
      a.finite += inner - nan - inf;
      a.sum += sum; a.min = min; a.max = max; a.nan += nan; a.inf += inf;
    }
  }
  const { edges, lo, scale, means } = histogramPlan(accs, bins);
  const hist: number[][] = accs.map(() => new Array<number>(bins).fill(0));

  // Pass 2: squared deviations from the channel mean, histogram counts.
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < C; c++) {
      const a = accs[c];
      const h = hist[c];
      const mean = means[c];
      const base = (o * C + c) * inner;
      let m2 = 0, comp = 0;
      for (let i = base, end = base + inner; i < end; i++) {
        const v = values[i];
        if (v - v !== 0) continue;
        const d = v - mean;
        m2 += d * d;
        comp += d;
        let b = Math.floor((v - lo) * scale);
        if (b >= bins) b = bins - 1;
        else if (b < 0) b = 0;
        h[b]++;
      }
      a.m2 += m2;
      a.comp += comp;
    }
  }
  return finishSide(accs, hist, edges, groups);
}

/** The shared edges from the channels' pass-1 accumulators, and what pass 2 needs: lo, bins / width, means. */
export function histogramPlan(accs: readonly ChannelAccumulator[], bins: number): { edges: number[]; lo: number; scale: number; means: number[] } {
  let gmin = Infinity, gmax = -Infinity;
  for (const a of accs) { if (a.min < gmin) gmin = a.min; if (a.max > gmax) gmax = a.max; }
  const edges = histogramEdges(gmin, gmax, bins);
  const lo = edges[0];
  const scale = bins / (edges[bins] - lo);
  const means = accs.map((a) => (a.finite ? a.sum / a.finite : 0));
  return { edges, lo, scale, means };
}

/**
 * A side from both passes' accumulators and the channels' histogram counts (over `edges`): removes the
 * residue of each channel's mean from m2 (mutates `accs`), then channel, group and overall summaries.
 */
export function finishSide(
  accs: ChannelAccumulator[],
  hist: number[][],
  edges: number[],
  groups: readonly (readonly [number, number])[],
): SideStats {
  const bins = edges.length - 1;
  // The corrected two-pass algorithm: remove the rounding residue of the mean, once per channel.
  for (const a of accs) {
    if (a.finite) a.m2 = Math.max(0, a.m2 - (a.comp * a.comp) / a.finite);
  }

  const channelStats: ChannelStats[] = accs.map((a, c) => ({ channel: c, ...summaryOf(a), histogram: hist[c] }));
  const groupStats: GroupStats[] = groups.map(([first, last], g) => {
    const merged = merge(accs.slice(first, last + 1));
    const h = new Array<number>(bins).fill(0);
    for (let c = first; c <= last; c++) for (let b = 0; b < bins; b++) h[b] += hist[c][b];
    return { group: g, channels: [first, last] as const, ...summaryOf(merged), histogram: h };
  });
  const all = merge(accs);
  const overallCounts = new Array<number>(bins).fill(0);
  for (const h of hist) for (let b = 0; b < bins; b++) overallCounts[b] += h[b];
  return {
    overall: { ...summaryOf(all), histogram: { edges, counts: overallCounts } },
    edges,
    channels: channelStats,
    groups: groupStats,
  };
}

/** Statistics of all values as one channel. */
export function summarize(values: ArrayLike<number>, bins: number = DEFAULT_BINS): Summary & { histogram: Histogram } {
  return sideStats(values, { outer: 1, channels: 1, inner: values.length }, bins).overall;
}

/** Equal-width edges from min to max; a constant (or empty) range is widened by 0.5 either side. */
export function histogramEdges(min: number, max: number, bins: number): number[] {
  if (!(min <= max)) { min = 0; max = 1; } // no finite values
  else if (min === max) { min -= 0.5; max += 0.5; }
  const edges = new Array<number>(bins + 1);
  const width = (max - min) / bins;
  for (let i = 0; i <= bins; i++) edges[i] = min + i * width;
  edges[bins] = max;
  return edges;
}

/** Chan et al.'s parallel merge of channel accumulators (means combined around the total mean). */
function merge(accs: readonly Acc[]): Acc {
  const out = newAccumulator();
  for (const a of accs) {
    out.count += a.count; out.finite += a.finite; out.sum += a.sum;
    out.nan += a.nan; out.inf += a.inf;
    if (a.min < out.min) out.min = a.min;
    if (a.max > out.max) out.max = a.max;
  }
  const mean = out.finite ? out.sum / out.finite : 0;
  for (const a of accs) {
    if (!a.finite) continue;
    const d = a.sum / a.finite - mean;
    out.m2 += a.m2 + a.finite * d * d;
  }
  return out;
}

function summaryOf(a: Acc): Summary {
  if (a.finite === 0) return { count: a.count, mean: null, std: null, min: null, max: null, nan: a.nan, inf: a.inf };
  return {
    count: a.count,
    mean: a.sum / a.finite,
    std: Math.sqrt(a.m2 / a.finite),
    min: a.min,
    max: a.max,
    nan: a.nan,
    inf: a.inf,
  };
}
