import * as assert from 'node:assert/strict';
import { tensor } from '../../src/engine/tensor';
import { normalize } from '../../src/engine/ops';
import {
  autoOp, defaultGroups, divisors, fieldOfError, initialParams, paramChoices, paramCount, paramsForOp, paramSourceView, suggestMembers, toNormParams,
} from '../../src/extension/panelModel';

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

  it('offers unbatched input where PyTorch takes it: InstanceNorm on (C, L), (C, H, W), (C, D, H, W)', () => {
    assert.equal(paramChoices([6, 10]).unbatched_channels, 6);
    assert.equal(paramChoices([3, 8, 8]).unbatched_channels, 3);
    assert.equal(paramChoices([3, 4, 8, 8]).unbatched_channels, 3);
    assert.equal(paramChoices([2, 3, 4, 8, 8]).unbatched_channels, undefined);
    assert.equal(paramChoices([7]).unbatched_channels, undefined);
  });

  it('keeps the parameter files the new op uses when the op changes', () => {
    const rm = { uri: 'file:///w/m.safetensors', selector: 'bn1.running_mean' };
    const w = { uri: 'file:///w/m.safetensors', selector: 'bn1.weight' };
    const shape = [2, 4, 3, 3];
    assert.deepEqual(paramsForOp('group', shape, { op: 'batch', sources: { running_mean: rm, weight: w } }).sources, { weight: w });
    assert.equal(paramsForOp('instance', shape, { op: 'batch', sources: { running_mean: rm } }).sources, undefined);
    assert.deepEqual(paramsForOp('batch', shape, { op: 'batch', sources: { running_mean: rm } }).sources, { running_mean: rm });
    assert.equal(paramsForOp('rms', shape, { op: 'layer', sources: { bias: w } }).sources, undefined, 'RMSNorm has no bias');
  });

  it('puts tensors from files in place of the scalar affine and of the running statistics\' defaults', () => {
    const x = tensor('float32', [2, 3, 2], new Float32Array(12).map((_, i) => i));
    const w = tensor('float32', [3], new Float32Array([1, 2, 3]));
    const rv = tensor('float64', [1, 3, 1], new Float64Array([4, 5, 6]));
    const p = toNormParams(x, { op: 'batch', mode: 'eval', affine: { weight: 9, bias: 0.5 }, sources: { weight: { uri: 'file:///w.npy' } } }, { weight: w, running_var: rv });
    assert.equal(p.weight, w);
    assert.deepEqual(Array.from(p.bias!.data as Float32Array), [0.5, 0.5, 0.5], 'the scalar β stays where no file replaces it');
    assert.equal(p.running_var, rv);
    assert.equal((p as { sources?: unknown }).sources, undefined, 'references never reach the engine');
    // eval: y = (x - 0) / sqrt(var + eps) * w + 0.5 per channel
    const y = normalize(x, p).output.data as Float32Array;
    assert.ok(Math.abs(y[2] - (2 / Math.sqrt(5 + 1e-5) * 2 + 0.5)) < 1e-6, String(y[2]));
  });

  it('offers a file\'s members for a parameter by name, then by size', () => {
    const t = (selector: string, shape: number[]) => ({ selector, shape });
    const members = [t('conv1.weight', [4, 4, 3, 3]), t('bn1.weight', [4]), t('bn1.running_var', [4]), t('bn1.running_mean', [4]), t('head.bias', [8]), t('bn2.running_mean', [8])];
    assert.deepEqual(suggestMembers('running_mean', members, 4).map((m) => m.selector),
      ['bn1.running_mean', 'bn2.running_mean', 'bn1.weight', 'bn1.running_var', 'conv1.weight', 'head.bias']);
    assert.deepEqual(suggestMembers('weight', members, 4).map((m) => m.selector).slice(0, 2), ['bn1.weight', 'conv1.weight']);
    assert.deepEqual(suggestMembers('bias', [t('/layer/beta', [4]), t('/layer/gamma', [4])], 4).map((m) => m.selector), ['/layer/beta', '/layer/gamma']);
    assert.equal(paramCount([2, 4, 3, 3], { op: 'batch' }), 4);
    assert.equal(paramCount([2, 4, 3, 3], { op: 'layer', normalized_shape: [3, 3] }), 9);
    assert.equal(paramCount([6, 10], { op: 'instance', unbatched: true }), 6);
    const v = paramSourceView('m.npz#w', tensor('float32', [2], new Float32Array([1, 3])));
    assert.deepEqual(v, { label: 'm.npz#w', shape: [2], dtype: 'float32', count: 2, mean: 2, std: 1, min: 1, max: 3, nan: 0, inf: 0 });
  });

  it('names the control an engine message is about', () => {
    assert.equal(fieldOfError('weight has shape [32], expected [64] (one per channel, C=64)'), 'weight');
    assert.equal(fieldOfError('running_var has shape [3], expected [4] (one per channel, C=4)'), 'running_var');
    assert.equal(fieldOfError('running_mean: bn.npz#x: no member "x"'), 'running_mean');
    assert.equal(fieldOfError('bias has shape [5], expected [3, 2] (normalized_shape)'), 'bias');
    assert.equal(fieldOfError('expected 3D, 4D or 5D input (got 2D input); for unbatched (C, L) input set unbatched'), 'unbatched');
    assert.equal(fieldOfError('eps must be a finite number >= 0, got -1'), 'eps');
    assert.equal(fieldOfError('momentum must be a number in [0, 1] or null (cumulative average), got 2'), 'momentum');
    assert.equal(fieldOfError('Expected more than 1 value per channel when training, got input size [1, 3]'), 'mode');
    assert.equal(fieldOfError('expected 2D, 3D, 4D or 5D input (got 1D input)'), 'op');
  });
});
