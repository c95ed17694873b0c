import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Arena } from '../../src/engine/fast/arena';
import { split } from '../../src/engine/kernels';
import { FLOAT32_EPS, normalize } from '../../src/engine/ops';
import { NormParams } from '../../src/engine/params';
import { Tensor, contiguous, numel, permute, tensor } from '../../src/engine/tensor';
import { createFastKernels } from '../../src/node/pool';
import { randnTensor as randn } from '../support/random';
import { vsReference as ulps } from '../support/ulps';

// The parity fixtures run on both kernel sets in ops.test.ts; this file covers what only the fast path has:
// the arena, inputs in place, fallbacks and data far from zero against a float64 reference (threads: pool.test.ts).

const WASM = readFileSync(path.resolve(__dirname, '../../../dist/kernels.wasm'));


/** Max distance in float32 ulps of `ours` from a float64 reference, and the fraction exactly fround(ref). */
function vsReference(ours: ArrayLike<number>, ref: ArrayLike<number>): { maxUlps: number; exact: number } {
  const e = ulps(ours, ref);
  return { maxUlps: e.maxUlps, exact: 1 - e.inexact / ours.length };
}

const as64 = (t: Tensor): Tensor => tensor('float64', contiguous(t).shape, Float64Array.from(contiguous(t).data as Float32Array));
const data = (t: Tensor): Float32Array => contiguous(t).data as Float32Array;
/** The float64 result of the TypeScript kernels on the same values and parameters (RMSNorm: float32's eps). */
const reference = (x: Tensor, p: NormParams): Float32Array | Float64Array =>
  contiguous(normalize(as64(x), p.op === 'rms' && p.eps === undefined ? { ...p, eps: FLOAT32_EPS } : p).output).data as Float64Array;

const OPS: NormParams[] = [
  { op: 'batch' },
  { op: 'batch', mode: 'eval', running_mean: tensor('float32', [6], Float32Array.of(1, 2, 3, -1, 0, 0.5)),
    running_var: tensor('float32', [6], Float32Array.of(0.5, 1, 2, 3, 4, 5)) },
  { op: 'layer' },
  { op: 'layer', normalized_shape: [6, 5, 7], weight: randn([6, 5, 7], 11), bias: randn([6, 5, 7], 12) },
  { op: 'layer', normalized_shape: [7], bias: randn([7], 13) },
  { op: 'group', groups: 3, weight: randn([6], 14), bias: randn([6], 15) },
  { op: 'instance' },
  { op: 'rms' },
  { op: 'rms', normalized_shape: [5, 7], weight: randn([5, 7], 16) },
];
const label = (p: NormParams): string => `${p.op}${p.mode ? ` ${p.mode}` : ''}${p.weight || p.bias ? ' affine' : ''}${p.normalized_shape ? ` [${p.normalized_shape}]` : ''}`;

describe('fast kernels: arena', () => {
  it('allocates 64-byte aligned blocks, reuses and merges freed ones, grows the memory on demand', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const arena = new Arena(memory, 4 * 65536);
    const a = arena.alloc(100);
    const b = arena.alloc(1);
    assert.equal(a % 64, 0);
    assert.equal(b, a + 128);
    arena.release(a);
    assert.equal(arena.alloc(64), a, 'first fit reuses the freed block');
    arena.release(a);
    arena.release(b);
    assert.equal(arena.usedBytes, 0);
    const big = arena.alloc(3 * 65536);
    assert.ok(big >= 0 && memory.buffer.byteLength >= big + 3 * 65536, 'grew');
    assert.equal(arena.alloc(2 * 65536), -1, 'beyond the maximum');
    arena.release(big);
    assert.equal(arena.alloc(3 * 65536), big, 'the freed block merged with the grown tail');
    const view = arena.f32(big, 4);
    assert.equal(arena.addressOf(view), big);
    assert.equal(arena.addressOf(new Float32Array(4)), -1);
  });
});

describe('fast kernels: the WebAssembly path', () => {
  const fast = createFastKernels(WASM)!;

  it('loads (WebAssembly SIMD with shared memory is available in Node)', () => {
    assert.ok(fast);
  });

  for (const p of OPS) {
    it(`${label(p)}: within 1 ulp of the TypeScript kernels' float64 result, input in place or copied`, () => {
      const x = randn([4, 6, 5, 7], 3, 0.5, 2);
      const ref = reference(x, p);
      const heap = fast.normalize(x, p);
      assert.equal(heap.kernels, 'wasm');
      assert.ok(vsReference(data(heap.output), ref).maxUlps <= 1);
      const inArena = fast.allocFloat32(numel(x.shape))!;
      inArena.set(x.data as Float32Array);
      const r = fast.normalize(tensor('float32', x.shape, inArena), p);
      assert.deepEqual(data(r.output), data(heap.output));
      assert.ok(r.output.data.buffer instanceof SharedArrayBuffer, 'the output lives in the shared memory');
      const ts = normalize(x, p);
      if (ts.running_mean) {
        assert.deepEqual(data(r.running_mean!), data(ts.running_mean));
        assert.deepEqual(data(r.running_var!), data(ts.running_var!));
        assert.equal(r.num_batches_tracked, ts.num_batches_tracked);
      }
      assert.deepEqual(r.shapeReport, ts.shapeReport);
      assert.deepEqual(r.warnings, ts.warnings);
      fast.release(r.output);
      fast.release(inArena);
    });
  }

  it('data far from zero (mean 1e4, std 1e-2; mean 100): correctly rounded float64 results, every op', () => {
    const worst = { maxUlps: 0, exact: 1 };
    for (const [mean, std] of [[1e4, 1e-2], [100, 1], [-3e3, 5]]) {
      const x = randn([3, 6, 5, 7], 21, mean, std);
      for (const p of OPS) {
        const e = vsReference(data(fast.normalize(x, p).output), reference(x, p));
        assert.ok(e.maxUlps <= 1, `${label(p)} at mean ${mean}: ${e.maxUlps} ulp`);
        worst.maxUlps = Math.max(worst.maxUlps, e.maxUlps);
        worst.exact = Math.min(worst.exact, e.exact);
      }
    }
    assert.ok(worst.exact >= 0.999, `only ${worst.exact} correctly rounded`);
    if (process.env.NS_DEBUG) console.log('off-centre', worst);
  });

  it('GroupNorm/InstanceNorm rows alternating centred and far off-centre (the next row\'s sums fused into a write, then untrusted): correctly rounded, the same moments with statistics', () => {
    // 4 samples x 6 channels x 35: channel pairs (GroupNorm(3) groups) at mean 0, 1e4 (std 1e-2), 0, ...
    const x = randn([4, 6, 5, 7], 31);
    const v = x.data as Float32Array;
    for (let i = 0; i < v.length; i++) if (Math.floor(i / 70) % 2 === 1) v[i] = Math.fround(1e4 + 1e-2 * v[i]);
    for (const p of [{ op: 'group', groups: 3 }, { op: 'instance' }] as NormParams[]) {
      const e = vsReference(data(fast.normalize(x, p).output), reference(x, p));
      assert.ok(e.maxUlps <= 1 && e.exact >= 0.99, `${label(p)}: ${JSON.stringify(e)}`);
      const plain = fast.normalize(x, p);
      const spec = { layout: { outer: 4, channels: 6, inner: 35 }, bins: 16, groups: [] };
      const fused = fast.normalizeWithStats(x, p, spec);
      assert.deepStrictEqual(data(fused.output), data(plain.output), `${label(p)}: output bit for bit`);
      assert.deepStrictEqual(fused.moments, plain.moments, `${label(p)}: moments bit for bit`);
    }
  });

  it('LayerNorm over rows of 4,096 (the next row\'s sums fused into the write), centred and off-centre rows: correctly rounded, the same with statistics', () => {
    // 24 rows in the 8 jobs of 3: row 4, the middle of a job, off-centre (its fused sums fail the shift test)
    const x = randn([24, 4, 32, 32], 41);
    const v = x.data as Float32Array;
    for (let i = 4 * 4096; i < 5 * 4096; i++) v[i] = Math.fround(1e4 + 1e-2 * v[i]);
    for (const p of [{ op: 'layer', normalized_shape: [4, 32, 32] }, { op: 'layer', normalized_shape: [4, 32, 32], weight: randn([4, 32, 32], 42) }] as NormParams[]) {
      const e = vsReference(data(fast.normalize(x, p).output), reference(x, p));
      assert.ok(e.maxUlps <= 1 && e.exact >= 0.999, `${label(p)}: ${JSON.stringify(e)}`);
      const plain = fast.normalize(x, p);
      const fused = fast.normalizeWithStats(x, p, { layout: { outer: 24, channels: 4, inner: 1024 }, bins: 16, groups: [] });
      assert.deepStrictEqual(data(fused.output), data(plain.output), `${label(p)}: output bit for bit`);
      assert.deepStrictEqual(fused.moments, plain.moments, `${label(p)}: moments bit for bit`);
    }
  });

  it('BatchNorm whose first value is an outlier takes the second pass, as the TypeScript kernel does', () => {
    const x = randn([4, 3, 50], 5);
    (x.data as Float32Array)[0] = 1e6; // channel 0's shift
    const p: NormParams = { op: 'batch' };
    const e = vsReference(data(fast.normalize(x, p).output), reference(x, p));
    assert.ok(e.maxUlps <= 1 && e.exact >= 0.99, JSON.stringify(e));
    assert.deepEqual(data(fast.normalize(x, p).running_var!), data(normalize(x, p).running_var!));
  });

  it('channels-last, strided views and offsets give what the TypeScript kernels give', () => {
    const xl = randn([2, 5, 7, 6], 8);
    for (const p of [{ op: 'batch' }, { op: 'group', groups: 2 }, { op: 'instance' }] as NormParams[]) {
      const q = { ...p, layout: 'nhwc' as const };
      const e = vsReference(data(fast.normalize(xl, q).output), reference(xl, q));
      assert.ok(e.maxUlps <= 1, `${p.op} nhwc`);
    }
    const view = permute(randn([4, 5, 6], 9), [1, 0, 2]); // not C order
    const e = vsReference(data(fast.normalize(view, { op: 'layer' }).output), reference(view, { op: 'layer' }));
    assert.ok(e.maxUlps <= 1);
  });

  it('returns the fused per-group moments of the input', () => {
    const x = randn([2, 6, 40], 10, 3, 2);
    const r = fast.normalize(x, { op: 'group', groups: 3 });
    assert.equal(r.moments!.mean.length, 6);
    const v = x.data as Float32Array;
    for (let g = 0; g < 6; g++) {
      let s = 0;
      for (let i = g * 80; i < g * 80 + 80; i++) s += v[i];
      const m = s / 80;
      let q = 0;
      for (let i = g * 80; i < g * 80 + 80; i++) q += (v[i] - m) ** 2;
      assert.ok(Math.abs(r.moments!.mean[g] - m) < 1e-12);
      assert.ok(Math.abs(r.moments!.var[g] - q / 80) < 1e-12);
    }
  });

  it('falls back to the TypeScript kernels for float64 and integer input; errors are the same', () => {
    const x64 = as64(randn([2, 3, 4], 1));
    assert.equal(fast.normalize(x64, { op: 'layer' }).kernels, 'ts');
    assert.deepEqual(fast.normalize(x64, { op: 'layer' }).output, normalize(x64, { op: 'layer' }).output);
    assert.equal(fast.normalize(tensor('int32', [2, 3], Int32Array.of(1, 2, 3, 4, 5, 6)), { op: 'layer' }).kernels, 'ts');
    assert.throws(() => fast.normalize(randn([2, 4, 3], 1), { op: 'group', groups: 3 }), /divisible by num_groups/);
  });

  it('gives the scratch memory of a call back; released outputs are reused', () => {
    const x = randn([8, 6, 100], 4);
    const before = fast.arena.usedBytes;
    const r = fast.normalize(x, { op: 'batch' });
    assert.equal(fast.arena.usedBytes, before + 8 * 6 * 100 * 4, 'only the output stays'); // (a multiple of 64)
    fast.release(r.output);
    assert.equal(fast.arena.usedBytes, before);
  });

  it('falls back to the TypeScript kernels when live outputs fill the memory', () => {
    const small = createFastKernels(WASM, { maxMemoryBytes: 4 * 65536 })!;
    const x = randn([2, 3, 4000], 2); // 96 kB: input copy + output fit in 256 kB once, not next to a live output
    const a = small.normalize(x, { op: 'instance' });
    assert.equal(a.kernels, 'wasm');
    const b = small.normalize(x, { op: 'instance' }); // a's output still alive
    assert.equal(b.kernels, 'ts');
    assert.deepEqual(data(b.output), data(a.output));
    small.release(a.output);
    assert.equal(small.normalize(x, { op: 'instance' }).kernels, 'wasm');
    assert.equal(small.normalize(randn([2, 3, 40000], 2), { op: 'instance' }).kernels, 'ts', 'beyond the maximum');
  });

  it('split: near-equal non-empty ranges covering everything', () => {
    assert.deepEqual(split(5, 2), [[0, 2], [2, 5]]);
    assert.deepEqual(split(1, 2), [[0, 1]]);
    assert.deepEqual(split(0, 2), [[0, 0]]);
  });
});
