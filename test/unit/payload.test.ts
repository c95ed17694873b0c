// The notebook payload (application/vnd.normscope.tensor+json): every dtype, base64 and nested lists,
// 0-d and empty tensors, `norm` parameters, and the exact one-line errors for bad payloads.
import * as assert from 'node:assert/strict';
import { DTYPES, DType, allocStorage, bfloat16ToNumber, halfToNumber } from '../../src/engine/dtype';
import { NormScopeError } from '../../src/engine/errors';
import { TENSOR_MIME, decodeBase64, decodeNormParams, decodePayload, decodePayloadText, encodeBase64, encodePayload } from '../../src/engine/formats/payload';
import { Tensor, tensor, toFloat64 } from '../../src/engine/tensor';

const values = (t: Tensor) => Array.from(toFloat64(t));

function throwsExactly(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NormScopeError, `a NormScopeError, got ${String(e)}`);
    assert.equal(e.message, message);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

/** Little-endian bytes of `vals` stored as `dtype`, built by hand (DataView), independent of the decoder. */
function leBytes(dtype: DType, vals: number[]): Uint8Array {
  const sizes: Record<DType, number> = {
    bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, bfloat16: 2, int32: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8,
  };
  const dv = new DataView(new ArrayBuffer(vals.length * sizes[dtype]));
  vals.forEach((v, i) => {
    const o = i * sizes[dtype];
    switch (dtype) {
      case 'bool': case 'uint8': dv.setUint8(o, v); break;
      case 'int8': dv.setInt8(o, v); break;
      case 'int16': dv.setInt16(o, v, true); break;
      case 'uint16': dv.setUint16(o, v, true); break;
      case 'float16': case 'bfloat16': dv.setUint16(o, v, true); break; // v is the bit pattern
      case 'int32': dv.setInt32(o, v, true); break;
      case 'uint32': dv.setUint32(o, v, true); break;
      case 'float32': dv.setFloat32(o, v, true); break;
      case 'int64': dv.setBigInt64(o, BigInt(v), true); break;
      case 'uint64': dv.setBigUint64(o, BigInt(v), true); break;
      case 'float64': dv.setFloat64(o, v, true); break;
    }
  });
  return new Uint8Array(dv.buffer);
}

/** Values per dtype (bit patterns for the 16-bit floats) and what they decode to. */
const CASES: Record<DType, { stored: number[]; decoded: number[] }> = {
  bool: { stored: [1, 0, 1, 1, 0, 0], decoded: [1, 0, 1, 1, 0, 0] },
  int8: { stored: [-128, 127, 0, -1, 5, 6], decoded: [-128, 127, 0, -1, 5, 6] },
  uint8: { stored: [0, 255, 1, 2, 3, 4], decoded: [0, 255, 1, 2, 3, 4] },
  int16: { stored: [-32768, 32767, 0, -1, 5, 6], decoded: [-32768, 32767, 0, -1, 5, 6] },
  uint16: { stored: [0, 65535, 1, 2, 3, 4], decoded: [0, 65535, 1, 2, 3, 4] },
  int32: { stored: [-(2 ** 31), 2 ** 31 - 1, 0, -1, 5, 6], decoded: [-(2 ** 31), 2 ** 31 - 1, 0, -1, 5, 6] },
  uint32: { stored: [0, 2 ** 32 - 1, 1, 2, 3, 4], decoded: [0, 2 ** 32 - 1, 1, 2, 3, 4] },
  int64: { stored: [-(2 ** 53), 2 ** 53, 0, -1, 5, 6], decoded: [-(2 ** 53), 2 ** 53, 0, -1, 5, 6] },
  uint64: { stored: [0, 2 ** 53, 1, 2, 3, 4], decoded: [0, 2 ** 53, 1, 2, 3, 4] },
  // 1, -2, 65504 (max), 2^-24 (smallest subnormal), inf, nan
  float16: { stored: [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00], decoded: [1, -2, 65504, 2 ** -24, Infinity, NaN] },
  // 1, -2, 3.3895313892515355e38 (max), 2^-133 (subnormal), -inf, nan
  bfloat16: { stored: [0x3f80, 0xc000, 0x7f7f, 0x0001, 0xff80, 0x7fc0], decoded: [1, -2, 3.3895313892515355e38, 2 ** -133, -Infinity, NaN] },
  float32: { stored: [0.1, -1e-45, 3.4028234663852886e38, -0, Infinity, NaN], decoded: [Math.fround(0.1), -1.401298464324817e-45, 3.4028234663852886e38, -0, Infinity, NaN] },
  float64: { stored: [0.1, 5e-324, Number.MAX_VALUE, -0, -Infinity, NaN], decoded: [0.1, 5e-324, Number.MAX_VALUE, -0, -Infinity, NaN] },
};

describe('payload: the notebook MIME type', () => {
  it('is application/vnd.normscope.tensor+json', () => {
    assert.equal(TENSOR_MIME, 'application/vnd.normscope.tensor+json');
  });

  describe('base64 data', () => {
    for (const dtype of DTYPES) {
      it(`decodes ${dtype} little-endian C-order bytes`, () => {
        const c = CASES[dtype];
        const t = decodePayload({ shape: [2, 3], dtype, data: Buffer.from(leBytes(dtype, c.stored)).toString('base64') }).tensor;
        assert.equal(t.dtype, dtype);
        assert.deepEqual(t.shape, [2, 3]);
        assert.deepEqual(values(t), c.decoded);
        if (dtype === 'float16') assert.deepEqual(Array.from(t.data as Uint16Array), c.stored);
        if (dtype === 'bfloat16') assert.deepEqual(Array.from(t.data as Uint16Array, bfloat16ToNumber), c.decoded);
      });
    }

    it('round-trips every dtype through encodePayload', () => {
      for (const dtype of DTYPES) {
        const data = allocStorage(dtype, 6);
        const bytes = leBytes(dtype, CASES[dtype].stored);
        new Uint8Array(data.buffer).set(bytes);
        const p = encodePayload(tensor(dtype, [3, 2], data), { name: 'x' });
        assert.equal(p.data, Buffer.from(bytes).toString('base64'), dtype);
        const back = decodePayload(JSON.parse(JSON.stringify(p)));
        assert.equal(back.name, 'x');
        assert.deepEqual(values(back.tensor), CASES[dtype].decoded, dtype);
      }
    });

    it('decodes and encodes base64 as Node does, padded or not, with line breaks', () => {
      for (let n = 0; n < 40; n++) {
        const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + 13) & 255);
        const b64 = Buffer.from(bytes).toString('base64');
        assert.equal(encodeBase64(bytes), b64);
        assert.deepEqual(Array.from(decodeBase64(b64)), Array.from(bytes));
        assert.deepEqual(Array.from(decodeBase64(b64.replace(/=+$/, ''))), Array.from(bytes), 'unpadded');
        assert.deepEqual(Array.from(decodeBase64(b64.replace(/(.{8})/g, '$1\n'))), Array.from(bytes), 'line breaks');
      }
    });

    it('handles 0-d and empty tensors', () => {
      const scalar = decodePayload({ shape: [], dtype: 'float64', data: Buffer.from(leBytes('float64', [2.5])).toString('base64') }).tensor;
      assert.deepEqual(scalar.shape, []);
      assert.deepEqual(values(scalar), [2.5]);
      const empty = decodePayload({ shape: [0, 3], dtype: 'float32', data: '' }).tensor;
      assert.deepEqual(empty.shape, [0, 3]);
      assert.equal(empty.data.length, 0);
    });

    it('refuses a wrong byte count, bad base64 and an unknown dtype with one exact line', () => {
      throwsExactly(() => decodePayload({ shape: [2, 3], dtype: 'float32', data: 'AACAPwAAAEA=' }),
        'payload.data: 8 bytes of base64 data, but shape [2, 3] of float32 needs 24 (6 elements x 4 bytes)');
      throwsExactly(() => decodePayload({ shape: [], dtype: 'int8', data: 'AAA=' }),
        'payload.data: 2 bytes of base64 data, but shape [] of int8 needs 1 (1 element x 1 byte)');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'float32', data: 'AACAP!AAAEA=' }),
        'payload.data: invalid base64: unexpected character "!" at index 5');
      throwsExactly(() => decodePayload({ shape: [1], dtype: 'uint8', data: 'QQ==QQ==' }),
        "payload.data: invalid base64: unexpected data after '=' padding at index 4");
      throwsExactly(() => decodePayload({ shape: [1], dtype: 'uint8', data: 'QUJDR' }),
        'payload.data: invalid base64: 5 base64 digits is not a whole number of bytes');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'complex64', data: '' }),
        'payload.dtype: unknown dtype "complex64" (expected one of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, bfloat16, float32, float64)');
    });
  });

  describe('nested-list data', () => {
    it('reads numbers and the strings Jupyter turns NaN and infinities into', () => {
      const t = decodePayload({ shape: [2, 3], dtype: 'float32', data: [[1, 'nan', 3], ['inf', '-inf', 0.1]] }).tensor;
      assert.equal(t.dtype, 'float32');
      assert.deepEqual(values(t), [1, NaN, 3, Infinity, -Infinity, Math.fround(0.1)]);
      assert.deepEqual(values(decodePayload({ shape: [3], dtype: 'float64', data: ['NaN', 'Infinity', '-Infinity'] }).tensor), [NaN, Infinity, -Infinity]);
    });

    it('stores every dtype, rounding floats as numpy does and checking integers', () => {
      const data = [[0, 1, 2], [3, 4, 5]];
      for (const dtype of DTYPES) {
        const given = dtype === 'bool' ? [[true, false, true], [false, false, true]] : data;
        const t = decodePayload({ shape: [2, 3], dtype, data: given }).tensor;
        assert.equal(t.dtype, dtype);
        assert.deepEqual(values(t), dtype === 'bool' ? [1, 0, 1, 0, 0, 1] : [0, 1, 2, 3, 4, 5], dtype);
      }
      const h = decodePayload({ shape: [2], dtype: 'float16', data: [0.1, 70000] }).tensor;
      assert.deepEqual(Array.from(h.data as Uint16Array, halfToNumber), [0.0999755859375, Infinity]);
      const b = decodePayload({ shape: [1], dtype: 'bfloat16', data: [1.00390625] }).tensor; // a tie: rounds to even
      assert.deepEqual(values(b), [1]);
    });

    it('reads a bare number as a 0-d tensor and [] with a 0 in the shape', () => {
      assert.deepEqual(values(decodePayload({ shape: [], dtype: 'float32', data: 1.5 }).tensor), [1.5]);
      assert.deepEqual(values(decodePayload({ shape: [], dtype: 'float64', data: '-inf' }).tensor), [-Infinity]);
      assert.deepEqual(decodePayload({ shape: [0], dtype: 'float32', data: [] }).tensor.shape, [0]);
      assert.deepEqual(decodePayload({ shape: [2, 0], dtype: 'float32', data: [[], []] }).tensor.shape, [2, 0]);
    });

    it('refuses lists that do not nest as the shape says, and bad values, naming the element', () => {
      throwsExactly(() => decodePayload({ shape: [2, 3], dtype: 'float32', data: [[1, 2, 3], [4, 5]] }),
        'payload.data[1]: a list of 2, but dimension 1 of shape [2, 3] is 3');
      throwsExactly(() => decodePayload({ shape: [2, 2], dtype: 'float32', data: [1, 2, 3, 4] }),
        'payload.data: a list of 4, but dimension 0 of shape [2, 2] is 2');
      throwsExactly(() => decodePayload({ shape: [2, 1], dtype: 'float32', data: [[1], 2] }),
        'payload.data[1]: expected a list of 1 (shape [2, 1] has 2 dimensions), got 2');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'float32', data: [[1], [2]] }),
        'payload.data[0]: expected a number, got a list (the nesting is deeper than the shape)');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'float32', data: [1, 'x'] }),
        'payload.data[1]: expected a number or "nan", "inf", "-inf", got "x"');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'float32', data: [1, true] }),
        'payload.data[1]: expected a number, got true (true/false only for dtype bool)');
      throwsExactly(() => decodePayload({ shape: [2, 2], dtype: 'int8', data: [[1, 2], [3, 300]] }),
        'payload.data[1][1]: 300 is out of range for int8');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'int32', data: [1, 2.5] }),
        'payload.data[1]: dtype int32 needs integers, got 2.5');
      throwsExactly(() => decodePayload({ shape: [1], dtype: 'uint8', data: ['nan'] }),
        'payload.data[0]: dtype uint8 needs integers, got NaN');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'bool', data: [true, 2] }),
        'payload.data[1]: dtype bool needs true/false (or 0/1), got 2');
      throwsExactly(() => decodePayload({ shape: [], dtype: 'float32', data: [1] }),
        'payload.data: expected a single number for shape [], got a list');
    });
  });

  describe('the payload object', () => {
    it('refuses what is not a payload, with one exact line', () => {
      throwsExactly(() => decodePayload([1, 2]), 'payload: expected an object {shape, dtype, data}, got [1,2]');
      throwsExactly(() => decodePayload({ shape: [2], data: [1, 2] }),
        'payload.dtype: missing (one of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, bfloat16, float32, float64)');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'float32' }), 'payload.data: missing (base64 of little-endian C-order bytes, or a nested list)');
      throwsExactly(() => decodePayload({ shape: '2', dtype: 'float32', data: [] }), 'payload.shape: expected an array of non-negative integers, got "2"');
      throwsExactly(() => decodePayload({ shape: [2, -1], dtype: 'float32', data: [] }), 'payload.shape[1]: expected a non-negative integer, got -1');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'float32', data: [1, 2], nmae: 'x' }),
        'payload: unknown field "nmae" (expected shape, dtype, data, name, norm)');
      throwsExactly(() => decodePayload({ shape: [2], dtype: 'float32', data: [1, 2], name: 3 }), 'payload.name: expected a string, got 3');
      const bad = '{"shape": [1], "dtype": "float32", "data": [NaN]}';
      let jsonError = '';
      try { JSON.parse(bad); } catch (e) { jsonError = (e as Error).message; }
      throwsExactly(() => decodePayloadText(bad), `payload: not valid JSON (${jsonError})`);
    });

    it('carries a name and norm parameters in the engine vocabulary', () => {
      const p = decodePayload({
        shape: [1, 4, 1, 1], dtype: 'float32', data: [[[[1]], [[2]], [[3]], [[4]]]], name: 'act',
        norm: { op: 'group', groups: 2, eps: 1e-5, weight: [1, 1, 2, 2], bias: { shape: [4], dtype: 'float32', data: 'AAAAAAAAAAAAAIA/AACAPw==' } },
      });
      assert.equal(p.name, 'act');
      assert.equal(p.norm?.op, 'group');
      assert.equal(p.norm?.groups, 2);
      assert.equal(p.norm?.eps, 1e-5);
      assert.deepEqual(values(p.norm!.weight!), [1, 1, 2, 2]);
      assert.equal(p.norm!.weight!.dtype, 'float64');
      assert.equal(p.norm!.bias!.dtype, 'float32');
      assert.deepEqual(values(p.norm!.bias!), [0, 0, 1, 1]);
    });

    it('reads every parameter of the vocabulary', () => {
      const n = decodeNormParams({
        op: 'batch', eps: 0.001, momentum: null, num_batches_tracked: 3, mode: 'eval', unbatched: false, layout: 'nhwc',
        running_mean: [0, 1], running_var: { shape: [2], dtype: 'float64', data: [1, 'inf'] }, weight: 2, bias: [[0.5, 0.5]],
      });
      assert.equal(n.momentum, null);
      assert.equal(n.num_batches_tracked, 3);
      assert.equal(n.mode, 'eval');
      assert.equal(n.layout, 'nhwc');
      assert.deepEqual(values(n.running_var!), [1, Infinity]);
      assert.deepEqual(n.weight!.shape, []);
      assert.deepEqual(n.bias!.shape, [1, 2]);
      assert.deepEqual(decodeNormParams({ op: 'layer', normalized_shape: 4 }).normalized_shape, [4]);
      assert.deepEqual(decodeNormParams({ op: 'rms', normalized_shape: [3, 4], eps: null }).normalized_shape, [3, 4]);
    });

    it('refuses bad norm parameters with one exact line', () => {
      throwsExactly(() => decodeNormParams({ op: 'group', group: 2 }),
        'norm: unknown field "group" (expected op, groups, normalized_shape, eps, momentum, num_batches_tracked, mode, unbatched, layout, weight, bias, running_mean, running_var)');
      throwsExactly(() => decodeNormParams({ groups: 2 }), 'norm.op: missing (one of batch, layer, group, instance, rms)');
      throwsExactly(() => decodeNormParams({ op: 'bn' }), 'norm.op: expected one of batch, layer, group, instance, rms, got "bn"');
      throwsExactly(() => decodeNormParams({ op: 'group', groups: 0 }), 'norm.groups: expected an integer >= 1, got 0');
      throwsExactly(() => decodeNormParams({ op: 'layer', eps: -1 }), 'norm.eps: expected a finite number >= 0, got -1');
      throwsExactly(() => decodeNormParams({ op: 'batch', mode: 'training' }), 'norm.mode: expected one of train, eval, got "training"');
      throwsExactly(() => decodeNormParams({ op: 'batch', weight: 'w' }), 'norm.weight: expected a tensor: a nested list of numbers or {shape, dtype, data}, got "w"');
      throwsExactly(() => decodeNormParams({ op: 'batch', weight: { shape: [2], dtype: 'float32', data: [1] } }), 'norm.weight.data: a list of 1, but dimension 0 of shape [2] is 2');
      throwsExactly(() => decodePayload({ shape: [1], dtype: 'float32', data: [1], norm: { op: 'layer', unbatched: 'yes' } }),
        'payload.norm.unbatched: expected true or false, got "yes"');
    });
  });
});
