/**
 * The five normalizations behind one entry point.
 *
 * - `normalize(x, p)` runs an op (validation, compute, running-stat update) and returns a NormOutput.
 * - `resolveParams(x, p)` / `shapeReport(x, p)` validate and explain without computing (for UIs); they throw
 *   the same NormScopeError messages `normalize` would.
 * - `canonicalView(t, p)` gives the statistics code the data in canonical (N, C, S) order with the mapping of
 *   channels to statistic groups, for the input or for the output (same shape).
 */
import { NormScopeError } from '../errors';
import { NormOutput, NormParams, OP_NAMES, ResolvedParams, ShapeReport } from '../params';
import { Tensor, toComputeArray } from '../tensor';
import { batchNorm, batchNormPlan } from './batchNorm';
import { FloatArray, OpPlan, SlabGroup, channelsLastToFirst } from './common';
import { groupNorm, groupNormPlan } from './groupNorm';
import { instanceNorm, instanceNormPlan } from './instanceNorm';
import { layerNorm, layerNormPlan } from './layerNorm';
import { rmsNorm, rmsNormPlan } from './rmsNorm';

export { batchNorm, batchNormImpl } from './batchNorm';
export { layerNorm, layerNormImpl } from './layerNorm';
export { groupNorm, groupNormImpl } from './groupNorm';
export { instanceNorm, instanceNormImpl } from './instanceNorm';
export { rmsNorm, rmsNormImpl } from './rmsNorm';
export { DEFAULT_EPS, DEFAULT_MOMENTUM, FLOAT32_EPS, FLOAT64_EPS } from './common';
export type { FloatArray, SlabGroup } from './common';

function checkOp(p: NormParams): void {
  if (p === null || typeof p !== 'object' || !OP_NAMES.includes(p.op)) {
    throw new NormScopeError(`op must be one of ${OP_NAMES.join(', ')}, got ${String(p?.op)}`);
  }
}

/** Validates `p` against `x` and resolves every default, without computing. */
export function planOf(x: Tensor, p: NormParams): OpPlan {
  checkOp(p);
  switch (p.op) {
    case 'batch': return batchNormPlan(x, p);
    case 'layer': return layerNormPlan(x, p);
    case 'group': return groupNormPlan(x, p);
    case 'instance': return instanceNormPlan(x, p);
    case 'rms': return rmsNormPlan(x, p);
    default: { const never: never = p.op; throw new NormScopeError(`unknown op ${String(never)}`); }
  }
}

/**
 * Runs the normalization `p.op` on `x` with PyTorch's semantics. Statistics accumulate in float64 and the
 * output is computed in float64 and rounded once: float32 output (float64 for float64 input), the input's shape.
 * Throws NormScopeError with PyTorch's message where PyTorch has one.
 */
export function normalize(x: Tensor, p: NormParams): NormOutput {
  checkOp(p);
  switch (p.op) {
    case 'batch': return batchNorm(x, p);
    case 'layer': return layerNorm(x, p);
    case 'group': return groupNorm(x, p);
    case 'instance': return instanceNorm(x, p);
    case 'rms': return rmsNorm(x, p);
    default: { const never: never = p.op; throw new NormScopeError(`unknown op ${String(never)}`); }
  }
}

/** The parameters `normalize` would use (defaults filled in); throws as `normalize` would. */
export function resolveParams(x: Tensor, p: NormParams): ResolvedParams {
  return planOf(x, p).resolved;
}

/** Which axes are reduced and how elements group, without computing; throws as `normalize` would. */
export function shapeReport(x: Tensor, p: NormParams): ShapeReport {
  return planOf(x, p).report;
}

/** Warnings `normalize` would give (unused parameters, BN eval without running stats), without computing. */
export function warningsOf(x: Tensor, p: NormParams): readonly string[] {
  return planOf(x, p).warnings;
}

/**
 * A tensor of the op's input shape seen as (N, C, S): N samples (1 for unbatched input), C channels, S the
 * product of the spatial dims, in C order — element (n, c, s) at data[(n * C + c) * S + s].
 */
export interface CanonicalView {
  /** [N, C, S]. */
  readonly shape: readonly [number, number, number];
  /** (N, C, *spatial): the shape PyTorch would see. */
  readonly canonicalShape: readonly number[];
  /**
   * The values (float32 for float32 tensors, float64 otherwise). May be the tensor's own storage when no copy
   * is needed: read it, never write it.
   */
  readonly data: FloatArray;
  /** Input axis of the channels (the last for 'nhwc'); input axis of the batch (-1 when unbatched). */
  readonly channelAxis: number;
  readonly batchAxis: number;
  /** Input axes of the spatial dims, in canonical order. */
  readonly spatialAxes: readonly number[];
  /**
   * Statistic group of slab (n, c) = n * perSample + floor(c / channelsPerGroup), when statistic groups are
   * unions of whole slabs: BatchNorm {0, 1} (group = channel), InstanceNorm {C, 1}, GroupNorm {G, C/G},
   * LayerNorm/RMSNorm over all non-batch dims {1, C} or over all dims {0, C}. null for LayerNorm/RMSNorm over
   * fewer dims: their groups are rows of stat_group_size consecutive elements of the input in its own C order
   * (group of input element i = floor(i / stat_group_size)).
   */
  readonly slabGroup: SlabGroup | null;
  readonly numStatGroups: number;
  readonly statGroupSize: number;
}

/**
 * The canonical (N, C, S) view of `t` under the op `p` (validated against `t` as `normalize` would). Pass
 * the input, or the output (same shape) to get before/after per-channel statistics in the same layout.
 * Channels are found as the op finds them: axis 1 (axis 0 when unbatched), or the last axis with 'nhwc'
 * (channels-last data is transposed into a copy). LayerNorm/RMSNorm have no channels of their own; their view
 * uses the same layout rule (1D input: N = 1, C = its length), so pass layout 'nhwc' for (batch, tokens,
 * features) activations to get per-feature statistics.
 */
export function canonicalView(t: Tensor, p: NormParams): CanonicalView {
  const plan = planOf(t, p);
  const g = plan.geometry;
  const src = toComputeArray(t);
  let data: FloatArray = src;
  if (g.channelsLast) {
    data = src instanceof Float32Array ? new Float32Array(src.length) : new Float64Array(src.length);
    channelsLastToFirst(src, data, g.N, g.S, g.C);
  }
  return {
    shape: [g.N, g.C, g.S],
    canonicalShape: g.canonicalShape,
    data,
    channelAxis: g.channelAxis,
    batchAxis: g.batchAxis,
    spatialAxes: g.spatialAxes,
    slabGroup: plan.slabGroup,
    numStatGroups: plan.report.num_stat_groups,
    statGroupSize: plan.report.stat_group_size,
  };
}
