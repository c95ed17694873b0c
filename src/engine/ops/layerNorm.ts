import { NormOutput, NormParams } from '../params';
import { Tensor, tensor, toComputeArray } from '../tensor';
import {
  DEFAULT_EPS, FloatArray, OpPlan, affineRange, allocLike, checkElementwise, momentsRange, rangeStats,
  resolveEps, resolveNormalizedShape, trailingPlan, valuesOf,
} from './common';

/**
 * Validates LayerNorm parameters against an input, without computing.
 *
 * normalized_shape (default: the last dim) must equal the input's trailing shape, else PyTorch's error
 * "Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[2, 3, 4]".
 * weight and bias, when given, have shape normalized_shape. `layout` and `unbatched` do not change LayerNorm:
 * normalized_shape always refers to the input's trailing dims as given.
 */
export function layerNormPlan(x: Tensor, p: NormParams): OpPlan {
  const ns = resolveNormalizedShape(x, p);
  const eps = resolveEps(p, DEFAULT_EPS);
  checkElementwise('weight', p.weight, ns);
  checkElementwise('bias', p.bias, ns);
  return trailingPlan(x, p, eps, ns);
}

/**
 * LayerNorm(normalized_shape, eps=1e-5) as PyTorch computes it: every index of the leading dims gets its own
 * mean and biased variance over the trailing dims normalized_shape; y = (x - mean) / sqrt(var + eps) * weight
 * + bias, with elementwise weight/bias of shape normalized_shape (default 1/0, PyTorch's
 * elementwise_affine=True init). Output: float32 (float64 for float64 input), the input's shape.
 */
export function layerNorm(x: Tensor, p: NormParams): NormOutput {
  const plan = layerNormPlan(x, p);
  const K = plan.report.stat_group_size;
  const M = plan.report.num_stat_groups;
  const out = allocLike(plan.outDType, M * K);
  layerNormImpl(toComputeArray(x), out, M, K, plan.resolved.eps, valuesOf(p.weight), valuesOf(p.bias));
  return { output: tensor(plan.outDType, x.shape, out), resolved: plan.resolved, warnings: plan.warnings, shapeReport: plan.report };
}

/** Kernel: M contiguous rows of K; out = (x - mean) * invstd * w[j] + b[j] per row. */
export function layerNormImpl(
  x: FloatArray, out: FloatArray, M: number, K: number, eps: number, w: Float64Array | null, b: Float64Array | null,
): void {
  if (K === 0) return;
  const affine = w !== null || b !== null;
  const ww = w ?? new Float64Array(K).fill(1);
  const bb = b ?? new Float64Array(K);
  for (let r = 0, o = 0; r < M; r++, o += K) {
    momentsRange(x, o, o + K);
    const k = rangeStats[0];
    const dm = rangeStats[1];
    const inv = 1 / Math.sqrt(rangeStats[2] + eps);
    if (!affine) { affineRange(x, out, o, o + K, k, dm, inv, 0); continue; }
    for (let j = 0; j < K; j++) out[o + j] = ((x[o + j] - k) - dm) * inv * ww[j] + bb[j];
  }
}
