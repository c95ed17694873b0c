/**
 * Tensor literals written in source code or printed by numpy/torch, parsed into engine tensors.
 *
 * Accepted forms: nested lists and tuples (`[[1, 2], [3, 4]]`, `((1, 2), (3, 4))`); constructor calls
 * `np.array` / `numpy.array` / `np.asarray` / `torch.tensor` / `torch.Tensor` / `tf.constant` / `jnp.array`
 * with `dtype=` (or a positional dtype where numpy, tf and jax take one); numpy reprs
 * `array([...], dtype=float32)` and numpy str output without commas `[[0. 1.]\n [2. 3.]]`; torch reprs
 * `tensor([...], device='cuda:0', requires_grad=True, grad_fn=<AddBackward0>)`, `tensor([], size=(0, 3))`,
 * optionally preceded by `Parameter containing:`; an optional `x =` / `const x: T =` assignment prefix.
 * Numbers: Python and JS syntax incl. `1_000`, `0x1f`, `1.e-03`, `nan`, `inf`, `np.nan`, `math.inf`,
 * `float('nan')`, `np.float32(1.5)`, True/False. Comments `#`, `//` and `/* *\/` are skipped.
 *
 * dtype without `dtype=` follows the library that would build the array: ints -> int64 (int32 for tf.constant
 * and jnp.array, as with jax's default x64-off mode), floats -> float64 for numpy and plain lists, float32 for
 * torch/tf/jax, all-bool -> bool, empty -> the float default; torch.Tensor is always float32.
 * An explicit dtype converts as numpy's astype does: floats to ints truncate toward zero, anything to bool is
 * `!= 0`. Where numpy would silently produce garbage (nan/inf to an int, a value outside the int's range) we refuse.
 *
 * Everything is linear in the input: one hand-written scanner (no regular expressions on the input), a
 * recursive-descent parser whose depth is capped at 32, and element/character limits checked as it goes.
 */
import { DType, Storage, allocStorage, numberToBfloat16, numberToHalf } from '../dtype';
import { NormScopeError } from '../errors';
import { Tensor, numel, tensor as makeTensor } from '../tensor';
import { clip } from './shown';

/** Which syntax produced a literal (numpy.array is reported as 'np.array', numpy str output as 'numpy-repr'). */
export type LiteralConstructor =
  | 'list' | 'np.array' | 'np.asarray' | 'torch.tensor' | 'torch.Tensor' | 'tf.constant' | 'jnp.array'
  | 'numpy-repr' | 'torch-repr';

/** Limits for parseLiteral; exceeding one is refused before the heavy work. */
export interface LiteralOptions {
  /** Largest element count accepted (default 10,000,000). */
  maxElements?: number;
  /** Longest text accepted, in UTF-16 code units (default 100 MiB). */
  maxChars?: number;
}

/** A parsed literal: the tensor plus what the text said about it. */
export interface LiteralResult {
  tensor: Tensor;
  dtype: DType;
  /** 'explicit' when the text names the dtype (dtype=..., a repr's dtype suffix); 'inferred' otherwise. */
  dtypeSource: 'explicit' | 'inferred';
  constructor: LiteralConstructor;
  /** device='...' when given (torch reprs and torch.tensor calls). */
  device?: string;
  /** requires_grad=True/False when given. */
  requiresGrad?: boolean;
}

/** Options for findLiteralAt: parse limits plus how far to look and which language the text is. */
export interface FindLiteralOptions extends LiteralOptions {
  /** Characters scanned before and after the offset at most (default 1 MiB each way). */
  maxScan?: number;
  /** Characters scanned before the offset at most (default maxScan): the context a bracket's meaning needs. */
  maxScanBefore?: number;
  /** VS Code language id; picks comment syntax and, for JS/TS/JSON, the isPlausibleTensor policy. */
  language?: string;
  /** minElements for isPlausibleTensor in noisy languages (default 4). */
  minElements?: number;
}

/** A literal found in a larger text: its span and either the parsed result or the refusal to show. */
export interface LiteralSpan {
  start: number;
  end: number;
  text: string;
  /** The parsed literal, when it parsed. */
  literal?: LiteralResult;
  /** Set instead of `literal` when the text is a tensor that cannot be shown (summarized "...", too large). */
  error?: NormScopeError;
}

export const DEFAULT_MAX_ELEMENTS = 10_000_000;
export const DEFAULT_MAX_CHARS = 100 * 1024 * 1024;
export const DEFAULT_MAX_SCAN = 1024 * 1024;
/** Deepest nesting accepted (numpy's own limit on dimensions). */
export const MAX_LITERAL_DEPTH = 32;

/** The refusal for numpy/torch output that elided values with "...". */
export const SUMMARIZED_MESSAGE =
  'this array was printed in summarized form ("...") and its values are lost; ' +
  'print it with np.set_printoptions(threshold=sys.maxsize) or use normscope.show(x)';

/** Parses one tensor literal (the whole text, give or take whitespace, comments and an `x =` prefix). */
export function parseLiteral(text: string, opts: LiteralOptions = {}): LiteralResult {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  if (text.length > maxChars) {
    throw refusal(`literal has ${text.length} characters, more than the ${maxChars} allowed`);
  }
  return new Parser(text, opts.maxElements ?? DEFAULT_MAX_ELEMENTS).parseDocument();
}

/** JS/TS/JSON: languages where plain arrays of numbers are everywhere and rarely tensors. */
export function isNoisyLanguage(language: string | undefined): boolean {
  return language !== undefined && NOISY_LANGUAGES.has(language);
}

/** The hover policy for noisy languages: a plain list counts only with >= 2 dims or >= minElements elements. */
export function isPlausibleTensor(lit: Pick<LiteralResult, 'constructor' | 'tensor'>, minElements = 4): boolean {
  return lit.constructor !== 'list' || lit.tensor.shape.length >= 2 || numel(lit.tensor.shape) >= minElements;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** Refusals are errors about a real tensor that we will not show (findLiteralAt reports them instead of hiding). */
const refusals = new WeakSet<NormScopeError>();

function refusal(message: string, where?: string): NormScopeError {
  const e = new NormScopeError(message, where);
  refusals.add(e);
  return e;
}

/** "offset N (line L, column C)", 0-based offset, 1-based line and column in UTF-16 code units. */
function whereAt(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  const stop = Math.min(offset, text.length);
  for (let i = 0; i < stop; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  }
  return `offset ${offset} (line ${line}, column ${offset - lineStart + 1})`;
}

function pathString(path: readonly number[]): string {
  return `[${path.join(', ')}]`;
}

// ---------------------------------------------------------------------------------------------------------------
// Scanner

type CommentStyle = 'python' | 'c' | 'both';
type Kind = 'eof' | 'num' | 'name' | 'str' | 'punct' | 'ellipsis';

const NOISY_LANGUAGES = new Set(['javascript', 'typescript', 'javascriptreact', 'typescriptreact', 'json', 'jsonc', 'json5', 'jsonl']);
const PYTHON_LANGUAGES = new Set(['python', 'jupyter', 'ipython']);

function commentStyleFor(language: string | undefined): CommentStyle {
  if (language === undefined) return 'both';
  if (PYTHON_LANGUAGES.has(language)) return 'python';
  if (NOISY_LANGUAGES.has(language)) return 'c';
  return 'both';
}

function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
}
function isIdentPart(c: number): boolean { return isIdentStart(c) || isDigit(c); }
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0 || c === 0xfeff;
}
function isRadixDigit(c: number, radix: number): boolean {
  if (radix === 16) return isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
  if (radix === 8) return c >= 48 && c <= 55;
  return c === 48 || c === 49;
}
/** 10^0 .. 10^22, every one exact in a double (the range of Clinger's fast path). */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
  1e19, 1e20, 1e21, 1e22];

/** A lazy tokenizer over text[start, limit): one token at a time, no allocation beyond the current token. */
class Lexer {
  pos: number;
  private k: Kind = 'eof';
  start = 0;
  end = 0;
  /** Whitespace or a comment precedes the current token (numpy str output separates elements this way). */
  spaceBefore = false;
  /** A line break precedes the current token. */
  newlineBefore = false;
  /** For 'num': float syntax; whether it is a number at all (`1j`, `1abc` are not); its radix. */
  isFloat = false;
  numOk = true;
  radix = 10;
  /** For 'num': the value when computed exactly while scanning (Clinger's fast path), else NaN. */
  private fast = NaN;
  /** For 'str': whether the closing quote was found, and where the contents are. */
  strOk = true;
  private strStart = 0;
  private strEnd = 0;
  private tokenPos = 0;

  constructor(readonly text: string, readonly comments: CommentStyle, start = 0, readonly limit = text.length) {
    this.pos = start;
  }

  /** The current token's kind (a method, so TypeScript does not narrow it across next()). */
  kind(): Kind { return this.k; }

  /** A position to come back to with reset() (the current token is re-read). */
  mark(): number { return this.tokenPos; }
  reset(m: number): void { this.pos = m; this.next(); }

  /** The current token is the single punctuation character ch. */
  is(ch: string): boolean { return this.k === 'punct' && this.text.charCodeAt(this.start) === ch.charCodeAt(0); }
  /** The current token's text. */
  tokenText(): string { return this.text.slice(this.start, this.end); }
  get strValue(): string { return this.text.slice(this.strStart, this.strEnd); }

  next(): void {
    this.tokenPos = this.pos;
    this.skipTrivia();
    const s = this.text;
    const n = this.limit;
    const i = this.pos;
    this.start = i;
    if (i >= n) { this.k = 'eof'; this.end = n; return; }
    const c = s.charCodeAt(i);
    if (isDigit(c) || (c === 46 && i + 1 < n && isDigit(s.charCodeAt(i + 1)))) {
      const numEnd = this.scanNumber(i);
      let j = numEnd < 0 ? i + 1 : numEnd;
      this.numOk = numEnd >= 0;
      if (j < n && isIdentPart(s.charCodeAt(j))) { // 1j, 1L, 1f, 12abc: not a number we take
        this.numOk = false;
        while (j < n && isIdentPart(s.charCodeAt(j))) j++;
      }
      this.k = 'num';
      this.end = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      for (;;) {
        while (j < n && isIdentPart(s.charCodeAt(j))) j++;
        if (j + 1 < n && s.charCodeAt(j) === 46 && isIdentStart(s.charCodeAt(j + 1))) { j += 2; continue; }
        break;
      }
      this.k = 'name';
      this.end = j;
    } else if (c === 39 || c === 34 || c === 96) {
      this.scanString(c);
    } else if (c === 46 && i + 2 < n && s.charCodeAt(i + 1) === 46 && s.charCodeAt(i + 2) === 46) {
      this.k = 'ellipsis';
      this.end = i + 3;
    } else if (c === 0x2026) {
      this.k = 'ellipsis';
      this.end = i + 1;
    } else {
      this.k = 'punct';
      this.end = i + 1;
    }
    this.pos = this.end;
  }

  /** The current number token's value, correctly rounded (unsigned; integers beyond 2^53 rounded too). */
  numberValue(): number {
    if (!Number.isNaN(this.fast)) return this.fast;
    const t = this.cleanNumber();
    if (this.radix === 10) return Number(t);
    return t.length <= 70 ? Number(BigInt(t)) : Infinity;
  }

  /** The current number token's text without underscores (`0x` prefix kept: BigInt() reads it). */
  cleanNumber(): string {
    const t = this.tokenText();
    return t.includes('_') ? t.split('_').join('') : t;
  }

  /**
   * Scans an unsigned number at i (`12`, `1_000`, `1.`, `.5`, `1.e-03`, `0x1f`) and returns its end, -1 when there
   * is none. With at most 15 digits and a net power of ten within 10^±22, m * 10^p (or m / 10^-p) of two exact
   * doubles is the correctly rounded value, so the common case needs no substring and no Number().
   */
  private scanNumber(i: number): number {
    const s = this.text;
    const n = this.limit;
    this.isFloat = false;
    this.radix = 10;
    this.fast = NaN;
    if (s.charCodeAt(i) === 48 && i + 1 < n) {
      const p = s.charCodeAt(i + 1) | 0x20;
      const radix = p === 120 ? 16 : p === 111 ? 8 : p === 98 ? 2 : 0;
      if (radix) {
        let j = i + 2;
        while (j < n && (isRadixDigit(s.charCodeAt(j), radix) || s.charCodeAt(j) === 95)) j++;
        this.radix = radix;
        return j > i + 2 ? j : -1;
      }
    }
    let m = 0;
    let digits = 0;
    let fracDigits = 0;
    let j = i;
    for (; j < n; j++) {
      const c = s.charCodeAt(j);
      if (isDigit(c)) { m = m * 10 + (c - 48); digits++; } else if (c !== 95) break;
    }
    const intEnd = j;
    if (j < n && s.charCodeAt(j) === 46) {
      for (j++; j < n; j++) {
        const c = s.charCodeAt(j);
        if (isDigit(c)) { m = m * 10 + (c - 48); digits++; fracDigits++; } else if (c !== 95) break;
      }
      if (intEnd === i && fracDigits === 0) return -1;
      this.isFloat = true;
    } else if (intEnd === i) {
      return -1;
    }
    let exp = 0;
    if (j < n && (s.charCodeAt(j) | 0x20) === 101) {
      let k = j + 1;
      const sign = k < n ? s.charCodeAt(k) : 0;
      if (sign === 43 || sign === 45) k++;
      const e0 = k;
      let e = 0;
      for (; k < n; k++) {
        const c = s.charCodeAt(k);
        if (isDigit(c)) { if (e < 1e6) e = e * 10 + (c - 48); } else if (c !== 95) break;
      }
      if (k > e0) { j = k; this.isFloat = true; exp = sign === 45 ? -e : e; }
    }
    const p = exp - fracDigits;
    if (digits <= 15 && p >= -22 && p <= 22) this.fast = p >= 0 ? m * POW10[p] : m / POW10[-p];
    return j;
  }

  private scanString(q: number): void {
    const s = this.text;
    const n = this.limit;
    const i = this.pos;
    const triple = q !== 96 && i + 2 < n && s.charCodeAt(i + 1) === q && s.charCodeAt(i + 2) === q;
    const open = triple ? 3 : 1;
    let j = i + open;
    this.k = 'str';
    this.strOk = false;
    this.strStart = j;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 92) { j += 2; continue; }
      if (c === q && (!triple || (j + 2 < n && s.charCodeAt(j + 1) === q && s.charCodeAt(j + 2) === q))) {
        this.strOk = true;
        break;
      }
      if (c === 10 && !triple && q !== 96) break; // single-line strings end at the line break
      j++;
    }
    j = Math.min(j, n);
    this.strEnd = j;
    this.end = this.strOk ? j + open : j;
  }

  private skipTrivia(): void {
    const from = this.pos;
    const i = this.triviaEnd(from, this.limit);
    this.spaceBefore = i > from;
    this.pos = i;
  }

  /** Whether whitespace and comments alone lie from the current position through `offset` (the next token is past it). */
  triviaCovers(offset: number): boolean {
    const newline = this.newlineBefore;
    const covers = this.triviaEnd(this.pos, Math.min(this.limit, offset + 1)) > offset;
    this.newlineBefore = newline;
    return covers;
  }

  /** The end of the whitespace and comments from `i`, read no further than `n`; sets newlineBefore. */
  private triviaEnd(i: number, n: number): number {
    const s = this.text;
    const py = this.comments !== 'c';
    const cc = this.comments !== 'python';
    let newline = false;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) {
        if (c === 10) newline = true;
        i++;
      } else if ((c === 35 && py) || (c === 47 && cc && i + 1 < n && s.charCodeAt(i + 1) === 47)) {
        while (i < n && s.charCodeAt(i) !== 10) i++;
      } else if (c === 47 && cc && i + 1 < n && s.charCodeAt(i + 1) === 42) {
        i += 2;
        while (i < n && !(s.charCodeAt(i) === 42 && i + 1 < n && s.charCodeAt(i + 1) === 47)) {
          if (s.charCodeAt(i) === 10) newline = true;
          i++;
        }
        i = Math.min(i + 2, n);
      } else {
        break;
      }
    }
    this.newlineBefore = newline;
    return i;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Names: constructors, dtypes, special values

const CONSTRUCTORS: Record<string, LiteralConstructor> = {
  'np.array': 'np.array', 'numpy.array': 'np.array',
  'np.asarray': 'np.asarray', 'numpy.asarray': 'np.asarray',
  'torch.tensor': 'torch.tensor', 'torch.Tensor': 'torch.Tensor',
  'tf.constant': 'tf.constant', 'tensorflow.constant': 'tf.constant',
  'jnp.array': 'jnp.array', 'jnp.asarray': 'jnp.array', 'jax.numpy.array': 'jnp.array', 'jax.numpy.asarray': 'jnp.array',
  array: 'numpy-repr',
  tensor: 'torch-repr',
};

function constructorOf(name: string | undefined): LiteralConstructor | undefined {
  return name !== undefined && Object.prototype.hasOwnProperty.call(CONSTRUCTORS, name) ? CONSTRUCTORS[name] : undefined;
}

/** Defaults when the text names no dtype: [int, float]; bool stays bool (except torch.Tensor, always float32). */
const DEFAULT_DTYPES: Record<LiteralConstructor, readonly [DType, DType]> = {
  'list': ['int64', 'float64'],
  'np.array': ['int64', 'float64'],
  'np.asarray': ['int64', 'float64'],
  'numpy-repr': ['int64', 'float64'],
  'torch.tensor': ['int64', 'float32'],
  'torch-repr': ['int64', 'float32'],
  'torch.Tensor': ['float32', 'float32'],
  'tf.constant': ['int32', 'float32'],
  'jnp.array': ['int32', 'float32'],
};

/** Constructors whose second positional argument is the dtype. */
const POSITIONAL_DTYPE = new Set<LiteralConstructor>(['np.array', 'np.asarray', 'tf.constant', 'jnp.array']);

/** Keyword arguments that do not change the values or the dtype. */
const IGNORED_KWARGS = new Set(['grad_fn', 'copy', 'order', 'pin_memory', 'name', 'layout', 'like', 'subok', 'names',
  'memory_format', 'verify_shape']);

const NUMPY_DTYPES: Record<string, DType> = {
  bool: 'bool', bool_: 'bool', bool8: 'bool',
  int8: 'int8', byte: 'int8', int16: 'int16', short: 'int16', int32: 'int32', intc: 'int32',
  int64: 'int64', int_: 'int64', intp: 'int64', long: 'int64', longlong: 'int64',
  uint8: 'uint8', ubyte: 'uint8', uint16: 'uint16', ushort: 'uint16', uint32: 'uint32', uintc: 'uint32',
  uint64: 'uint64', uint: 'uint64', uintp: 'uint64', ulonglong: 'uint64',
  float16: 'float16', half: 'float16', float32: 'float32', single: 'float32',
  float64: 'float64', double: 'float64', float_: 'float64', bfloat16: 'bfloat16',
};

const TORCH_DTYPES: Record<string, DType> = {
  bool: 'bool', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64',
  int8: 'int8', int16: 'int16', short: 'int16', int32: 'int32', int: 'int32', int64: 'int64', long: 'int64',
  float16: 'float16', half: 'float16', bfloat16: 'bfloat16', float32: 'float32', float: 'float32',
  float64: 'float64', double: 'float64',
};

/** Python builtins used as dtypes: numpy and torch both read `float` as float64 and `int` as int64. */
const BUILTIN_DTYPES: Record<string, DType> = { float: 'float64', int: 'int64', bool: 'bool' };

/** numpy's one- and two-character type codes ('<f4', 'i8', '?'); the byte-order mark is ignored. */
const TYPE_CODES: Record<string, DType> = {
  '?': 'bool', b1: 'bool', b: 'int8', i1: 'int8', h: 'int16', i2: 'int16', i: 'int32', i4: 'int32',
  l: 'int64', q: 'int64', i8: 'int64', B: 'uint8', u1: 'uint8', H: 'uint16', u2: 'uint16', I: 'uint32',
  u4: 'uint32', L: 'uint64', Q: 'uint64', u8: 'uint64', e: 'float16', f2: 'float16', f: 'float32',
  f4: 'float32', d: 'float64', f8: 'float64',
};

const NUMPY_PREFIXES = ['np.', 'numpy.', 'jnp.', 'jax.numpy.', 'tf.', 'tensorflow.', 'ml_dtypes.'];

function lookup(table: Record<string, DType>, key: string): DType | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** Resolves a dtype written as a name (`np.float32`, `torch.half`, `float`) or a string (`'float32'`, `'<f4'`). */
function resolveDType(spec: string, quoted: boolean): DType | undefined {
  if (quoted) {
    let s = spec.trim();
    if (s.length > 1 && '<>=|'.includes(s[0])) s = s.slice(1);
    return lookup(TYPE_CODES, s) ?? lookup(NUMPY_DTYPES, s) ?? lookup(BUILTIN_DTYPES, s);
  }
  if (spec.startsWith('torch.')) return lookup(TORCH_DTYPES, spec.slice(6));
  for (const p of NUMPY_PREFIXES) {
    if (spec.startsWith(p)) return lookup(NUMPY_DTYPES, spec.slice(p.length));
  }
  return lookup(BUILTIN_DTYPES, spec) ?? lookup(NUMPY_DTYPES, spec);
}

/** Names that denote a float value, with or without a module prefix. */
const FLOAT_NAMES: Record<string, number> = {
  nan: NaN, NaN: NaN, NAN: NaN, inf: Infinity, Inf: Infinity, INF: Infinity, Infinity: Infinity, infty: Infinity,
  PINF: Infinity, NINF: -Infinity,
};
const PREFIXED_ONLY: Record<string, number> = { pi: Math.PI, e: Math.E };
const VALUE_PREFIXES = ['np.', 'numpy.', 'math.', 'torch.', 'jnp.', 'jax.numpy.'];

function floatName(name: string): number | undefined {
  if (Object.prototype.hasOwnProperty.call(FLOAT_NAMES, name)) return FLOAT_NAMES[name];
  for (const p of VALUE_PREFIXES) {
    if (name.startsWith(p)) {
      const rest = name.slice(p.length);
      if (Object.prototype.hasOwnProperty.call(FLOAT_NAMES, rest)) return FLOAT_NAMES[rest];
      if (Object.prototype.hasOwnProperty.call(PREFIXED_ONLY, rest)) return PREFIXED_ONLY[rest];
    }
  }
  return undefined;
}

function boolName(name: string): number | undefined {
  if (name === 'True' || name === 'true') return 1;
  if (name === 'False' || name === 'false') return 0;
  return undefined;
}

/** `float(...)` or a numpy scalar type `np.float32(...)`: the dtype kind its value gets, else undefined. */
function scalarCallKind(name: string | undefined): 'float' | 'int' | 'bool' | undefined {
  if (name === undefined) return undefined;
  if (name === 'float') return 'float';
  if (!name.startsWith('np.') && !name.startsWith('numpy.')) return undefined;
  const d = lookup(NUMPY_DTYPES, name.slice(name.indexOf('.') + 1));
  if (d === undefined) return undefined;
  return d === 'bool' ? 'bool' : d.startsWith('float') || d === 'bfloat16' ? 'float' : 'int';
}

/** The value of Python's float(s) for a string, or undefined when Python would raise. */
function floatOfString(raw: string): number | undefined {
  let s = raw.trim().toLowerCase();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) { if (s[0] === '-') sign = -1; s = s.slice(1); }
  if (s === 'nan') return NaN;
  if (s === 'inf' || s === 'infinity') return sign * Infinity;
  const lx = new Lexer(s, 'both');
  lx.next();
  if (lx.kind() !== 'num' || !lx.numOk || lx.radix !== 10 || lx.start !== 0 || lx.end !== s.length) return undefined;
  return sign * lx.numberValue();
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

/** An integer literal too large for a double to hold exactly. */
interface BigInteger {
  value: bigint | null;
  at: number;
}

/** What a constructor call or repr says beyond its data. */
interface CallInfo {
  ctor: LiteralConstructor;
  dtype?: DType;
  /** Offset of the dtype argument (where conversion errors point), -1 without one. */
  dtypeAt: number;
  /** A repr's size=(...) / shape=(...), which is the only shape an empty array prints. */
  declaredShape?: number[];
  device?: string;
  requiresGrad?: boolean;
}

interface ArgValue {
  kind: 'str' | 'name' | 'num' | 'tuple' | 'angle';
  text: string;
  start: number;
  tuple?: number[];
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

class Parser {
  private readonly lx: Lexer;
  private values: Float64Array;
  private count = 0;
  /** Integers beyond 2^53 by element index: exact value (null when absurdly long) and text offset. */
  private readonly bigInts = new Map<number, BigInteger>();
  private sawFloat = false;
  private sawInt = false;
  private sawBool = false;
  /** Length of the lists at each depth, set by the first list of that depth to close. */
  private readonly dims: number[] = [];
  /** Depth at which numbers sit (the rank), -1 until the first number. */
  private rank = -1;
  private deepestList = -1;
  /** The index of the element being parsed at each depth. */
  private readonly path: number[] = [];
  private separator: 'comma' | 'space' | undefined;

  constructor(private readonly text: string, private readonly maxElements: number) {
    this.lx = new Lexer(text, 'both');
    this.values = new Float64Array(Math.max(1, Math.min(1024, maxElements)));
  }

  parseDocument(): LiteralResult {
    const lx = this.lx;
    lx.next();
    this.skipPrefix();
    let call: CallInfo = { ctor: 'list', dtypeAt: -1 };
    const callee = this.calleeName();
    if (callee !== undefined && constructorOf(callee) !== undefined) {
      call = this.parseConstructorCall(callee, constructorOf(callee)!);
    } else if (callee !== undefined && scalarCallKind(callee) === undefined) {
      this.fail(`${callee}(...) is not a tensor constructor`, lx.start);
    } else {
      this.parseElement(0);
      if (this.separator === 'space') call.ctor = 'numpy-repr';
    }
    if (lx.is(';')) lx.next();
    if (lx.kind() !== 'eof') {
      if (lx.is(']') || lx.is(')')) this.fail(`unbalanced brackets: '${lx.tokenText()}' has no matching opening bracket`, lx.start);
      this.fail('unexpected text after the literal', lx.start);
    }
    return this.build(call);
  }

  /** The current token's name when it is followed by '(' (nothing is consumed). */
  private calleeName(): string | undefined {
    const lx = this.lx;
    if (lx.kind() !== 'name') return undefined;
    const m = lx.mark();
    const name = lx.tokenText();
    lx.next();
    const isCall = lx.is('(');
    lx.reset(m);
    return isCall ? name : undefined;
  }

  /** `name(data, [dtype,] key=value, ...)`: parses the data and reads the arguments that matter. */
  private parseConstructorCall(name: string, ctor: LiteralConstructor): CallInfo {
    const lx = this.lx;
    const call: CallInfo = { ctor, dtypeAt: -1 };
    lx.next(); // the name
    lx.next(); // '('
    if (lx.is(')')) this.fail(`${name}() has no data`, lx.start);
    this.parseElement(0);
    let positional = 1;
    while (lx.is(',')) {
      lx.next();
      if (lx.is(')')) break;
      const argStart = lx.start;
      let key: string | undefined;
      if (lx.kind() === 'name') {
        const km = lx.mark();
        const k = lx.tokenText();
        lx.next();
        if (lx.is('=')) { key = k; lx.next(); } else lx.reset(km);
      }
      const v = this.parseArgValue();
      if (key === undefined) {
        if (positional === 1 && POSITIONAL_DTYPE.has(ctor) && (v.kind === 'name' || v.kind === 'str')) key = 'dtype';
        else this.fail(`unexpected argument to ${name}()`, argStart);
        positional++;
      }
      if (key === 'dtype') {
        if (ctor === 'torch.Tensor') this.fail('torch.Tensor() takes no dtype; use torch.tensor(..., dtype=...)', argStart);
        const d = v.kind === 'name' || v.kind === 'str' ? resolveDType(v.text, v.kind === 'str') : undefined;
        if (d === undefined) this.fail(`unsupported dtype ${v.kind === 'str' ? `'${clip(v.text)}'` : clip(v.text)}`, v.start);
        call.dtype = d;
        call.dtypeAt = v.start;
      } else if (key === 'device') {
        call.device = v.text;
      } else if (key === 'requires_grad') {
        if (v.kind !== 'name' || boolName(v.text) === undefined) this.fail('requires_grad must be True or False', v.start);
        call.requiresGrad = boolName(v.text) === 1;
      } else if ((key === 'size' && ctor === 'torch-repr') || (key === 'shape' && ctor === 'numpy-repr')) {
        if (v.kind !== 'tuple') this.fail(`${key}= must be a tuple of integers`, v.start);
        call.declaredShape = v.tuple;
      } else if (!IGNORED_KWARGS.has(key)) {
        this.fail(`unsupported argument ${clip(key)}=`, argStart);
      }
    }
    if (!lx.is(')')) this.unexpected(`expected ',' or ')' in ${name}(...)`);
    lx.next();
    return call;
  }

  /** Skips `Parameter containing:` or an assignment prefix `x =`, `const x: T =`, `self.w =`. */
  private skipPrefix(): void {
    const lx = this.lx;
    if (lx.kind() !== 'name') return;
    const m = lx.mark();
    if (lx.tokenText() === 'Parameter') {
      lx.next();
      if (lx.kind() === 'name' && lx.tokenText() === 'containing') {
        lx.next();
        if (lx.is(':')) { lx.next(); return; }
      }
      lx.reset(m);
      return;
    }
    if (lx.tokenText() === 'const' || lx.tokenText() === 'let' || lx.tokenText() === 'var') lx.next();
    if (lx.kind() !== 'name') { lx.reset(m); return; }
    lx.next();
    if (lx.is(':')) { // a type annotation on the same line, up to '='
      lx.next();
      while (lx.kind() !== 'eof' && !lx.is('=') && !lx.newlineBefore) lx.next();
    }
    if (lx.is('=') && this.text.charCodeAt(lx.end) !== 61) { lx.next(); return; }
    lx.reset(m);
  }

  private parseArgValue(): ArgValue {
    const lx = this.lx;
    const start = lx.start;
    if (lx.kind() === 'str') {
      if (!lx.strOk) this.fail('unterminated string', start);
      const v: ArgValue = { kind: 'str', text: lx.strValue, start };
      lx.next();
      return v;
    }
    if (lx.kind() === 'name') {
      const v: ArgValue = { kind: 'name', text: lx.tokenText(), start };
      lx.next();
      return v;
    }
    if (lx.is('-') || lx.is('+') || lx.kind() === 'num') {
      if (!lx.is('-') && !lx.is('+')) { const v: ArgValue = { kind: 'num', text: lx.tokenText(), start }; lx.next(); return v; }
      lx.next();
      if (lx.kind() !== 'num') this.unexpected('expected a number');
      lx.next();
      return { kind: 'num', text: this.text.slice(start, lx.start).trim(), start };
    }
    if (lx.is('(')) {
      lx.next();
      const tuple: number[] = [];
      while (!lx.is(')')) {
        if (lx.kind() !== 'num' || lx.isFloat || !lx.numOk) this.unexpected('expected an integer');
        tuple.push(Number(lx.tokenText()));
        lx.next();
        if (lx.is(',')) lx.next();
        else if (!lx.is(')')) this.unexpected("expected ',' or ')'");
      }
      lx.next();
      return { kind: 'tuple', text: this.text.slice(start, lx.start), start, tuple };
    }
    if (lx.is('<')) { // grad_fn=<AddBackward0>
      while (lx.kind() !== 'eof' && !lx.is('>')) lx.next();
      if (lx.kind() === 'eof') this.fail("unclosed '<'", start);
      lx.next();
      return { kind: 'angle', text: this.text.slice(start, lx.start), start };
    }
    return this.unexpected('expected an argument value');
  }

  /** One element at `depth` enclosing lists: a list, a tuple, or a number. */
  private parseElement(depth: number): void {
    const lx = this.lx;
    if (lx.is('[')) return this.parseSequence(']', depth);
    if (lx.is('(')) {
      // `(3)` and `(-1.5)` are parenthesized numbers, not tuples
      const m = lx.mark();
      lx.next();
      while (lx.is('-') || lx.is('+')) lx.next();
      const simple = lx.kind() === 'num' || lx.kind() === 'name';
      if (simple) lx.next();
      const grouped = simple && lx.is(')');
      lx.reset(m);
      if (!grouped) return this.parseSequence(')', depth);
      lx.next();
      this.parseScalar(depth);
      lx.next(); // the ')'
      return;
    }
    return this.parseScalar(depth);
  }

  private parseSequence(close: string, depth: number): void {
    const lx = this.lx;
    const openAt = lx.start;
    const open = lx.tokenText();
    if (depth >= MAX_LITERAL_DEPTH) {
      throw refusal(`nesting deeper than ${MAX_LITERAL_DEPTH} levels`, whereAt(this.text, openAt));
    }
    if (this.rank >= 0 && depth >= this.rank) {
      this.fail(`ragged literal: element at ${pathString(this.path.slice(0, depth))} is a list, expected a number`, openAt);
    }
    if (depth > this.deepestList) this.deepestList = depth;
    lx.next();
    let count = 0;
    let comma = false;
    for (;;) {
      if (lx.kind() === 'eof') this.fail(`unbalanced brackets: '${open}' is never closed`, openAt);
      if (lx.is(']') || lx.is(')') || lx.is('}')) break;
      if (count > 0) {
        if (lx.is(',')) {
          if (this.separator === 'space') this.unexpected("unexpected ','");
          this.separator = 'comma';
          comma = true;
          lx.next();
          if (lx.is(']') || lx.is(')') || lx.is('}')) break; // trailing comma
        } else if (lx.spaceBefore && this.separator !== 'comma') {
          this.separator = 'space';
        } else {
          this.unexpected(`expected ',' or '${close}'`);
        }
      } else if (lx.is(',')) {
        this.unexpected("unexpected ','");
      }
      this.path[depth] = count;
      this.parseElement(depth + 1);
      count++;
    }
    if (!lx.is(close)) this.fail(`unbalanced brackets: '${open}' at offset ${openAt} closed by '${lx.tokenText()}'`, lx.start);
    if (open === '(' && count === 1 && !comma) {
      this.fail('a parenthesized list is not a tuple; write (x,) for a one-element tuple', openAt);
    }
    lx.next();
    const expected = this.dims[depth];
    if (expected === undefined) this.dims[depth] = count;
    else if (expected !== count) {
      this.fail(`ragged literal: row at ${pathString(this.path.slice(0, depth))} has ${count} elements, expected ${expected}`, openAt);
    }
  }

  private parseScalar(depth: number): void {
    const lx = this.lx;
    const at = lx.start;
    if (lx.kind() === 'ellipsis') throw refusal(SUMMARIZED_MESSAGE, whereAt(this.text, at));
    if (lx.kind() === 'eof') this.fail('expected a value', at);
    if (this.rank < 0) {
      if (this.deepestList >= depth) this.raggedNumber(depth, at);
      this.rank = depth;
    } else if (depth !== this.rank) {
      this.raggedNumber(depth, at);
    }
    let sign = 1;
    let signed = false;
    while (lx.is('-') || lx.is('+')) {
      if (lx.is('-')) sign = -sign;
      signed = true;
      lx.next();
    }
    if (lx.kind() === 'num') {
      if (!lx.numOk) this.notANumber(depth, at);
      this.pushNumberToken(sign);
      lx.next();
      return;
    }
    if (lx.kind() === 'ellipsis') throw refusal(SUMMARIZED_MESSAGE, whereAt(this.text, lx.start));
    if (lx.kind() !== 'name') this.notANumber(depth, at);
    const name = lx.tokenText();
    const b = boolName(name);
    if (b !== undefined) {
      if (signed) { this.sawInt = true; this.push(sign * b, at); } else { this.sawBool = true; this.push(b, at); }
      lx.next();
      return;
    }
    const f = floatName(name);
    if (f !== undefined) {
      this.sawFloat = true;
      this.push(sign * f, at);
      lx.next();
      return;
    }
    const kind = scalarCallKind(name);
    if (kind === undefined) this.notANumber(depth, at);
    lx.next();
    if (!lx.is('(')) this.notANumber(depth, at);
    lx.next();
    const v = this.parseScalarArgument(depth, at);
    if (!lx.is(')')) this.notANumber(depth, at);
    lx.next();
    if (kind === 'float') { this.sawFloat = true; this.push(sign * v, at); }
    else if (kind === 'int') {
      if (!Number.isFinite(v)) this.notANumber(depth, at);
      this.sawInt = true;
      this.push(sign * Math.trunc(v), at);
    } else { this.sawBool = true; this.push(v !== 0 ? 1 : 0, at); }
  }

  /** The argument of float(...) / np.float32(...): a string, a signed number, a special name or a bool. */
  private parseScalarArgument(depth: number, at: number): number {
    const lx = this.lx;
    if (lx.kind() === 'str') {
      const v = lx.strOk ? floatOfString(lx.strValue) : undefined;
      if (v === undefined) this.notANumber(depth, at);
      lx.next();
      return v;
    }
    let sign = 1;
    while (lx.is('-') || lx.is('+')) { if (lx.is('-')) sign = -sign; lx.next(); }
    let v: number | undefined;
    if (lx.kind() === 'num' && lx.numOk) v = lx.numberValue();
    else if (lx.kind() === 'name') v = floatName(lx.tokenText()) ?? boolName(lx.tokenText());
    if (v === undefined) this.notANumber(depth, at);
    lx.next();
    return sign * v;
  }

  private pushNumberToken(sign: number): void {
    const lx = this.lx;
    const at = lx.start;
    const v = lx.numberValue();
    if (lx.isFloat) {
      this.sawFloat = true;
      this.push(sign * v, at);
      return;
    }
    this.sawInt = true;
    const index = this.count;
    this.push(sign * v, at);
    if (!(Math.abs(v) <= MAX_SAFE)) {
      // the exact value for int64 storage; BigInt parsing is superlinear, so only for plausible lengths
      const t = lx.cleanNumber();
      this.bigInts.set(index, { value: t.length <= 70 ? BigInt(sign) * BigInt(t) : null, at });
    }
  }

  private push(v: number, at: number): void {
    if (this.count >= this.maxElements) {
      throw refusal(`literal has more than ${this.maxElements} elements`, whereAt(this.text, at));
    }
    if (this.count === this.values.length) {
      const grown = new Float64Array(Math.min(this.values.length * 2, this.maxElements));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = v;
  }

  private build(call: CallInfo): LiteralResult {
    const { ctor, dtype: explicit, dtypeAt, declaredShape, device, requiresGrad } = call;
    let shape = this.rank >= 0 ? this.dims.slice(0, this.rank) : this.dims.slice(0, this.deepestList + 1);
    if (declaredShape !== undefined) {
      const same = declaredShape.length === shape.length && declaredShape.every((d, i) => d === shape[i]);
      if (!same && !(numel(shape) === 0 && numel(declaredShape) === 0)) {
        this.fail(`declared shape ${pathString(declaredShape)} does not match the values' shape ${pathString(shape)}`, 0);
      }
      shape = declaredShape;
    }
    const dtype = explicit ?? this.inferDType(ctor);
    const n = this.count;
    const data = convert(this.values, n, dtype, this.bigInts, shape, (i, message) =>
      this.fail(message, this.bigInts.get(i)?.at ?? Math.max(dtypeAt, 0)));
    const result: LiteralResult = {
      tensor: makeTensor(dtype, shape, data),
      dtype,
      dtypeSource: explicit !== undefined ? 'explicit' : 'inferred',
      constructor: ctor,
    };
    if (device !== undefined) result.device = device;
    if (requiresGrad !== undefined) result.requiresGrad = requiresGrad;
    return result;
  }

  private inferDType(ctor: LiteralConstructor): DType {
    const [intType, floatType] = DEFAULT_DTYPES[ctor];
    if (ctor === 'torch.Tensor') return 'float32';
    if (this.sawFloat) return floatType;
    if (this.sawInt) {
      if (intType === 'int32') { // tf and jax widen to int64 rather than overflow
        for (let i = 0; i < this.count; i++) {
          const v = this.values[i];
          if (v < -(2 ** 31) || v >= 2 ** 31) return 'int64';
        }
      }
      return intType;
    }
    if (this.sawBool) return 'bool';
    return floatType;
  }

  private raggedNumber(depth: number, at: number): never {
    return this.fail(`ragged literal: element at ${pathString(this.path.slice(0, depth))} is a number, expected a list`, at);
  }

  private notANumber(depth: number, at: number): never {
    return this.fail(depth === 0 ? 'not a number' : `not a number at ${pathString(this.path.slice(0, depth))}`, at);
  }

  private unexpected(message: string): never {
    const lx = this.lx;
    return this.fail(lx.kind() === 'eof' ? `${message}, found the end of the text` : message, lx.start);
  }

  private fail(message: string, offset: number): never {
    throw new NormScopeError(message, whereAt(this.text, offset));
  }
}

function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    out[ax] = i % shape[ax];
    i = Math.floor(i / shape[ax]);
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const INT_RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1],
  uint8: [0, 255], uint16: [0, 65535], uint32: [0, 2 ** 32 - 1],
};

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

/**
 * Stores n parsed values as `dtype`, the way numpy's astype would: floats to ints truncate toward zero, bool is
 * `!= 0`. nan/inf to an int and values outside an int's range are refused (numpy would store garbage).
 */
function convert(values: Float64Array, n: number, dtype: DType, bigInts: Map<number, BigInteger>,
  shape: readonly number[], fail: (index: number, message: string) => never): Storage {
  const out = allocStorage(dtype, n);
  const describe = (i: number): string => {
    const b = bigInts.get(i);
    return b === undefined ? formatValue(values[i]) : b.value === null ? 'integer' : String(b.value);
  };
  const at = (i: number): string => pathString(unravel(i, shape));
  const notFinite = (i: number): never => fail(i, `cannot convert ${describe(i)} at ${at(i)} to ${dtype}`);
  const outOfRange = (i: number): never => fail(i, `value ${describe(i)} at ${at(i)} does not fit in ${dtype}`);
  switch (dtype) {
    case 'float64': case 'float32':
      (out as Float64Array | Float32Array).set(values.subarray(0, n));
      return out;
    case 'float16': case 'bfloat16': {
      const o = out as Uint16Array;
      const enc = dtype === 'float16' ? numberToHalf : numberToBfloat16;
      for (let i = 0; i < n; i++) o[i] = enc(values[i]);
      return out;
    }
    case 'bool': {
      const o = out as Uint8Array;
      for (let i = 0; i < n; i++) o[i] = values[i] !== 0 ? 1 : 0; // nan is truthy, as in numpy
      return out;
    }
    case 'int64': case 'uint64': {
      const o = out as BigInt64Array | BigUint64Array;
      const lo = dtype === 'int64' ? -(2n ** 63n) : 0n;
      const hi = dtype === 'int64' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
      // safe integers go in as two 32-bit words: a BigInt per element costs ~10x more
      const words = LITTLE_ENDIAN ? new Uint32Array(o.buffer, o.byteOffset, 2 * n) : undefined;
      const minFast = dtype === 'int64' ? -MAX_SAFE : 0;
      const anyBig = bigInts.size > 0;
      for (let i = 0; i < n; i++) {
        const t = Math.trunc(values[i]);
        if (words !== undefined && t >= minFast && t <= MAX_SAFE && !(anyBig && bigInts.has(i))) {
          const high = Math.floor(t / 4294967296);
          words[2 * i] = t - high * 4294967296;
          words[2 * i + 1] = high; // stored modulo 2^32: -1 becomes 0xffffffff
          continue;
        }
        const big = bigInts.get(i);
        let b: bigint | null;
        if (big !== undefined) b = big.value;
        else {
          const v = values[i];
          if (!Number.isFinite(v)) notFinite(i);
          b = BigInt(Math.trunc(v));
        }
        if (b === null || b < lo || b > hi) return outOfRange(i);
        o[i] = b;
      }
      return out;
    }
    default: {
      const [lo, hi] = INT_RANGES[dtype]!;
      const o = out as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (!Number.isFinite(v)) notFinite(i);
        const t = Math.trunc(v);
        if (t < lo || t > hi) outOfRange(i);
        o[i] = t;
      }
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Finding a literal around an offset (hovers)

type FrameKind = 'list' | 'index' | 'tuple' | 'call' | 'brace';

/** One open bracket seen by the finder. A list or tuple is tainted once it holds anything but numbers. */
interface Frame {
  kind: FrameKind;
  start: number;
  /** One past the closing bracket; -1 while open. */
  end: number;
  callee?: string;
  calleeStart: number;
  tainted: boolean;
  /** For calls: whether an argument has started, and the bracket that began the first argument. */
  hasContent: boolean;
  firstChild?: Frame;
}

/** Words after which `[` starts a list and `(` a parenthesized expression, not an index or a call. */
const KEYWORDS = new Set(['in', 'not', 'and', 'or', 'is', 'return', 'yield', 'else', 'if', 'elif', 'lambda', 'await',
  'assert', 'del', 'print', 'of', 'case', 'typeof', 'void', 'throw', 'do', 'for', 'while', 'switch', 'catch', 'with',
  'match', 'from', 'import', 'export', 'default', 'new', 'const', 'let', 'var']);

const MAX_FINDER_STACK = 256;

/**
 * Whether the '[' at `i` indexes what is right before it (`x[0]`, `np.x[1]`, `f(x)[0]`, `a[0][1]`), judged from
 * the characters before it as the finder judges the tokens: no literal starts there. False when unsure.
 */
export function isIndexBracket(text: string, i: number): boolean {
  const c = text.charCodeAt(i - 1);
  if (c === 41 || c === 93) return true; // ')' or ']' with no space before the '['
  let j = i;
  while (j > 0 && isIdentPart(text.charCodeAt(j - 1))) j--;
  return j < i && !isDigit(text.charCodeAt(j)) && !KEYWORDS.has(text.slice(j, i));
}

function closes(ch: string, kind: FrameKind): boolean {
  return ch === ']' ? kind === 'list' || kind === 'index' : ch === ')' ? kind === 'tuple' || kind === 'call' : kind === 'brace';
}

function isListy(f: Frame | undefined): f is Frame {
  return f !== undefined && (f.kind === 'list' || f.kind === 'tuple');
}

function isScalarCall(f: Frame | undefined): boolean {
  return f !== undefined && f.kind === 'call' && scalarCallKind(f.callee) !== undefined;
}

function isConstructorCall(f: Frame | undefined): boolean {
  return f !== undefined && f.kind === 'call' && constructorOf(f.callee) !== undefined;
}

/**
 * The tensor literal around `offset`: the outermost list of numbers enclosing it (index brackets like `x[0]` are
 * not lists), extended to a constructor call around it (`np.array([...], dtype=...)`); or, when the offset is on
 * a variable or constructor name, the literal assigned/called on that line. Undefined for anything else
 * (strings, comprehensions, dicts, bare numbers, bare tuples, empty lists). Looks at most maxScan characters
 * either side of the offset and gives up beyond that; linear in what it looks at.
 */
export function findLiteralAt(text: string, offset: number, opts: FindLiteralOptions = {}): LiteralSpan | undefined {
  if (!(offset >= 0 && offset < text.length)) return undefined;
  const maxScan = opts.maxScan ?? DEFAULT_MAX_SCAN;
  let from = Math.max(0, offset - (opts.maxScanBefore ?? maxScan));
  if (from > 0) { // start at a line start so we are less likely to begin inside a string
    let i = from;
    while (i < offset && text.charCodeAt(i - 1) !== 10) i++;
    if (i < offset) from = i;
  }
  const lx = new Lexer(text, commentStyleFor(opts.language), from, Math.min(text.length, offset + maxScan + 1));

  const stack: Frame[] = [];
  let enclosing: Frame[] | undefined;
  let need: Frame | undefined;
  let prevKind: Kind | 'close' | 'none' = 'none';
  let prevName = '';
  let prevStart = 0;
  // hovering a name: 'name' -> ('annot' ->) 'eq' -> ('callee' ->) 'frame' with target set
  let hover: 'none' | 'name' | 'annot' | 'eq' | 'callee' | 'frame' | 'done' = 'none';
  let target: Frame | undefined;

  for (;;) {
    // the offset in whitespace or a comment with no list or constructor open around it: nothing after it can make
    // a literal of it, and a long comment is not read to its end (findLiterals tries every '[' of a text)
    if (enclosing === undefined && lx.triviaCovers(offset) && neededFrame(stack) === undefined) return undefined;
    lx.next();
    if (lx.kind() === 'eof') break;
    const ch = lx.kind() === 'punct' ? text[lx.start] : '';
    const isCloser = ch === ']' || ch === ')' || ch === '}';
    const isOpener = ch === '[' || ch === '(' || ch === '{';
    let snapshotAfter = false;
    let hoveredNow = false;
    if (enclosing === undefined && lx.end > offset) {
      const onToken = lx.start <= offset;
      if (onToken && !isCloser) snapshotAfter = true;
      else enclosing = stack.slice();
      if (onToken && lx.kind() === 'name') { hover = 'name'; hoveredNow = true; }
    }

    let opened: Frame | undefined;
    const top = last(stack);
    if (isOpener) {
      let kind: FrameKind;
      let callee: string | undefined;
      if (ch === '{') kind = 'brace';
      else if (ch === '[') {
        if (prevKind === 'name') kind = KEYWORDS.has(prevName) ? 'list' : 'index';
        else if (prevKind === 'close' || prevKind === 'str') kind = lx.spaceBefore ? 'list' : 'index';
        else kind = 'list';
      } else if (prevKind === 'name' && !KEYWORDS.has(prevName)) { kind = 'call'; callee = prevName; }
      else if (prevKind === 'close' && !lx.spaceBefore) kind = 'call';
      else kind = 'tuple';
      opened = { kind, start: lx.start, end: -1, callee, calleeStart: callee !== undefined ? prevStart : lx.start,
        tainted: false, hasContent: false };
      if (top !== undefined) {
        if (top.kind === 'call' && !top.hasContent) top.firstChild = opened;
        top.hasContent = true;
      }
      stack.push(opened);
      if (stack.length > MAX_FINDER_STACK) return undefined;
    } else if (isCloser) {
      // a closer matching a frame a little further down closes the frames above it as broken; one matching
      // nothing near (e.g. inside a regex literal we do not recognise) is ignored
      let match = stack.length - 1;
      while (match >= 0 && match >= stack.length - 3 && !closes(ch, stack[match].kind)) match--;
      if (match >= 0 && match >= stack.length - 3) {
        while (stack.length > match) {
          const f = stack.pop()!;
          if (stack.length > match) f.tainted = true;
          else f.end = lx.end;
          const parent = last(stack);
          if (isListy(parent) && (f.end < 0 || !(isListy(f) ? !f.tainted : isScalarCall(f)))) parent.tainted = true;
        }
      } else if (top !== undefined) {
        top.tainted = true;
      }
    } else if (top !== undefined) {
      top.hasContent = true;
      if (isListy(top) && !numericToken(lx)) top.tainted = true;
    }

    if (snapshotAfter) enclosing = stack.slice();
    if (enclosing !== undefined && need === undefined) need = neededFrame(enclosing);

    if (!hoveredNow && hover !== 'none' && hover !== 'done' && hover !== 'frame') {
      const isEq = ch === '=' && text.charCodeAt(lx.end) !== 61;
      if (hover === 'name') {
        if (ch === '(' && isConstructorCall(opened)) { target = opened; hover = 'frame'; }
        else if (isEq) hover = 'eq';
        else if (ch === ':') hover = 'annot';
        else hover = 'done';
      } else if (hover === 'annot') {
        if (lx.newlineBefore) hover = 'done';
        else if (isEq) hover = 'eq';
      } else if (hover === 'eq') {
        if (opened !== undefined) { target = opened; hover = 'frame'; }
        else hover = lx.kind() === 'name' ? 'callee' : 'done';
      } else if (hover === 'callee') {
        if (opened !== undefined && opened.kind === 'call') { target = opened; hover = 'frame'; }
        else hover = 'done';
      }
    }

    if (lx.kind() === 'name' || lx.kind() === 'str' || lx.kind() === 'num' || lx.kind() === 'ellipsis') {
      prevKind = lx.kind();
      prevName = lx.tokenText();
      prevStart = lx.start;
    } else {
      prevKind = isCloser ? 'close' : 'punct';
    }

    if (enclosing !== undefined) {
      const hoverPending = hover === 'name' || hover === 'annot' || hover === 'eq' || hover === 'callee' ||
        (hover === 'frame' && target!.end < 0);
      if (!hoverPending && (need === undefined || need.end >= 0)) break;
    }
  }

  if (target !== undefined) {
    if (target.end < 0) return undefined;
    if (isConstructorCall(target)) return tryLiteral(text, target.calleeStart, target.end, opts);
    if (target.kind === 'list' && !target.tainted) return tryLiteral(text, target.start, target.end, opts);
    return undefined;
  }
  if (enclosing === undefined) return undefined;
  const span = chooseSpan(enclosing);
  return span === undefined ? undefined : tryLiteral(text, span[0], span[1], opts);
}

/**
 * The top of a stack, or undefined. Not `stack[stack.length - 1]`: reading index -1 of an empty array looks the
 * key '-1' up along the prototype chain, ~1 µs, and the finder read it for every token outside brackets (4 s for
 * the tries of a 36 KB notebook cell).
 */
function last<T>(stack: readonly T[]): T | undefined {
  return stack.length ? stack[stack.length - 1] : undefined;
}

/** Whether a token may sit directly inside a numeric list: numbers, signs, commas, nan/inf/True, float(...). */
function numericToken(lx: Lexer): boolean {
  switch (lx.kind()) {
    case 'num': return lx.numOk;
    case 'ellipsis': return true;
    case 'punct': return lx.is(',') || lx.is('-') || lx.is('+');
    case 'name': {
      const name = lx.tokenText();
      return floatName(name) !== undefined || boolName(name) !== undefined || scalarCallKind(name) !== undefined;
    }
    default: return false;
  }
}

/** The frame whose closing decides the answer: the outermost list of the numeric chain, or its constructor. */
function neededFrame(enc: readonly Frame[]): Frame | undefined {
  let i = enc.length - 1;
  if (isScalarCall(enc[i])) i--;
  const f = enc[i];
  if (f === undefined) return undefined;
  if (f.kind === 'call') return isConstructorCall(f) ? f : undefined;
  if (!isListy(f)) return undefined;
  while (isListy(enc[i - 1])) i--;
  return isConstructorCall(enc[i - 1]) ? enc[i - 1] : enc[i];
}

function chooseSpan(enc: readonly Frame[]): [number, number] | undefined {
  const ok = (f: Frame | undefined): f is Frame => isListy(f) && f.end >= 0 && !f.tainted;
  let i = enc.length - 1;
  if (isScalarCall(enc[i])) i--;
  const f = enc[i];
  if (f === undefined) return undefined;
  if (isConstructorCall(f)) return f.end >= 0 ? [f.calleeStart, f.end] : undefined;
  if (!ok(f)) return undefined;
  while (ok(enc[i - 1])) i--;
  const top = enc[i];
  const parent = enc[i - 1];
  if (parent !== undefined && isConstructorCall(parent) && parent.firstChild === top && parent.end >= 0) {
    return [parent.calleeStart, parent.end];
  }
  if (top.kind === 'tuple') return undefined; // a bare tuple is a shape or a pair far more often than a tensor
  return [top.start, top.end];
}

function tryLiteral(text: string, start: number, end: number, opts: FindLiteralOptions): LiteralSpan | undefined {
  const slice = text.slice(start, end);
  try {
    const literal = parseLiteral(slice, opts);
    if (literal.constructor === 'list') {
      if (numel(literal.tensor.shape) === 0) return undefined;
      if (isNoisyLanguage(opts.language) && !isPlausibleTensor(literal, opts.minElements ?? 4)) return undefined;
    }
    return { start, end, text: slice, literal };
  } catch (e) {
    if (e instanceof NormScopeError && refusals.has(e)) return { start, end, text: slice, error: e };
    if (e instanceof NormScopeError) return undefined;
    throw e;
  }
}
