/**
 * Shared pieces of the five normalization ops: parameter validation, the canonical (N, C, S) geometry that
 * BatchNorm, GroupNorm and InstanceNorm run on, channels-last transposes, and the float64 reduction loops.
 *
 * Numerics (all ops): statistics are accumulated in float64 from shifted sums (d = x - k with k a sample of
 * the group; var = (sum d^2 - (sum d)^2 / n) / n), checked for cancellation and redone about the mean (the
 * corrected two-pass algorithm) when the shift was far from the mean, so they stay accurate for data far from
 * zero (mean 1e4, std 1e-2). The mean is kept as shift + offset and outputs are computed in float64 as
 * ((x - k) - dm) * a + b and rounded once when stored: a float32 output is the correctly rounded result except
 * in rare near-ties (none among the ~14,600 elements test/unit/ops.test.ts decides, offsets up to 3e4 included).
 */
import { DType } from '../dtype';
import { NormScopeError } from '../errors';
import { NormParams, OpName, ResolvedParams, ShapeReport } from '../params';
import { Tensor, numel, shapeString, tensor, toComputeArray, toFloat64 } from '../tensor';

/** Contiguous values an op reads or writes. */
export type FloatArray = Float32Array | Float64Array;

/** Default eps of BatchNorm, LayerNorm, GroupNorm and InstanceNorm. */
export const DEFAULT_EPS = 1e-5;
/** BatchNorm's default momentum. */
export const DEFAULT_MOMENTUM = 0.1;
/** torch.finfo(torch.float32).eps and torch.finfo(torch.float64).eps: RMSNorm's eps=None. */
export const FLOAT32_EPS = 1.1920928955078125e-7;
export const FLOAT64_EPS = 2.220446049250313e-16;

/**
 * Where the channels are and how the input maps onto the canonical (N, C, S) view: N samples (1 for
 * unbatched input), C channels, S = product of the spatial dims. `channelsLast` means the channel axis is the
 * input's last axis (layout 'nhwc'), so the canonical data is a transposed copy.
 */
export interface Geometry {
  readonly N: number;
  readonly C: number;
  readonly S: number;
  readonly spatial: readonly number[];
  /** Input axis of the channels, in the input's own numbering. */
  readonly channelAxis: number;
  /** Input axis of the batch, or -1 when the input is unbatched (N = 1 added). */
  readonly batchAxis: number;
  /** Input axes of the spatial dims, in canonical order. */
  readonly spatialAxes: readonly number[];
  readonly channelsLast: boolean;
  /** The (N, C, *spatial) shape. */
  readonly canonicalShape: readonly number[];
}

/**
 * How one op will run on one input: everything validated and resolved, nothing computed yet. LayerNorm and
 * RMSNorm run on report.num_stat_groups contiguous rows of report.stat_group_size input elements; the others
 * on the canonical (N, C, S) data of `geometry`. `slabGroup` says how the canonical (n, c) slabs of S elements
 * fall into statistic groups (see CanonicalView).
 */
export interface OpPlan {
  readonly resolved: ResolvedParams;
  readonly report: ShapeReport;
  readonly warnings: string[];
  readonly geometry: Geometry;
  readonly slabGroup: SlabGroup | null;
  readonly outDType: 'float32' | 'float64';
}

/** Statistic group of canonical slab (n, c) = n * perSample + floor(c / channelsPerGroup). */
export interface SlabGroup {
  readonly perSample: number;
  readonly channelsPerGroup: number;
}

// ---------------------------------------------------------------------------------------------------------
// Validation

/** `[1, 3]`, the way our messages print torch.Size([1, 3]). */
export const sizeString = shapeString;

export function outDTypeOf(d: DType): 'float32' | 'float64' {
  return d === 'float64' ? 'float64' : 'float32';
}

export function resolveEps(p: NormParams, fallback: number): number {
  if (p.eps === undefined) return fallback;
  if (typeof p.eps !== 'number' || !Number.isFinite(p.eps) || p.eps < 0) {
    throw new NormScopeError(`eps must be a finite number >= 0, got ${String(p.eps)}`);
  }
  return p.eps;
}

export function resolveMomentum(p: NormParams): number | null {
  if (p.momentum === undefined) return DEFAULT_MOMENTUM;
  if (p.momentum === null) return null;
  if (typeof p.momentum !== 'number' || !(p.momentum >= 0 && p.momentum <= 1)) {
    throw new NormScopeError(`momentum must be a number in [0, 1] or null (cumulative average), got ${String(p.momentum)}`);
  }
  return p.momentum;
}

export function resolveBatchesTracked(p: NormParams): number {
  const v = p.num_batches_tracked ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new NormScopeError(`num_batches_tracked must be an integer >= 0, got ${String(v)}`);
  }
  return v;
}

export function resolveMode(p: NormParams): 'train' | 'eval' {
  const m = p.mode ?? 'train';
  if (m !== 'train' && m !== 'eval') throw new NormScopeError(`mode must be 'train' or 'eval', got ${String(m)}`);
  return m;
}

export function resolveLayout(p: NormParams): 'nchw' | 'nhwc' {
  const l = p.layout ?? 'nchw';
  if (l !== 'nchw' && l !== 'nhwc') throw new NormScopeError(`layout must be 'nchw' or 'nhwc', got ${String(l)}`);
  return l;
}

/**
 * Checks a per-channel tensor (weight, bias, running_mean, running_var): C elements, shaped [C] or [C] padded
 * with size-1 dims (e.g. [1, C, 1, 1]; a scalar when C = 1). PyTorch's batch_norm accepts any shape with C
 * elements; we refuse shapes like [2, 2] for C = 4, which are more likely a wrong file than a layout.
 */
export function checkPerChannel(name: string, t: Tensor | undefined, C: number): void {
  if (t === undefined) return;
  const ok = numel(t.shape) === C && t.shape.filter((d) => d !== 1).length <= 1;
  if (!ok) {
    throw new NormScopeError(`${name} has shape ${shapeString(t.shape)}, expected [${C}] (one per channel, C=${C})`);
  }
}

/** Checks weight/bias of LayerNorm/RMSNorm: exactly normalized_shape, as PyTorch requires. */
export function checkElementwise(name: string, t: Tensor | undefined, ns: readonly number[]): void {
  if (t === undefined) return;
  if (t.shape.length !== ns.length || t.shape.some((d, i) => d !== ns[i])) {
    throw new NormScopeError(`${name} has shape ${shapeString(t.shape)}, expected ${shapeString(ns)} (normalized_shape)`);
  }
}

/** Values of an optional parameter tensor as float64 (null when absent). */
export function valuesOf(t: Tensor | undefined): Float64Array | null {
  return t === undefined ? null : toFloat64(t);
}

/** Warnings for parameters the op does not use (front ends should not fill them in). */
export function unusedWarnings(op: OpName, p: NormParams): string[] {
  const w: string[] = [];
  const name = OP_TITLE[op];
  const ignore = (field: string, why = ''): void => { w.push(`${name} ignores ${field}${why}`); };
  if (op !== 'group' && p.groups !== undefined) ignore('groups');
  if (op !== 'layer' && op !== 'rms' && p.normalized_shape !== undefined) ignore('normalized_shape');
  if (op !== 'batch') {
    if (p.momentum !== undefined) ignore('momentum');
    if (p.num_batches_tracked !== undefined) ignore('num_batches_tracked');
    const running = op === 'instance' ? ' (it uses instance statistics, as PyTorch\'s default track_running_stats=False does)' : '';
    if (p.running_mean !== undefined) ignore('running_mean', running);
    if (p.running_var !== undefined) ignore('running_var', running);
    if (p.mode === 'eval') {
      ignore("mode 'eval'", op === 'instance'
        ? ' (without running statistics PyTorch\'s InstanceNorm uses instance statistics in eval mode too)'
        : ' (it has no running statistics; train and eval are the same)');
    }
  }
  return w;
}

export const OP_TITLE: Readonly<Record<OpName, string>> = {
  batch: 'BatchNorm', layer: 'LayerNorm', group: 'GroupNorm', instance: 'InstanceNorm', rms: 'RMSNorm',
};

// ---------------------------------------------------------------------------------------------------------
// Geometry

/**
 * The canonical (N, C, *spatial) geometry of a channel-based op. Rank checks are the caller's; this only maps
 * axes: unbatched input gets N = 1; 'nhwc' takes the last axis as channels.
 */
export function channelGeometry(shape: readonly number[], unbatched: boolean, layout: 'nchw' | 'nhwc'): Geometry {
  const rank = shape.length;
  const batchAxis = unbatched || rank === 0 ? -1 : 0;
  const first = batchAxis + 1; // first non-batch axis
  const channelAxis = rank === 0 ? -1 : layout === 'nhwc' ? rank - 1 : Math.min(first, rank - 1);
  const spatialAxes: number[] = [];
  for (let a = first; a < rank; a++) if (a !== channelAxis) spatialAxes.push(a);
  const spatial = spatialAxes.map((a) => shape[a]);
  const N = batchAxis < 0 ? 1 : shape[0];
  const C = channelAxis < 0 ? 1 : shape[channelAxis];
  const S = numel(spatial);
  return {
    N, C, S, spatial, channelAxis, batchAxis, spatialAxes,
    channelsLast: layout === 'nhwc' && spatial.length > 0 && S > 1 && C > 1,
    canonicalShape: [N, C, ...spatial],
  };
}

/** Conventional names of the spatial dims: (L), (H, W), (D, H, W); more dims are d2, d3, ... */
export function spatialNames(k: number): string[] {
  if (k === 1) return ['L'];
  if (k === 2) return ['H', 'W'];
  if (k === 3) return ['D', 'H', 'W'];
  return Array.from({ length: k }, (_, i) => `d${i + 2}`);
}

/** "(N, H, W)" style list; "()" never happens because callers always have at least one name. */
export function nameList(names: readonly string[]): string {
  return `(${names.join(', ')})`;
}

/** Sorted copy of axes. */
export function sortedAxes(axes: readonly number[]): number[] {
  return [...axes].sort((a, b) => a - b);
}

/**
 * Resolves LayerNorm/RMSNorm's normalized_shape (default: the last dim) and checks it against the input's
 * trailing shape, with PyTorch's messages.
 */
export function resolveNormalizedShape(x: Tensor, p: NormParams): number[] {
  const rank = x.shape.length;
  let ns: number[];
  if (p.normalized_shape === undefined) {
    if (rank === 0) throw new NormScopeError(`${OP_TITLE[p.op]} needs at least a 1D input for the default normalized_shape (got 0D input)`);
    ns = [x.shape[rank - 1]];
  } else {
    if (!Array.isArray(p.normalized_shape) || p.normalized_shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new NormScopeError(`normalized_shape must be a list of integers >= 0, got ${JSON.stringify(p.normalized_shape)}`);
    }
    ns = [...p.normalized_shape];
  }
  if (ns.length === 0) {
    throw new NormScopeError('Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got normalized_shape = []');
  }
  const k = ns.length;
  if (rank < k || ns.some((d, i) => x.shape[rank - k + i] !== d)) {
    throw new NormScopeError(`Given normalized_shape=${shapeString(ns)}, expected input with shape [*, ${ns.join(', ')}], `
      + `but got input of size${shapeString(x.shape)}`);
  }
  return ns;
}

/**
 * Plan of a LayerNorm/RMSNorm: statistics over the input's last k dims (rows of the input in C order).
 * `layout` and `unbatched` do not change the op; they only pick the channel axis of the canonical view
 * (nchw: axis 1, or 0 for unbatched or 1D input; nhwc: the last axis).
 */
export function trailingPlan(x: Tensor, p: NormParams, eps: number, ns: readonly number[]): OpPlan {
  const rank = x.shape.length;
  const k = ns.length;
  const unbatched = p.unbatched === true;
  const layout = resolveLayout(p);
  const g = channelGeometry(x.shape, unbatched || rank === 1, layout);
  const lead = x.shape.slice(0, rank - k);
  const K = numel(ns);
  const firstNorm = rank - k;
  const slabGroup = firstNorm === 0 ? { perSample: 0, channelsPerGroup: Math.max(g.C, 1) }
    : firstNorm === 1 && g.batchAxis === 0 ? { perSample: 1, channelsPerGroup: Math.max(g.C, 1) } : null;
  const over = lead.length === 0
    ? `over all dims ${shapeString(ns)} (one statistic)`
    : `per index of the leading dims ${shapeString(lead)} over the last ${k === 1 ? 'dim' : `${k} dims`} ${shapeString(ns)}`;
  const affine = p.weight !== undefined || p.bias !== undefined;
  return {
    resolved: { op: p.op, eps, normalized_shape: [...ns], unbatched, layout, affine },
    report: {
      input_shape: [...x.shape],
      canonical_shape: [...x.shape],
      normalized_axes: Array.from({ length: k }, (_, i) => firstNorm + i),
      num_stat_groups: numel(lead),
      stat_group_size: K,
      description: p.op === 'rms' ? `root mean square ${over}` : over,
      weight_shape: [...ns],
      bias_shape: p.op === 'rms' ? null : [...ns],
      running_shape: null,
      output_shape: [...x.shape],
    },
    warnings: unusedWarnings(p.op, p),
    geometry: g,
    slabGroup,
    outDType: outDTypeOf(x.dtype),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Layout copies

/**
 * Channels-last to channels-first, per sample: dst[n, c, s] = src[n, s, c] for N samples of S x C.
 * Tiled so both sides stay in cache.
 */
export function channelsLastToFirst(src: FloatArray, dst: FloatArray, N: number, S: number, C: number): void {
  transposeBlocks(src, dst, N, S, C);
}

/** Channels-first to channels-last: dst[n, s, c] = src[n, c, s]. */
export function channelsFirstToLast(src: FloatArray, dst: FloatArray, N: number, C: number, S: number): void {
  transposeBlocks(src, dst, N, C, S);
}

const TILE = 32;

/** For each of N blocks, dst (cols x rows) = transpose of src (rows x cols). */
function transposeBlocks(src: FloatArray, dst: FloatArray, N: number, rows: number, cols: number): void {
  const block = rows * cols;
  for (let n = 0; n < N; n++) {
    const base = n * block;
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(r0 + TILE, rows);
      for (let c0 = 0; c0 < cols; c0 += TILE) {
        const c1 = Math.min(c0 + TILE, cols);
        for (let r = r0; r < r1; r++) {
          const s = base + r * cols;
          let d = base + c0 * rows + r;
          for (let c = c0; c < c1; c++, d += rows) dst[d] = src[s + c];
        }
      }
    }
  }
}

/**
 * Runs a kernel over the canonical (N, C, S) data of a channel-based op: channels-last input is transposed to
 * channels-first before and the output transposed back after, so the output has the input's shape and layout.
 */
export function runChannelOp(x: Tensor, plan: OpPlan, kernel: (xc: FloatArray, out: FloatArray) => void): Tensor {
  const { N, C, S, channelsLast } = plan.geometry;
  const n = N * C * S;
  let xc = toComputeArray(x);
  if (channelsLast) {
    const t = xc instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
    channelsLastToFirst(xc, t, N, S, C);
    xc = t;
  }
  let out = allocLike(plan.outDType, n);
  kernel(xc, out);
  if (channelsLast) {
    // the transposed input copy is ours and no longer needed: reuse it for the result when the types agree
    const t = (plan.outDType === 'float64') === (xc instanceof Float64Array) ? xc : allocLike(plan.outDType, n);
    channelsFirstToLast(out, t, N, C, S);
    out = t;
  }
  return tensor(plan.outDType, x.shape, out);
}

export function allocLike(dtype: 'float32' | 'float64', n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

// ---------------------------------------------------------------------------------------------------------
// Reductions (float64 accumulators, 4-way unrolled: independent adds pipeline and bounds checks hoist)

/** Sum of x[start, end) in float64. */
export function sumRange(x: FloatArray, start: number, end: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = start;
  for (const e4 = end - 3; i < e4; i += 4) {
    s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3];
  }
  for (; i < end; i++) s0 += x[i];
  return (s0 + s1) + (s2 + s3);
}

/** Sum of squares of x[start, end) in float64. */
export function sumSquaresRange(x: FloatArray, start: number, end: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = start;
  for (const e4 = end - 3; i < e4; i += 4) {
    const a = x[i], b = x[i + 1], c = x[i + 2], d = x[i + 3];
    s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d;
  }
  for (; i < end; i++) { const a = x[i]; s0 += a * a; }
  return (s0 + s1) + (s2 + s3);
}

/**
 * Sums of d = x - k and d^2 over x[start, end): returns sum d^2 and leaves sum d in `devSum[0]` (read it
 * before the next call). With k a value near the mean these are the shifted sums of a one-pass variance;
 * with k = the mean, the second pass of the corrected two-pass algorithm.
 */
export const devSum = new Float64Array(1);
export function devSquaresRange(x: FloatArray, start: number, end: number, k: number): number {
  let d0 = 0, d1 = 0, q0 = 0, q1 = 0;
  let i = start;
  for (const e2 = end - 1; i < e2; i += 2) {
    const a = x[i] - k, b = x[i + 1] - k;
    d0 += a; d1 += b; q0 += a * a; q1 += b * b;
  }
  for (; i < end; i++) { const a = x[i] - k; d0 += a; q0 += a * a; }
  devSum[0] = d0 + d1;
  return q0 + q1;
}

/**
 * Shifted sums are trusted when (mean - shift)^2 <= SHIFT_TRUST * var, i.e. the shift lies within 4 standard
 * deviations of the mean: the cancellation in sum d^2 - (sum d)^2 / n then costs at most log2(17) ~ 4 of
 * float64's 53 bits. Otherwise (an outlier as shift, or non-finite data) a second pass runs about a shift next
 * to the mean.
 */
export const SHIFT_TRUST = 16;

/** Biased variance from sums of d = x - k and d^2 (clamped at 0 against rounding). */
export function varianceOf(sumDev: number, sumSq: number, n: number): number {
  const v = (sumSq - (sumDev * sumDev) / n) / n;
  return v > 0 ? v : 0;
}

/**
 * The shift for a second pass about `mean`: the mean rounded to float32 for float32 data, so that x - shift
 * stays exact in float64 (see momentsRange).
 */
export function secondShift(x: FloatArray, mean: number): number {
  return x instanceof Float32Array ? Math.fround(mean) : mean;
}

/**
 * Statistics of x[start, end) into rangeStats: [0] shift k, [1] offset dm, [2] biased variance, with
 * mean = k + dm. The mean is kept as that pair because a float64 mean of data far from zero (1e4) carries an
 * absolute error of ulp(1e4)/2 ~ 1e-12, which x - mean would turn into a large relative error where x is
 * close to the mean; (x - k) - dm is exact in its first step for float32 data (k is one of the values, or a
 * float32 next to the mean) and dm is small. One pass of sums shifted by the first element; a second pass
 * about a float32 next to the mean when that shift was not trustworthy (SHIFT_TRUST).
 */
export const rangeStats = new Float64Array(3);
export function momentsRange(x: FloatArray, start: number, end: number): void {
  const n = end - start;
  let k = x[start];
  let q = devSquaresRange(x, start, end, k);
  let s = devSum[0];
  let dm = s / n;
  if (!(dm * dm <= SHIFT_TRUST * ((q - s * dm) / n))) {
    k = secondShift(x, k + dm);
    q = devSquaresRange(x, start, end, k);
    s = devSum[0];
    dm = s / n;
  }
  rangeStats[0] = k;
  rangeStats[1] = dm;
  rangeStats[2] = varianceOf(s, q, n);
}

/** out[i] = ((x[i] - k) - dm) * a + b over [start, end), in float64, rounded once on store. */
export function affineRange(
  x: FloatArray, out: FloatArray, start: number, end: number, k: number, dm: number, a: number, b: number,
): void {
  let i = start;
  for (const e4 = end - 3; i < e4; i += 4) {
    out[i] = ((x[i] - k) - dm) * a + b;
    out[i + 1] = ((x[i + 1] - k) - dm) * a + b;
    out[i + 2] = ((x[i + 2] - k) - dm) * a + b;
    out[i + 3] = ((x[i + 3] - k) - dm) * a + b;
  }
  for (; i < end; i++) out[i] = ((x[i] - k) - dm) * a + b;
}

/**
 * 1/sqrt(var + eps), with PyTorch's batch_norm special case: var == 0 and eps == 0 give 0 (so a constant
 * channel normalizes to 0, not NaN). Used where PyTorch uses it: BatchNorm and InstanceNorm with batch stats.
 */
export function invStdBatch(v: number, eps: number): number {
  return v === 0 && eps === 0 ? 0 : 1 / Math.sqrt(v + eps);
}

/**
 * Kernel shared by GroupNorm and InstanceNorm over canonical (N, C, S) data: each sample's channels form G
 * groups of C/G consecutive channels, i.e. N*G contiguous runs of (C/G)*S elements; each run is normalized by
 * its own mean and biased variance, then scaled per channel. `batchInvStd` selects PyTorch's batch_norm rule
 * (var == 0 and eps == 0 give 0), which InstanceNorm inherits because PyTorch computes it with batch_norm.
 */
export function groupedChannelsKernel(
  x: FloatArray, out: FloatArray, N: number, C: number, S: number, G: number, eps: number,
  w: Float64Array | null, b: Float64Array | null, batchInvStd: boolean,
): void {
  if (G === 0 || C === 0 || S === 0) return;
  const cpg = C / G;
  const len = cpg * S;
  const rows = N * G;
  for (let r = 0, start = 0; r < rows; r++, start += len) {
    momentsRange(x, start, start + len);
    const k = rangeStats[0];
    const dm = rangeStats[1];
    const v = rangeStats[2];
    const inv = batchInvStd ? invStdBatch(v, eps) : 1 / Math.sqrt(v + eps);
    const c0 = (r % G) * cpg;
    for (let j = 0, o = start; j < cpg; j++, o += S) {
      const c = c0 + j;
      affineRange(x, out, o, o + S, k, dm, w ? inv * w[c] : inv, b ? b[c] : 0);
    }
  }
}
