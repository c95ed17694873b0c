import * as assert from 'node:assert/strict';
import { tensor } from '../../src/engine/tensor';
import { normalize } from '../../src/engine/ops';
import { autoOp, defaultGroups, divisors, fieldOfError, initialParams, paramChoices, paramsForOp, toNormParams } from '../../src/extension/panelModel';

describe('panel model', () => {
  it('starts with BatchNorm for image-like tensors and LayerNorm otherwise', () => {
    assert.equal(autoOp([32, 64, 56, 56]), 'batch');
    assert.equal(autoOp([2, 3, 4, 5, 6]), 'batch');
    assert.equal(autoOp([2, 16, 64]), 'layer');
    assert.equal(autoOp([2, 3]), 'layer');
    assert.equal(autoOp([7]), 'layer');
  });

  it('offers only the divisors of C as group counts, starting at the largest up to 32 below C', () => {
    assert.deepEqual(divisors(12), [1, 2, 3, 4, 6, 12]);
    assert.deepEqual(divisors(1), [1]);
    assert.deepEqual(divisors(49), [1, 7, 49]);
    assert.equal(defaultGroups(64), 32);
    assert.equal(defaultGroups(8), 4);
    assert.equal(defaultGroups(7), 1);
    assert.equal(defaultGroups(1), 1);
    assert.deepEqual(paramChoices([4, 6, 5, 5]).groups, [1, 2, 3, 6]);
  });

  it('offers the trailing sub-shapes as normalized_shape', () => {
    assert.deepEqual(paramChoices([2, 16, 64]).normalized_shapes, [[64], [16, 64], [2, 16, 64]]);
    assert.deepEqual(paramChoices([2, 16, 64], { layout: 'nhwc' }).channels, 64);
  });

  it('keeps eps, affine and a still-valid group count when the op changes', () => {
    const shape = [2, 8, 4, 4];
    const p = paramsForOp('group', shape, { op: 'batch', eps: 1e-3, affine: { weight: 2, bias: 0 }, groups: 4 });
    assert.deepEqual(p, { op: 'group', eps: 1e-3, affine: { weight: 2, bias: 0 }, groups: 4 });
    assert.equal(paramsForOp('group', shape, { groups: 3 }).groups, 4, 'an invalid count falls back to the default');
    assert.deepEqual(paramsForOp('layer', shape, { normalized_shape: [4, 4] }).normalized_shape, [4, 4]);
    assert.deepEqual(paramsForOp('layer', shape, { normalized_shape: [5] }).normalized_shape, [4]);
    assert.deepEqual(paramsForOp('batch', shape, {}), { op: 'batch', mode: 'train' });
  });

  it('takes the op from the argument, then the setting, then the rank', () => {
    assert.equal(initialParams([2, 3, 4, 4], 'auto', undefined).op, 'batch');
    assert.equal(initialParams([2, 3, 4, 4], 'instance', undefined).op, 'instance');
    assert.deepEqual(initialParams([2, 3, 4, 4], 'instance', 1e-3, { op: 'rms' }), { op: 'rms', eps: 1e-3, normalized_shape: [4] });
  });

  it('turns affine into constant weight and bias of the op shape (RMSNorm: weight only)', () => {
    const x = tensor('float32', [2, 3, 2], new Float32Array(12).map((_, i) => i));
    const bn = toNormParams(x, { op: 'batch', affine: { weight: 2, bias: 1 } });
    assert.deepEqual(bn.weight?.shape, [3]);
    assert.deepEqual(Array.from(bn.bias!.data as Float32Array), [1, 1, 1]);
    const ln = toNormParams(x, { op: 'layer', normalized_shape: [3, 2], affine: { weight: 0.5, bias: 0 } });
    assert.deepEqual(ln.weight?.shape, [3, 2]);
    const rms = toNormParams(x, { op: 'rms', affine: { weight: 3, bias: 9 } });
    assert.equal(rms.bias, undefined);
    // y = 2 * normalized + 1: the engine accepts them and the affine shows in the output.
    const plain = normalize(x, toNormParams(x, { op: 'batch' })).output.data as Float32Array;
    const scaled = normalize(x, bn).output.data as Float32Array;
    for (let i = 0; i < plain.length; i++) assert.ok(Math.abs(scaled[i] - (2 * plain[i] + 1)) < 1e-6);
  });

  it('names the control an engine message is about', () => {
    assert.equal(fieldOfError('eps must be a finite number >= 0, got -1'), 'eps');
    assert.equal(fieldOfError('momentum must be a number in [0, 1] or null (cumulative average), got 2'), 'momentum');
    assert.equal(fieldOfError('Expected more than 1 value per channel when training, got input size [1, 3]'), 'mode');
    assert.equal(fieldOfError('expected 2D, 3D, 4D or 5D input (got 1D input)'), 'op');
  });
});
