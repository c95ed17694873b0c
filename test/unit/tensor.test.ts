import * as assert from 'node:assert/strict';
import { cStrides, permute, reshape, tensor, toFloat64, contiguous, isContiguous } from '../../src/engine/tensor';
import { halfToNumber, numberToHalf, numberToBfloat16, bfloat16ToNumber } from '../../src/engine/dtype';

describe('tensor model', () => {
  it('computes C-order strides', () => {
    assert.deepEqual(cStrides([2, 3, 4]), [12, 4, 1]);
    assert.deepEqual(cStrides([]), []);
  });

  it('permutes as a view and copies to C order on demand', () => {
    const t = tensor('float32', [2, 3], new Float32Array([0, 1, 2, 3, 4, 5]));
    const tt = permute(t, [1, 0]);
    assert.equal(tt.data, t.data);
    assert.equal(isContiguous(tt), false);
    assert.deepEqual(Array.from(toFloat64(tt)), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(Array.from(contiguous(tt).data as Float32Array), [0, 3, 1, 4, 2, 5]);
  });

  it('reshapes with an inferred dimension and refuses a wrong size', () => {
    const t = tensor('float64', [2, 6], new Float64Array(12));
    assert.deepEqual(reshape(t, [3, -1]).shape, [3, 4]);
    assert.throws(() => reshape(t, [5, -1]), /invalid for input of size 12/);
  });

  it('decodes and encodes float16 and bfloat16 exactly', () => {
    assert.equal(halfToNumber(0x3c00), 1);
    assert.equal(halfToNumber(0x0001), 2 ** -24);
    assert.equal(halfToNumber(0x7bff), 65504);
    assert.equal(numberToHalf(65504), 0x7bff);
    assert.equal(numberToHalf(1 + 2 ** -11), 0x3c00); // tie rounds to even
    assert.equal(numberToHalf(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(numberToHalf(2 ** -25), 0); // tie to even at the bottom of the subnormals
    assert.equal(bfloat16ToNumber(0x3f80), 1);
    assert.equal(numberToBfloat16(1.00390625), 0x3f80); // exactly halfway, even stays
    assert.equal(bfloat16ToNumber(numberToBfloat16(3.140625)), 3.140625);
  });
});
