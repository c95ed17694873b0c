/**
 * Chunked access to tensor files that may be larger than memory. The engine never touches a file itself: a
 * front end passes a ByteSource whose `read(offset, length)` is backed by a Node file handle (ranged reads) or
 * by a whole file already in memory (`bytesSource`). Readers that need a few dependent reads (headers, a zip
 * directory) are written once as generators of read requests (`Reads<T>`) and driven either synchronously over
 * bytes in memory (`runSync`) or asynchronously over a ByteSource (`runAsync`).
 */
import { DType, Storage, allocStorage, itemSize, storageView, halfToNumber } from '../dtype';
import { NormScopeError } from '../errors';
import { numel } from '../tensor';
import { MAX_NPY_HEADER_LEN, NpyReadOptions, parseNpyHeader } from './npy';

/**
 * Reads up to `length` bytes at `offset`; fewer only at the end of the data. The returned bytes may be reused
 * by the next call: use them (or copy them) before reading again.
 */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/** Bytes that can be read at any offset. */
export interface ByteSource {
  readonly size: number;
  readonly read: ReadAt;
  /**
   * Optional: reads up to dst.length bytes at `offset` straight into `dst` (no copy); returns the count.
   * Sources that have it are stateless: their reads may overlap.
   */
  readonly readInto?: (offset: number, dst: Uint8Array) => Promise<number>;
}

/** A request for bytes [offset, offset + length) from a Reads generator. */
export interface ReadRequest {
  readonly offset: number;
  readonly length: number;
}

/** A reader written as a generator: it yields read requests and receives the bytes (shorter at the end). */
export type Reads<T> = Generator<ReadRequest, T, Uint8Array>;

/** Runs a Reads generator over bytes in memory. */
export function runSync<T>(g: Reads<T>, bytes: Uint8Array): T {
  let step = g.next();
  while (!step.done) {
    const { offset, length } = step.value;
    const start = Math.min(Math.max(0, offset), bytes.length);
    step = g.next(bytes.subarray(start, Math.min(bytes.length, start + length)));
  }
  return step.value;
}

/** Runs a Reads generator over a ByteSource. */
export async function runAsync<T>(g: Reads<T>, src: ByteSource): Promise<T> {
  let step = g.next();
  while (!step.done) {
    const { offset, length } = step.value;
    const start = Math.min(Math.max(0, offset), src.size);
    const n = Math.max(0, Math.min(length, src.size - start));
    step = g.next(n ? await src.read(start, n) : new Uint8Array(0));
  }
  return step.value;
}

/** A ByteSource over bytes in memory (what vscode.workspace.fs gives: a whole file). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)) };
}

/** The bytes [base, base + size) of `src` as a ByteSource of their own. */
export function sliceSource(src: ByteSource, base: number, size: number): ByteSource {
  const into = src.readInto;
  return {
    size,
    read: (offset, length) => src.read(base + offset, Math.max(0, Math.min(length, size - offset))),
    readInto: into ? (offset, dst) => into(base + offset, dst.subarray(0, Math.max(0, Math.min(dst.length, size - offset)))) : undefined,
  };
}

/** A tensor whose elements are read on demand, in storage order. */
export interface TensorSource {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Elements are stored column-major (Fortran order): storage order is C order of the reversed shape. */
  readonly fortranOrder: boolean;
  /** Element count and bytes of element data. */
  readonly count: number;
  readonly byteLength: number;
  /**
   * Elements [start, start + count) as storage of the dtype in the host's byte order: in `into` (reused, so a
   * stream allocates its chunk buffers once) when given with room for `count`, else in a fresh array.
   */
  readStorage(start: number, count: number, into?: Storage): Promise<Storage>;
  /** True when readStorage calls may overlap (ranged reads without state), so the next chunk can be prefetched. */
  readonly concurrent?: boolean;
}

/**
 * A TensorSource over `count` elements of `dtype` stored contiguously from byte `dataOffset` of `src`,
 * little endian unless `byteOrder` is '>'.
 */
export function rawTensorSource(
  src: ByteSource,
  dataOffset: number,
  dtype: DType,
  shape: readonly number[],
  byteOrder: '<' | '>' | '|' = '<',
  fortranOrder = false,
): TensorSource {
  const size = itemSize(dtype);
  const count = numel(shape);
  return {
    dtype, shape, fortranOrder, count, byteLength: count * size, concurrent: src.readInto !== undefined,
    async readStorage(start: number, n: number, into?: Storage): Promise<Storage> {
      if (start < 0 || n < 0 || start + n > count) throw new RangeError(`elements ${start}..${start + n} outside 0..${count}`);
      const want = n * size;
      const out = into && into.length >= n && into.BYTES_PER_ELEMENT === size ? into.subarray(0, n) : allocStorage(dtype, n);
      const dst = new Uint8Array(out.buffer, out.byteOffset, want);
      let got = 0;
      while (got < want) {
        const at = dataOffset + start * size + got;
        let n: number;
        if (src.readInto) {
          n = await src.readInto(at, dst.subarray(got));
        } else {
          const piece = await src.read(at, want - got);
          dst.set(piece, got);
          n = piece.length;
        }
        if (n === 0) throw new NormScopeError(`truncated: the data ends at byte ${at}, expected ${want - got} more bytes`, `byte offset ${at}`);
        got += n;
      }
      if (byteOrder === '>' && size > 1) {
        for (let i = 0; i < want; i += size) dst.subarray(i, i + size).reverse();
      }
      return out;
    },
  };
}

/** Reads an .npy header (preamble, then exactly the header) with at most two reads. */
export function* npyHeaderReads(opts: NpyReadOptions = {}): Reads<ReturnType<typeof parseNpyHeader>> {
  const pre = yield { offset: 0, length: 12 };
  if (pre.length >= 10 && pre[6] >= 1 && pre[6] <= 3) {
    const len = pre[6] === 1 ? pre[8] | (pre[9] << 8) : pre.length >= 12 ? (pre[8] | (pre[9] << 8) | (pre[10] << 16)) + pre[11] * 2 ** 24 : 0;
    if (len <= MAX_NPY_HEADER_LEN) {
      const whole = yield { offset: 0, length: (pre[6] === 1 ? 10 : 12) + len };
      return parseNpyHeader(whole, opts);
    }
  }
  return parseNpyHeader(pre, opts); // throws the precise error for a short or bad preamble
}

/** Opens an .npy file for chunked reading: reads only its header now. */
export async function openNpySource(src: ByteSource, opts: NpyReadOptions = {}): Promise<TensorSource> {
  const h = await runAsync(npyHeaderReads(opts), src);
  const need = numel(h.shape) * itemSize(h.dtype);
  const have = src.size - h.dataOffset;
  if (need > have) {
    throw new NormScopeError(`truncated: header says ${need} bytes of data, file has ${have} after the header`, `byte offset ${h.dataOffset}`);
  }
  return rawTensorSource(src, h.dataOffset, h.dtype, h.shape, h.byteOrder, h.fortranOrder);
}

/**
 * Storage as the values the statistics read: float32 storage as is (no copy), everything else as float64
 * (in `into` when it has room), float16/bfloat16 decoded exactly and booleans as 0/1 (what `toComputeArray`
 * gives for a whole tensor).
 */
export function computeValues(dtype: DType, data: Storage, into?: Float64Array): Float32Array | Float64Array {
  if (dtype === 'float32') return data as Float32Array;
  if (dtype === 'float64') return data as Float64Array;
  const n = data.length;
  const out = into && into.length >= n ? into.subarray(0, n) : new Float64Array(n);
  if (dtype === 'float16') {
    const table = halfTable();
    const d = data as Uint16Array;
    for (let i = 0; i < n; i++) out[i] = table[d[i]];
  } else if (dtype === 'bfloat16') {
    const d = data as Uint16Array;
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) bits[i] = d[i] << 16;
    const f = new Float32Array(bits.buffer);
    for (let i = 0; i < n; i++) out[i] = f[i];
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(data[i]);
  } else {
    out.set(data as ArrayLike<number>);
  }
  return out;
}

let HALF: Float64Array | null = null;
function halfTable(): Float64Array {
  if (!HALF) {
    HALF = new Float64Array(65536);
    for (let h = 0; h < 65536; h++) HALF[h] = halfToNumber(h);
  }
  return HALF;
}

/** Views aligned bytes as storage (used by the in-memory readers). */
export function viewStorage(dtype: DType, bytes: Uint8Array, count: number): Storage {
  if (bytes.byteOffset % itemSize(dtype) === 0) return storageView(dtype, bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  const copy = bytes.slice(0, count * itemSize(dtype));
  return storageView(dtype, copy.buffer, 0, count);
}
