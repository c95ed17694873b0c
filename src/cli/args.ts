/**
 * Command-line flags to the engine's parameter vocabulary. Flags are the vocabulary's names in kebab-case.
 */
import { NormScopeError } from '../engine/errors';
import { NormParams, OP_NAMES, OpName } from '../engine/params';
import { Tensor } from '../engine/tensor';

/** The flag definitions for node:util parseArgs. */
export const FLAG_OPTIONS = {
  json: { type: 'boolean' },
  op: { type: 'string' },
  groups: { type: 'string' },
  'normalized-shape': { type: 'string' },
  eps: { type: 'string' },
  momentum: { type: 'string' },
  'num-batches-tracked': { type: 'string' },
  mode: { type: 'string' },
  unbatched: { type: 'boolean' },
  layout: { type: 'string' },
  weight: { type: 'string' },
  bias: { type: 'string' },
  'running-mean': { type: 'string' },
  'running-var': { type: 'string' },
  'running-mean-out': { type: 'string' },
  'running-var-out': { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  bins: { type: 'string' },
  'budget-mb': { type: 'string' },
  threads: { type: 'string' },
  'bfloat16-v2': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

export type FlagValues = { [K in keyof typeof FLAG_OPTIONS]?: (typeof FLAG_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function usage(message: string): never {
  throw new NormScopeError(message);
}

/** A finite number, or a usage error naming the flag. */
export function parseNumber(flag: string, s: string): number {
  const v = s.trim() === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) usage(`--${flag}: expected a number, got '${s}'`);
  return v;
}

/** A non-negative integer, or a usage error naming the flag. */
export function parseCount(flag: string, s: string): number {
  const v = parseNumber(flag, s);
  if (!Number.isSafeInteger(v) || v < 0) usage(`--${flag}: expected a non-negative integer, got '${s}'`);
  return v;
}

/** Most threads `--threads` takes. */
export const MAX_THREADS = 64;

/**
 * `--threads N`: threads the WebAssembly kernels split each op across (this one included), 1..MAX_THREADS;
 * `fallback` (the machine's parallelism, at most 4) when the flag is absent.
 */
export function threadsFromFlags(f: FlagValues, fallback: number): number {
  if (f.threads === undefined) return fallback;
  const v = f.threads.trim() === '' ? NaN : Number(f.threads);
  if (!Number.isSafeInteger(v) || v < 1 || v > MAX_THREADS) usage(`--threads: expected a whole number of threads from 1 to ${MAX_THREADS}, got '${f.threads}'`);
  return v;
}

/** The op flags as NormParams; `loadParam` reads a tensor-valued flag (same INPUT syntax as the input). */
export function paramsFromFlags(
  f: FlagValues,
  loadParam: (flag: string, spec: string) => Tensor,
  defaultOp?: OpName,
): NormParams {
  const op = f.op ?? defaultOp;
  if (op === undefined) usage('--op is required: one of batch, layer, group, instance, rms');
  if (!(OP_NAMES as readonly string[]).includes(op)) usage(`--op: expected one of ${OP_NAMES.join(', ')}, got '${op}'`);
  if (f.mode !== undefined && f.mode !== 'train' && f.mode !== 'eval') usage(`--mode: expected train or eval, got '${f.mode}'`);
  if (f.layout !== undefined && f.layout !== 'nchw' && f.layout !== 'nhwc') usage(`--layout: expected nchw or nhwc, got '${f.layout}'`);
  let momentum: number | null | undefined;
  if (f.momentum !== undefined) momentum = f.momentum === 'none' ? null : parseNumber('momentum', f.momentum);
  let normalizedShape: number[] | undefined;
  if (f['normalized-shape'] !== undefined) {
    normalizedShape = f['normalized-shape'].split(',').map((s) => parseCount('normalized-shape', s));
  }
  const tensorFlag = (flag: string, spec: string | undefined) => (spec === undefined ? undefined : loadParam(flag, spec));
  return {
    op: op as OpName,
    groups: f.groups === undefined ? undefined : parseCount('groups', f.groups),
    normalized_shape: normalizedShape,
    eps: f.eps === undefined ? undefined : parseNumber('eps', f.eps),
    momentum,
    num_batches_tracked: f['num-batches-tracked'] === undefined ? undefined : parseCount('num-batches-tracked', f['num-batches-tracked']),
    mode: f.mode as 'train' | 'eval' | undefined,
    unbatched: f.unbatched,
    layout: f.layout as 'nchw' | 'nhwc' | undefined,
    weight: tensorFlag('weight', f.weight),
    bias: tensorFlag('bias', f.bias),
    running_mean: tensorFlag('running-mean', f['running-mean']),
    running_var: tensorFlag('running-var', f['running-var']),
  };
}
