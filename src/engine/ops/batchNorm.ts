import { NormScopeError } from '../errors';
import { NormOutput, NormParams } from '../params';
import { Tensor, tensor } from '../tensor';
import {
  DEFAULT_EPS, FloatArray, OpPlan, affineRange, channelGeometry, checkPerChannel, devSquaresRange, devSum,
  invStdBatch, nameList, outDTypeOf, resolveBatchesTracked, resolveEps, resolveLayout, resolveMode,
  resolveMomentum, runChannelOp, SHIFT_TRUST, secondShift, sizeString, sortedAxes, spatialNames, unusedWarnings, valuesOf,
  varianceOf,
} from './common';

const NO_RUNNING = "BatchNorm in eval mode without running statistics uses a fresh module's running_mean=0 and running_var=1, as PyTorch does";

/**
 * Validates BatchNorm parameters against an input and works out the geometry, without computing.
 *
 * Input: (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W) — rank 2 to 5, like BatchNorm1d/2d/3d. With
 * `unbatched`, (C, *) of rank 1 to 4 is treated as (1, C, *) (PyTorch's BatchNorm requires a batch; this is
 * our convenience). With layout 'nhwc' the channels are the last axis.
 * Errors in PyTorch's words: rank ("expected 2D, 3D, 4D or 5D input (got 1D input)") and, in train mode,
 * "Expected more than 1 value per channel when training, got input size [1, 3]" where the size is the
 * canonical (N, C, *) shape PyTorch would see.
 */
export function batchNormPlan(x: Tensor, p: NormParams): OpPlan {
  const rank = x.shape.length;
  const unbatched = p.unbatched === true;
  if (unbatched ? rank < 1 || rank > 4 : rank < 2 || rank > 5) {
    throw new NormScopeError(unbatched
      ? `expected 1D, 2D, 3D or 4D unbatched input (got ${rank}D input)`
      : `expected 2D, 3D, 4D or 5D input (got ${rank}D input)`);
  }
  const layout = resolveLayout(p);
  const eps = resolveEps(p, DEFAULT_EPS);
  const momentum = resolveMomentum(p);
  const numBatchesTracked = resolveBatchesTracked(p);
  const mode = resolveMode(p);
  const g = channelGeometry(x.shape, unbatched, layout);
  checkPerChannel('weight', p.weight, g.C);
  checkPerChannel('bias', p.bias, g.C);
  checkPerChannel('running_mean', p.running_mean, g.C);
  checkPerChannel('running_var', p.running_var, g.C);
  if (mode === 'train' && g.N * g.S === 1) {
    throw new NormScopeError(`Expected more than 1 value per channel when training, got input size ${sizeString(g.canonicalShape)}`);
  }
  const warnings = unusedWarnings('batch', p);
  if (mode === 'eval') {
    if (!p.running_mean && !p.running_var) warnings.push(NO_RUNNING);
    else if (!p.running_mean) warnings.push("BatchNorm in eval mode without running_mean uses a fresh module's running_mean=0, as PyTorch does");
    else if (!p.running_var) warnings.push("BatchNorm in eval mode without running_var uses a fresh module's running_var=1, as PyTorch does");
  }
  const names = [...(unbatched ? [] : ['N']), ...spatialNames(g.spatial.length)];
  const axes = sortedAxes([...(g.batchAxis >= 0 ? [g.batchAxis] : []), ...g.spatialAxes]);
  return {
    resolved: {
      op: 'batch', eps, momentum, mode, unbatched, layout, affine: p.weight !== undefined || p.bias !== undefined,
      num_batches_tracked: numBatchesTracked,
    },
    report: {
      input_shape: [...x.shape],
      canonical_shape: g.canonicalShape,
      normalized_axes: axes,
      num_stat_groups: g.C,
      stat_group_size: g.N * g.S,
      description: names.length ? `per channel over ${nameList(names)}` : 'per channel (one value each)',
      weight_shape: [g.C],
      bias_shape: [g.C],
      running_shape: [g.C],
      output_shape: [...x.shape],
    },
    warnings,
    geometry: g,
    slabGroup: { perSample: 0, channelsPerGroup: 1 },
    outDType: outDTypeOf(x.dtype),
  };
}

/**
 * BatchNorm{1,2,3}d as PyTorch computes it.
 *
 * - train (default): per-channel mean and biased variance over N and all spatial dims normalize the input;
 *   the running statistics are updated as running_mean = (1 - m) * running_mean + m * mean and
 *   running_var = (1 - m) * running_var + m * var * n / (n - 1) (unbiased), m = momentum (default 0.1) or,
 *   for momentum null, the cumulative factor 1 / (num_batches_tracked + 1); num_batches_tracked is incremented.
 *   Absent running statistics start from a fresh module's (mean 0, var 1) and are still returned updated.
 *   A channel with zero variance and eps = 0 normalizes to 0, as PyTorch's kernel does.
 * - eval: running_mean / running_var normalize (absent: 0 and 1, with a warning); nothing is updated.
 * - y = (x - mean) / sqrt(var + eps) * weight + bias; weight/bias default to 1/0 (PyTorch's affine=True init).
 * Empty input gives empty output; in train mode the running statistics are then unchanged and
 * num_batches_tracked is still incremented, as in PyTorch.
 * Output: float32 (float64 for float64 input), the input's shape and layout.
 */
export function batchNorm(x: Tensor, p: NormParams): NormOutput {
  const plan = batchNormPlan(x, p);
  const { C, N, S } = plan.geometry;
  const train = plan.resolved.mode === 'train';
  const eps = plan.resolved.eps;
  const rm = valuesOf(p.running_mean);
  const rv = valuesOf(p.running_var);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  if (!train) {
    for (let c = 0; c < C; c++) {
      mean[c] = rm ? rm[c] : 0;
      variance[c] = rv ? rv[c] : 1;
    }
  }
  const w = valuesOf(p.weight);
  const b = valuesOf(p.bias);
  const output = runChannelOp(x, plan, (xc, out) => batchNormImpl(xc, out, N, C, S, train, eps, mean, variance, w, b));
  if (!train) return { output, resolved: plan.resolved, warnings: plan.warnings, shapeReport: plan.report };

  const { newMean, newVar, nbt } = updateRunningStats(plan, N * S, mean, variance, rm, rv);
  const running = (v: Float64Array): Tensor => tensor(plan.outDType, [C], plan.outDType === 'float64' ? v : Float32Array.from(v));
  return {
    output, resolved: plan.resolved, warnings: plan.warnings, shapeReport: plan.report,
    running_mean: running(newMean), running_var: running(newVar), num_batches_tracked: nbt,
  };
}

/**
 * Kernel over canonical (N, C, S) data. train: fills mean/variance (biased) with batch statistics; eval: reads
 * them. Writes out = (x - mean[c]) * invstd[c] * w[c] + b[c], with the batch mean kept as shift + offset
 * (see momentsRange) so x - mean stays accurate next to the mean.
 */
export function batchNormImpl(
  x: FloatArray, out: FloatArray, N: number, C: number, S: number, train: boolean, eps: number,
  mean: Float64Array, variance: Float64Array, w: Float64Array | null, b: Float64Array | null,
): void {
  const CS = C * S;
  const shift = new Float64Array(C);
  const off = new Float64Array(C);
  if (train && N * S > 0) {
    // one pass of per-channel sums shifted by the channel's first value; a second pass about a float32 next
    // to the mean for channels where that shift was far from the mean (see SHIFT_TRUST)
    const cnt = N * S;
    const sd = new Float64Array(C);
    const sq = new Float64Array(C);
    for (let c = 0; c < C; c++) shift[c] = x[c * S];
    for (let n = 0; n < N; n++) {
      for (let c = 0, o = n * CS; c < C; c++, o += S) {
        sq[c] += devSquaresRange(x, o, o + S, shift[c]);
        sd[c] += devSum[0];
      }
    }
    const redo = new Uint8Array(C);
    let anyRedo = false;
    for (let c = 0; c < C; c++) {
      const dm = sd[c] / cnt;
      if (dm * dm <= SHIFT_TRUST * ((sq[c] - sd[c] * dm) / cnt)) continue;
      redo[c] = 1;
      anyRedo = true;
      shift[c] = secondShift(x, shift[c] + dm);
      sd[c] = 0;
      sq[c] = 0;
    }
    if (anyRedo) {
      for (let n = 0; n < N; n++) {
        for (let c = 0, o = n * CS; c < C; c++, o += S) {
          if (redo[c] === 0) continue;
          sq[c] += devSquaresRange(x, o, o + S, shift[c]);
          sd[c] += devSum[0];
        }
      }
    }
    for (let c = 0; c < C; c++) {
      off[c] = sd[c] / cnt;
      mean[c] = shift[c] + off[c];
      variance[c] = varianceOf(sd[c], sq[c], cnt);
    }
  } else {
    shift.set(mean);
  }
  const scale = new Float64Array(C);
  const bias = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const inv = train ? invStdBatch(variance[c], eps) : 1 / Math.sqrt(variance[c] + eps);
    scale[c] = w ? inv * w[c] : inv;
    bias[c] = b ? b[c] : 0;
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0, o = n * CS; c < C; c++, o += S) affineRange(x, out, o, o + S, shift[c], off[c], scale[c], bias[c]);
  }
}

/**
 * BatchNorm's running-statistics update after a train step over `n` values per channel: momentum m gives
 * (1 - m) * running + m * batch, momentum null the cumulative average 1 / num_batches_tracked; running_var takes
 * the unbiased batch variance. Absent running stats start as a fresh module's (0 and 1); an empty batch leaves
 * them as they are (num_batches_tracked still counts it, as in PyTorch).
 */
export function updateRunningStats(
  plan: OpPlan, n: number, mean: ArrayLike<number>, variance: ArrayLike<number>,
  rm: ArrayLike<number> | null, rv: ArrayLike<number> | null,
): { newMean: Float64Array; newVar: Float64Array; nbt: number } {
  const C = mean.length;
  const nbt = (plan.resolved.num_batches_tracked ?? 0) + 1;
  const m = plan.resolved.momentum;
  const f = m === null || m === undefined ? 1 / nbt : m;
  const newMean = new Float64Array(C);
  const newVar = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const m0 = rm ? rm[c] : 0;
    const v0 = rv ? rv[c] : 1;
    if (n === 0) { newMean[c] = m0; newVar[c] = v0; continue; }
    newMean[c] = (1 - f) * m0 + f * mean[c];
    newVar[c] = (1 - f) * v0 + f * (variance[c] * n / (n - 1));
  }
  return { newMean, newVar, nbt };
}
