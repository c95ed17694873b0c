/** The JSON form of an analysis, as `normscope normalize --json` prints it and the report embeds it. */
import { Analysis } from '../engine/analyze';
import { Summary } from '../engine/stats';
import { toFloat64 } from '../engine/tensor';

/** The analysis minus the tensors, plus the updated running statistics when BatchNorm train made them. */
export function toJson(a: Analysis): object {
  const { result, ...rest } = a;
  if (!result.running_mean || !result.running_var) return rest;
  return {
    ...rest,
    running: {
      mean: Array.from(toFloat64(result.running_mean)),
      var: Array.from(toFloat64(result.running_var)),
      num_batches_tracked: result.num_batches_tracked ?? null,
    },
  };
}

/** The `stats --json` object: shape, dtype and the overall summary (population std), as the contract fixes it. */
export function statsJson(shape: readonly number[], dtype: string, o: Summary): object {
  return { shape, dtype, count: o.count, mean: o.mean, std: o.std, min: o.min, max: o.max, nan: o.nan, inf: o.inf };
}
