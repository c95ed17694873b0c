import { Tensor } from './tensor';

/** The five normalizations. */
export type OpName = 'batch' | 'layer' | 'group' | 'instance' | 'rms';
export const OP_NAMES: readonly OpName[] = ['batch', 'layer', 'group', 'instance', 'rms'];

/**
 * The one parameter vocabulary shared by the CLI flags (kebab-case there), the extension's command arguments,
 * the notebook payload and the Python helper. Absent fields take PyTorch's defaults.
 */
export interface NormParams {
  readonly op: OpName;
  /** GroupNorm's num_groups; required for op 'group', as in PyTorch. */
  readonly groups?: number;
  /** LayerNorm/RMSNorm's normalized_shape; default: the last dimension. */
  readonly normalized_shape?: readonly number[];
  /** Default 1e-5; RMSNorm: float32's machine epsilon (1.1920929e-07), or float64's for float64 input. */
  readonly eps?: number;
  /** BatchNorm's momentum, default 0.1; null means momentum=None (cumulative moving average). */
  readonly momentum?: number | null;
  /** BatchNorm's num_batches_tracked before this step (used by momentum=None). Default 0. */
  readonly num_batches_tracked?: number;
  /** BatchNorm: 'train' uses batch statistics and updates running stats; 'eval' uses running stats. */
  readonly mode?: 'train' | 'eval';
  /** Input has no batch dimension: (C, *) instead of (N, C, *). */
  readonly unbatched?: boolean;
  /** 'nhwc': channels last (TF/JAX). Default 'nchw'. */
  readonly layout?: 'nchw' | 'nhwc';
  readonly weight?: Tensor;
  readonly bias?: Tensor;
  readonly running_mean?: Tensor;
  readonly running_var?: Tensor;
}

/** What one normalization produced. */
export interface NormOutput {
  /** float32, or float64 when the input is float64; same shape and layout as the input. */
  readonly output: Tensor;
  /** The parameters actually used, defaults filled in (eps, momentum, mode, normalized_shape...). */
  readonly resolved: ResolvedParams;
  /** BatchNorm train: the updated running statistics (float64 values in a tensor of the input's float dtype). */
  readonly running_mean?: Tensor;
  readonly running_var?: Tensor;
  readonly num_batches_tracked?: number;
  /** Messages about defaults the user may not expect (e.g. BN eval without running stats). */
  readonly warnings: readonly string[];
  readonly shapeReport: ShapeReport;
}

export interface ResolvedParams {
  readonly op: OpName;
  readonly eps: number;
  readonly groups?: number;
  readonly normalized_shape?: readonly number[];
  readonly momentum?: number | null;
  readonly mode?: 'train' | 'eval';
  readonly unbatched: boolean;
  readonly layout: 'nchw' | 'nhwc';
  readonly affine: boolean;
  /** BatchNorm: num_batches_tracked before this step (default 0). */
  readonly num_batches_tracked?: number;
}

/** Which axes are reduced and how the elements fall into statistic groups. */
export interface ShapeReport {
  readonly input_shape: readonly number[];
  /** The input as the op sees it: (N, C, *) after adding a batch dim (unbatched) and moving channels (nhwc). */
  readonly canonical_shape: readonly number[];
  /** Axes of the input (its own numbering) that each statistic is taken over. */
  readonly normalized_axes: readonly number[];
  /** Number of separately normalized groups of elements, and the size of each. */
  readonly num_stat_groups: number;
  readonly stat_group_size: number;
  /** In words, e.g. "per channel over (N, H, W)". */
  readonly description: string;
  readonly weight_shape: readonly number[] | null;
  readonly bias_shape: readonly number[] | null;
  readonly running_shape: readonly number[] | null;
  readonly output_shape: readonly number[];
}
