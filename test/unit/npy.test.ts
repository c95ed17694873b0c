import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPES, DType, allocStorage, numberToBfloat16, numberToHalf } from '../../src/engine/dtype';
import { parseNpyHeader, readNpy, writeNpy } from '../../src/engine/formats/npy';
import { Tensor, contiguous, isContiguous, permute, tensor, toFloat64 } from '../../src/engine/tensor';

const FORMATS = join(__dirname, '../../../test/fixtures/formats');
const MALFORMED = join(__dirname, '../../../test/fixtures/malformed');

interface Expected {
  file: string;
  dtype: DType;
  shape: number[];
  fortran?: boolean;
  version?: string;
  values: (number | string)[];
  exact?: string[];
  bfloat16V2?: boolean;
}
const manifest = JSON.parse(readFileSync(join(FORMATS, 'manifest.json'), 'utf8')) as {
  arrays: Expected[];
  numpy_save: Expected[];
};

const fixture = (dir: string, name: string) => new Uint8Array(readFileSync(join(dir, name)));
const decode = (v: number | string) => (typeof v === 'number' ? v : Number(v.replace('inf', 'Infinity').replace('nan', 'NaN')));

/** A tensor holding the manifest's values in its dtype. */
function build(e: Expected): Tensor {
  const data = allocStorage(e.dtype, e.values.length);
  e.values.forEach((v, i) => {
    const x = decode(v);
    if (e.exact) (data as BigInt64Array)[i] = BigInt(e.exact[i]);
    else if (e.dtype === 'float16') (data as Uint16Array)[i] = numberToHalf(x);
    else if (e.dtype === 'bfloat16') (data as Uint16Array)[i] = numberToBfloat16(x);
    else (data as Float64Array)[i] = x;
  });
  return tensor(e.dtype, e.shape, data);
}

function readMalformed(name: string): () => void {
  return () => readNpy(fixture(MALFORMED, name));
}

describe('npy: numpy-written fixtures', () => {
  for (const e of manifest.arrays) {
    it(`reads ${e.file}`, () => {
      const t = readNpy(fixture(FORMATS, e.file), { bfloat16V2: e.bfloat16V2 });
      assert.equal(t.dtype, e.dtype);
      assert.deepEqual(t.shape, e.shape);
      assert.deepEqual(Array.from(toFloat64(t)), e.values.map(decode));
      if (e.exact) assert.deepEqual(Array.from(contiguous(t).data as BigInt64Array, String), e.exact);
      if (e.fortran) assert.equal(isContiguous(t), false);
    });
  }

  it('reports every header field, the data offset and the version', () => {
    assert.deepEqual(parseNpyHeader(fixture(FORMATS, 'be_int16.npy')), {
      version: '1.0', descr: '>i2', fortranOrder: false, shape: [2, 3], dataOffset: 128, dtype: 'int16', byteOrder: '>',
    });
    assert.equal(parseNpyHeader(fixture(FORMATS, 'v2_float32.npy')).version, '2.0');
    assert.equal(parseNpyHeader(fixture(FORMATS, 'v3_float32.npy')).version, '3.0');
    assert.equal(parseNpyHeader(fixture(FORMATS, 'header_reordered.npy')).dataOffset, 68);
    assert.equal(parseNpyHeader(fixture(FORMATS, 'bool.npy')).byteOrder, '|');
  });

  it('parses the header from a prefix of the file (for chunked reading)', () => {
    const bytes = fixture(FORMATS, 'float64.npy');
    assert.deepEqual(parseNpyHeader(bytes.subarray(0, 128)).shape, [2, 3]);
  });

  it('views Fortran-order data with reversed strides, without copying', () => {
    const bytes = fixture(FORMATS, 'fortran_float64.npy');
    const t = readNpy(bytes);
    assert.deepEqual(t.strides, [1, 2, 6]);
    assert.equal(t.data.buffer, bytes.buffer);
  });

  it('copies data whose offset is not aligned to the item size', () => {
    for (const name of ['header_reordered.npy', 'unaligned_int32.npy']) {
      const bytes = fixture(FORMATS, name);
      assert.notEqual(readNpy(bytes).data.buffer, bytes.buffer);
    }
    const bytes = fixture(FORMATS, 'align16_int32.npy');
    assert.equal(readNpy(bytes).data.buffer, bytes.buffer);
  });

  it('converts big-endian data to native order in a copy', () => {
    const bytes = fixture(FORMATS, 'be_float32.npy');
    const t = readNpy(bytes);
    assert.notEqual(t.data.buffer, bytes.buffer);
    assert.equal(bytes[128], 0x3f); // the input is left as it was
  });

  it('refuses <V2 unless asked to read it as bfloat16', () => {
    assert.throws(() => readNpy(fixture(FORMATS, 'bfloat16_v2.npy')), {
      message: "'<V2' is raw 2-byte data, which is how ml_dtypes saves bfloat16: read it with the bfloat16V2 option to treat it as bfloat16 (byte offset 20)",
    });
  });
});

describe('npy: writeNpy', () => {
  for (const e of manifest.numpy_save) {
    it(`writes ${e.file} byte for byte as numpy.save does`, () => {
      assert.deepEqual(writeNpy(build(e)), fixture(FORMATS, e.file));
    });
  }

  it('round-trips every dtype', () => {
    for (const dtype of DTYPES) {
      const data = allocStorage(dtype, 6);
      for (let i = 0; i < 6; i++) {
        const v = dtype === 'bool' ? i % 2 : i + 1;
        if (typeof data[0] === 'bigint') (data as BigInt64Array)[i] = BigInt(v) << 60n; // beyond 2^53
        else (data as Uint8Array)[i] = v;
      }
      const t = tensor(dtype, [3, 2], data);
      const back = readNpy(writeNpy(t), { bfloat16V2: true });
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.shape, [3, 2]);
      assert.deepEqual(back.data, data, dtype);
    }
  });

  it('round-trips 0-d and empty tensors', () => {
    for (const shape of [[], [0], [2, 0, 3]]) {
      const t = tensor('float32', shape, new Float32Array(shape.length ? 0 : 1).fill(2.5));
      const back = readNpy(writeNpy(t));
      assert.deepEqual(back.shape, shape);
      assert.deepEqual(Array.from(toFloat64(back)), Array.from(toFloat64(t)));
    }
  });

  it('writes Fortran-order and strided tensors in C order', () => {
    const fortran = readNpy(fixture(FORMATS, 'fortran_float64.npy'));
    const written = writeNpy(fortran);
    assert.equal(parseNpyHeader(written).fortranOrder, false);
    const back = readNpy(written);
    assert.deepEqual(back.strides, [12, 4, 1]);
    assert.deepEqual(Array.from(back.data as Float64Array), Array.from(toFloat64(fortran)));

    const t = permute(tensor('int16', [2, 3], new Int16Array([1, 2, 3, 4, 5, 6])), [1, 0]);
    assert.deepEqual(Array.from(readNpy(writeNpy(t)).data as Int16Array), [1, 4, 2, 5, 3, 6]);
    const offset: Tensor = { dtype: 'uint8', shape: [2], strides: [1], offset: 1, data: new Uint8Array([7, 8, 9]) };
    assert.deepEqual(Array.from(readNpy(writeNpy(offset)).data as Uint8Array), [8, 9]);
  });

  it('switches to version 2.0 when the header does not fit 65535 bytes', () => {
    const t = tensor('uint8', new Array<number>(30000).fill(1), new Uint8Array(1));
    const bytes = writeNpy(t);
    assert.equal(bytes[6], 2);
    assert.equal((bytes.length - 1) % 64, 0);
  });
});

describe('npy: performance sanity', () => {
  it('reads a 25 MB aligned float32 file without copying', () => {
    const n = 25 * 2 ** 20 / 4;
    const src = new Float32Array(n);
    for (let i = 0; i < n; i += 4099) src[i] = i;
    const bytes = writeNpy(tensor('float32', [n / 64, 64], src));
    const t = readNpy(bytes);
    assert.equal(t.data.buffer, bytes.buffer);
    assert.equal((t.data as Float32Array)[4099 * 7], 4099 * 7);
  });
});

describe('npy: malformed files', () => {
  const cases: [string, string][] = [
    ['truncated.npy', 'truncated: header says 400 bytes of data, file has 100 after the header (byte offset 128)'],
    ['lying_shape.npy', 'truncated: header says 4000000000000000 bytes of data, file has 896 after the header (byte offset 128)'],
    ['bad_magic.npy', 'not an .npy file: expected the magic \\x93NUMPY (93 4e 55 4d 50 59), found 50 4b 03 04 00 00 (byte offset 0)'],
    ['bad_version.npy', 'unsupported .npy version 4.0 (supported: 1.0, 2.0, 3.0) (byte offset 6)'],
    ['header_beyond_file.npy', 'truncated: header length says 5000 bytes, file has 118 after the preamble (byte offset 10)'],
    ['header_too_long.npy', "npy header length 20084 exceeds numpy's limit of 10000 bytes (byte offset 8)"],
    ['header_not_dict.npy', `npy header: expected a dict starting with '{', found "[" (byte offset 10)`],
    ['header_syntax.npy', `npy header: expected ',' or ')', found "}" (byte offset 65)`],
    ['missing_key.npy', "npy header: missing the key 'shape' (byte offset 10)"],
    ['shape_list.npy', "npy header: 'shape' must be a tuple of non-negative integers, found [2] (byte offset 60)"],
    ['subarray.npy', "subarray dtype ('<f4', (2,)) is not supported (byte offset 20)"],
    ['object.npy', "object arrays ('|O') are not supported: reading them needs pickle, which can run arbitrary code (byte offset 20)"],
    ['structured.npy', "structured arrays (fields 'x', 'y') are not supported: save each field as its own array (byte offset 20)"],
    ['unicode.npy', "string arrays ('<U2') are not supported: only numbers and booleans (byte offset 20)"],
    ['bytes.npy', "byte-string arrays ('|S2') are not supported: only numbers and booleans (byte offset 20)"],
    ['datetime.npy', "datetime arrays ('<M8[D]') are not supported: only numbers and booleans (byte offset 20)"],
    ['timedelta.npy', "timedelta arrays ('<m8[s]') are not supported: only numbers and booleans (byte offset 20)"],
    ['float128.npy', "float128 ('<f16', long double) is not supported: convert to float64 first (byte offset 20)"],
    ['complex.npy', "complex arrays ('<c8') are not supported: save the real and imaginary parts as separate arrays (byte offset 20)"],
  ];
  for (const [name, message] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(readMalformed(name), { name: 'NormScopeError', message });
    });
  }

  it('decodes version 3.0 headers as UTF-8 and reports byte offsets, not character offsets', () => {
    const v3 = (header: number[]) => new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 3, 0, header.length, 0, 0, 0, ...header]);
    const header = Array.from(Buffer.from("{'descr': '<f4', '\u00e9' 1}\n"));
    assert.throws(() => readNpy(v3(header)), { message: `npy header: expected ':' after a dict key, found "1" (byte offset 34)` });
    assert.throws(() => readNpy(v3([0x7b, 0xff, 0x7d])), { message: 'npy header is not valid UTF-8 (byte offset 12)' });
  });

  it('refuses files that end inside the preamble', () => {
    assert.throws(() => readNpy(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x76])), {
      message: 'truncated: the file ends inside the .npy preamble after 9 bytes (byte offset 9)',
    });
    assert.throws(() => readNpy(new Uint8Array(0)), {
      message: 'not an .npy file: expected the magic \\x93NUMPY (93 4e 55 4d 50 59), found an empty file (byte offset 0)',
    });
  });
});
