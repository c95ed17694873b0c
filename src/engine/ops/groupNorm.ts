import { NormScopeError } from '../errors';
import { NormOutput, NormParams } from '../params';
import { Tensor } from '../tensor';
import {
  DEFAULT_EPS, FloatArray, OpPlan, channelGeometry, checkPerChannel, groupedChannelsKernel, nameList, outDTypeOf,
  resolveEps, resolveLayout, runChannelOp, sizeString, sortedAxes, spatialNames, unusedWarnings, valuesOf,
} from './common';

/**
 * Validates GroupNorm parameters against an input and works out the geometry, without computing.
 *
 * Input: (N, C, *) of rank >= 2, as F.group_norm accepts. With `unbatched`, (C, *) is treated as (1, C, *)
 * (PyTorch's GroupNorm requires a batch; this is our convenience). With layout 'nhwc' the channels are last.
 * `groups` (num_groups) is required and must divide C; the divisibility error is PyTorch's text with the
 * canonical (N, C, *) shape.
 */
export function groupNormPlan(x: Tensor, p: NormParams): OpPlan {
  if (p.groups === undefined) throw new NormScopeError('groups is required for GroupNorm (num_groups), as in PyTorch');
  const G = p.groups;
  if (!Number.isSafeInteger(G) || G < 1) throw new NormScopeError(`groups must be a positive integer, got ${String(G)}`);
  const rank = x.shape.length;
  const unbatched = p.unbatched === true;
  if (unbatched ? rank < 1 : rank < 2) {
    throw new NormScopeError(unbatched
      ? `expected at least 1D unbatched input (C, *) (got ${rank}D input)`
      : `expected at least 2D input (N, C, *) (got ${rank}D input)`);
  }
  const layout = resolveLayout(p);
  const eps = resolveEps(p, DEFAULT_EPS);
  const g = channelGeometry(x.shape, unbatched, layout);
  if (g.C % G !== 0) {
    throw new NormScopeError('Expected number of channels in input to be divisible by num_groups, but got input of shape '
      + `${sizeString(g.canonicalShape)} and num_groups=${G}`);
  }
  checkPerChannel('weight', p.weight, g.C);
  checkPerChannel('bias', p.bias, g.C);
  const cpg = g.C / G;
  const names = ['C/G', ...spatialNames(g.spatial.length)];
  const who = `${unbatched ? '' : 'per sample '}per group of ${cpg} channel${cpg === 1 ? '' : 's'}`;
  return {
    resolved: { op: 'group', eps, groups: G, unbatched, layout, affine: p.weight !== undefined || p.bias !== undefined },
    report: {
      input_shape: [...x.shape],
      canonical_shape: g.canonicalShape,
      normalized_axes: sortedAxes([g.channelAxis, ...g.spatialAxes]),
      num_stat_groups: g.N * G,
      stat_group_size: cpg * g.S,
      description: `${who} over ${nameList(names)}`,
      weight_shape: [g.C],
      bias_shape: [g.C],
      running_shape: null,
      output_shape: [...x.shape],
    },
    warnings: unusedWarnings('group', p),
    geometry: g,
    slabGroup: { perSample: G, channelsPerGroup: Math.max(cpg, 1) },
    outDType: outDTypeOf(x.dtype),
  };
}

/**
 * GroupNorm(num_groups, num_channels) as PyTorch computes it: the C channels of each sample are split into G
 * groups of C/G consecutive channels; each (sample, group) is normalized by its mean and biased variance over
 * (C/G, *), y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c] with per-channel weight/bias (default 1/0,
 * PyTorch's affine=True init). eps default 1e-5. Output: float32 (float64 for float64 input), input's shape.
 */
export function groupNorm(x: Tensor, p: NormParams): NormOutput {
  const plan = groupNormPlan(x, p);
  const { N, C, S } = plan.geometry;
  const G = plan.resolved.groups ?? 1;
  const w = valuesOf(p.weight);
  const b = valuesOf(p.bias);
  const output = runChannelOp(x, plan, (xc, out) => groupNormImpl(xc, out, N, C, S, G, plan.resolved.eps, w, b));
  return { output, resolved: plan.resolved, warnings: plan.warnings, shapeReport: plan.report };
}

/** Kernel over canonical (N, C, S) data: N*G contiguous runs of (C/G)*S elements, per-channel affine. */
export function groupNormImpl(
  x: FloatArray, out: FloatArray, N: number, C: number, S: number, G: number, eps: number,
  w: Float64Array | null, b: Float64Array | null,
): void {
  groupedChannelsKernel(x, out, N, C, S, G, eps, w, b, false);
}
