import { NormScopeError } from '../errors';
import { NormOutput, NormParams } from '../params';
import { Tensor, tensor, toComputeArray } from '../tensor';
import {
  FLOAT32_EPS, FLOAT64_EPS, FloatArray, OpPlan, allocLike, checkElementwise, resolveEps, resolveNormalizedShape,
  sumSquaresRange, trailingPlan, valuesOf,
} from './common';

/**
 * Validates RMSNorm parameters against an input, without computing.
 *
 * normalized_shape as LayerNorm's (default: the last dim; must equal the input's trailing shape). weight has
 * shape normalized_shape; a bias is refused (PyTorch's RMSNorm has none). eps default: torch.finfo(dtype).eps
 * of the compute dtype — float64's 2.220446049250313e-16 for float64 input, float32's 1.1920928955078125e-07
 * for everything else (all other dtypes compute to a float32 output).
 */
export function rmsNormPlan(x: Tensor, p: NormParams): OpPlan {
  if (p.bias !== undefined) {
    throw new NormScopeError('RMSNorm has no bias (PyTorch\'s RMSNorm only has a weight); remove the bias');
  }
  const ns = resolveNormalizedShape(x, p);
  const eps = resolveEps(p, x.dtype === 'float64' ? FLOAT64_EPS : FLOAT32_EPS);
  checkElementwise('weight', p.weight, ns);
  return trailingPlan(x, p, eps, ns);
}

/**
 * RMSNorm(normalized_shape, eps=None) as PyTorch (>= 2.4) defines it: y = x / sqrt(mean(x^2) + eps) * weight,
 * the mean of squares taken over the trailing dims normalized_shape for every index of the leading dims; no
 * centring, no bias. Output: float32 (float64 for float64 input), the input's shape.
 */
export function rmsNorm(x: Tensor, p: NormParams): NormOutput {
  const plan = rmsNormPlan(x, p);
  const K = plan.report.stat_group_size;
  const M = plan.report.num_stat_groups;
  const out = allocLike(plan.outDType, M * K);
  rmsNormImpl(toComputeArray(x), out, M, K, plan.resolved.eps, valuesOf(p.weight));
  return { output: tensor(plan.outDType, x.shape, out), resolved: plan.resolved, warnings: plan.warnings, shapeReport: plan.report };
}

/** Kernel: M contiguous rows of K; out = x * (1 / sqrt(mean(x^2) + eps)) * w[j] per row. */
export function rmsNormImpl(x: FloatArray, out: FloatArray, M: number, K: number, eps: number, w: Float64Array | null): void {
  if (K === 0) return;
  for (let r = 0, o = 0; r < M; r++, o += K) {
    const inv = 1 / Math.sqrt(sumSquaresRange(x, o, o + K) / K + eps);
    if (w === null) {
      for (let j = o, e = o + K; j < e; j++) out[j] = x[j] * inv;
    } else {
      for (let j = 0; j < K; j++) out[o + j] = x[o + j] * inv * w[j];
    }
  }
}
