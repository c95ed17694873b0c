import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJsonText, listJsonTensors, readJsonTensor } from '../../src/engine/formats/json';
import { Tensor, toFloat64 } from '../../src/engine/tensor';

const FORMATS = join(__dirname, '../../../test/fixtures/formats');
const MALFORMED = join(__dirname, '../../../test/fixtures/malformed');
const text = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');
const values = (t: Tensor) => Array.from(toFloat64(t));

describe('json: reading tensors', () => {
  it('reads what Python json.dump writes, NaN and infinities included', () => {
    const manifest = JSON.parse(text(FORMATS, 'manifest.json')) as {
      json: { file: string; pointer: string; dtype: string; shape: number[]; values: (number | string)[] }[];
    };
    for (const e of manifest.json) {
      const t = readJsonTensor(text(FORMATS, e.file), e.pointer);
      assert.equal(t.dtype, e.dtype);
      assert.deepEqual(t.shape, e.shape);
      const want = e.values.map((v) => (typeof v === 'number' ? v : Number(v.replace('inf', 'Infinity').replace('nan', 'NaN'))));
      assert.deepEqual(values(t), want);
    }
  });

  it('reads nested arrays as float64 and all-boolean arrays as bool', () => {
    const t = readJsonTensor('[[1, 2.5, -3e2], [4, -0, 1E-3]]');
    assert.equal(t.dtype, 'float64');
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual(values(t), [1, 2.5, -300, 4, -0, 0.001]);
    const b = readJsonTensor('[[true], [false]]');
    assert.equal(b.dtype, 'bool');
    assert.deepEqual(Array.from(b.data as Uint8Array), [1, 0]);
  });

  it('reads bare numbers and booleans as 0-d tensors, empty arrays with a 0 in the shape', () => {
    assert.deepEqual(readJsonTensor(' 3.5 ').shape, []);
    assert.deepEqual(values(readJsonTensor('-Infinity')), [-Infinity]);
    assert.equal(readJsonTensor('true').dtype, 'bool');
    assert.deepEqual(readJsonTensor('[]').shape, [0]);
    assert.deepEqual(readJsonTensor('[[], []]').shape, [2, 0]);
  });

  it('selects values with RFC 6901 pointers, escapes and array indices included', () => {
    const doc = '{"a/b": {"m~n": [[1, 2], [3, 4]]}, "list": [{"w": [5]}, {"w": [6, 7]}]}';
    assert.deepEqual(values(readJsonTensor(doc, '/a~1b/m~0n')), [1, 2, 3, 4]);
    assert.deepEqual(values(readJsonTensor(doc, '/a~1b/m~0n/1')), [3, 4]);
    assert.deepEqual(values(readJsonTensor(doc, '/list/1/w')), [6, 7]);
    assert.deepEqual(readJsonTensor(doc, '/list/1/w/0').shape, []);
  });

  it('reads {shape, data, dtype} objects, flat or nested, converting to the dtype', () => {
    const f32 = readJsonTensor('{"shape": [2, 2], "data": [1, 2, 3, 0.1], "dtype": "float32"}');
    assert.equal(f32.dtype, 'float32');
    assert.deepEqual(Array.from(f32.data as Float32Array), [1, 2, 3, Math.fround(0.1)]);
    const nested = readJsonTensor('{"data": [[1, 2, 3], [4, 5, 6]], "shape": [3, 2]}');
    assert.equal(nested.dtype, 'float64');
    assert.deepEqual(nested.shape, [3, 2]);
    assert.deepEqual(values(nested), [1, 2, 3, 4, 5, 6]);
    const i64 = readJsonTensor('{"shape": [2], "data": [-9007199254740992, 5], "dtype": "int64"}');
    assert.deepEqual(Array.from(i64.data as BigInt64Array), [-9007199254740992n, 5n]);
    assert.deepEqual(values(readJsonTensor('{"shape": [2], "data": [1.5, -2], "dtype": "float16"}')), [1.5, -2]);
    assert.deepEqual(values(readJsonTensor('{"shape": [], "data": 3.140625, "dtype": "bfloat16"}')), [3.140625]);
    assert.equal(readJsonTensor('{"shape": [2], "data": [true, false]}').dtype, 'bool');
    assert.deepEqual(values(readJsonTensor('{"shape": [2], "data": [true, false], "dtype": "uint8"}')), [1, 0]);
  });

  it('decodes UTF-8 bytes, skipping a byte-order mark', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('{"é": [1]}')]);
    assert.deepEqual(values(readJsonTensor(decodeJsonText(bytes), '/é')), [1]);
    assert.throws(() => decodeJsonText(new Uint8Array([0x5b, 0xff, 0x5d])), { message: 'JSON text is not valid UTF-8 (byte offset 1)' });
  });

  it('parses a 1e6-element array (the parser is linear)', () => {
    const big = `[${Array.from({ length: 1e6 }, (_, i) => i % 7 === 0 ? 'NaN' : String(i / 8)).join(', ')}]`;
    const t = readJsonTensor(big);
    assert.deepEqual(t.shape, [1e6]);
    assert.equal((t.data as Float64Array)[999998], 999998 / 8);
    assert.ok(Number.isNaN((t.data as Float64Array)[999999]));
  });
});

describe('json: listing tensors', () => {
  it('lists every tensor, outermost first, without descending into one', () => {
    assert.deepEqual(listJsonTensors(text(FORMATS, 'python.json')), [
      { pointer: '/layer1/weight', shape: [2, 2], dtype: 'float64' },
      { pointer: '/layer1/bias', shape: [2], dtype: 'float64' },
      { pointer: '/flags', shape: [2], dtype: 'bool' },
      { pointer: '/packed', shape: [2, 2], dtype: 'float32' },
    ]);
    assert.deepEqual(listJsonTensors('[[1, 2], [3, 4]]'), [{ pointer: '', shape: [2, 2], dtype: 'float64' }]);
    assert.deepEqual(listJsonTensors('[{"a~": [1]}, [[1], 2], "x"]').map((t) => t.pointer), ['/0/a~0', '/1/0']);
  });

  it('stops after 1000 tensors', () => {
    const doc = `[${Array.from({ length: 1500 }, () => '{"w": [1]}').join(',')}]`;
    assert.equal(listJsonTensors(doc).length, 1000);
  });
});

describe('json: malformed documents', () => {
  const cases: [string, string | undefined, string][] = [
    ['ragged.json', undefined, 'ragged array: expected length 3, found 2 (at /2, line 1, column 24)'],
    ['ragged_scalar.json', '/x', 'ragged array: expected an array of length 2, found a number (at /x/1, line 1, column 16)'],
    ['strings.json', undefined, 'expected a number, found a string (at /1/1, line 2, column 6)'],
    ['null.json', undefined, 'expected a number, found null (at /1, line 1, column 7)'],
    ['mixed_bool.json', undefined, 'expected a boolean, found a number (at /2, line 1, column 15)'],
    ['unterminated.json', undefined,
      "invalid JSON: expected ',' or ']' after an array element, found the end of the text (at /a/2, line 2, column 1)"],
    ['bad_token.json', undefined, 'invalid JSON: expected a value, found "nan" (at /2, line 1, column 8)'],
    ['trailing_comma.json', undefined, 'invalid JSON: expected a value, found "]" (at /2, line 1, column 7)'],
    ['pointer_target.json', '/layer1/wieght',
      'JSON pointer "/layer1/wieght" leads nowhere: no key "wieght" (keys: "weight", "bias") (at /layer1, line 1, column 12)'],
    ['pointer_target.json', '/layer1/bias/2',
      'JSON pointer "/layer1/bias/2" leads nowhere: index 2 is out of range for an array of length 2 (at /layer1/bias, line 1, column 49)'],
    ['pointer_target.json', undefined,
      'expected a tensor, found an object: select one inside it with a JSON pointer: /layer1/weight, /layer1/bias (at the root, line 1, column 1)'],
    ['shape_mismatch.json', undefined, '"data" has 5 elements but "shape" [2, 3] needs 6 (at /data, line 1, column 27)'],
    ['bad_dtype.json', undefined,
      'unknown dtype "float8": expected one of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, bfloat16, float32, float64 (at /dtype, line 1, column 41)'],
    ['int_range.json', undefined, 'value 300 is out of range for dtype "uint8" (at /data/1, line 1, column 28)'],
  ];
  for (const [name, pointer, message] of cases) {
    it(`refuses ${name}${pointer ? `#${pointer}` : ''}`, () => {
      assert.throws(() => readJsonTensor(text(MALFORMED, name), pointer), { name: 'NormScopeError', message });
    });
  }

  it('refuses nesting deeper than 64 levels, naming the path (100000 levels, no stack overflow)', () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    assert.throws(() => readJsonTensor(deep), { message: `JSON nested deeper than 64 levels (at ${'/0'.repeat(64)}, line 1, column 65)` });
    assert.throws(() => listJsonTensors('{"a":'.repeat(100000)), { message: `JSON nested deeper than 64 levels (at ${'/a'.repeat(64)}, line 1, column 321)` });
  });

  it('refuses bad pointers and non-tensor values', () => {
    assert.throws(() => readJsonTensor('[1]', 'a/b'), { message: 'invalid JSON pointer "a/b": it must be empty or start with "/" (try "/a/b")' });
    assert.throws(() => readJsonTensor('[1]', '/~2'), { message: 'invalid JSON pointer "/~2": "~" must be followed by 0 or 1' });
    assert.throws(() => readJsonTensor('{"a": 1}', '/a/b'), { message: 'JSON pointer "/a/b" leads nowhere: a number has no members (at /a, line 1, column 7)' });
    assert.throws(() => readJsonTensor('[1]', '/x'), { message: 'JSON pointer "/x" leads nowhere: "x" is not an array index (at the root, line 1, column 1)' });
    assert.throws(() => readJsonTensor('"abc"'), { message: 'expected a number or an array of numbers, found a string (at the root, line 1, column 1)' });
    assert.throws(() => readJsonTensor('{"a": "x"}'), { message: 'expected a tensor, found an object: it holds no tensors (at the root, line 1, column 1)' });
    assert.throws(() => readJsonTensor('[1, [2]]'), { message: 'ragged array: expected a number, found an array (at /1, line 1, column 5)' });
  });

  it('refuses bad {shape, data} objects and values that do not fit the dtype', () => {
    assert.throws(() => readJsonTensor('{"shape": [2, -1], "data": []}'),
      { message: 'invalid dimension -1 at axis 1 of shape [2, -1] (at /shape, line 1, column 11)' });
    assert.throws(() => readJsonTensor('{"shape": [65536, 65536], "data": []}'),
      { message: 'shape [65536, 65536] has 4294967296 elements, more than the 2147483647 supported (at /shape, line 1, column 11)' });
    assert.throws(() => readJsonTensor('{"shape": "2", "data": [1, 2]}'),
      { message: '"shape" must be an array of integers, found a string (at /shape, line 1, column 11)' });
    assert.throws(() => readJsonTensor('{"shape": [2, 2], "data": [[1, 2], [3, 4.5]], "dtype": "int32"}'),
      { message: 'dtype "int32" needs integers, found 4.5 (at /data/1/1, line 1, column 40)' });
    assert.throws(() => readJsonTensor('{"shape": [1], "data": [1], "dtype": "bool"}'),
      { message: 'dtype "bool" needs true or false, found 1 (at /data/0, line 1, column 25)' });
  });

  it('refuses syntax errors with the line and column', () => {
    const cases: [string, string][] = [
      ['', 'invalid JSON: expected a value, found the end of the text (at the root, line 1, column 1)'],
      ['[1 2]', `invalid JSON: expected ',' or ']' after an array element, found "2" (at /0, line 1, column 4)`],
      ['{"a" 1}', `invalid JSON: expected ':' after the key "a", found "1" (at the root, line 1, column 6)`],
      ['{1: 2}', 'invalid JSON: expected a string key, found "1" (at the root, line 1, column 2)'],
      ['{"a": 1 "b"}', `invalid JSON: expected ',' or '}' after an object member, found "\\"" (at the root, line 1, column 9)`],
      ['["a\\x"]', 'invalid JSON: invalid escape "\\\\x" in a string (at /0, line 1, column 4)'],
      ['["a\nb"]', 'invalid JSON: control character in a string (escape it) (at /0, line 1, column 4)'],
      ['[\n  "ab', 'invalid JSON: unterminated string (at /0, line 2, column 3)'],
      ['[-]', 'invalid JSON: invalid number: expected a digit, found "]" (at /0, line 1, column 3)'],
      ['[1.]', 'invalid JSON: invalid number: expected a digit, found "]" (at /0, line 1, column 4)'],
      ['[1] x', 'invalid JSON: unexpected "x" after the JSON value (at the root, line 1, column 5)'],
    ];
    for (const [doc, message] of cases) assert.throws(() => readJsonTensor(doc), { message }, doc);
  });

  it('refuses text over the size cap before parsing', () => {
    assert.throws(() => readJsonTensor('[1, 2, 3]', '', { maxTextLength: 8 }),
      { message: 'JSON text too large: 9 characters, more than the limit of 8 (the maxTextLength option raises it)' });
    assert.throws(() => decodeJsonText(new Uint8Array(9), { maxTextLength: 8 }),
      { message: 'JSON text too large: 9 bytes, more than the limit of 8 (the maxTextLength option raises it)' });
  });
});
