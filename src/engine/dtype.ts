/** Element types, named as numpy names them (bfloat16 as ml_dtypes does). */
export type DType =
  | 'bool'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'float16' | 'bfloat16' | 'float32' | 'float64';

export const DTYPES: readonly DType[] = [
  'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
  'float16', 'bfloat16', 'float32', 'float64',
];

/** The typed array that stores each dtype. float16 and bfloat16 keep their raw 16-bit patterns. */
export type Storage =
  | Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint16Array | Uint32Array | BigUint64Array | Float32Array | Float64Array;

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

export function itemSize(d: DType): number {
  switch (d) {
    case 'bool': case 'int8': case 'uint8': return 1;
    case 'int16': case 'uint16': case 'float16': case 'bfloat16': return 2;
    case 'int32': case 'uint32': case 'float32': return 4;
    case 'int64': case 'uint64': case 'float64': return 8;
  }
}

export function isFloat(d: DType): boolean {
  return d === 'float16' || d === 'bfloat16' || d === 'float32' || d === 'float64';
}

/** Allocates zeroed storage for `n` elements of `d`. */
export function allocStorage(d: DType, n: number): Storage {
  switch (d) {
    case 'bool': case 'uint8': return new Uint8Array(n);
    case 'int8': return new Int8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'uint64': return new BigUint64Array(n);
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
  }
}

/** Views `byteLength` bytes of `buf` at `byteOffset` as storage of `d` (offset must be aligned to the item size). */
export function storageView(d: DType, buf: ArrayBuffer, byteOffset: number, n: number): Storage {
  switch (d) {
    case 'bool': case 'uint8': return new Uint8Array(buf, byteOffset, n);
    case 'int8': return new Int8Array(buf, byteOffset, n);
    case 'int16': return new Int16Array(buf, byteOffset, n);
    case 'int32': return new Int32Array(buf, byteOffset, n);
    case 'int64': return new BigInt64Array(buf, byteOffset, n);
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(buf, byteOffset, n);
    case 'uint32': return new Uint32Array(buf, byteOffset, n);
    case 'uint64': return new BigUint64Array(buf, byteOffset, n);
    case 'float32': return new Float32Array(buf, byteOffset, n);
    case 'float64': return new Float64Array(buf, byteOffset, n);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Exact value of an IEEE binary16 bit pattern. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** Exact value of a bfloat16 bit pattern (the top half of a float32). */
export function bfloat16ToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** Rounds a number to the nearest binary16 pattern (ties to even), as numpy's astype(float16) does. */
export function numberToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a >= 65520) return sign | 0x7c00; // rounds to infinity
  if (a < 2 ** -14) {
    // subnormal: units of 2^-24
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  const m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) { e += 1; return sign | ((e + 15) << 10); }
  return sign | ((e + 15) << 10) | m;
}

/** Rounds a number to the nearest bfloat16 pattern (ties to even), NaN kept quiet. */
export function numberToBfloat16(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if (Number.isNaN(f32[0])) return ((bits >>> 16) | 0x40) & 0xffff;
  const lower = bits & 0xffff;
  let upper = bits >>> 16;
  if (lower > 0x8000 || (lower === 0x8000 && (upper & 1))) upper += 1;
  return upper & 0xffff;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
