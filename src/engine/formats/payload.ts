/**
 * The notebook output payload of the MIME type `application/vnd.normscope.tensor+json` (what
 * python/normscope.py emits and the notebook renderer draws):
 *
 *   {"shape": [2, 3], "dtype": "float32", "data": "<base64 of little-endian C-order bytes>" | <nested list>,
 *    "name"?: "x", "norm"?: {"op": "group", "groups": 2, "eps": 1e-5, ...}}
 *
 * - dtype: numpy's names as the engine has them (bool, int8..int64, uint8..uint64, float16, bfloat16, float32,
 *   float64). shape [] is a 0-d tensor (data: one item of base64, or a bare number); a 0 in the shape is empty.
 * - data as a nested list must nest exactly as `shape` says; numbers, or the strings "nan", "inf", "-inf" (also
 *   "NaN", "Infinity", "-Infinity") that JSON cannot hold otherwise; true/false for bool (or 0/1).
 * - norm: the engine's one parameter vocabulary (params.ts): op, groups, normalized_shape, eps, momentum,
 *   num_batches_tracked, mode, unbatched, layout, weight, bias, running_mean, running_var. A tensor parameter is
 *   a nested list (float64), a number (0-d) or {shape, dtype, data} like the payload itself.
 * Unknown fields are refused (a misspelt parameter must not be silently ignored). Every error is one line that
 * starts with where it is (`payload.data[1][0]: ...`). Pure: no DOM, no Node.
 */
import { DTYPES, DType, Storage, allocStorage, isDType, itemSize, numberToBfloat16, numberToHalf } from '../dtype';
import { NormScopeError } from '../errors';
import { NormParams, OP_NAMES, OpName } from '../params';
import { Tensor, checkShape, contiguous, numel, tensor } from '../tensor';

/** The MIME type of NormScope notebook outputs. */
export const TENSOR_MIME = 'application/vnd.normscope.tensor+json';

/** The payload as JSON carries it. */
export interface TensorPayload {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: string | NestedList;
  readonly name?: string;
  readonly norm?: Readonly<Record<string, unknown>>;
}
export type NestedList = number | string | boolean | readonly NestedList[];

/** A decoded payload. */
export interface DecodedPayload {
  readonly tensor: Tensor;
  readonly name?: string;
  /** Present when the payload asks for a normalization. */
  readonly norm?: NormParams;
}

const PAYLOAD_KEYS = ['shape', 'dtype', 'data', 'name', 'norm'];
const TENSOR_KEYS = ['shape', 'dtype', 'data'];
const NORM_KEYS = ['op', 'groups', 'normalized_shape', 'eps', 'momentum', 'num_batches_tracked', 'mode', 'unbatched', 'layout',
  'weight', 'bias', 'running_mean', 'running_var'] as const;
const TENSOR_PARAMS = ['weight', 'bias', 'running_mean', 'running_var'] as const;
/** Deepest nesting of a nested list (numpy's own limit on dimensions). */
const MAX_RANK = 32;

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

function fail(where: string, message: string): never {
  throw new NormScopeError(`${where}: ${message}`);
}

function only(o: Obj, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) fail(where, `unknown field "${k}" (expected ${keys.join(', ')})`);
  }
}

/** Decodes a payload (what `outputItem.json()` gives); throws a one-line NormScopeError for anything wrong. */
export function decodePayload(v: unknown, where = 'payload'): DecodedPayload {
  if (!isObj(v)) fail(where, `expected an object {shape, dtype, data}, got ${shown(v)}`);
  only(v, where, PAYLOAD_KEYS);
  const t = decodeTensorObject(v, where);
  let name: string | undefined;
  if (v.name !== undefined && v.name !== null) {
    if (typeof v.name !== 'string') fail(`${where}.name`, `expected a string, got ${shown(v.name)}`);
    name = v.name;
  }
  const norm = v.norm === undefined || v.norm === null ? undefined : decodeNormParams(v.norm, `${where}.norm`);
  return { tensor: t, ...(name !== undefined ? { name } : {}), ...(norm ? { norm } : {}) };
}

/** Decodes the text of a payload (JSON; NaN/Infinity tokens are not JSON and are refused by JSON.parse). */
export function decodePayloadText(text: string, where = 'payload'): DecodedPayload {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail(where, `not valid JSON (${(e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ')})`);
  }
  return decodePayload(v, where);
}

/** Decodes {shape, dtype, data} (extra keys are the caller's business). */
export function decodeTensorObject(v: Obj, where: string): Tensor {
  const shape = decodeShape(v.shape, `${where}.shape`);
  if (v.dtype === undefined) fail(`${where}.dtype`, `missing (one of ${DTYPES.join(', ')})`);
  if (typeof v.dtype !== 'string' || !isDType(v.dtype)) {
    fail(`${where}.dtype`, `unknown dtype ${shown(v.dtype)} (expected one of ${DTYPES.join(', ')})`);
  }
  const dtype = v.dtype;
  if (v.data === undefined) fail(`${where}.data`, 'missing (base64 of little-endian C-order bytes, or a nested list)');
  if (typeof v.data === 'string' && !isSpecialValue(v.data)) return fromBase64(v.data, shape, dtype, `${where}.data`);
  const values = nestedValues(v.data, shape, `${where}.data`, dtype === 'bool');
  return tensor(dtype, shape, convert(values, dtype, shape, `${where}.data`));
}

function decodeShape(v: unknown, where: string): number[] {
  if (!Array.isArray(v)) fail(where, `expected an array of non-negative integers, got ${shown(v)}`);
  if (v.length > MAX_RANK) fail(where, `${v.length} dimensions, more than the ${MAX_RANK} supported`);
  v.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(`${where}[${i}]`, `expected a non-negative integer, got ${shown(d)}`);
  });
  try {
    checkShape(v as number[]);
  } catch (e) {
    if (e instanceof NormScopeError) fail(where, e.message);
    throw e;
  }
  return v as number[];
}

// ---- base64 -----------------------------------------------------------------------------------------------

const B64 = new Int16Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => { B64[c.charCodeAt(0)] = i; });

/**
 * Decodes standard base64 (RFC 4648 alphabet; '=' padding optional; whitespace and line breaks ignored, as
 * Python's base64.encodebytes writes them). Throws a one-line error naming the first bad character.
 */
export function decodeBase64(s: string, where = 'base64'): Uint8Array {
  const out = new Uint8Array(Math.floor((s.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let o = 0;
  let digits = 0;
  let pad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) continue;
    if (c === 61) { pad++; continue; } // '='
    const d = c < 128 ? B64[c] : -1;
    if (d < 0 || pad > 0) {
      const what = d < 0 ? `character ${JSON.stringify(s[i])}` : `data after '=' padding`;
      fail(where, `invalid base64: unexpected ${what} at index ${i}`);
    }
    digits++;
    acc = ((acc << 6) | d) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (digits % 4 === 1 || pad > 2 || (pad > 0 && (digits + pad) % 4 !== 0)) {
    fail(where, `invalid base64: ${digits} base64 digits${pad ? ` and ${pad} '='` : ''} is not a whole number of bytes`);
  }
  return out.subarray(0, o);
}

/** Encodes bytes as standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const parts: string[] = [];
  let line = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i], b1 = bytes[i + 1], b2 = bytes[i + 2];
    const n = (b0 << 16) | ((b1 ?? 0) << 8) | (b2 ?? 0);
    line += A[(n >> 18) & 63] + A[(n >> 12) & 63] + (i + 1 < bytes.length ? A[(n >> 6) & 63] : '=') + (i + 2 < bytes.length ? A[n & 63] : '=');
    if (line.length >= 8192) { parts.push(line); line = ''; }
  }
  parts.push(line);
  return parts.join('');
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fromBase64(text: string, shape: readonly number[], dtype: DType, where: string): Tensor {
  const bytes = decodeBase64(text, where);
  const n = numel(shape);
  const size = itemSize(dtype);
  if (bytes.length !== n * size) {
    fail(where, `${bytes.length} bytes of base64 data, but shape [${shape.join(', ')}] of ${dtype} needs ${n * size} ` +
      `(${n} element${n === 1 ? '' : 's'} x ${size} byte${size === 1 ? '' : 's'})`);
  }
  const out = allocStorage(dtype, n);
  const dst = new Uint8Array(out.buffer, out.byteOffset, n * size);
  dst.set(bytes);
  if (!LITTLE_ENDIAN && size > 1) {
    for (let i = 0; i < dst.length; i += size) dst.subarray(i, i + size).reverse();
  }
  if (dtype === 'bool') {
    for (let i = 0; i < n; i++) if (dst[i] > 1) dst[i] = 1;
  }
  return tensor(dtype, shape, out);
}

// ---- nested lists -------------------------------------------------------------------------------------------

const SPECIAL: Readonly<Record<string, number>> = {
  nan: NaN, NaN: NaN, inf: Infinity, Infinity: Infinity, '+inf': Infinity, '-inf': -Infinity, '-Infinity': -Infinity,
};

function isSpecialValue(s: string): boolean {
  return Object.prototype.hasOwnProperty.call(SPECIAL, s);
}

function leaf(v: unknown, where: string, bool: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && isSpecialValue(v)) return SPECIAL[v];
  if (typeof v === 'boolean') {
    if (bool) return v ? 1 : 0;
    fail(where, `expected a number, got ${v} (true/false only for dtype bool)`);
  }
  if (Array.isArray(v)) fail(where, `expected a number, got a list (the nesting is deeper than the shape)`);
  return fail(where, `expected a number or "nan", "inf", "-inf", got ${shown(v)}`);
}

/**
 * The values of a nested list that must nest exactly as `shape` says, in C order. The lists are checked before
 * the values are allocated: a shape that the lists do not hold (`[1e9]` over `[]`, or a long first row over
 * short ones) allocates nothing.
 */
function nestedValues(v: unknown, shape: readonly number[], where: string, bool: boolean): Float64Array {
  fillNested(v, shape, null, where, bool);
  const out = new Float64Array(numel(shape));
  fillNested(v, shape, out, where, bool);
  return out;
}

/** Fills `out` in C order from a nested list that must nest exactly as `shape` (null `out`: checks the lists only). */
function fillNested(v: unknown, shape: readonly number[], out: Float64Array | null, where: string, bool: boolean): void {
  if (shape.length === 0) {
    if (Array.isArray(v)) fail(where, 'expected a single number for shape [], got a list');
    if (out) out[0] = leaf(v, where, bool);
    return;
  }
  let k = 0;
  const walk = (node: unknown, dim: number, path: string): void => {
    if (!Array.isArray(node)) {
      fail(path, `expected a list of ${shape[dim]} (shape [${shape.join(', ')}] has ${shape.length} dimensions), got ${shown(node)}`);
    }
    if (node.length !== shape[dim]) {
      fail(path, `a list of ${node.length}, but dimension ${dim} of shape [${shape.join(', ')}] is ${shape[dim]}`);
    }
    if (dim === shape.length - 1) {
      if (!out) return;
      for (let i = 0; i < node.length; i++) {
        const x = node[i];
        out[k++] = typeof x === 'number' ? x : leaf(x, `${path}[${i}]`, bool);
      }
    } else {
      for (let i = 0; i < node.length; i++) walk(node[i], dim + 1, `${path}[${i}]`);
    }
  };
  walk(v, 0, where);
}

/** The shape of a nested list (rectangular), for tensor parameters given as nested lists. */
function inferShape(v: unknown, where: string): number[] {
  const shape: number[] = [];
  let node = v;
  while (Array.isArray(node)) {
    if (shape.length >= MAX_RANK) fail(where, `nested deeper than ${MAX_RANK} levels`);
    shape.push(node.length);
    if (node.length === 0) break;
    node = node[0];
  }
  return shape;
}

const INT_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1], int64: [-(2 ** 63), 2 ** 63],
  uint8: [0, 255], uint16: [0, 65535], uint32: [0, 2 ** 32 - 1], uint64: [0, 2 ** 64],
};

function indexPath(i: number, shape: readonly number[]): string {
  const idx: number[] = new Array(shape.length);
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    idx[ax] = i % shape[ax];
    i = Math.floor(i / shape[ax]);
  }
  return idx.map((j) => `[${j}]`).join('');
}

/** Stores float64 values as `dtype`: floats rounded to nearest, integers checked to be integral and in range. */
function convert(values: Float64Array, dtype: DType, shape: readonly number[], where: string): Storage {
  const n = values.length;
  switch (dtype) {
    case 'float64': return values;
    case 'float32': return Float32Array.from(values);
    case 'float16': return Uint16Array.from(values, numberToHalf);
    case 'bfloat16': return Uint16Array.from(values, numberToBfloat16);
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        if (values[i] !== 0 && values[i] !== 1) fail(`${where}${indexPath(i, shape)}`, `dtype bool needs true/false (or 0/1), got ${values[i]}`);
        out[i] = values[i];
      }
      return out;
    }
    default: {
      const [lo, hi] = INT_RANGES[dtype]!;
      const out = allocStorage(dtype, n);
      const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
      for (let i = 0; i < n; i++) {
        const x = values[i];
        if (!Number.isInteger(x)) fail(`${where}${indexPath(i, shape)}`, `dtype ${dtype} needs integers, got ${x}`);
        if (x < lo || x > hi || (big && x === hi)) fail(`${where}${indexPath(i, shape)}`, `${x} is out of range for ${dtype}`);
        if (big) (out as BigInt64Array)[i] = BigInt(x);
        else (out as Int32Array)[i] = x;
      }
      return out;
    }
  }
}

// ---- norm parameters ----------------------------------------------------------------------------------------

/** A tensor parameter: a number (0-d), a nested list (float64) or {shape, dtype, data}. */
function decodeTensorParam(v: unknown, where: string): Tensor {
  if (isObj(v)) {
    only(v, where, TENSOR_KEYS);
    return decodeTensorObject(v, where);
  }
  if (typeof v === 'number' || Array.isArray(v) || (typeof v === 'string' && isSpecialValue(v))) {
    const shape = inferShape(v, where);
    return tensor('float64', shape, nestedValues(v, shape, where, false));
  }
  return fail(where, `expected a tensor: a nested list of numbers or {shape, dtype, data}, got ${shown(v)}`);
}

function int(v: unknown, where: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(where, `expected an integer >= ${min}, got ${shown(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, where: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(where, `expected one of ${values.join(', ')}, got ${shown(v)}`);
  return v as T;
}

/** Decodes `norm` into the engine's NormParams (types only: whether they fit the tensor is the op's call). */
export function decodeNormParams(v: unknown, where = 'norm'): NormParams {
  if (!isObj(v)) fail(where, `expected an object {op, ...}, got ${shown(v)}`);
  only(v, where, NORM_KEYS);
  if (v.op === undefined) fail(`${where}.op`, `missing (one of ${OP_NAMES.join(', ')})`);
  const p: { -readonly [K in keyof NormParams]: NormParams[K] } = { op: oneOf<OpName>(v.op, `${where}.op`, OP_NAMES) };
  const has = (k: string) => v[k] !== undefined && v[k] !== null;
  if (has('groups')) p.groups = int(v.groups, `${where}.groups`, 1);
  if (has('normalized_shape')) {
    const ns = v.normalized_shape;
    if (typeof ns === 'number') p.normalized_shape = [int(ns, `${where}.normalized_shape`, 0)];
    else if (Array.isArray(ns)) p.normalized_shape = ns.map((d, i) => int(d, `${where}.normalized_shape[${i}]`, 0));
    else fail(`${where}.normalized_shape`, `expected a list of sizes, got ${shown(ns)}`);
  }
  if (has('eps')) {
    if (typeof v.eps !== 'number' || !Number.isFinite(v.eps) || v.eps < 0) fail(`${where}.eps`, `expected a finite number >= 0, got ${shown(v.eps)}`);
    p.eps = v.eps;
  }
  if (v.momentum === null) p.momentum = null;
  else if (v.momentum !== undefined) {
    if (typeof v.momentum !== 'number' || !Number.isFinite(v.momentum)) fail(`${where}.momentum`, `expected a number or null, got ${shown(v.momentum)}`);
    p.momentum = v.momentum;
  }
  if (has('num_batches_tracked')) p.num_batches_tracked = int(v.num_batches_tracked, `${where}.num_batches_tracked`, 0);
  if (has('mode')) p.mode = oneOf(v.mode, `${where}.mode`, ['train', 'eval'] as const);
  if (has('unbatched')) {
    if (typeof v.unbatched !== 'boolean') fail(`${where}.unbatched`, `expected true or false, got ${shown(v.unbatched)}`);
    p.unbatched = v.unbatched;
  }
  if (has('layout')) p.layout = oneOf(v.layout, `${where}.layout`, ['nchw', 'nhwc'] as const);
  for (const k of TENSOR_PARAMS) if (has(k)) p[k] = decodeTensorParam(v[k], `${where}.${k}`);
  return p;
}

// ---- encoding -------------------------------------------------------------------------------------------------

/** The payload of a tensor (base64 data), as python/normscope.py writes it. For tests and for hosts that emit it. */
export function encodePayload(t: Tensor, extra: { name?: string; norm?: Readonly<Record<string, unknown>> } = {}): TensorPayload {
  const n = numel(t.shape);
  const size = itemSize(t.dtype);
  const c = contiguous(t).data;
  const bytes = new Uint8Array(c.buffer, c.byteOffset, n * size).slice();
  if (!LITTLE_ENDIAN && size > 1) for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  return { shape: [...t.shape], dtype: t.dtype, data: encodeBase64(bytes), ...extra };
}
