import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DType, bfloat16ToNumber, halfToNumber, numberToHalf } from '../../src/engine/dtype';
import { NormScopeError } from '../../src/engine/errors';
import {
  DEFAULT_MAX_CHARS, LiteralResult, SUMMARIZED_MESSAGE, findLiteralAt, isNoisyLanguage, isPlausibleTensor, parseLiteral,
} from '../../src/engine/formats/literal';

interface ReprEntry {
  name: string;
  lib: 'numpy' | 'torch';
  repr: string;
  str: string;
  /** What Python reads back from `repr` (numpy prints float64 to 8 digits, so not always the array's values). */
  values: (number | string | boolean)[];
  exact: boolean;
  shape: number[];
  dtype: DType;
}

// compiled to out/test/unit; the fixtures stay in the source tree
const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/literals/reprs.json');
const entries = JSON.parse(readFileSync(FIXTURES, 'utf8')) as ReprEntry[];

/** The stored values decoded to numbers (int64 as bigint, bool as 0/1). */
function stored(r: LiteralResult): (number | bigint)[] {
  const { dtype, data } = r.tensor;
  return Array.from(data as ArrayLike<number | bigint>, (v) => {
    if (typeof v === 'bigint') return v;
    if (dtype === 'float16') return halfToNumber(v);
    if (dtype === 'bfloat16') return bfloat16ToNumber(v);
    return v;
  });
}

/** A fixture value as the engine stores it for `dtype`. */
function expected(v: number | string | boolean, dtype: DType): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (dtype === 'int64' || dtype === 'uint64') return BigInt(v);
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return Number(v);
}

function roundTo(x: number, dtype: DType): number {
  if (dtype === 'float32') return Math.fround(x);
  if (dtype === 'float16') return halfToNumber(numberToHalf(x));
  return x;
}

function check(text: string, want: { shape: number[]; dtype: DType; values: (number | bigint)[]; ctor?: string; source?: string }): LiteralResult {
  const r = parseLiteral(text);
  assert.deepEqual(r.tensor.shape, want.shape, 'shape');
  assert.equal(r.dtype, want.dtype, 'dtype');
  assert.equal(r.tensor.dtype, want.dtype);
  assert.deepEqual(stored(r), want.values, 'values');
  if (want.ctor !== undefined) assert.equal(r.constructor, want.ctor, 'constructor');
  if (want.source !== undefined) assert.equal(r.dtypeSource, want.source, 'dtypeSource');
  return r;
}

function throwsExactly(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NormScopeError, `not a NormScopeError: ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

function at(offset: number, line: number, column: number): string {
  return `offset ${offset} (line ${line}, column ${column})`;
}

function ms(fn: () => void): number {
  const t0 = Date.now();
  fn();
  return Date.now() - t0;
}

describe('tensor literals: real numpy 1.24 / torch 1.13 reprs (test/fixtures/literals)', () => {
  it('has fixtures for both libraries, including reprs that lost digits', () => {
    assert.ok(entries.some((e) => !e.exact));
    assert.ok(entries.filter((e) => e.lib === 'numpy').length >= 25);
    assert.ok(entries.filter((e) => e.lib === 'torch').length >= 25);
  });

  for (const e of entries) {
    it(`${e.lib} repr: ${e.name}`, () => {
      const r = parseLiteral(e.repr);
      assert.equal(r.constructor, e.lib === 'numpy' ? 'numpy-repr' : 'torch-repr');
      assert.deepEqual(r.tensor.shape, e.shape);
      assert.equal(r.dtype, e.dtype);
      assert.equal(r.dtypeSource, e.repr.includes('dtype=') ? 'explicit' : 'inferred');
      assert.deepEqual(stored(r), e.values.map((v) => expected(v, e.dtype)));
      if (e.repr.includes("device='cuda:0'")) assert.equal(r.device, 'cuda:0');
      if (e.repr.includes('requires_grad=True')) assert.equal(r.requiresGrad, true);
    });

    if (e.lib !== 'numpy') continue;
    it(`numpy str: ${e.name}`, () => {
      // str() drops the dtype: floats read back as float64, ints as int64; values match once rounded
      const r = parseLiteral(e.str);
      const empty = e.values.length === 0;
      const kind: DType = e.dtype === 'bool' ? 'bool' : e.dtype.startsWith('float') || empty ? 'float64' : 'int64';
      assert.equal(r.dtype, kind);
      assert.equal(r.dtypeSource, 'inferred');
      if (empty) assert.equal(r.tensor.data.length, 0); // str(np.zeros((0, 3))) is "[]"
      else assert.deepEqual(r.tensor.shape, e.shape);
      const got = stored(r).map((v) => (typeof v === 'number' && kind === 'float64' ? roundTo(v, e.dtype) : v));
      assert.deepEqual(got, e.values.map((v) => expected(v, kind)));
    });
  }
});

describe('tensor literals: source forms', () => {
  it('parses nested lists and tuples', () => {
    check('[[1, 2], [3, 4]]', { shape: [2, 2], dtype: 'int64', values: [1n, 2n, 3n, 4n], ctor: 'list', source: 'inferred' });
    check('((1, 2), (3, 4))', { shape: [2, 2], dtype: 'int64', values: [1n, 2n, 3n, 4n], ctor: 'list' });
    check('[(1, 2), (3, 4)]', { shape: [2, 2], dtype: 'int64', values: [1n, 2n, 3n, 4n] });
    check('np.array(((1.5,), (2,)))', { shape: [2, 1], dtype: 'float64', values: [1.5, 2], ctor: 'np.array' });
    check('[1, (2), (-3)]', { shape: [3], dtype: 'int64', values: [1n, 2n, -3n] });
    check('[[], []]', { shape: [2, 0], dtype: 'float64', values: [] });
    check('[]', { shape: [0], dtype: 'float64', values: [] });
    check('  3.5  ', { shape: [], dtype: 'float64', values: [3.5], ctor: 'list' });
  });

  it('infers dtypes as numpy and torch do', () => {
    check('[1, 2.5]', { shape: [2], dtype: 'float64', values: [1, 2.5] });
    check('[True, 2]', { shape: [2], dtype: 'int64', values: [1n, 2n] });
    check('[True, 2.5]', { shape: [2], dtype: 'float64', values: [1, 2.5] });
    check('[True, False]', { shape: [2], dtype: 'bool', values: [1, 0] });
    check('[true, false, true, false]', { shape: [4], dtype: 'bool', values: [1, 0, 1, 0] });
    check('[1e5, 2]', { shape: [2], dtype: 'float64', values: [1e5, 2] });
    check('np.array([1, 2])', { shape: [2], dtype: 'int64', values: [1n, 2n], ctor: 'np.array', source: 'inferred' });
    check('np.asarray([0.1])', { shape: [1], dtype: 'float64', values: [0.1], ctor: 'np.asarray' });
    check('numpy.array([0.1])', { shape: [1], dtype: 'float64', values: [0.1], ctor: 'np.array' });
    check('torch.tensor([0.1, 2])', { shape: [2], dtype: 'float32', values: [Math.fround(0.1), 2], ctor: 'torch.tensor' });
    check('torch.tensor([1, 2])', { shape: [2], dtype: 'int64', values: [1n, 2n], ctor: 'torch.tensor' });
    check('torch.tensor([True])', { shape: [1], dtype: 'bool', values: [1] });
    check('torch.tensor([])', { shape: [0], dtype: 'float32', values: [] });
    check('torch.Tensor([1, 2])', { shape: [2], dtype: 'float32', values: [1, 2], ctor: 'torch.Tensor', source: 'inferred' });
    check('torch.Tensor([True, False])', { shape: [2], dtype: 'float32', values: [1, 0] });
    check('tf.constant([1, 2])', { shape: [2], dtype: 'int32', values: [1, 2], ctor: 'tf.constant' });
    check('tf.constant([1, 2], dtype=tf.float32)', { shape: [2], dtype: 'float32', values: [1, 2] });
    check('tf.constant([1.5])', { shape: [1], dtype: 'float32', values: [1.5] });
    check('tf.constant([3000000000])', { shape: [1], dtype: 'int64', values: [3000000000n] });
    check('jnp.array([1, 2])', { shape: [2], dtype: 'int32', values: [1, 2], ctor: 'jnp.array' });
    check('jnp.array([[0.5]])', { shape: [1, 1], dtype: 'float32', values: [0.5], ctor: 'jnp.array' });
  });

  it('reads explicit dtypes in every spelling', () => {
    const cases: [string, DType][] = [
      ['np.array([1, 2], dtype=np.float32)', 'float32'],
      ["np.array([1, 2], dtype='float32')", 'float32'],
      ['np.array([1, 2], dtype="<f4")', 'float32'],
      ["np.array([1, 2], dtype='f8')", 'float64'],
      ['np.array([1, 2], dtype=torch.float16)', 'float16'],
      ['np.array([1, 2], dtype=float)', 'float64'],
      ['np.array([1.5, 2], dtype=int)', 'int64'],
      ['np.array([1, 0], dtype=bool)', 'bool'],
      ['np.array([1, 2], np.int32)', 'int32'],
      ['numpy.asarray([1, 2], dtype=numpy.uint8)', 'uint8'],
      ['torch.tensor([1, 2], dtype=torch.float)', 'float32'],
      ['torch.tensor([1, 2], dtype=torch.double)', 'float64'],
      ['torch.tensor([1, 2], dtype=torch.half)', 'float16'],
      ['torch.tensor([1, 2], dtype=torch.bfloat16)', 'bfloat16'],
      ['torch.tensor([1, 2], dtype=torch.long)', 'int64'],
      ['torch.tensor([1, 2], dtype=torch.int)', 'int32'],
      ['torch.tensor([1, 2], dtype=float)', 'float64'],
      ['tf.constant([1, 2], tf.float16)', 'float16'],
      ['jnp.array([1, 2], dtype=jnp.bfloat16)', 'bfloat16'],
    ];
    for (const [text, dtype] of cases) {
      const r = parseLiteral(text);
      assert.equal(r.dtype, dtype, text);
      assert.equal(r.dtypeSource, 'explicit', text);
    }
  });

  it('stores values in the dtype storage (int64 as BigInt64Array, float16 as bit patterns)', () => {
    const i64 = parseLiteral('[1, -2]').tensor.data;
    assert.ok(i64 instanceof BigInt64Array);
    const f16 = parseLiteral('np.array([1.0, 65504, 1e-8], dtype=np.float16)').tensor.data;
    assert.ok(f16 instanceof Uint16Array);
    assert.deepEqual(Array.from(f16 as Uint16Array), [0x3c00, 0x7bff, 0x0000]);
    const bf = parseLiteral('torch.tensor([1.0, -2.0], dtype=torch.bfloat16)').tensor.data;
    assert.deepEqual(Array.from(bf as Uint16Array), [0x3f80, 0xc000]);
    const u64 = parseLiteral('np.array([18446744073709551615], dtype=np.uint64)').tensor.data;
    assert.ok(u64 instanceof BigUint64Array);
    assert.deepEqual(Array.from(u64), [18446744073709551615n]);
    check('[9007199254740993, -9223372036854775808]', {
      shape: [2], dtype: 'int64', values: [9007199254740993n, -9223372036854775808n],
    });
  });

  it('converts to an explicit dtype as numpy astype does: floats truncate toward zero, bool is != 0', () => {
    check('np.array([1.7, -1.7, 2.5, -0.5], dtype=np.int32)', { shape: [4], dtype: 'int32', values: [1, -1, 2, 0] });
    check('np.array([1.9e10], dtype=np.int64)', { shape: [1], dtype: 'int64', values: [19000000000n] });
    check('torch.tensor([[2.9]], dtype=torch.int8)', { shape: [1, 1], dtype: 'int8', values: [2] });
    check('np.array([0, 2, -0.5, nan], dtype=bool)', { shape: [4], dtype: 'bool', values: [0, 1, 1, 1] });
    check('np.array([True, False], dtype=np.float32)', { shape: [2], dtype: 'float32', values: [1, 0] });
    check('np.array([0.1], dtype=np.float32)', { shape: [1], dtype: 'float32', values: [Math.fround(0.1)] });
  });

  it('reads every number syntax', () => {
    check('[1e-3, 1.5E+02, 1.0000e+00, 1.e-03, -2.5e-1, .5, 5., 1_000.5]', {
      shape: [8], dtype: 'float64', values: [1e-3, 150, 1, 1e-3, -0.25, 0.5, 5, 1000.5],
    });
    check('[1_000, 0x1F, 0o17, 0b101, -0x10, +3]', { shape: [6], dtype: 'int64', values: [1000n, 31n, 15n, 5n, -16n, 3n] });
    check('[-0.0, 0.0]', { shape: [2], dtype: 'float64', values: [-0, 0] });
  });

  it('reads decimal numbers exactly as Number() does (fast path and fallback)', () => {
    let seed = 12345;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const digits = (n: number): string => Array.from({ length: n }, () => String(rand(10))).join('');
    const texts: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const int = digits(rand(18));
      const frac = rand(3) === 0 ? '' : '.' + digits(rand(18));
      const exp = rand(3) === 0 ? `e${['', '+', '-'][rand(3)]}${rand(40)}` : '';
      const t = (int === '' && (frac === '' || frac === '.') ? '0' : int) + frac + exp;
      texts.push(t);
    }
    texts.push('123456789012345e-22', '123456789012345e22', '999999999999999.9', '0.1', '5e-324', '1.7976931348623157e308',
      '2.2250738585072014e-308', '9007199254740993.0', '1e23', '1e400', '1e-400');
    const r = parseLiteral(`[${texts.map((t) => t + (t.includes('.') || t.includes('e') ? '' : '.0')).join(', ')}]`);
    const got = r.tensor.data as Float64Array;
    texts.forEach((t, i) => assert.equal(got[i], Number(t), t));
  });

  it('reads nan and inf in every spelling', () => {
    const r = check(
      "[nan, inf, -inf, NaN, Infinity, -Infinity, float('nan'), float(\"inf\"), float('-inf'), np.nan, np.inf, -np.inf, " +
      'math.inf, math.nan, torch.inf, torch.nan, numpy.nan, float(1), np.float32(2.5), np.pi]',
      {
        shape: [20], dtype: 'float64',
        values: [NaN, Infinity, -Infinity, NaN, Infinity, -Infinity, NaN, Infinity, -Infinity, NaN, Infinity, -Infinity,
          Infinity, NaN, Infinity, NaN, NaN, 1, 2.5, Math.PI],
      },
    );
    assert.equal(r.constructor, 'list');
    check('torch.tensor(float("nan"))', { shape: [], dtype: 'float32', values: [NaN] });
    check('[np.int64(3), np.bool_(True)]', { shape: [2], dtype: 'int64', values: [3n, 1n] });
  });

  it('skips comments, line breaks, trailing commas and an assignment prefix', () => {
    const text = [
      'x = np.array([  # the first row',
      '    [1, 2,],  // js comment',
      '    /* block',
      '       comment ] */ [3, 4],',
      '], dtype=np.float64,)  # done',
    ].join('\n');
    check(text, { shape: [2, 2], dtype: 'float64', values: [1, 2, 3, 4], ctor: 'np.array', source: 'explicit' });
    check('const w: number[][] = [[1, 2]];', { shape: [1, 2], dtype: 'int64', values: [1n, 2n] });
    check('self.weight = torch.tensor([1.0])', { shape: [1], dtype: 'float32', values: [1] });
  });

  it('reads the torch repr extras: device, requires_grad, grad_fn, Parameter, size', () => {
    const r = check("tensor([[1.0000, 2.0000]], device='cuda:0', requires_grad=True)", {
      shape: [1, 2], dtype: 'float32', values: [1, 2], ctor: 'torch-repr', source: 'inferred',
    });
    assert.equal(r.device, 'cuda:0');
    assert.equal(r.requiresGrad, true);
    check('tensor([1, 2], dtype=torch.int32)', { shape: [2], dtype: 'int32', values: [1, 2], source: 'explicit' });
    check('tensor([[2., 4.]], grad_fn=<MulBackward0>)', { shape: [1, 2], dtype: 'float32', values: [2, 4] });
    check('tensor(3.5)', { shape: [], dtype: 'float32', values: [3.5], ctor: 'torch-repr' });
    check('Parameter containing:\ntensor([1., 1.], requires_grad=True)', { shape: [2], dtype: 'float32', values: [1, 1] });
    check('tensor([], size=(0, 3))', { shape: [0, 3], dtype: 'float32', values: [] });
    check('array([], shape=(0, 3), dtype=float64)', { shape: [0, 3], dtype: 'float64', values: [] });
    const t = parseLiteral("torch.tensor([1.], device='cpu', requires_grad=False)");
    assert.equal(t.device, 'cpu');
    assert.equal(t.requiresGrad, false);
  });

  it('reads numpy str output without commas', () => {
    check('[[0. 1.]\n [2. 3.]]', { shape: [2, 2], dtype: 'float64', values: [0, 1, 2, 3], ctor: 'numpy-repr' });
    check('[ True False]', { shape: [2], dtype: 'bool', values: [1, 0], ctor: 'numpy-repr' });
    check('[ 1.e-03 -1.e+05]', { shape: [2], dtype: 'float64', values: [1e-3, -1e5] });
    check('[[[1 2]\n  [3 4]]\n\n [[5 6]\n  [7 8]]]', { shape: [2, 2, 2], dtype: 'int64', values: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] });
  });
});

describe('tensor literals: errors', () => {
  it('refuses summarized output with the exact message', () => {
    throwsExactly(() => parseLiteral('array([   0,    1,    2, ..., 1997, 1998, 1999])'), `${SUMMARIZED_MESSAGE} (${at(25, 1, 26)})`);
    throwsExactly(() => parseLiteral('tensor([0.0000e+00, 1.0000e+00,  ..., 1.9990e+03])'),
      `${SUMMARIZED_MESSAGE} (${at(33, 1, 34)})`);
    throwsExactly(() => parseLiteral('[[1, 2],\n ...,\n [5, 6]]'), `${SUMMARIZED_MESSAGE} (${at(10, 2, 2)})`);
    assert.equal(SUMMARIZED_MESSAGE,
      'this array was printed in summarized form ("...") and its values are lost; print it with ' +
      'np.set_printoptions(threshold=sys.maxsize) or use normscope.show(x)');
  });

  it('refuses the summarized real repr numpy prints for 2000 elements', () => {
    // repr(np.arange(2000)) with numpy's default threshold of 1000
    const r = 'array([   0,    1,    2, ..., 1997, 1998, 1999])';
    assert.throws(() => parseLiteral(r), (e: Error) => e.message.startsWith(SUMMARIZED_MESSAGE));
  });

  it('names ragged rows, non-numbers and unbalanced brackets', () => {
    throwsExactly(() => parseLiteral('[[1, 2, 3], [4, 5, 6], [7, 8]]'),
      `ragged literal: row at [2] has 2 elements, expected 3 (${at(23, 1, 24)})`);
    throwsExactly(() => parseLiteral('[[[1], [2]], [[3], [4, 5]]]'),
      `ragged literal: row at [1, 1] has 2 elements, expected 1 (${at(19, 1, 20)})`);
    throwsExactly(() => parseLiteral('[1, [2]]'), `ragged literal: element at [1] is a list, expected a number (${at(4, 1, 5)})`);
    throwsExactly(() => parseLiteral('[[1], 2]'), `ragged literal: element at [1] is a number, expected a list (${at(6, 1, 7)})`);
    throwsExactly(() => parseLiteral('[1, "a"]'), `not a number at [1] (${at(4, 1, 5)})`);
    throwsExactly(() => parseLiteral('[[1, 2],\n [3, None]]'), `not a number at [1, 1] (${at(14, 2, 6)})`);
    throwsExactly(() => parseLiteral('[x for x in y]'), `not a number at [0] (${at(1, 1, 2)})`);
    throwsExactly(() => parseLiteral('[1j]'), `not a number at [0] (${at(1, 1, 2)})`);
    throwsExactly(() => parseLiteral('[1, 2'), `unbalanced brackets: '[' is never closed (${at(0, 1, 1)})`);
    throwsExactly(() => parseLiteral('[[1, 2]'), `unbalanced brackets: '[' is never closed (${at(0, 1, 1)})`);
    throwsExactly(() => parseLiteral('[1, 2]]'), `unbalanced brackets: ']' has no matching opening bracket (${at(6, 1, 7)})`);
    throwsExactly(() => parseLiteral('[1, 2)'), `unbalanced brackets: '[' at offset 0 closed by ')' (${at(5, 1, 6)})`);
    throwsExactly(() => parseLiteral('[1, 2 3]'), `expected ',' or ']' (${at(6, 1, 7)})`);
    throwsExactly(() => parseLiteral('[1,, 2]'), `not a number at [1] (${at(3, 1, 4)})`);
    throwsExactly(() => parseLiteral('[, 1]'), `unexpected ',' (${at(1, 1, 2)})`);
    throwsExactly(() => parseLiteral('[1, 2] + 1'), `unexpected text after the literal (${at(7, 1, 8)})`);
    throwsExactly(() => parseLiteral('range(10)'), `range(...) is not a tensor constructor (${at(0, 1, 1)})`);
    throwsExactly(() => parseLiteral('{"a": 1}'), `not a number (${at(0, 1, 1)})`);
  });

  it('names bad constructor arguments and dtypes', () => {
    throwsExactly(() => parseLiteral("np.array([1], dtype='complex64')"), `unsupported dtype 'complex64' (${at(20, 1, 21)})`);
    throwsExactly(() => parseLiteral('np.array([1], dtype=np.object_)'), `unsupported dtype np.object_ (${at(20, 1, 21)})`);
    throwsExactly(() => parseLiteral('np.array([1], ndmin=2)'), `unsupported argument ndmin= (${at(14, 1, 15)})`);
    throwsExactly(() => parseLiteral('torch.Tensor([1], dtype=torch.int32)'),
      `torch.Tensor() takes no dtype; use torch.tensor(..., dtype=...) (${at(18, 1, 19)})`);
    throwsExactly(() => parseLiteral('torch.tensor([1], torch.int32)'), `unexpected argument to torch.tensor() (${at(18, 1, 19)})`);
    throwsExactly(() => parseLiteral('np.array([1, 2]'), `expected ',' or ')' in np.array(...), found the end of the text (${at(15, 1, 16)})`);
  });

  it('refuses conversions numpy would turn into garbage', () => {
    throwsExactly(() => parseLiteral('np.array([1, 300], dtype=np.int8)'), `value 300 at [1] does not fit in int8 (${at(25, 1, 26)})`);
    throwsExactly(() => parseLiteral('np.array([[1, nan]], dtype=int)'), `cannot convert nan at [0, 1] to int64 (${at(27, 1, 28)})`);
    throwsExactly(() => parseLiteral('np.array([-1], dtype=np.uint8)'), `value -1 at [0] does not fit in uint8 (${at(21, 1, 22)})`);
    throwsExactly(() => parseLiteral('[1, 99999999999999999999]'), `value 99999999999999999999 at [1] does not fit in int64 (${at(4, 1, 5)})`);
    // a float anywhere makes it float64, where the big integer is fine
    check('[1.5, 99999999999999999999]', { shape: [2], dtype: 'float64', values: [1.5, 1e20] });
  });

  it('refuses nesting deeper than 32', () => {
    const ok = '['.repeat(32) + '1' + ']'.repeat(32);
    assert.equal(parseLiteral(ok).tensor.shape.length, 32);
    const deep = '['.repeat(33) + '1' + ']'.repeat(33);
    throwsExactly(() => parseLiteral(deep), `nesting deeper than 32 levels (${at(32, 1, 33)})`);
  });

  it('refuses more than maxElements and maxChars before building anything', () => {
    throwsExactly(() => parseLiteral('[1, 2, 3, 4]', { maxElements: 3 }), `literal has more than 3 elements (${at(10, 1, 11)})`);
    throwsExactly(() => parseLiteral('[1, 2, 3, 4]', { maxChars: 11 }), 'literal has 12 characters, more than the 11 allowed');
    assert.equal(parseLiteral('[1, 2, 3]', { maxElements: 3 }).tensor.data.length, 3);
    assert.equal(DEFAULT_MAX_CHARS, 100 * 1024 * 1024);
  });

  it('refuses hostile input quickly and in linear time', function () {
    this.timeout(20000);
    const brackets = '['.repeat(5e6);
    assert.ok(ms(() => assert.throws(() => parseLiteral(brackets), /nesting deeper than 32 levels/)) < 500);
    const tooLong = ' '.repeat(DEFAULT_MAX_CHARS + 1);
    assert.ok(ms(() => assert.throws(() => parseLiteral(tooLong), /more than the 104857600 allowed/)) < 50);
    // ~100 MB of elements: refused at the 10,000,001st, after one pass over 20 MB of it
    const many = '[' + '1,'.repeat(5e7) + ']';
    assert.ok(many.length < DEFAULT_MAX_CHARS);
    const t = ms(() => assert.throws(() => parseLiteral(many), /literal has more than 10000000 elements \(offset 20000001 /));
    assert.ok(t < 10000, `took ${t} ms`);
    // pathological shapes that defeat backtracking regexes: long runs of signs, digits, dots and quotes
    for (const s of ['[' + '-'.repeat(1e6) + ']', '[' + '1'.repeat(1e6) + 'x]', '[' + '.'.repeat(1e6) + ']',
      "[float('" + 'n'.repeat(1e6) + "')]", '[' + '"'.repeat(1e6) + ']', '[1' + ' '.repeat(1e6) + ',]']) {
      const ts = ms(() => { try { parseLiteral(s); } catch (e) { assert.ok(e instanceof NormScopeError); } });
      assert.ok(ts < 1000, `${s.slice(0, 12)}... took ${ts} ms`);
    }
  });
});

describe('findLiteralAt', () => {
  /** Finds at the position of '|' (removed from the text). */
  function find(marked: string, opts = {}): string | undefined {
    const offset = marked.indexOf('|');
    const text = marked.slice(0, offset) + marked.slice(offset + 1);
    const r = findLiteralAt(text, offset, opts);
    if (r === undefined) return undefined;
    assert.equal(text.slice(r.start, r.end), r.text);
    return r.text;
  }

  it('finds the outermost list around the offset, from inside and on a bracket', () => {
    assert.equal(find('x = [[1, 2], [3, |4]]'), '[[1, 2], [3, 4]]');
    assert.equal(find('x = |[[1, 2], [3, 4]]'), '[[1, 2], [3, 4]]');
    assert.equal(find('x = [[1, 2], |[3, 4]]'), '[[1, 2], [3, 4]]');
    assert.equal(find('x = [[1, 2], [3, 4]|]'), '[[1, 2], [3, 4]]');
    assert.equal(find('x = [[1, 2] , [3, 4]| ]'), '[[1, 2] , [3, 4] ]');
    assert.equal(find('f([[1, 2], [|3, 4]], axis=0)'), '[[1, 2], [3, 4]]');
    assert.equal(find('d = {"w": [1, |2, 3]}'), '[1, 2, 3]');
  });

  it('extends to the constructor call, with its dtype', () => {
    const text = 'w = np.array([[1, 2],\n             [3, |4]], dtype=np.float32)\nb = 0';
    assert.equal(find(text), 'np.array([[1, 2],\n             [3, 4]], dtype=np.float32)');
    assert.equal(find('w = np.array([[1, 2]], dtype=np.fl|oat32)'), 'np.array([[1, 2]], dtype=np.float32)');
    assert.equal(find('w = np.arr|ay([1, 2])'), 'np.array([1, 2])');
    assert.equal(find('w = np.array([1, 2]|)'), 'np.array([1, 2])');
    assert.equal(find('t = torch.tensor((1, |2))'), 'torch.tensor((1, 2))');
    assert.equal(find('xs = [np.array([1, |2]), np.array([3, 4])]'), 'np.array([1, 2])');
    const r = findLiteralAt('w = torch.tensor([[1.5, 2]], dtype=torch.float16)', 20);
    assert.equal(r?.literal?.dtype, 'float16');
    assert.deepEqual(r?.literal?.tensor.shape, [1, 2]);
  });

  it('returns the literal assigned on the line when the offset is on the variable name', () => {
    const text = 'import numpy as np\n|weights = np.array([[1.0, 2.0],\n                    [3.0, 4.0]])\nprint(weights)';
    assert.equal(find(text), 'np.array([[1.0, 2.0],\n                    [3.0, 4.0]])');
    assert.equal(find('wei|ghts = [[1, 2], [3, 4]]'), '[[1, 2], [3, 4]]');
    assert.equal(find('|w: np.ndarray = np.array([1.5, 2])'), 'np.array([1.5, 2])');
    assert.equal(find('const |a = [[1, 2]];', { language: 'typescript' }), '[[1, 2]]');
    assert.equal(find('|x = 3.5'), undefined);
    assert.equal(find('|x = range(10)'), undefined);
    assert.equal(find('|x == [1, 2]'), undefined);
  });

  it('finds reprs in notebook output', () => {
    const numpyOut = 'array([[1., 2.],\n       [3., |4.]], dtype=float32)';
    assert.equal(find(numpyOut), numpyOut.replace('|', ''));
    const torchOut = 'Parameter containing:\ntensor([[1.0000, |2.0000]], device=\'cuda:0\', requires_grad=True)';
    assert.equal(find(torchOut), "tensor([[1.0000, 2.0000]], device='cuda:0', requires_grad=True)");
    assert.equal(find('[[0. 1.]\n [2. |3.]]'), '[[0. 1.]\n [2. 3.]]');
    const r = findLiteralAt('array([0, 1, 2, ..., 7, 8, 9])', 10);
    assert.equal(r?.literal, undefined);
    assert.ok(r?.error?.message.startsWith(SUMMARIZED_MESSAGE));
  });

  it('returns undefined for index expressions, comprehensions, calls, strings, dicts and bare numbers', () => {
    assert.equal(find('y = x[0][|1]'), undefined);
    assert.equal(find('y = a[|i]'), undefined);
    assert.equal(find('y = m[1, |2]'), undefined);
    assert.equal(find('y = f(x)[|0]'), undefined);
    assert.equal(find('y = [x for |x in y]'), undefined);
    assert.equal(find('y = [x * 2 for x in [1, 2, |3]]'), '[1, 2, 3]');
    assert.equal(find('y = list(range(|10))'), undefined);
    assert.equal(find('y = [1, "|a"]'), undefined);
    assert.equal(find('y = [|1, "a"]'), undefined);
    assert.equal(find('y = {"a": |1}'), undefined);
    assert.equal(find('y = 3.|5'), undefined);
    assert.equal(find('shape = (2, |3)'), undefined);
    assert.equal(find('y = [|]'), undefined);
    assert.equal(find('y = [[1, 2], [|3]]'), undefined);
    assert.equal(find('print(|"[1, 2]")'), undefined);
  });

  it('keeps only plausible tensors in noisy languages', () => {
    const ts = { language: 'typescript' };
    assert.equal(find('const a = [1, 2, |3];', ts), undefined);
    assert.equal(find('const a = [1, 2, |3];', { language: 'python' }), '[1, 2, 3]');
    assert.equal(find('const a = [1, 2, |3, 4];', ts), '[1, 2, 3, 4]');
    assert.equal(find('const a = [[1], [|2]];', ts), '[[1], [2]]');
    assert.equal(find('{"xs": [1, |2]}', { language: 'json' }), undefined);
    assert.equal(find('{"xs": [1, |2]}', { language: 'json', minElements: 2 }), '[1, 2]');
    assert.equal(find('const a = [1, /* ] */ 2, |3, 4];', ts), '[1, /* ] */ 2, 3, 4]');
    assert.equal(isNoisyLanguage('json'), true);
    assert.equal(isNoisyLanguage('python'), false);
    const lit = parseLiteral('[1, 2, 3]');
    assert.equal(isPlausibleTensor(lit), false);
    assert.equal(isPlausibleTensor(lit, 3), true);
    assert.equal(isPlausibleTensor(parseLiteral('np.array([1])')), true);
    assert.equal(isPlausibleTensor(parseLiteral('[[1]]')), true);
  });

  it('ignores brackets inside strings and comments', () => {
    assert.equal(find('x = [1, 2, |3]  # see a[0]'), '[1, 2, 3]');
    assert.equal(find('s = "[" ; x = [[1, |2]] ; t = "]"'), '[[1, 2]]');
    assert.equal(find('x = [1, 2,  # ] tricky\n     |3]'), '[1, 2,  # ] tricky\n     3]');
  });

  it('is bounded by maxScan and fast on hostile input', function () {
    this.timeout(10000);
    const brackets = '['.repeat(5e6);
    assert.ok(ms(() => assert.equal(findLiteralAt(brackets, 2.5e6), undefined)) < 500);
    // a list longer than maxScan: its end is out of reach, so no answer rather than a long scan
    const long = 'x = [' + '1, '.repeat(5e5) + '2]';
    let r: ReturnType<typeof findLiteralAt>;
    const t = ms(() => { r = findLiteralAt(long, 10); });
    assert.equal(r, undefined);
    assert.ok(t < 1000, `took ${t} ms`);
    assert.equal(findLiteralAt(long, 10, { maxScan: 2e6 })?.literal?.tensor.shape[0], 5e5 + 1);
    // a small literal far into a big file is still found
    const padded = '# ' + 'y'.repeat(3e6) + '\nx = [[1, 2], [3, 4]]\n';
    assert.equal(findLiteralAt(padded, padded.indexOf('3,'))?.text, '[[1, 2], [3, 4]]');
    const strings = 'x = [' + '"a", '.repeat(1e6) + '1]';
    assert.ok(ms(() => findLiteralAt(strings, strings.length - 3)) < 1000);
  });

  it('returns undefined for offsets outside the text', () => {
    assert.equal(findLiteralAt('[1, 2]', -1), undefined);
    assert.equal(findLiteralAt('[1, 2]', 6), undefined);
    assert.equal(findLiteralAt('', 0), undefined);
  });
});
