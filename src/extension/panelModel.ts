/**
 * The panel's model, pure (no vscode, no DOM, no Node): default parameters for a tensor, the choices its
 * controls offer, PanelParams -> the engine's NormParams, and the engine's results -> protocol views.
 * Used by the worker (engine side) and by the host.
 */
import type { CheckResult, Flag } from '../engine/checks';
import type { NormOutput, NormParams, OpName } from '../engine/params';
import { Tensor, tensor, toFloat64 } from '../engine/tensor';
import { summarize } from '../engine/stats';
import { PARAM_TENSORS_OF } from '../protocol/messages';
import type { AnalysisView, CheckView, FlagView, PanelParams, ParamChoices, ParamField, ParamSourceView, ParamTensorName } from '../protocol/messages';

/** The `normscope.defaultOp` setting: an op, or 'auto' (by rank). */
export type DefaultOpSetting = OpName | 'auto';

/** The op the panel starts with: BatchNorm for image-like (N, C, H, W[, D]) tensors, LayerNorm otherwise. */
export function autoOp(shape: readonly number[]): OpName {
  return shape.length >= 4 ? 'batch' : 'layer';
}

/** Channels as the channel-based ops see them: axis 1 (axis 0 unbatched; the last axis for nhwc). */
export function channelCount(shape: readonly number[], p: Pick<PanelParams, 'unbatched' | 'layout'> = {}): number {
  if (shape.length === 0) return 1;
  if (p.layout === 'nhwc') return shape[shape.length - 1];
  if (p.unbatched) return shape[0];
  return shape.length >= 2 ? shape[1] : 1;
}

/** Every divisor of n, ascending. */
export function divisors(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 1) return [];
  const small: number[] = [];
  const large: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d !== 0) continue;
    small.push(d);
    if (d * d !== n) large.unshift(n / d);
  }
  return [...small, ...large];
}

/** GroupNorm's starting group count: the largest divisor of C that is at most 32 and below C (else C). */
export function defaultGroups(channels: number): number {
  const ds = divisors(channels).filter((d) => d <= 32 && d < channels);
  return ds.length ? ds[ds.length - 1] : Math.max(1, channels);
}

/** The controls' choices for a tensor of `shape`. */
export function paramChoices(shape: readonly number[], p: Pick<PanelParams, 'unbatched' | 'layout'> = {}): ParamChoices {
  const channels = channelCount(shape, p);
  const normalized_shapes: number[][] = [];
  for (let k = 1; k <= shape.length; k++) normalized_shapes.push(shape.slice(shape.length - k));
  const last = shape.length ? shape[shape.length - 1] : 1;
  const choices: ParamChoices = { channels, groups: divisors(channels), normalized_shapes, channels_last: { channels: last, groups: divisors(last) } };
  return unbatchedInstance(shape.length) ? { ...choices, unbatched_channels: shape[0] } : choices;
}

/** PyTorch's InstanceNorm1d/2d/3d take unbatched (C, L), (C, H, W) and (C, D, H, W) input: ranks 2 to 4. */
export function unbatchedInstance(rank: number): boolean {
  return rank >= 2 && rank <= 4;
}

/** The sources of `from` that `op` uses (undefined when none). */
function sourcesFor(op: OpName, from: PanelParams['sources']): PanelParams['sources'] {
  if (!from) return undefined;
  const kept: Partial<Record<ParamTensorName, NonNullable<PanelParams['sources']>[ParamTensorName]>> = {};
  for (const name of PARAM_TENSORS_OF[op]) if (from[name]) kept[name] = from[name];
  return Object.keys(kept).length ? kept : undefined;
}

/**
 * How many values a parameter tensor of `op` holds on a tensor of `shape`: C for the per-channel ones,
 * prod(normalized_shape) for LayerNorm/RMSNorm.
 */
export function paramCount(shape: readonly number[], p: PanelParams): number {
  if (p.op === 'layer' || p.op === 'rms') {
    const ns = p.normalized_shape ?? (shape.length ? [shape[shape.length - 1]] : []);
    return ns.reduce((a, b) => a * b, 1);
  }
  return channelCount(shape, p);
}

/**
 * A file's tensors in the order to offer them for parameter `name`: those whose name ends in it (a
 * state_dict's "bn1.running_mean") first, then those with the `count` values the op needs; otherwise
 * the file's order.
 */
export function suggestMembers<T extends { readonly selector: string; readonly shape: readonly number[] }>(name: ParamTensorName, tensors: readonly T[], count: number): T[] {
  const score = (t: T) => {
    const leaf = t.selector.split(/[./]/).pop() ?? '';
    const named = leaf === name || (name === 'weight' && leaf === 'gamma') || (name === 'bias' && leaf === 'beta');
    const fits = t.shape.reduce((a, b) => a * b, 1) === count;
    return (named ? 2 : 0) + (fits ? 1 : 0);
  };
  return tensors.map((t, i) => ({ t, i, s: score(t) })).sort((a, b) => b.s - a.s || a.i - b.i).map((e) => e.t);
}

/**
 * The parameters for `op` on a tensor of `shape`, keeping what `from` already says where it still fits
 * (eps, affine, mode, momentum), so switching ops in the panel keeps the user's eps.
 */
export function paramsForOp(op: OpName, shape: readonly number[], from: Partial<PanelParams> = {}, defaultEps?: number): PanelParams {
  const base: { -readonly [K in keyof PanelParams]: PanelParams[K] } = { op };
  if (from.unbatched !== undefined) base.unbatched = from.unbatched;
  if (from.layout !== undefined) base.layout = from.layout;
  const eps = from.eps ?? defaultEps;
  if (eps !== undefined) base.eps = eps;
  if (from.affine !== undefined) base.affine = from.affine;
  const sources = sourcesFor(op, from.sources);
  if (sources) base.sources = sources;
  switch (op) {
    case 'batch':
      base.mode = from.mode ?? 'train';
      if (from.momentum !== undefined) base.momentum = from.momentum;
      break;
    case 'group': {
      const C = channelCount(shape, base);
      base.groups = from.groups !== undefined && C % from.groups === 0 && from.groups > 0 ? from.groups : defaultGroups(C);
      break;
    }
    case 'layer':
    case 'rms': {
      const ns = from.normalized_shape;
      const fits = ns !== undefined && ns.length <= shape.length && ns.every((d, i) => d === shape[shape.length - ns.length + i]);
      base.normalized_shape = fits ? [...ns] : shape.length ? [shape[shape.length - 1]] : [];
      break;
    }
    case 'instance':
      break;
    default: {
      const never: never = op;
      throw new Error(`unknown op ${String(never)}`);
    }
  }
  return base;
}

/** The panel's first parameters: the argument's, else the setting's op (or the rank's default). */
export function initialParams(shape: readonly number[], setting: DefaultOpSetting, defaultEps: number | undefined, given?: Partial<PanelParams>): PanelParams {
  const op = given?.op ?? (setting === 'auto' ? autoOp(shape) : setting);
  return paramsForOp(op, shape, given ?? {}, defaultEps);
}

/**
 * The engine's NormParams for PanelParams on `x`: affine becomes constant weight/bias tensors of the right
 * shape; `tensors` (read from PanelParams.sources) take the place of the constant ones and of the running
 * statistics' defaults.
 */
export function toNormParams(x: Tensor, p: PanelParams, tensors: Partial<Record<ParamTensorName, Tensor>> = {}): NormParams {
  const { affine, sources: _sources, ...rest } = p;
  const np: NormParams = { ...rest, normalized_shape: p.normalized_shape ? [...p.normalized_shape] : undefined, ...tensors };
  if (!affine) return np;
  const shape = p.op === 'layer' || p.op === 'rms'
    ? [...(p.normalized_shape ?? (x.shape.length ? [x.shape[x.shape.length - 1]] : []))]
    : [channelCount(x.shape, p)];
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = x.dtype === 'float64' ? 'float64' : 'float32';
  const fill = (v: number) => tensor(dtype, shape, dtype === 'float64' ? new Float64Array(n).fill(v) : new Float32Array(n).fill(v));
  // RMSNorm has no bias in PyTorch.
  const weight = tensors.weight ?? fill(affine.weight);
  return p.op === 'rms' ? { ...np, weight } : { ...np, weight, bias: tensors.bias ?? fill(affine.bias) };
}

/** What the panel shows of a parameter tensor read from a file: its label, shape, dtype and summary. */
export function paramSourceView(label: string, t: Tensor): ParamSourceView {
  const { histogram: _histogram, ...summary } = summarize(toFloat64(t), 1);
  return { label, shape: [...t.shape], dtype: t.dtype, ...summary };
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A check as it travels: infinite differences become null (JSON has no Infinity). */
export function checkView(c: CheckResult): CheckView {
  return { name: c.name, routes: c.routes, max_abs: finiteOrNull(c.max_abs), max_rel: finiteOrNull(c.max_rel), tolerance: c.tolerance, pass: c.pass };
}

/** A flag as it travels. */
export function flagView(f: Flag): FlagView {
  return { ...f };
}

/** The running statistics BatchNorm train produced, as plain numbers (null for non-finite values). */
export function runningView(out: NormOutput): AnalysisView['running'] {
  if (!out.running_mean || !out.running_var) return undefined;
  const plain = (t: Tensor) => Array.from(toFloat64(t), (v) => (Number.isFinite(v) ? v : 0));
  return { mean: plain(out.running_mean), var: plain(out.running_var), num_batches_tracked: out.num_batches_tracked ?? null };
}

/** The control an engine message is about, so the panel can show it in place (undefined: the op as a whole). */
export function fieldOfError(message: string): ParamField | undefined {
  // a parameter tensor's message starts with its name ("running_var has shape [3], expected [4] ...")
  const tensorName = /^(weight|bias|running_mean|running_var)\b/.exec(message);
  if (tensorName) return tensorName[1] as ParamTensorName;
  if (/set unbatched|unbatched input/.test(message)) return 'unbatched';
  if (/\beps\b/.test(message)) return 'eps';
  if (/momentum/.test(message)) return 'momentum';
  if (/num_groups|groups/.test(message)) return 'groups';
  if (/normalized_shape/.test(message)) return 'normalized_shape';
  if (/value per channel when training|\bmode\b/.test(message)) return 'mode';
  if (/\bweight\b|\bbias\b/.test(message)) return 'affine';
  if (/layout|channels last|nhwc/i.test(message)) return 'layout';
  if (/expected .*D.* input|input/.test(message)) return 'op';
  return undefined;
}

/** "1.07 GB", "340 MB", "12 KB" (decimal units, as file managers show). */
export function bytesText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} KB`;
  return `${n} bytes`;
}
