/**
 * .safetensors files: an 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the tensors' raw
 * little-endian bytes, offsets relative to the end of the header. The header is checked as the reference
 * implementation checks it (a size limit, known dtypes, sizes matching shapes, offsets inside the data and not
 * overlapping), except that gaps between tensors are tolerated: they hide nothing a reader could misread.
 * BF16 is decoded exactly (a bfloat16 is the top half of a float32).
 */
import { DType, itemSize } from '../dtype';
import { NormScopeError } from '../errors';
import { Tensor, cStrides, checkShape, numel } from '../tensor';
import { TensorEntry, TensorListing, needSelector, noSuchTensor } from './listing';
import { ByteSource, Reads, TensorSource, rawTensorSource, runAsync, runSync, viewStorage } from './source';
import { clip, shapeText } from './shown';

/** The reference implementation's limit on the header (100 MB). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

const DTYPES: Record<string, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8',
  U64: 'uint64', U32: 'uint32', U16: 'uint16', U8: 'uint8', BOOL: 'bool',
};
/** Dtypes the format defines that the engine does not compute in. */
const UNSUPPORTED = ['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

const KIND = '.safetensors';

/** One tensor as the header describes it; `begin`/`end` are absolute file offsets. */
export interface SafetensorsTensor extends TensorEntry {
  /** The dtype as the file spells it (F32, BF16, ...). */
  readonly stDtype: string;
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Byte offset of the data region (8 + the header length). */
  readonly dataStart: number;
  readonly tensors: readonly SafetensorsTensor[];
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Reads and validates the header of a file of `fileSize` bytes. */
export function* safetensorsHeaderReads(fileSize: number): Reads<SafetensorsHeader> {
  const pre = yield { offset: 0, length: 8 };
  if (pre.length < 8) {
    throw new NormScopeError(`truncated: a .safetensors file starts with an 8-byte header length, the file has ${pre.length} bytes`, 'byte offset 0');
  }
  const lo = (pre[0] | (pre[1] << 8) | (pre[2] << 16)) + pre[3] * 2 ** 24;
  const hi = (pre[4] | (pre[5] << 8) | (pre[6] << 16)) + pre[7] * 2 ** 24;
  const n = lo + hi * 2 ** 32;
  if (n > MAX_SAFETENSORS_HEADER) {
    throw new NormScopeError(`safetensors header length ${hi >= 2 ** 21 ? '2^' + Math.round(Math.log2(n)) : n} exceeds the limit of ${MAX_SAFETENSORS_HEADER} bytes`, 'byte offset 0');
  }
  if (8 + n > fileSize) {
    throw new NormScopeError(`truncated: safetensors header length ${n} goes beyond the end of the file (${fileSize - 8} bytes after the length)`, 'byte offset 0');
  }
  const raw = yield { offset: 8, length: n };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    // JSON.parse's message quotes the text around the error, line breaks included: one line here
    const why = e instanceof SyntaxError ? e.message.replace(/\s+/g, ' ') : 'it is not valid UTF-8';
    throw new NormScopeError(`safetensors header is not valid JSON: ${why}`, 'byte offset 8');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new NormScopeError('safetensors header must be a JSON object', 'byte offset 8');
  }
  const dataStart = 8 + n;
  const dataLength = fileSize - dataStart;
  const tensors: SafetensorsTensor[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((s) => typeof s !== 'string')) {
        throw new NormScopeError('safetensors __metadata__ must map strings to strings');
      }
      metadata = v as Record<string, string>;
      continue;
    }
    tensors.push(tensorInfo(name, v, dataStart, dataLength));
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1], b = sorted[i];
    if (b.begin < a.end) {
      const off = (t: SafetensorsTensor) => `[${t.begin - dataStart}, ${t.end - dataStart}]`;
      throw new NormScopeError(`safetensors tensors '${clip(a.name)}' ${off(a)} and '${clip(b.name)}' ${off(b)} overlap`);
    }
  }
  return { dataStart, tensors, metadata };
}

function tensorInfo(name: string, v: unknown, dataStart: number, dataLength: number): SafetensorsTensor {
  const fail = (what: string): never => { throw new NormScopeError(`safetensors tensor '${clip(name)}': ${what}`); };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail('expected an object {dtype, shape, data_offsets}');
  const { dtype: st, shape, data_offsets: offsets } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof st !== 'string') return fail('missing "dtype"');
  const dtype = DTYPES[st];
  if (!dtype) {
    if (UNSUPPORTED.includes(st)) fail(`dtype ${st} is not supported (supported: ${Object.keys(DTYPES).join(' ')})`);
    fail(`unknown dtype '${clip(st)}'`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    return fail(`"shape" must be a list of non-negative integers, got ${clip(JSON.stringify(shape) ?? 'nothing', 60)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    return fail(`"data_offsets" must be [begin, end], got ${clip(JSON.stringify(offsets) ?? 'nothing', 60)}`);
  }
  const [b, e] = offsets as number[];
  const span = `data_offsets [${b}, ${e}]`;
  if (e < b) fail(`${span} end before they begin`);
  if (e > dataLength) fail(`${span} go beyond the ${dataLength} bytes of data`);
  const need = numel(shape) * itemSize(dtype);
  if (e - b !== need) fail(`${span} hold ${e - b} bytes, shape ${shapeText(shape)} of ${st} needs ${need}`);
  return { name, stDtype: st, dtype, shape: [...shape], bytes: need, begin: dataStart + b, end: dataStart + e };
}

function pick(h: SafetensorsHeader, selector: string | undefined): SafetensorsTensor {
  if (selector === undefined) {
    if (h.tensors.length === 1) return h.tensors[0];
    if (h.tensors.length === 0) throw noSuchTensor(KIND, '', []);
    throw needSelector(KIND, h.tensors.map((t) => t.name));
  }
  const t = h.tensors.find((x) => x.name === selector);
  if (!t) throw noSuchTensor(KIND, selector, h.tensors.map((x) => x.name));
  return t;
}

function listingOf(h: SafetensorsHeader): TensorListing {
  const tensors = h.tensors.map(({ name, shape, dtype, bytes }) => ({ name, shape, dtype, bytes }));
  return h.metadata ? { format: 'safetensors', tensors, metadata: h.metadata } : { format: 'safetensors', tensors };
}

/** Reads one tensor of a .safetensors file in memory (the only one when `selector` is absent). */
export function readSafetensors(bytes: Uint8Array, selector?: string): Tensor {
  const t = pick(runSync(safetensorsHeaderReads(bytes.length), bytes), selector);
  checkShape(t.shape, `tensor '${clip(t.name)}'`);
  const data = viewStorage(t.dtype, bytes.subarray(t.begin, t.end), numel(t.shape));
  return { dtype: t.dtype, shape: [...t.shape], strides: cStrides(t.shape), offset: 0, data };
}

/** The tensors and metadata of a .safetensors file in memory. */
export function listSafetensors(bytes: Uint8Array): TensorListing {
  return listingOf(runSync(safetensorsHeaderReads(bytes.length), bytes));
}

/** Opens one tensor of a .safetensors file for chunked reading. */
export async function openSafetensorsSource(src: ByteSource, selector?: string): Promise<TensorSource> {
  const t = pick(await runAsync(safetensorsHeaderReads(src.size), src), selector);
  return rawTensorSource(src, t.begin, t.dtype, t.shape, '<');
}

/** The tensors and metadata of a .safetensors file read through a ByteSource (header only). */
export async function listSafetensorsSource(src: ByteSource): Promise<TensorListing> {
  return listingOf(await runAsync(safetensorsHeaderReads(src.size), src));
}
