import { DTYPES, DType, Storage, allocStorage, isDType, numberToBfloat16, numberToHalf } from '../dtype';
import { NormScopeError } from '../errors';
import { Tensor, checkShape, numel, tensor } from '../tensor';
import { clip, shapeText } from './shown';

// Tensors in JSON: nested arrays of numbers (or of booleans), or {"shape": [...], "data": [...], "dtype": "..."},
// anywhere in a document and selected by an RFC 6901 JSON Pointer. The parser is our own because JSON.parse
// rejects the NaN, Infinity and -Infinity tokens Python's json module writes, and because errors must say where.

/** Options for reading JSON tensors. */
export interface JsonReadOptions {
  /** The longest text accepted (characters, or bytes before decoding). Default DEFAULT_MAX_JSON_TEXT. */
  readonly maxTextLength?: number;
}

/** One tensor found in a JSON document. */
export interface JsonTensorInfo {
  readonly pointer: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Default cap on JSON text: 512 MiB. */
export const DEFAULT_MAX_JSON_TEXT = 512 * 2 ** 20;
/** Arrays and objects nested deeper than this are refused. */
export const MAX_JSON_NESTING = 64;
/** listJsonTensors stops after this many tensors. */
export const MAX_LISTED_TENSORS = 1000;

/** Reads the tensor at `pointer` (default: the whole document). */
export function readJsonTensor(text: string, pointer = '', opts: JsonReadOptions = {}): Tensor {
  checkLength(text.length, 'characters', opts);
  return guarded(text, () => {
    const { v, path, pos } = resolve(text, new Parser(text).document(), pointer);
    return toTensor(text, v, path, pos);
  });
}

/** Every array or {shape, data} object in the document that is a valid tensor, outermost first, in document order. */
export function listJsonTensors(text: string, opts: JsonReadOptions = {}): JsonTensorInfo[] {
  checkLength(text.length, 'characters', opts);
  return guarded(text, () => findTensors(text, new Parser(text).document(), [], MAX_LISTED_TENSORS));
}

/**
 * What stops `text` being JSON as this module reads it (NaN and Infinity allowed) and where (JSON pointer, line,
 * column), or undefined when it parses: for readers that parse with JSON.parse, whose messages say neither.
 */
export function jsonSyntaxError(text: string): { readonly message: string; readonly where: string } | undefined {
  try {
    new Parser(text).document();
    return undefined;
  } catch (e) {
    if (e instanceof JsonProblem) return { message: e.message, where: where(text, e.path, e.pos) };
    throw e;
  }
}

/** Decodes a JSON file's bytes as UTF-8, refusing files over the size cap before decoding. */
export function decodeJsonText(bytes: Uint8Array, opts: JsonReadOptions = {}): string {
  checkLength(bytes.length, 'bytes', opts);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new NormScopeError('JSON text is not valid UTF-8', `byte offset ${invalidUtf8At(bytes)}`);
  }
}

/** Where the first byte sequence that is not UTF-8 starts (as TextDecoder's fatal mode judges it). */
function invalidUtf8At(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    const more = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (more < 0) return i;
    // the second byte's range excludes overlong forms, surrogates and code points past U+10FFFF
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= more; k++) {
      const x = b[i + k];
      if (!(i + k < b.length && x >= (k === 1 ? lo : 0x80) && x <= (k === 1 ? hi : 0xbf))) return i;
    }
    i += more + 1;
  }
  return b.length;
}

function checkLength(length: number, unit: string, opts: JsonReadOptions): void {
  const max = opts.maxTextLength ?? DEFAULT_MAX_JSON_TEXT;
  if (length > max) {
    throw new NormScopeError(`JSON text too large: ${length} ${unit}, more than the limit of ${max} (the maxTextLength option raises it)`);
  }
}

// ---- document model ----------------------------------------------------------------------------------------
// Numbers and booleans stay JS primitives so a long array of numbers is one packed JS array. Other values
// carry their text offset; a primitive's offset is found again by scanning its array when an error needs it.

interface JArray { readonly kind: 'array'; readonly at: number; readonly items: JValue[] }
interface JObject {
  readonly kind: 'object';
  readonly at: number;
  readonly keys: string[];
  readonly values: JValue[];
  readonly valueAts: number[];
}
interface JString { readonly kind: 'string'; readonly at: number; readonly value: string }
interface JNull { readonly kind: 'null'; readonly at: number }
type JValue = number | boolean | JArray | JObject | JString | JNull;
type Segment = string | number;

/** An error inside this module; `guarded` turns it into a NormScopeError with the line and column. */
class JsonProblem {
  readonly path: Segment[];
  constructor(readonly message: string, path: readonly Segment[], readonly pos: number) {
    this.path = [...path];
  }
}

function guarded<T>(text: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof JsonProblem) throw new NormScopeError(e.message, where(text, e.path, e.pos));
    throw e;
  }
}

function where(text: string, path: readonly Segment[], pos: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  // long keys are clipped one by one, so that a deep pointer of short keys is still shown whole
  return `at ${path.length ? clip(toPointer(path.map((s) => (typeof s === 'string' ? clip(s) : s))), 300) : 'the root'}, line ${line}, column ${pos - lineStart + 1}`;
}

function toPointer(path: readonly Segment[]): string {
  return path.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

const isArray = (v: JValue): v is JArray => typeof v === 'object' && v.kind === 'array';
const isObject = (v: JValue): v is JObject => typeof v === 'object' && v.kind === 'object';

function describe(v: JValue): string {
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return v.kind === 'null' ? 'null' : v.kind === 'array' || v.kind === 'object' ? `an ${v.kind}` : 'a string';
}

/** The text offset of `arr.items[index]`. */
function elementPos(text: string, arr: JArray, index: number): number {
  const item = arr.items[index];
  if (typeof item === 'object') return item.at;
  let p = arr.at + 1;
  for (let seen = 0, depth = 0; seen < index; p++) {
    const c = text[p];
    if (c === '"') {
      for (p++; text[p] !== '"'; p++) if (text[p] === '\\') p++;
    } else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) seen++;
  }
  while (/\s/.test(text[p])) p++;
  return p;
}

// ---- parser ------------------------------------------------------------------------------------------------

const ESCAPES = new Map([['"', '"'], ['\\', '\\'], ['/', '/'], ['b', '\b'], ['f', '\f'], ['n', '\n'], ['r', '\r'], ['t', '\t']]);

/** JSON plus NaN, Infinity and -Infinity; recursive descent limited to MAX_JSON_NESTING levels. */
class Parser {
  private pos = 0;
  private readonly path: Segment[] = [];
  constructor(private readonly s: string) {}

  document(): JValue {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    const v = this.value(0);
    this.ws();
    if (this.pos < this.s.length) this.syntax(`unexpected ${this.found()} after the JSON value`);
    return v;
  }

  private value(depth: number): JValue {
    this.ws();
    const at = this.pos;
    const c = this.s[at];
    switch (c) {
      case '[': return this.array(at, depth + 1);
      case '{': return this.object(at, depth + 1);
      case '"': return { kind: 'string', at, value: this.string() };
      case 't': return this.word('true', true);
      case 'f': return this.word('false', false);
      case 'n': this.word('null', null); return { kind: 'null', at };
      case 'N': return this.word('NaN', NaN);
      case 'I': return this.word('Infinity', Infinity);
      case '-': if (this.s[at + 1] === 'I') { this.pos++; return -this.word('Infinity', Infinity); } return this.number();
    }
    if (c >= '0' && c <= '9') return this.number();
    return this.syntax(`expected a value, found ${this.found()}`);
  }

  private array(at: number, depth: number): JArray {
    if (depth > MAX_JSON_NESTING) this.fail(`JSON nested deeper than ${MAX_JSON_NESTING} levels`);
    const items: JValue[] = [];
    this.pos++;
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', at, items };
    }
    const path = this.path;
    path.push(0);
    for (;;) {
      path[path.length - 1] = items.length;
      items.push(this.value(depth));
      this.ws();
      const c = this.s.charCodeAt(this.pos++);
      if (c === 0x2c) continue; // ,
      if (c === 0x5d) break; // ]
      this.pos--;
      this.syntax(`expected ',' or ']' after an array element, found ${this.found()}`);
    }
    path.pop();
    return { kind: 'array', at, items };
  }

  private object(at: number, depth: number): JObject {
    if (depth > MAX_JSON_NESTING) this.fail(`JSON nested deeper than ${MAX_JSON_NESTING} levels`);
    const obj: JObject = { kind: 'object', at, keys: [], values: [], valueAts: [] };
    this.pos++;
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') this.syntax(`expected a string key, found ${this.found()}`);
      const key = this.string();
      this.ws();
      if (this.s[this.pos] !== ':') this.syntax(`expected ':' after the key ${JSON.stringify(key)}, found ${this.found()}`);
      this.pos++;
      this.ws();
      this.path.push(key);
      obj.keys.push(key);
      obj.valueAts.push(this.pos);
      obj.values.push(this.value(depth));
      this.path.pop();
      this.ws();
      const c = this.s[this.pos++];
      if (c === ',') continue;
      if (c === '}') break;
      this.pos--;
      this.syntax(`expected ',' or '}' after an object member, found ${this.found()}`);
    }
    return obj;
  }

  private string(): string {
    const s = this.s;
    const start = this.pos;
    let p = start + 1;
    let out = '';
    let run = p;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x22) break;
      if (c === 0x5c) {
        out += s.slice(run, p);
        const e = s[p + 1];
        const hex = s.slice(p + 2, p + 6);
        if (ESCAPES.has(e)) {
          out += ESCAPES.get(e);
          p += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(hex)) {
          out += String.fromCharCode(parseInt(hex, 16));
          p += 6;
        } else {
          this.pos = p;
          this.syntax(`invalid escape ${JSON.stringify(s.slice(p, p + 2))} in a string`);
        }
        run = p;
      } else if (c < 0x20) {
        this.pos = p;
        this.syntax('control character in a string (escape it)');
      } else if (Number.isNaN(c)) {
        this.pos = start;
        this.syntax('unterminated string');
      } else {
        p++;
      }
    }
    this.pos = p + 1;
    return out + s.slice(run, p);
  }

  private number(): number {
    const s = this.s;
    const start = this.pos;
    let p = start;
    let simple = true; // an integer short enough to accumulate exactly, without slicing the text
    const digits = () => {
      const from = p;
      for (let c = s.charCodeAt(p); c >= 0x30 && c <= 0x39; c = s.charCodeAt(++p));
      if (p === from) {
        this.pos = p;
        this.syntax(`invalid number: expected a digit, found ${this.found()}`);
      }
    };
    const negative = s.charCodeAt(p) === 0x2d;
    if (negative) p++;
    const intStart = p;
    if (s.charCodeAt(p) === 0x30) p++;
    else digits();
    const intEnd = p;
    if (s.charCodeAt(p) === 0x2e) {
      p++;
      digits();
      simple = false;
    }
    if ((s.charCodeAt(p) | 0x20) === 0x65) { // e or E
      p++;
      if (s.charCodeAt(p) === 0x2b || s.charCodeAt(p) === 0x2d) p++;
      digits();
      simple = false;
    }
    this.pos = p;
    if (!simple || intEnd - intStart > 15) return Number(s.slice(start, p));
    let v = 0;
    for (let i = intStart; i < intEnd; i++) v = v * 10 + s.charCodeAt(i) - 0x30;
    return negative ? -v : v;
  }

  private word<T>(word: string, value: T): T {
    if (!this.s.startsWith(word, this.pos)) this.syntax(`expected a value, found ${this.found()}`);
    this.pos += word.length;
    return value;
  }

  private ws(): void {
    const s = this.s;
    let p = this.pos;
    for (let c = s.charCodeAt(p); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = s.charCodeAt(++p));
    this.pos = p;
  }

  private found(): string {
    if (this.pos >= this.s.length) return 'the end of the text';
    const word = /^[A-Za-z_][\w.+-]*/.exec(this.s.slice(this.pos, this.pos + 24));
    return JSON.stringify(word ? word[0] : this.s[this.pos]);
  }

  private syntax(what: string): never {
    return this.fail(`invalid JSON: ${what}`);
  }

  private fail(message: string): never {
    throw new JsonProblem(message, this.path, this.pos);
  }
}

// ---- JSON Pointer ------------------------------------------------------------------------------------------

interface Located { readonly v: JValue; readonly path: Segment[]; readonly pos: number }

function resolve(text: string, root: JValue, pointer: string): Located {
  const path: Segment[] = [];
  let v = root;
  let pos = typeof root === 'object' ? root.at : text.search(/[^\s\ufeff]/);
  if (pointer === '') return { v, path, pos };
  if (!pointer.startsWith('/')) {
    throw new NormScopeError(`invalid JSON pointer "${clip(pointer)}": it must be empty or start with "/" (try "/${clip(pointer)}")`);
  }
  if (/~([^01]|$)/.test(pointer)) throw new NormScopeError(`invalid JSON pointer "${clip(pointer)}": "~" must be followed by 0 or 1`);
  const nowhere = (why: string) => new JsonProblem(`JSON pointer "${clip(pointer)}" leads nowhere: ${why}`, path, pos);
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isObject(v)) {
      const i = v.keys.lastIndexOf(seg);
      if (i < 0) {
        const keys = v.keys.slice(0, 10).map((k) => clip(JSON.stringify(k))).join(', ') + (v.keys.length > 10 ? ', ...' : '');
        throw nowhere(`no key ${clip(JSON.stringify(seg))} (keys: ${keys || 'none'})`);
      }
      path.push(seg);
      pos = v.valueAts[i];
      v = v.values[i];
    } else if (isArray(v)) {
      if (!/^(0|[1-9]\d*)$/.test(seg)) throw nowhere(`${clip(JSON.stringify(seg))} is not an array index`);
      const i = Number(seg);
      if (i >= v.items.length) throw nowhere(`index ${i} is out of range for an array of length ${v.items.length}`);
      path.push(i);
      pos = elementPos(text, v, i);
      v = v.items[i];
    } else {
      throw nowhere(`${describe(v)} has no members`);
    }
  }
  return { v, path, pos };
}

// ---- tensors -----------------------------------------------------------------------------------------------

/** The shape of a nested array (or a bare number/boolean) and the kind of its leaves. */
interface Leaves { readonly shape: number[]; readonly kind: 'number' | 'boolean' }

function toTensor(text: string, v: JValue, path: Segment[], pos: number): Tensor {
  if (isObject(v)) {
    if (isShapeData(v)) return fromShapeData(text, shapeDataSpec(text, v, path));
    const inside = findTensors(text, v, path, 6).map((t) => t.pointer);
    const hint = inside.length === 0 ? 'it holds no tensors'
      : `select one inside it with a JSON pointer: ${inside.slice(0, 5).map((p) => clip(p, 60)).join(', ')}${inside.length > 5 ? ', ...' : ''}`;
    throw new JsonProblem(`expected a tensor, found an object: ${hint}`, path, pos);
  }
  const leaves = inspect(text, v, path, pos);
  checkCount(leaves.shape, path, pos);
  const values = leaves.kind === 'boolean' ? new Uint8Array(numel(leaves.shape)) : new Float64Array(numel(leaves.shape));
  fill(v, leaves.shape.length, values);
  return tensor(leaves.kind === 'boolean' ? 'bool' : 'float64', leaves.shape, values);
}

/** Checks that `v` is a number, a boolean or a rectangular nested array of one of them. */
function inspect(text: string, v: JValue, path: Segment[], pos: number): Leaves {
  const shape: number[] = [];
  let first = v;
  for (; isArray(first); first = first.items[0]) {
    shape.push(first.items.length);
    if (first.items.length === 0) break;
  }
  if (typeof first === 'object' && !isArray(first)) {
    const expected = shape.length ? 'a number' : 'a number or an array of numbers';
    throw new JsonProblem(`expected ${expected}, found ${describe(first)}`, [...path, ...shape.map(() => 0)], first.at);
  }
  const kind = typeof first === 'boolean' ? 'boolean' : 'number';
  const rank = shape.length;
  const walk = (a: JArray, d: number): void => {
    const want = shape[d];
    if (a.items.length !== want) throw new JsonProblem(`ragged array: expected length ${want}, found ${a.items.length}`, path, a.at);
    for (let i = 0; i < want; i++) {
      const x = a.items[i];
      if (d === rank - 1 ? typeof x === kind : isArray(x)) {
        if (d < rank - 1) {
          path.push(i);
          walk(x as JArray, d + 1);
          path.pop();
        }
        continue;
      }
      const expected = d < rank - 1 ? `an array of length ${shape[d + 1]}` : `a ${kind}`;
      const ragged = d < rank - 1 || isArray(x) ? 'ragged array: ' : '';
      throw new JsonProblem(`${ragged}expected ${expected}, found ${describe(x)}`, [...path, i], elementPos(text, a, i));
    }
  };
  if (isArray(v)) walk(v, 0);
  return { shape, kind };
}

/** Copies the leaves of an inspected value into `out` in C order. */
function fill(v: JValue, rank: number, out: Float64Array | Uint8Array): void {
  if (rank === 0) {
    out[0] = v as number;
    return;
  }
  let n = 0;
  const walk = (a: JArray, d: number): void => {
    const items = a.items;
    if (d === rank - 1) {
      for (let i = 0; i < items.length; i++) out[n++] = items[i] as number;
    } else {
      for (let i = 0; i < items.length; i++) walk(items[i] as JArray, d + 1);
    }
  };
  walk(v as JArray, 0);
}

function checkCount(shape: readonly number[], path: Segment[], pos: number): void {
  try {
    checkShape(shape);
  } catch (e) {
    // checkShape's message holds the whole shape: a "shape" of 40,000 dimensions made one of 120 KB
    throw e instanceof NormScopeError ? new JsonProblem(clip(e.message, 200), path, pos) : e;
  }
}

function isShapeData(o: JObject): boolean {
  return o.keys.includes('shape') && o.keys.includes('data');
}

interface ShapeData {
  readonly shape: number[];
  readonly dtype: DType;
  readonly data: Located;
  readonly leaves: Leaves;
}

/** Validates {shape, data, dtype?} without allocating: shape, dtype name, data rectangular with the right count. */
function shapeDataSpec(text: string, o: JObject, path: Segment[]): ShapeData {
  const member = (key: string): Located | undefined => {
    const i = o.keys.lastIndexOf(key);
    return i < 0 ? undefined : { v: o.values[i], path: [...path, key], pos: o.valueAts[i] };
  };
  const s = member('shape') as Located;
  if (!isArray(s.v) || s.v.items.some((d) => typeof d !== 'number')) {
    throw new JsonProblem(`"shape" must be an array of integers, found ${describe(s.v)}`, s.path, s.pos);
  }
  const shape = s.v.items as number[];
  checkCount(shape, s.path, s.pos);
  const d = member('dtype');
  if (d && (typeof d.v !== 'object' || d.v.kind !== 'string' || !isDType(d.v.value))) {
    const found = typeof d.v === 'object' && d.v.kind === 'string' ? JSON.stringify(d.v.value) : describe(d.v);
    throw new JsonProblem(`unknown dtype ${clip(found)}: expected one of ${DTYPES.join(', ')}`, d.path, d.pos);
  }
  const data = member('data') as Located;
  const leaves = inspect(text, data.v, data.path, data.pos);
  const count = numel(leaves.shape);
  if (count !== numel(shape)) {
    throw new JsonProblem(`"data" has ${count} elements but "shape" ${shapeText(shape)} needs ${numel(shape)}`, data.path, data.pos);
  }
  const dtype = d ? (d.v as JString).value as DType : leaves.kind === 'boolean' ? 'bool' : 'float64';
  return { shape, dtype, data, leaves };
}

const INT_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-(2 ** 7), 2 ** 7], int16: [-(2 ** 15), 2 ** 15], int32: [-(2 ** 31), 2 ** 31], int64: [-(2 ** 63), 2 ** 63],
  uint8: [0, 2 ** 8], uint16: [0, 2 ** 16], uint32: [0, 2 ** 32], uint64: [0, 2 ** 64],
};

/** Builds the tensor of a validated {shape, data, dtype}, converting values to the dtype (integers must fit). */
function fromShapeData(text: string, spec: ShapeData): Tensor {
  const { shape, dtype, data, leaves } = spec;
  const n = numel(shape);
  const flat = leaves.kind === 'boolean' ? new Uint8Array(n) : new Float64Array(n);
  fill(data.v, leaves.shape.length, flat);
  const bad = (i: number, why: string): never => {
    const idx = unravel(i, leaves.shape);
    let node = data.v;
    for (let k = 0; k < idx.length - 1; k++) node = (node as JArray).items[idx[k]];
    const pos = idx.length ? elementPos(text, node as JArray, idx[idx.length - 1]) : data.pos;
    throw new JsonProblem(why, [...data.path, ...idx], pos);
  };
  let out: Storage;
  const range = INT_RANGES[dtype];
  if (dtype === 'bool') {
    if (leaves.kind !== 'boolean' && n > 0) bad(0, `dtype "bool" needs true or false, found ${flat[0]}`);
    out = flat;
  } else if (range) {
    out = allocStorage(dtype, n);
    const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
    for (let i = 0; i < n; i++) {
      const x = flat[i];
      if (!Number.isInteger(x)) bad(i, `dtype "${dtype}" needs integers, found ${x}`);
      if (x < range[0] || x >= range[1]) bad(i, `value ${x} is out of range for dtype "${dtype}"`);
      if (big) (out as BigInt64Array)[i] = BigInt(x);
      else (out as Int32Array)[i] = x;
    }
  } else if (dtype === 'float16' || dtype === 'bfloat16') {
    const half = dtype === 'float16' ? numberToHalf : numberToBfloat16;
    out = Uint16Array.from(flat, half);
  } else {
    out = dtype === 'float32' ? Float32Array.from(flat) : flat instanceof Float64Array ? flat : Float64Array.from(flat);
  }
  return tensor(dtype, shape, out);
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k];
    i = Math.floor(i / shape[k]);
  }
  return idx;
}

function findTensors(text: string, root: JValue, rootPath: Segment[], limit: number): JsonTensorInfo[] {
  const found: JsonTensorInfo[] = [];
  const visit = (v: JValue, path: Segment[]): void => {
    if (found.length >= limit || !(isArray(v) || isObject(v))) return;
    const info = tensorInfo(text, v, path);
    if (info) {
      found.push(info);
    } else if (isArray(v)) {
      v.items.forEach((x, i) => visit(x, [...path, i]));
    } else {
      v.values.forEach((x, i) => visit(x, [...path, v.keys[i]]));
    }
  };
  visit(root, rootPath);
  return found;
}

/** The tensor an array or {shape, data} object holds, or undefined when it holds none. */
function tensorInfo(text: string, v: JArray | JObject, path: Segment[]): JsonTensorInfo | undefined {
  try {
    if (isArray(v)) {
      const leaves = inspect(text, v, path, v.at);
      return { pointer: toPointer(path), shape: leaves.shape, dtype: leaves.kind === 'boolean' ? 'bool' : 'float64' };
    }
    if (!isShapeData(v)) return undefined;
    const spec = shapeDataSpec(text, v, path);
    return { pointer: toPointer(path), shape: spec.shape, dtype: spec.dtype };
  } catch (e) {
    if (e instanceof JsonProblem) return undefined;
    throw e;
  }
}
