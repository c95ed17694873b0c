import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat, loadTensor, splitSelector } from '../../src/engine/formats/input';
import { toFloat64 } from '../../src/engine/tensor';

const FORMATS = join(__dirname, '../../../test/fixtures/formats');
const fixture = (name: string) => new Uint8Array(readFileSync(join(FORMATS, name)));
const ascii = (s: string) => new Uint8Array(Buffer.from(s));

describe('input: selectors', () => {
  const files = new Set(['w.json', 'dir/a#b.json', 'x#y']);
  const exists = (p: string) => files.has(p);

  it('splits at the first # whose prefix is an existing file', () => {
    assert.deepEqual(splitSelector('w.json#/layer1/weight', exists), { path: 'w.json', selector: '/layer1/weight' });
    assert.deepEqual(splitSelector('dir/a#b.json#/0', exists), { path: 'dir/a#b.json', selector: '/0' });
    assert.deepEqual(splitSelector('x#y#/a#b', exists), { path: 'x#y', selector: '/a#b' });
    assert.deepEqual(splitSelector('w.json#', exists), { path: 'w.json', selector: '' });
  });

  it('takes the whole spec as the path when no prefix exists', () => {
    assert.deepEqual(splitSelector('w.json', exists), { path: 'w.json' });
    assert.deepEqual(splitSelector('missing.json#/a', exists), { path: 'missing.json#/a' });
    assert.deepEqual(splitSelector('dir/a#b.json', exists), { path: 'dir/a#b.json' });
  });
});

describe('input: formats', () => {
  it('detects .npy by magic before extension, then by extension', () => {
    assert.equal(detectFormat('weights.bin', fixture('float32.npy')), 'npy');
    assert.equal(detectFormat('x.NPY', ascii('garbage')), 'npy');
    assert.equal(detectFormat('C:\\data\\x.Json', ascii('[1]')), 'json');
  });

  it('refuses unknown extensions, naming the supported formats', () => {
    assert.throws(() => detectFormat('dir.v2/weights.csv', ascii('1,2')), { message: 'unsupported format: weights.csv (supported: .npy, .npz, .safetensors, .json, .ipynb)' });
    assert.throws(() => detectFormat('data', ascii('[1]')), { message: 'unsupported format: data (supported: .npy, .npz, .safetensors, .json, .ipynb)' });
  });

  it('loads .npy and .json, passing the selector and options through', () => {
    assert.deepEqual(Array.from(toFloat64(loadTensor('a.npy', fixture('int8.npy')))), [-128, 127, 0, 1, 42, -26]);
    assert.equal(loadTensor('b.npy', fixture('bfloat16_v2.npy'), undefined, { bfloat16V2: true }).dtype, 'bfloat16');
    assert.deepEqual(Array.from(toFloat64(loadTensor('p.json', fixture('python.json'), '/layer1/bias'))), [0.5, -0.5]);
    assert.deepEqual(loadTensor('p.json', ascii('[[1, 2]]'), '').shape, [1, 2]);
  });

  it('refuses a selector on an .npy file and oversized JSON', () => {
    assert.throws(() => loadTensor('a.npy', fixture('int8.npy'), '/0'),
      { message: 'an .npy file holds a single array: remove "#/0" (selectors are JSON pointers for .json files)' });
    assert.throws(() => loadTensor('p.json', ascii('[1, 2, 3]'), undefined, { maxTextLength: 4 }),
      { message: 'JSON text too large: 9 bytes, more than the limit of 4 (the maxTextLength option raises it)' });
  });
});
