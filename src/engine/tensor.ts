import { DType, Storage, allocStorage, bfloat16ToNumber, halfToNumber, isFloat } from './dtype';
import { NormScopeError } from './errors';

/**
 * A strided view over typed storage, in the spirit of scijs/ndarray: element i0..ik lives at
 * data[offset + sum(ij * strides[j])]. Strides are in elements, not bytes. Transposes and reshapes of
 * contiguous tensors are views; `contiguous()` copies only when the layout is not already C-order.
 */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly data: Storage;
}

/** The largest element count the engine will allocate for (2^31 - 1, a typed array's practical limit). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** C-order strides for `shape`. */
export function cStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= Math.max(shape[i], 1);
  }
  return s;
}

/** Checks a shape before anything is allocated for it: non-negative integers and a bounded element count. */
export function checkShape(shape: readonly number[], where?: string): void {
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new NormScopeError(`invalid dimension ${String(d)} at axis ${i} of shape [${shape.join(', ')}]`, where);
    }
    n *= d;
  }
  if (n > MAX_ELEMENTS) {
    throw new NormScopeError(`shape [${shape.join(', ')}] has ${n} elements, more than the ${MAX_ELEMENTS} supported`, where);
  }
}

export function tensor(dtype: DType, shape: readonly number[], data: Storage): Tensor {
  checkShape(shape);
  if (data.length !== numel(shape)) {
    throw new NormScopeError(`data has ${data.length} elements but shape [${shape.join(', ')}] needs ${numel(shape)}`);
  }
  return { dtype, shape: [...shape], strides: cStrides(shape), offset: 0, data };
}

/**
 * A tensor over `data` as a file stores it: C order, or Fortran (column-major) order seen as a view with the
 * reversed strides, no copy.
 */
export function storageTensor(dtype: DType, shape: readonly number[], data: Storage, fortranOrder = false): Tensor {
  const t = tensor(dtype, shape, data);
  return fortranOrder ? { ...t, strides: cStrides([...shape].reverse()).reverse() } : t;
}

/**
 * A tensor with a dtype and shape but no data: what validates parameters against a shape, or prints one,
 * without loading the values (a streamed file's, a parameter file's from its header).
 */
export function shapeOnly(t: { readonly dtype: DType; readonly shape: readonly number[] }): Tensor {
  return { dtype: t.dtype, shape: t.shape, strides: [], offset: 0, data: new Float32Array(0) };
}

export function zeros(dtype: DType, shape: readonly number[]): Tensor {
  checkShape(shape);
  return tensor(dtype, shape, allocStorage(dtype, numel(shape)));
}

export function fromFloat64(shape: readonly number[], values: Float64Array): Tensor {
  return tensor('float64', shape, values);
}

export function fromFloat32(shape: readonly number[], values: Float32Array): Tensor {
  return tensor('float32', shape, values);
}

export function isContiguous(t: Tensor): boolean {
  const c = cStrides(t.shape);
  for (let i = 0; i < t.shape.length; i++) {
    if (t.shape[i] > 1 && t.strides[i] !== c[i]) return false;
  }
  return true;
}

/** Reads one stored element as a JS number (float16/bfloat16 decoded exactly; 64-bit ints may round). */
export function readScalar(dtype: DType, data: Storage, index: number): number {
  const v = data[index];
  if (typeof v === 'bigint') return Number(v);
  if (dtype === 'float16') return halfToNumber(v);
  if (dtype === 'bfloat16') return bfloat16ToNumber(v);
  return v;
}

/** Calls `fn(storageIndex, linearIndex)` for every element in C order. */
export function forEachIndex(t: Tensor, fn: (storageIndex: number, linear: number) => void): void {
  const n = numel(t.shape);
  if (n === 0) return;
  const rank = t.shape.length;
  if (isContiguous(t)) {
    for (let i = 0; i < n; i++) fn(t.offset + i, i);
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  let pos = t.offset;
  for (let i = 0; i < n; i++) {
    fn(pos, i);
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]++;
      pos += t.strides[ax];
      if (idx[ax] < t.shape[ax]) break;
      pos -= t.strides[ax] * t.shape[ax];
      idx[ax] = 0;
    }
  }
}

/**
 * The values as a C-order Float64Array. Returns the storage itself (no copy) when it already is one;
 * otherwise converts, decoding float16/bfloat16 exactly and booleans as 0/1.
 */
export function toFloat64(t: Tensor): Float64Array {
  const n = numel(t.shape);
  if (t.dtype === 'float64' && isContiguous(t) && t.offset === 0 && t.data.length === n) return t.data as Float64Array;
  const out = new Float64Array(n);
  const { dtype, data } = t;
  if (dtype === 'float16' || dtype === 'bfloat16' || typeof data[0] === 'bigint') {
    forEachIndex(t, (s, i) => { out[i] = readScalar(dtype, data, s); });
  } else {
    const d = data as Float32Array;
    if (isContiguous(t)) {
      for (let i = 0; i < n; i++) out[i] = d[t.offset + i];
    } else {
      forEachIndex(t, (s, i) => { out[i] = d[s]; });
    }
  }
  return out;
}

/**
 * The values as C-order float32 or float64 storage, whichever the ops compute in for this dtype:
 * float64 stays float64, everything else becomes float32-or-exact float64. Integers wider than float32's
 * 24-bit mantissa and float16 values are converted to float64 so no precision is lost before accumulation.
 */
export function toComputeArray(t: Tensor): Float32Array | Float64Array {
  if (t.dtype === 'float32') {
    const n = numel(t.shape);
    if (isContiguous(t) && t.offset === 0 && t.data.length === n) return t.data as Float32Array;
    const out = new Float32Array(n);
    const d = t.data as Float32Array;
    forEachIndex(t, (s, i) => { out[i] = d[s]; });
    return out;
  }
  return toFloat64(t);
}

/** A C-order copy (or the tensor itself when already C-order from offset 0). */
export function contiguous(t: Tensor): Tensor {
  const n = numel(t.shape);
  if (isContiguous(t) && t.offset === 0 && t.data.length === n) return t;
  const out = allocStorage(t.dtype, n);
  const src = t.data;
  forEachIndex(t, (s, i) => { (out as unknown as number[])[i] = (src as unknown as number[])[s]; });
  return { dtype: t.dtype, shape: [...t.shape], strides: cStrides(t.shape), offset: 0, data: out };
}

/** A view with axes reordered: result axis i is input axis perm[i]. */
export function permute(t: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== t.shape.length || new Set(perm).size !== perm.length || perm.some((p) => p < 0 || p >= perm.length)) {
    throw new NormScopeError(`permute: [${perm.join(', ')}] is not a permutation of ${t.shape.length} axes`);
  }
  return {
    dtype: t.dtype,
    shape: perm.map((p) => t.shape[p]),
    strides: perm.map((p) => t.strides[p]),
    offset: t.offset,
    data: t.data,
  };
}

/** A view with a new shape; `-1` infers one dimension. Copies first if the tensor is not C-order. */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  const n = numel(t.shape);
  const s = [...shape];
  const inferAt = s.indexOf(-1);
  if (inferAt >= 0) {
    const rest = numel(s.filter((_, i) => i !== inferAt));
    if (rest === 0 || n % rest !== 0) {
      throw new NormScopeError(`shape '[${shape.join(', ')}]' is invalid for input of size ${n}`);
    }
    s[inferAt] = n / rest;
  }
  checkShape(s);
  if (numel(s) !== n) throw new NormScopeError(`shape '[${shape.join(', ')}]' is invalid for input of size ${n}`);
  const c = contiguous(t);
  return { dtype: c.dtype, shape: s, strides: cStrides(s), offset: c.offset, data: c.data };
}

/** True when the dtype is a floating type; ints and bools are promoted by the ops. */
export function isFloatTensor(t: Tensor): boolean {
  return isFloat(t.dtype);
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
