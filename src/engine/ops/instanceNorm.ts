import { NormScopeError } from '../errors';
import { NormOutput, NormParams } from '../params';
import { Tensor } from '../tensor';
import {
  DEFAULT_EPS, FloatArray, OpPlan, channelGeometry, checkPerChannel, groupedChannelsKernel, nameList, outDTypeOf,
  resolveEps, resolveLayout, runChannelOp, sizeString, sortedAxes, spatialNames, unusedWarnings, valuesOf,
} from './common';

/**
 * Validates InstanceNorm parameters against an input and works out the geometry, without computing.
 *
 * Input: (N, C, L), (N, C, H, W) or (N, C, D, H, W) — rank 3 to 5 — or, with `unbatched`, (C, L), (C, H, W)
 * or (C, D, H, W), as InstanceNorm{1,2,3}d accept. With layout 'nhwc' the channels are last.
 * One spatial element is refused in PyTorch's words: "Expected more than 1 spatial element when training, got
 * input size [2, 3, 1]" (the canonical (N, C, *) shape, [1, C, ...] for unbatched input, as PyTorch prints).
 */
export function instanceNormPlan(x: Tensor, p: NormParams): OpPlan {
  const rank = x.shape.length;
  const unbatched = p.unbatched === true;
  if (unbatched ? rank < 2 || rank > 4 : rank < 3 || rank > 5) {
    throw new NormScopeError(unbatched
      ? `expected 2D, 3D or 4D unbatched input (got ${rank}D input)`
      : `expected 3D, 4D or 5D input (got ${rank}D input)${rank === 2 ? '; for unbatched (C, L) input set unbatched' : ''}`);
  }
  const layout = resolveLayout(p);
  const eps = resolveEps(p, DEFAULT_EPS);
  const g = channelGeometry(x.shape, unbatched, layout);
  checkPerChannel('weight', p.weight, g.C);
  checkPerChannel('bias', p.bias, g.C);
  if (g.S === 1) {
    throw new NormScopeError(`Expected more than 1 spatial element when training, got input size ${sizeString(g.canonicalShape)}`);
  }
  const names = spatialNames(g.spatial.length);
  return {
    resolved: { op: 'instance', eps, mode: 'train', unbatched, layout, affine: p.weight !== undefined || p.bias !== undefined },
    report: {
      input_shape: [...x.shape],
      canonical_shape: g.canonicalShape,
      normalized_axes: sortedAxes(g.spatialAxes),
      num_stat_groups: g.N * g.C,
      stat_group_size: g.S,
      description: `${unbatched ? '' : 'per sample '}per channel over ${nameList(names)}`,
      weight_shape: [g.C],
      bias_shape: [g.C],
      running_shape: null,
      output_shape: [...x.shape],
    },
    warnings: unusedWarnings('instance', p),
    geometry: g,
    slabGroup: { perSample: g.C, channelsPerGroup: 1 },
    outDType: outDTypeOf(x.dtype),
  };
}

/**
 * InstanceNorm{1,2,3}d with PyTorch's defaults (affine=False, track_running_stats=False): each (sample,
 * channel) is normalized by its own mean and biased variance over the spatial dims; running statistics are
 * never used or updated. y = (x - mean) / sqrt(var + eps), times weight[c] plus bias[c] only when given
 * (affine=True). eps default 1e-5; zero variance with eps = 0 gives 0, as PyTorch's batch_norm-based kernel.
 * Output: float32 (float64 for float64 input), the input's shape and layout.
 */
export function instanceNorm(x: Tensor, p: NormParams): NormOutput {
  const plan = instanceNormPlan(x, p);
  const { N, C, S } = plan.geometry;
  const w = valuesOf(p.weight);
  const b = valuesOf(p.bias);
  const output = runChannelOp(x, plan, (xc, out) => instanceNormImpl(xc, out, N, C, S, plan.resolved.eps, w, b));
  return { output, resolved: plan.resolved, warnings: plan.warnings, shapeReport: plan.report };
}

/** Kernel over canonical (N, C, S) data: N*C contiguous runs of S elements, per-channel affine. */
export function instanceNormImpl(
  x: FloatArray, out: FloatArray, N: number, C: number, S: number, eps: number,
  w: Float64Array | null, b: Float64Array | null,
): void {
  groupedChannelsKernel(x, out, N, C, S, C, eps, w, b, true);
}
