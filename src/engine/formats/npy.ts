import { DType, Storage, itemSize, storageView } from '../dtype';
import { NormScopeError } from '../errors';
import { Tensor, checkShape, contiguous, numel, storageTensor } from '../tensor';

// The .npy format as numpy/lib/format.py (1.24) reads and writes it. Typed arrays use the host's byte order;
// every platform the engine runs on (x86-64, arm64) is little endian, so '<' data is viewed as is.

/** Options for reading .npy files. */
export interface NpyReadOptions {
  /** Read `<V2` (how ml_dtypes saves bfloat16) as bfloat16 instead of refusing it. */
  readonly bfloat16V2?: boolean;
}

/** What an .npy header says, and where the data starts. */
export interface NpyHeader {
  readonly version: '1.0' | '2.0' | '3.0';
  /** The descr string as written, e.g. '<f4'. */
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the first data byte (the preamble plus HEADER_LEN). */
  readonly dataOffset: number;
  readonly dtype: DType;
  readonly byteOrder: '<' | '>' | '|';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy refuses headers longer than this (numpy.lib.format._MAX_HEADER_SIZE). */
export const MAX_NPY_HEADER_LEN = 10000;
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;
const MAX_PY_NESTING = 32;

const DESCR: Record<DType, string> = {
  bool: '|b1', int8: '|i1', int16: '<i2', int32: '<i4', int64: '<i8',
  uint8: '|u1', uint16: '<u2', uint32: '<u4', uint64: '<u8',
  float16: '<f2', bfloat16: '<V2', float32: '<f4', float64: '<f8',
};

const at = (offset: number) => `byte offset ${offset}`;

/** Reads an .npy file. The tensor views `bytes` without copying when the data is aligned and little endian. */
export function readNpy(bytes: Uint8Array, opts: NpyReadOptions = {}): Tensor {
  const h = parseNpyHeader(bytes, opts);
  const size = itemSize(h.dtype);
  const count = numel(h.shape);
  const need = count * size;
  const have = bytes.length - h.dataOffset;
  if (need > have) {
    throw new NormScopeError(`truncated: header says ${need} bytes of data, file has ${have} after the header`, at(h.dataOffset));
  }
  checkShape(h.shape, at(h.dataOffset));
  const data = readStorage(bytes, h.dataOffset, count, h.dtype, h.byteOrder === '>' && size > 1);
  return storageTensor(h.dtype, h.shape, data, h.fortranOrder);
}

/** Parses the preamble and header of an .npy file; `bytes` needs to hold at least the header. */
export function parseNpyHeader(bytes: Uint8Array, opts: NpyReadOptions = {}): NpyHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      const found = bytes.length ? hex(bytes.subarray(0, MAGIC.length)) : 'an empty file';
      throw new NormScopeError(`not an .npy file: expected the magic \\x93NUMPY (${hex(MAGIC)}), found ${found}`, at(0));
    }
  }
  if (bytes.length < 8) throw preambleTruncated(bytes.length);
  const [major, minor] = [bytes[6], bytes[7]];
  if (major < 1 || major > 3 || minor !== 0) {
    throw new NormScopeError(`unsupported .npy version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`, at(6));
  }
  const preamble = major === 1 ? 10 : 12;
  if (bytes.length < preamble) throw preambleTruncated(bytes.length);
  const headerLen = major === 1 ? bytes[8] | (bytes[9] << 8) : (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 2 ** 24;
  if (headerLen > MAX_NPY_HEADER_LEN) {
    throw new NormScopeError(`npy header length ${headerLen} exceeds numpy's limit of ${MAX_NPY_HEADER_LEN} bytes`, at(8));
  }
  const dataOffset = preamble + headerLen;
  if (dataOffset > bytes.length) {
    throw new NormScopeError(
      `truncated: header length says ${headerLen} bytes, file has ${bytes.length - preamble} after the preamble`, at(preamble));
  }
  const raw = bytes.subarray(preamble, dataOffset);
  const text = major === 3 ? decodeUtf8Header(raw, preamble) : latin1(raw);
  const byteAt = major === 3 ? (i: number) => preamble + new TextEncoder().encode(text.slice(0, i)).length : (i: number) => preamble + i;
  const fields = headerFields(new PyParser(text, byteAt).document(), text, byteAt);
  const { dtype, byteOrder } = descrToDType(fields.descr, byteAt(fields.descrAt), opts);
  return {
    version: `${major}.0` as NpyHeader['version'],
    descr: fields.descr,
    fortranOrder: fields.fortranOrder,
    shape: fields.shape,
    dataOffset,
    dtype,
    byteOrder,
  };
}

/** Serializes a tensor as numpy.save does: version 1.0 (2.0 for huge headers), C order, little endian. */
export function writeNpy(t: Tensor): Uint8Array {
  const c = contiguous(t);
  const header = npyHeader(c.dtype, c.shape);
  const data = new Uint8Array(c.data.buffer, c.data.byteOffset, numel(c.shape) * itemSize(c.dtype));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** The preamble and header numpy.save writes for C-order data of `dtype` and `shape` (the data follows it). */
export function npyHeader(dtype: DType, shape: readonly number[]): Uint8Array {
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${pyTuple(shape)}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  let preamble = 10;
  let headerLen = paddedLength(preamble, dict.length + 1);
  if (headerLen > 0xffff) {
    preamble = 12;
    headerLen = paddedLength(preamble, dict.length + 1);
  }
  const out = new Uint8Array(preamble + headerLen);
  out.set(MAGIC);
  out[6] = preamble === 10 ? 1 : 2;
  for (let i = 0, n = headerLen; i < preamble - 8; i++, n = Math.floor(n / 256)) out[8 + i] = n & 0xff;
  for (let i = 0; i < dict.length; i++) out[preamble + i] = dict.charCodeAt(i);
  out.fill(0x20, preamble + dict.length, preamble + headerLen - 1);
  out[preamble + headerLen - 1] = 0x0a;
  return out;
}

function paddedLength(preamble: number, hlen: number): number {
  return hlen + ARRAY_ALIGN - ((preamble + hlen) % ARRAY_ALIGN);
}

function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function readStorage(bytes: Uint8Array, offset: number, count: number, dtype: DType, swap: boolean): Storage {
  const size = itemSize(dtype);
  const start = bytes.byteOffset + offset;
  if (!swap && start % size === 0) return storageView(dtype, bytes.buffer as ArrayBuffer, start, count);
  // a fresh buffer of its own, so aligned (not bytes.slice: a Node Buffer's slice is a view into a shared pool)
  const copy = new Uint8Array(bytes.subarray(offset, offset + count * size));
  if (swap) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return storageView(dtype, copy.buffer, 0, count);
}

function preambleTruncated(length: number): NormScopeError {
  return new NormScopeError(`truncated: the file ends inside the .npy preamble after ${length} bytes`, at(length));
}

function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function latin1(raw: Uint8Array): string {
  let s = '';
  for (let i = 0; i < raw.length; i++) s += String.fromCharCode(raw[i]);
  return s;
}

function decodeUtf8Header(raw: Uint8Array, offset: number): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new NormScopeError('npy header is not valid UTF-8', at(offset));
  }
}

// ---- the header's Python literal -------------------------------------------------------------------------

/** A parsed Python literal with the character span it came from. */
type Py = { readonly at: number; readonly end: number } & (
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'int'; readonly v: number }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'none' }
  | { readonly t: 'tuple' | 'list'; readonly items: Py[] }
  | { readonly t: 'dict'; readonly entries: [Py, Py][] }
);
type PyDict = Extract<Py, { t: 'dict' }>;

/** A small parser for the Python literals numpy writes in headers: dicts, tuples, lists, str, int, bools, None. */
class PyParser {
  private pos = 0;
  constructor(private readonly s: string, private readonly byteAt: (i: number) => number) {}

  document(): PyDict {
    this.ws();
    if (this.s[this.pos] !== '{') this.fail(`expected a dict starting with '{', found ${this.found()}`);
    const v = this.value(0) as PyDict;
    this.ws();
    if (this.pos < this.s.length) this.fail(`unexpected ${this.found()} after the dict`);
    return v;
  }

  private value(depth: number): Py {
    if (depth > MAX_PY_NESTING) this.fail(`nested more than ${MAX_PY_NESTING} levels deep`);
    this.ws();
    const start = this.pos;
    const c = this.s[start];
    if (c === '{') {
      const entries: [Py, Py][] = [];
      this.sequence('}', () => {
        const k = this.value(depth + 1);
        this.ws();
        if (this.s[this.pos] !== ':') this.fail(`expected ':' after a dict key, found ${this.found()}`);
        this.pos++;
        entries.push([k, this.value(depth + 1)]);
      });
      return { t: 'dict', entries, at: start, end: this.pos };
    }
    if (c === '(' || c === '[') {
      const items: Py[] = [];
      let commas = 0;
      this.sequence(c === '(' ? ')' : ']', () => { items.push(this.value(depth + 1)); }, () => { commas++; });
      if (c === '(' && items.length === 1 && commas === 0) return { ...items[0], at: start, end: this.pos }; // (x) is x
      return { t: c === '(' ? 'tuple' : 'list', items, at: start, end: this.pos };
    }
    if (c === "'" || c === '"') return { t: 'str', v: this.string(c), at: start, end: this.pos };
    const word = /^(?:-?\d+[lL]?|True|False|None)/.exec(this.s.slice(start, start + 40));
    if (!word) this.fail(`expected a value, found ${this.found()}`);
    this.pos += word[0].length;
    const w = word[0];
    if (w === 'True' || w === 'False') return { t: 'bool', v: w === 'True', at: start, end: this.pos };
    if (w === 'None') return { t: 'none', at: start, end: this.pos };
    return { t: 'int', v: Number(w.replace(/[lL]$/, '')), at: start, end: this.pos };
  }

  /** Parses `item (, item)* ,? close` after the opening bracket. */
  private sequence(close: string, item: () => void, onComma?: () => void): void {
    this.pos++;
    for (;;) {
      this.ws();
      if (this.s[this.pos] === close) break;
      item();
      this.ws();
      if (this.s[this.pos] === ',') {
        this.pos++;
        onComma?.();
      } else if (this.s[this.pos] !== close) {
        this.fail(`expected ',' or '${close}', found ${this.found()}`);
      }
    }
    this.pos++;
  }

  private string(quote: string): string {
    let out = '';
    for (let i = this.pos + 1; i < this.s.length; i++) {
      const c = this.s[i];
      if (c === quote) {
        this.pos = i + 1;
        return out;
      }
      if (c === '\n') break;
      out += c === '\\' ? this.s[++i] : c;
    }
    return this.fail('unterminated string');
  }

  private ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos])) this.pos++;
  }

  private found(): string {
    return this.pos < this.s.length ? JSON.stringify(this.s[this.pos]) : 'the end of the header';
  }

  private fail(what: string): never {
    throw new NormScopeError(`npy header: ${what}`, at(this.byteAt(this.pos)));
  }
}

interface HeaderFields {
  readonly descr: string;
  readonly descrAt: number;
  readonly fortranOrder: boolean;
  readonly shape: number[];
}

const KEYS = ['descr', 'fortran_order', 'shape'];

function headerFields(dict: PyDict, text: string, byteAt: (i: number) => number): HeaderFields {
  const refuse = (what: string, node: Py): never => { throw new NormScopeError(what, at(byteAt(node.at))); };
  const fail = (what: string, node: Py): never => refuse(`npy header: ${what}`, node);
  const values = new Map<string, Py>();
  for (const [k, v] of dict.entries) {
    if (k.t !== 'str') return fail('dict keys must be strings', k);
    if (!KEYS.includes(k.v)) return fail(`unexpected key '${k.v}' (expected 'descr', 'fortran_order', 'shape')`, k);
    values.set(k.v, v);
  }
  for (const k of KEYS) if (!values.has(k)) fail(`missing the key '${k}'`, dict);
  const descr = values.get('descr') as Py;
  const fortran = values.get('fortran_order') as Py;
  const shape = values.get('shape') as Py;
  const src = (node: Py) => {
    const full = text.slice(node.at, node.end);
    return full.length > 60 ? `${full.slice(0, 57)}...` : full;
  };
  if (descr.t === 'list') {
    const names = descr.items.map((f) => (f.t === 'tuple' && f.items[0]?.t === 'str' ? `'${f.items[0].v}'` : '?'));
    refuse(`structured arrays (fields ${names.join(', ')}) are not supported: save each field as its own array`, descr);
  }
  if (descr.t === 'tuple') refuse(`subarray dtype ${src(descr)} is not supported`, descr);
  if (descr.t !== 'str') return fail(`'descr' must be a dtype string like '<f4', found ${src(descr)}`, descr);
  if (fortran.t !== 'bool') return fail(`'fortran_order' must be True or False, found ${src(fortran)}`, fortran);
  if (shape.t !== 'tuple' || shape.items.some((d) => d.t !== 'int' || d.v < 0 || !Number.isSafeInteger(d.v))) {
    return fail(`'shape' must be a tuple of non-negative integers, found ${src(shape)}`, shape);
  }
  return {
    descr: descr.v,
    descrAt: descr.at,
    fortranOrder: fortran.v,
    shape: shape.items.map((d) => (d as { v: number }).v),
  };
}

function descrToDType(descr: string, offset: number, opts: NpyReadOptions): { dtype: DType; byteOrder: '<' | '>' | '|' } {
  const refuse = (what: string): never => { throw new NormScopeError(what, at(offset)); };
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)(\[\w+\])?$/.exec(descr);
  if (!m) return refuse(`unknown dtype '${descr}'`);
  const order = m[1] === '>' ? '>' : m[1] === '|' ? '|' : '<';
  const kind = m[2];
  const size = Number(m[3]);
  const q = `('${descr}')`;
  const ints: Record<string, DType[]> = {
    i: ['int8', 'int16', 'int32', 'int64'],
    u: ['uint8', 'uint16', 'uint32', 'uint64'],
  };
  switch (kind) {
    case 'b':
      if (size === 1) return { dtype: 'bool', byteOrder: order };
      break;
    case 'i': case 'u': {
      const d = ints[kind][[1, 2, 4, 8].indexOf(size)];
      if (d) return { dtype: d, byteOrder: order };
      break;
    }
    case 'f':
      if (size === 2) return { dtype: 'float16', byteOrder: order };
      if (size === 4) return { dtype: 'float32', byteOrder: order };
      if (size === 8) return { dtype: 'float64', byteOrder: order };
      if (size === 12 || size === 16) refuse(`float${size * 8} ('${descr}', long double) is not supported: convert to float64 first`);
      break;
    case 'c':
      return refuse(`complex arrays ${q} are not supported: save the real and imaginary parts as separate arrays`);
    case 'V':
      if (size === 2 && order !== '|') {
        if (opts.bfloat16V2) return { dtype: 'bfloat16', byteOrder: order };
        refuse(`'${descr}' is raw 2-byte data, which is how ml_dtypes saves bfloat16: read it with the bfloat16V2 option to treat it as bfloat16`);
      }
      return refuse(`raw void arrays ${q} are not supported`);
    case 'O':
      return refuse(`object arrays ${q} are not supported: reading them needs pickle, which can run arbitrary code`);
    case 'U':
      return refuse(`string arrays ${q} are not supported: only numbers and booleans`);
    case 'S': case 'a':
      return refuse(`byte-string arrays ${q} are not supported: only numbers and booleans`);
    case 'M':
      return refuse(`datetime arrays ${q} are not supported: only numbers and booleans`);
    case 'm':
      return refuse(`timedelta arrays ${q} are not supported: only numbers and booleans`);
  }
  return refuse(`unknown dtype '${descr}'`);
}
