import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DType } from '../../src/engine/dtype';
import { NormScopeError } from '../../src/engine/errors';
import { canonicalView, normalize, resolveParams, shapeReport, warningsOf } from '../../src/engine/ops';
import { NormOutput, NormParams } from '../../src/engine/params';
import { Tensor, contiguous, numel, permute, reshape, tensor } from '../../src/engine/tensor';
import { FastKernels } from '../../src/engine/fast/fastKernels';

// ------------------------------------------------------------------------------------------------------------
// Fixtures (test/fixtures/parity/make_parity.py, PyTorch 1.13)

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/parity');

type Num = number | string;
interface ArrJson { shape: number[]; dtype?: string; data: Num[] }
interface Case {
  name: string; op: string; params: Record<string, unknown>; input: ArrJson;
  weight?: ArrJson; bias?: ArrJson; running_mean?: ArrJson; running_var?: ArrJson;
  expected: { output: Num[]; running_mean?: Num[]; running_var?: Num[]; num_batches_tracked?: number };
  reference64: Num[]; reference64_running?: { running_mean: Num[]; running_var: Num[] };
  offcentre: boolean; judge_by_reference64?: string;
}
interface ErrorCase {
  name: string; op: string; params: Record<string, unknown>; input: { shape: number[]; dtype: string };
  weight?: { shape: number[] }; bias?: { shape: number[] }; running_mean?: { shape: number[] }; running_var?: { shape: number[] };
  torch_message: string | null; message: string; matches_torch: boolean;
}

function load<T>(file: string): T[] {
  return (JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as { cases: T[] }).cases;
}

const num = (v: Num): number => (typeof v === 'string' ? Number(v) : v);

function fromJson(a: ArrJson, dtype = a.dtype ?? 'float32'): Tensor {
  const vals = a.data.map(num);
  return tensor(dtype as DType, a.shape, dtype === 'float64' ? Float64Array.from(vals) : Float32Array.from(vals));
}

function paramsOf(c: Case): NormParams {
  const p: Record<string, unknown> = { ...c.params };
  for (const k of ['weight', 'bias', 'running_mean', 'running_var'] as const) {
    const a = c[k];
    if (a) p[k] = fromJson(a);
  }
  return p as unknown as NormParams;
}

const u32 = new Uint32Array(1);
const f32 = new Float32Array(u32.buffer);
/** Spacing of float32 at Math.fround(v) (distance to the next float32 away from zero). */
function ulp32(v: number): number {
  f32[0] = Math.abs(v);
  if (!Number.isFinite(f32[0])) return Infinity;
  const a = f32[0];
  u32[0] += 1;
  return f32[0] - a;
}

/** Float32 outputs against a float64 reference: exact = ours is the float32 rounding of the reference. */
const rounding = { elements: 0, exact: 0, maxUlps: 0 };
function checkCorrectlyRounded(name: string, ours: ArrayLike<number>, ref: readonly number[]): void {
  for (let i = 0; i < ours.length; i++) {
    const r = ref[i];
    if (Number.isNaN(r)) { assert.ok(Number.isNaN(ours[i]), `${name}[${i}]: ${ours[i]}, reference NaN`); continue; }
    rounding.elements++;
    if (ours[i] === Math.fround(r)) { rounding.exact++; continue; }
    const ulps = Math.abs(ours[i] - r) / ulp32(r);
    rounding.maxUlps = Math.max(rounding.maxUlps, ulps);
    assert.ok(ulps <= 1, `${name}[${i}]: ${ours[i]} is ${ulps.toFixed(2)} ulp from the float64 reference ${r}`);
  }
}

function checkClose(name: string, ours: ArrayLike<number>, want: readonly number[], atol: number, rtol: number): void {
  assert.equal(ours.length, want.length, `${name}: length`);
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (Number.isNaN(w)) { assert.ok(Number.isNaN(ours[i]), `${name}[${i}]: ${ours[i]}, expected NaN`); continue; }
    const d = Math.abs(ours[i] - w);
    assert.ok(d <= atol + rtol * Math.abs(w), `${name}[${i}]: ${ours[i]} vs ${w} (|d| = ${d})`);
  }
}

function checkRelative(name: string, ours: ArrayLike<number>, want: readonly number[], rtol: number): void {
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(ours[i] - want[i]);
    assert.ok(d <= rtol * Math.abs(want[i]), `${name}[${i}]: ${ours[i]} vs ${want[i]} (rel ${d / Math.abs(want[i])})`);
  }
}

const values = (t: Tensor): Float32Array | Float64Array => contiguous(t).data as Float32Array | Float64Array;

// The fixtures run against both kernel sets: the TypeScript reference and the WebAssembly SIMD kernels
// (dist/kernels.wasm, built before the unit tests; float32 cases must really run on it).
const fast = new FastKernels(new WebAssembly.Module(new Uint8Array(readFileSync(path.resolve(__dirname, '../../../dist/kernels.wasm')))));
const KERNEL_SETS: [string, (x: Tensor, p: NormParams) => NormOutput][] = [
  ['TypeScript', normalize],
  ['WebAssembly', (x, p) => {
    const r = fast.normalize(x, p);
    if (x.dtype === 'float32' && numel(x.shape) > 0) assert.equal(r.kernels, 'wasm');
    return r;
  }],
];

for (const [kernelSet, run] of KERNEL_SETS) describe(`normalization ops: PyTorch parity fixtures (${kernelSet} kernels)`, () => {
  before(() => Object.assign(rounding, { elements: 0, exact: 0, maxUlps: 0 }));
  for (const op of ['batch', 'layer', 'group', 'instance', 'rms']) {
    describe(op, () => {
      for (const c of load<Case>(`${op}.json`)) {
        it(c.name, () => {
          const x = fromJson(c.input);
          const r = run(x, paramsOf(c));
          const is64 = c.input.dtype === 'float64';
          assert.deepEqual(r.output.shape, c.input.shape);
          assert.equal(r.output.dtype, is64 ? 'float64' : 'float32');
          const y = values(r.output);
          const torchOut = c.expected.output.map(num);
          const ref = c.reference64.map(num);
          if (is64) {
            // torch float64 rounds differently in the last bits (its x * alpha + beta form); measured <= 6.4e-16
            checkClose(c.name, y, ref, 2e-15, 2e-15);
          } else {
            if (!c.judge_by_reference64) checkClose(`${c.name} vs torch float32`, y, torchOut, 1e-5, 1e-5);
            checkCorrectlyRounded(c.name, y, ref);
          }
          if (c.expected.running_mean) {
            assert.ok(r.running_mean && r.running_var, 'running statistics returned');
            assert.equal(r.running_mean.dtype, is64 ? 'float64' : 'float32');
            checkRelative(`${c.name} running_mean`, values(r.running_mean), c.expected.running_mean.map(num), 1e-6);
            checkRelative(`${c.name} running_var`, values(r.running_var), c.expected.running_var!.map(num), 1e-6);
            assert.equal(r.num_batches_tracked, c.expected.num_batches_tracked);
            const ref64 = c.reference64_running!;
            if (!is64) {
              checkCorrectlyRounded(`${c.name} running_mean`, values(r.running_mean), ref64.running_mean.map(num));
              checkCorrectlyRounded(`${c.name} running_var`, values(r.running_var), ref64.running_var.map(num));
            }
          } else {
            assert.equal(r.running_mean, undefined);
            assert.equal(r.num_batches_tracked, undefined);
          }
        });
      }
    });
  }

  describe('all float32 cases together', () => {
    // (mocha runs sibling suites in order, so this sees every case above)
    it('round correctly: >= 99.9% of float32 outputs equal fround(float64 reference), all within 1 ulp', () => {
      assert.ok(rounding.elements > 5000, `only ${rounding.elements} elements compared`);
      if (process.env.NS_DEBUG) console.log('fixtures', kernelSet, rounding);
      const frac = rounding.exact / rounding.elements;
      assert.ok(frac >= 0.999, `${rounding.exact}/${rounding.elements} correctly rounded, max ${rounding.maxUlps} ulp`);
    });
  });
});

// ------------------------------------------------------------------------------------------------------------

function zerosOf(shape: number[], dtype: DType = 'float32'): Tensor {
  return tensor(dtype, shape, dtype === 'float64' ? new Float64Array(numel(shape)) : new Float32Array(numel(shape)));
}

function throwsExactly(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NormScopeError, `not a NormScopeError: ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

describe('normalization ops: error messages', () => {
  for (const c of load<ErrorCase>('errors.json')) {
    it(c.name, () => {
      const p: Record<string, unknown> = { ...c.params };
      for (const k of ['weight', 'bias', 'running_mean', 'running_var'] as const) {
        const s = c[k];
        if (s) p[k] = zerosOf(s.shape);
      }
      const x = zerosOf(c.input.shape);
      if (c.matches_torch) {
        assert.equal(c.message, c.torch_message!.replace(/torch\.Size\((\[[^\]]*\])\)/g, '$1'));
      }
      throwsExactly(() => normalize(x, p as unknown as NormParams), c.message);
      // validation without computing says the same
      throwsExactly(() => shapeReport(x, p as unknown as NormParams), c.message);
    });
  }

  it('validates eps, momentum, num_batches_tracked, groups, normalized_shape, layout and op', () => {
    const x = zerosOf([2, 4, 3]);
    throwsExactly(() => normalize(x, { op: 'layer', eps: Number.NaN }), 'eps must be a finite number >= 0, got NaN');
    throwsExactly(() => normalize(x, { op: 'layer', eps: Infinity }), 'eps must be a finite number >= 0, got Infinity');
    throwsExactly(() => normalize(x, { op: 'batch', momentum: -0.1 }), 'momentum must be a number in [0, 1] or null (cumulative average), got -0.1');
    throwsExactly(() => normalize(x, { op: 'batch', num_batches_tracked: 1.5 }), 'num_batches_tracked must be an integer >= 0, got 1.5');
    throwsExactly(() => normalize(x, { op: 'group', groups: 2.5 }), 'groups must be a positive integer, got 2.5');
    throwsExactly(() => normalize(x, { op: 'layer', normalized_shape: [-3] }), 'normalized_shape must be a list of integers >= 0, got [-3]');
    throwsExactly(() => normalize(x, { op: 'batch', layout: 'nwhc' as 'nhwc' }), "layout must be 'nchw' or 'nhwc', got nwhc");
    throwsExactly(() => normalize(x, { op: 'batch', mode: 'test' as 'eval' }), "mode must be 'train' or 'eval', got test");
    throwsExactly(() => normalize(x, { op: 'bn' as 'batch' }), 'op must be one of batch, layer, group, instance, rms, got bn');
    throwsExactly(() => normalize(zerosOf([]), { op: 'layer' }), 'LayerNorm needs at least a 1D input for the default normalized_shape (got 0D input)');
    throwsExactly(() => normalize(x, { op: 'rms', weight: zerosOf([4]) }), 'weight has shape [4], expected [3] (normalized_shape)');
  });

  it('accepts per-channel tensors shaped [C] padded with size-1 dims (a scalar for C=1), refuses other shapes', () => {
    const x = zerosOf([2, 3, 4]);
    assert.doesNotThrow(() => normalize(x, { op: 'batch', weight: zerosOf([1, 3, 1]), running_var: zerosOf([3, 1]) }));
    throwsExactly(() => normalize(zerosOf([2, 4, 3]), { op: 'batch', weight: zerosOf([2, 2]) }), 'weight has shape [2, 2], expected [4] (one per channel, C=4)');
    assert.doesNotThrow(() => normalize(zerosOf([2, 1, 3]), { op: 'batch', weight: zerosOf([]) }));
    throwsExactly(() => normalize(zerosOf([2, 2, 3]), { op: 'batch', bias: zerosOf([]) }), 'bias has shape [], expected [2] (one per channel, C=2)');
  });
});

// ------------------------------------------------------------------------------------------------------------
// Seeded data

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
}

function randn(shape: number[], seed: number, mean = 0, std = 1): Tensor {
  const g = gaussian(seed);
  const d = new Float32Array(numel(shape));
  for (let i = 0; i < d.length; i++) d[i] = g() * std + mean;
  return tensor('float32', shape, d);
}

/** Largest distance in float32 ulps between two float32 outputs (NaN equal NaN). */
function maxUlps(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    m = Math.max(m, Math.abs(a[i] - b[i]) / ulp32(b[i]));
  }
  return m;
}

const out = (r: NormOutput): Float32Array | Float64Array => values(r.output);

describe('normalization ops: identities between the ops', () => {
  const x = randn([3, 6, 5, 7], 1, 0.5, 2);

  it('GroupNorm(G=C) equals InstanceNorm exactly', () => {
    assert.deepEqual(out(normalize(x, { op: 'group', groups: 6 })), out(normalize(x, { op: 'instance' })));
  });

  it('GroupNorm(G=1) equals LayerNorm over (C, H, W) without affine (within 1 ulp)', () => {
    const a = out(normalize(x, { op: 'group', groups: 1 }));
    const b = out(normalize(x, { op: 'layer', normalized_shape: [6, 5, 7] }));
    assert.ok(maxUlps(a, b) <= 1);
  });

  it('BatchNorm(train) on N=1 equals InstanceNorm (within 1 ulp)', () => {
    const x1 = randn([1, 4, 6, 6], 2, -3, 0.5);
    assert.ok(maxUlps(out(normalize(x1, { op: 'batch' })), out(normalize(x1, { op: 'instance' }))) <= 1);
  });

  it('InstanceNorm(x) equals BatchNorm(train) of x reshaped to (1, N*C, *) (within 1 ulp)', () => {
    const a = out(normalize(x, { op: 'instance' }));
    const b = out(normalize(reshape(x, [1, 18, 5, 7]), { op: 'batch' }));
    assert.ok(maxUlps(a, b) <= 1);
  });

  it('GroupNorm(x) equals BatchNorm(train) of x reshaped to (1, N*G, -1) (within 1 ulp)', () => {
    const a = out(normalize(x, { op: 'group', groups: 3 }));
    const b = out(normalize(reshape(x, [1, 9, -1]), { op: 'batch' }));
    assert.ok(maxUlps(a, b) <= 1);
  });

  it('channels-last equals permute -> channels-first op -> permute back, exactly', () => {
    const xl = randn([2, 5, 7, 6], 3);
    const xf = contiguous(permute(xl, [0, 3, 1, 2]));
    const w = randn([6], 4, 1, 0.2);
    for (const p of [{ op: 'batch' }, { op: 'group', groups: 3 }, { op: 'instance' }] as NormParams[]) {
      const a = normalize(xl, { ...p, layout: 'nhwc', weight: w }).output;
      assert.deepEqual(a.shape, [2, 5, 7, 6]);
      const b = contiguous(permute(normalize(xf, { ...p, weight: w }).output, [0, 2, 3, 1]));
      assert.deepEqual(values(a), values(b), p.op);
    }
  });

  it('unbatched equals the op on x[None]', () => {
    const xu = randn([4, 5, 6], 5);
    const x1 = reshape(xu, [1, 4, 5, 6]);
    for (const p of [{ op: 'batch' }, { op: 'group', groups: 2 }, { op: 'instance' }] as NormParams[]) {
      assert.deepEqual(out(normalize(xu, { ...p, unbatched: true })), out(normalize(x1, p)), p.op);
    }
  });

  it('LayerNorm/RMSNorm ignore layout and unbatched', () => {
    const xx = randn([2, 3, 4], 6);
    for (const op of ['layer', 'rms'] as const) {
      const a = out(normalize(xx, { op }));
      assert.deepEqual(out(normalize(xx, { op, layout: 'nhwc', unbatched: true })), a);
    }
  });

  it('reads strided views like their contiguous copy', () => {
    const v = permute(randn([4, 3, 5], 7), [1, 0, 2]); // (3, 4, 5) view
    for (const p of [{ op: 'batch' }, { op: 'layer' }, { op: 'group', groups: 2 }, { op: 'instance' }, { op: 'rms' }] as NormParams[]) {
      assert.deepEqual(out(normalize(v, p)), out(normalize(contiguous(v), p)), p.op);
    }
  });
});

// ------------------------------------------------------------------------------------------------------------
// Exact references: the statistics of a group of float32 values in exact integer arithmetic (BigInt), so whether
// a float32 output is the correctly rounded y = (x - mean) / sqrt(var + eps) is decided exactly.

/** Exact form of one group: y_i = (n x_i - S) * 2^60 / sqrt(D2), all integers (values scaled by 2^149). */
function exactGroup(v: ArrayLike<number>, eps: number): { num: bigint[]; D2: bigint; approx: Float64Array } {
  assert.ok(Number.isInteger(eps * 2 ** 120), 'eps must be a multiple of 2^-120 here');
  const n = BigInt(v.length);
  const ints = Array.from(v, (a) => BigInt(a * 2 ** 149)); // a float32 times 2^149 is an integer, exact in float64
  let S = 0n;
  let Q = 0n;
  for (const i of ints) { S += i; Q += i * i; }
  // var + eps = ((nQ - S^2) + n^2 eps 2^298) / (n^2 2^298); scaled by 2^120 to make eps an integer
  const D2 = ((n * Q - S * S) << 120n) + n * n * BigInt(eps * 2 ** 120) * (1n << 298n);
  const num = ints.map((i) => n * i - S);
  const den = Math.sqrt(Number(D2));
  return { num, D2, approx: Float64Array.from(num, (k) => (Number(k) * 2 ** 60) / den) };
}

/** Sign of y - c for y = num * 2^60 / sqrt(D2), c a float64 value (exactly). */
function compareExact(num: bigint, D2: bigint, c: number): number {
  const m = 1100n; // c * 2^1100 is an integer for every float64 >= 2^-1074
  const C = BigInt(c * 2 ** 100) << (m - 100n);
  const L = num << (60n + m);
  const sl = L > 0n ? 1 : L < 0n ? -1 : 0;
  const sc = C > 0n ? 1 : C < 0n ? -1 : 0;
  if (sl !== sc) return sl > sc ? 1 : -1;
  const l2 = L * L;
  const r2 = C * C * D2;
  const cmp = l2 > r2 ? 1 : l2 < r2 ? -1 : 0;
  return sl >= 0 ? cmp : -cmp;
}

/** Whether float32 `y` is the correctly rounded value of element i of the exact group. */
function isCorrectlyRounded(g: { num: bigint[]; D2: bigint }, i: number, y: number): boolean {
  const up = y + ulp32(y) * (y >= 0 ? 1 : -1); // next float32 away from zero
  f32[0] = Math.abs(y);
  if (f32[0] !== 0) u32[0] -= 1;
  const down = y === 0 ? -(2 ** -149) : Math.sign(y) * f32[0]; // next float32 towards zero
  const [lo, hi] = y >= 0 ? [(y + down) / 2, (y + up) / 2] : [(y + up) / 2, (y + down) / 2];
  return compareExact(g.num[i], g.D2, lo) >= 0 && compareExact(g.num[i], g.D2, hi) <= 0;
}

for (const [kernelSet, run] of KERNEL_SETS) describe(`normalization ops: correctly rounded on hard data (exact BigInt reference, ${kernelSet} kernels)`, () => {
  // groups with (mean, std, first element): offsets up to 3e4, stds down to 1e-3, and outliers placed first so
  // the shifted one-pass sums must fall back to the second pass
  const specs: [number, number, number | null][] = [
    [1e4, 1e-2, null], [-3e4, 0.1, null], [100, 1, null], [1e3, 1, null], [5, 1e-3, null], [0, 1, null],
    [100, 1, 1e6], [0, 1, 1e3], [1e4, 1, -1e4], [0.5, 1e-2, 50], [-7, 3, 1e5], [1e4, 1e-2, 1e4 + 10],
  ];
  const g = gaussian(11);
  function groupData(len: number): Float32Array[] {
    return specs.map(([m, s, first]) => {
      const a = new Float32Array(len);
      for (let i = 0; i < len; i++) a[i] = m + s * g();
      if (first !== null) a[0] = first;
      return a;
    });
  }
  const tally = { elements: 0, exact: 0 };
  function check(ours: ArrayLike<number>, values: ArrayLike<number>, eps: number, what: string): void {
    const g = exactGroup(values, eps);
    for (let i = 0; i < values.length; i++) {
      tally.elements++;
      if (isCorrectlyRounded(g, i, ours[i])) { tally.exact++; continue; }
      if (process.env.NS_DEBUG) console.log(what, i, ours[i], g.approx[i], values[i]);
      const ulps = Math.abs(ours[i] - g.approx[i]) / ulp32(g.approx[i]);
      assert.ok(ulps <= 1, `${what}[${i}]: ${ours[i]} vs exact ${g.approx[i]} (${ulps} ulp)`);
    }
  }

  it('LayerNorm rows', () => {
    const K = 257;
    const rows = groupData(K);
    const x = new Float32Array(rows.length * K);
    rows.forEach((r, i) => x.set(r, i * K));
    const y = out(run(tensor('float32', [rows.length, K], x), { op: 'layer' }));
    rows.forEach((r, i) => check(y.subarray(i * K, (i + 1) * K), r, 1e-5, `row ${i}`));
  });

  it('BatchNorm channels (outliers in the first sample) and GroupNorm groups', () => {
    const N = 3, S = 40, C = specs.length;
    const chans = groupData(N * S);
    const x = new Float32Array(N * C * S);
    for (let c = 0; c < C; c++) for (let n = 0; n < N; n++) x.set(chans[c].subarray(n * S, (n + 1) * S), (n * C + c) * S);
    const xt = tensor('float32', [N, C, S], x);
    const bn = out(run(xt, { op: 'batch', eps: 1e-3 }));
    for (let c = 0; c < C; c++) {
      const ours = new Float32Array(N * S);
      for (let n = 0; n < N; n++) ours.set(bn.subarray((n * C + c) * S, (n * C + c + 1) * S), n * S);
      check(ours, chans[c], 1e-3, `channel ${c}`);
    }
    // GroupNorm with 2 channels per group: each group is 2*S consecutive values of one sample
    const gn = out(run(xt, { op: 'group', groups: C / 2 }));
    for (let n = 0; n < N; n++) {
      for (let grp = 0; grp < C / 2; grp++) {
        const o = (n * C + 2 * grp) * S;
        check(gn.subarray(o, o + 2 * S), x.subarray(o, o + 2 * S), 1e-5, `sample ${n} group ${grp}`);
      }
    }
  });

  it('measures: >= 99.9% correctly rounded (decided exactly), all within 1 ulp', () => {
    assert.ok(tally.elements > 5000, `only ${tally.elements} elements compared`);
    if (process.env.NS_DEBUG) console.log('hard data', tally);
    assert.ok(tally.exact / tally.elements >= 0.999, `${tally.exact}/${tally.elements} correctly rounded`);
  });
});

// ------------------------------------------------------------------------------------------------------------

describe('normalization ops: dtypes', () => {
  const ints = [3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8, 9, 7, -9, 3, 2, 3, 8, 4, 6, 2, 6, 4];
  const f64 = tensor('float64', [2, 3, 4], Float64Array.from(ints));

  const cases: [DType, Tensor][] = [
    ['int32', tensor('int32', [2, 3, 4], Int32Array.from(ints))],
    ['int8', tensor('int8', [2, 3, 4], Int8Array.from(ints))],
    ['int64', tensor('int64', [2, 3, 4], BigInt64Array.from(ints.map(BigInt)))],
    ['float16', tensor('float16', [2, 3, 4], Uint16Array.from(ints.map((v) => halfBits(v))))],
  ];
  for (const [name, t] of cases) {
    it(`${name} input computes in float64 and outputs float32`, () => {
      for (const p of [{ op: 'batch' }, { op: 'layer' }, { op: 'group', groups: 3 }, { op: 'instance' }, { op: 'rms', eps: 1e-6 }] as NormParams[]) {
        const r = normalize(t, p);
        assert.equal(r.output.dtype, 'float32');
        const want = Float32Array.from(out(normalize(f64, p)));
        assert.deepEqual(out(r), want, `${name} ${p.op}`);
      }
    });
  }

  it('bool input reads as 0/1', () => {
    const b = tensor('bool', [2, 4], Uint8Array.from([1, 0, 0, 1, 1, 1, 0, 0]));
    const y = out(normalize(b, { op: 'layer', eps: 0 }));
    assert.deepEqual(Array.from(y), [1, -1, -1, 1, 1, 1, -1, -1]);
  });

  it('RMSNorm eps defaults to the machine epsilon of the compute dtype', () => {
    assert.equal(resolveParams(f64, { op: 'rms' }).eps, 2.220446049250313e-16);
    assert.equal(resolveParams(cases[0][1], { op: 'rms' }).eps, 1.1920928955078125e-7);
    assert.equal(resolveParams(randn([2, 3], 1), { op: 'rms' }).eps, 1.1920928955078125e-7);
  });
});

/** float16 bits of a small integer (exact). */
function halfBits(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

// ------------------------------------------------------------------------------------------------------------

describe('normalization ops: resolved parameters, shape reports and warnings', () => {
  const x = zerosOf([2, 3, 4, 5]);

  it('fills in PyTorch defaults', () => {
    assert.deepEqual(resolveParams(x, { op: 'batch' }), {
      op: 'batch', eps: 1e-5, momentum: 0.1, mode: 'train', unbatched: false, layout: 'nchw', affine: false, num_batches_tracked: 0,
    });
    assert.equal(resolveParams(x, { op: 'batch', momentum: null }).momentum, null);
    assert.deepEqual(resolveParams(x, { op: 'layer' }).normalized_shape, [5]);
    assert.equal(resolveParams(x, { op: 'layer', bias: zerosOf([5]) }).affine, true);
    assert.deepEqual(resolveParams(x, { op: 'group', groups: 3, eps: 1e-3 }), {
      op: 'group', eps: 1e-3, groups: 3, unbatched: false, layout: 'nchw', affine: false,
    });
    assert.equal(resolveParams(x, { op: 'instance' }).mode, 'train');
  });

  it('BatchNorm report', () => {
    assert.deepEqual(shapeReport(x, { op: 'batch' }), {
      input_shape: [2, 3, 4, 5], canonical_shape: [2, 3, 4, 5], normalized_axes: [0, 2, 3],
      num_stat_groups: 3, stat_group_size: 40, description: 'per channel over (N, H, W)',
      weight_shape: [3], bias_shape: [3], running_shape: [3], output_shape: [2, 3, 4, 5],
    });
    const nhwc = shapeReport(zerosOf([2, 4, 5, 3]), { op: 'batch', layout: 'nhwc' });
    assert.deepEqual([nhwc.canonical_shape, nhwc.normalized_axes, nhwc.description], [[2, 3, 4, 5], [0, 1, 2], 'per channel over (N, H, W)']);
    assert.equal(shapeReport(zerosOf([8, 3]), { op: 'batch' }).description, 'per channel over (N)');
    const u = shapeReport(zerosOf([3, 6]), { op: 'batch', unbatched: true });
    assert.deepEqual([u.canonical_shape, u.normalized_axes, u.description], [[1, 3, 6], [1], 'per channel over (L)']);
  });

  it('GroupNorm, InstanceNorm, LayerNorm and RMSNorm reports', () => {
    const g = shapeReport(zerosOf([2, 8, 4, 4]), { op: 'group', groups: 2 });
    assert.deepEqual(g, {
      input_shape: [2, 8, 4, 4], canonical_shape: [2, 8, 4, 4], normalized_axes: [1, 2, 3],
      num_stat_groups: 4, stat_group_size: 64, description: 'per sample per group of 4 channels over (C/G, H, W)',
      weight_shape: [8], bias_shape: [8], running_shape: null, output_shape: [2, 8, 4, 4],
    });
    const i = shapeReport(zerosOf([3, 4, 5]), { op: 'instance', unbatched: true });
    assert.deepEqual([i.canonical_shape, i.normalized_axes, i.num_stat_groups, i.stat_group_size, i.description],
      [[1, 3, 4, 5], [1, 2], 3, 20, 'per channel over (H, W)']);
    assert.equal(shapeReport(zerosOf([2, 3, 4, 5, 6]), { op: 'instance' }).description, 'per sample per channel over (D, H, W)');
    const l = shapeReport(x, { op: 'layer', normalized_shape: [3, 4, 5] });
    assert.deepEqual([l.canonical_shape, l.normalized_axes, l.num_stat_groups, l.stat_group_size, l.weight_shape, l.bias_shape, l.description],
      [[2, 3, 4, 5], [1, 2, 3], 2, 60, [3, 4, 5], [3, 4, 5], 'per index of the leading dims [2] over the last 3 dims [3, 4, 5]']);
    const r = shapeReport(zerosOf([2, 16, 64]), { op: 'rms' });
    assert.deepEqual([r.normalized_axes, r.num_stat_groups, r.bias_shape, r.running_shape, r.description],
      [[2], 32, null, null, 'root mean square per index of the leading dims [2, 16] over the last dim [64]']);
    assert.equal(shapeReport(zerosOf([7]), { op: 'layer' }).description, 'over all dims [7] (one statistic)');
  });

  it('warns about BatchNorm eval without running statistics and about unused parameters', () => {
    const w = 'BatchNorm in eval mode without running statistics uses a fresh module\'s running_mean=0 and running_var=1, as PyTorch does';
    const r = normalize(randn([2, 3], 1), { op: 'batch', mode: 'eval' });
    assert.deepEqual(r.warnings, [w]);
    assert.deepEqual(Array.from(out(r)), Array.from(values(randn([2, 3], 1)), (v) => Math.fround(v * (1 / Math.sqrt(1 + 1e-5)))));
    assert.deepEqual(warningsOf(x, { op: 'batch', mode: 'eval', running_mean: zerosOf([3]) }),
      ["BatchNorm in eval mode without running_var uses a fresh module's running_var=1, as PyTorch does"]);
    assert.deepEqual(warningsOf(x, { op: 'batch' }), []);
    assert.deepEqual(warningsOf(x, { op: 'layer', groups: 2 }), ['LayerNorm ignores groups']);
    assert.deepEqual(warningsOf(x, { op: 'instance', running_mean: zerosOf([3]) }),
      ["InstanceNorm ignores running_mean (it uses instance statistics, as PyTorch's default track_running_stats=False does)"]);
  });

  it('BatchNorm train returns running statistics updated from a fresh module when none are given', () => {
    const xx = tensor('float32', [4, 1], Float32Array.from([1, 2, 3, 6]));
    const r = normalize(xx, { op: 'batch' });
    assert.deepEqual(Array.from(values(r.running_mean!)), [Math.fround(0.3)]);
    assert.deepEqual(Array.from(values(r.running_var!)), [Math.fround(0.9 + 0.1 * (14 / 3))]);
    assert.equal(r.num_batches_tracked, 1);
    const cma = normalize(xx, { op: 'batch', momentum: null, num_batches_tracked: 3, running_mean: tensor('float32', [1], Float32Array.of(2)) });
    assert.deepEqual(Array.from(values(cma.running_mean!)), [Math.fround(0.75 * 2 + 0.25 * 3)]);
    assert.equal(cma.num_batches_tracked, 4);
    assert.equal(normalize(xx, { op: 'batch', mode: 'eval' }).running_mean, undefined);
  });
});

describe('normalization ops: canonicalView', () => {
  it('gives channels-last data in (N, C, S) order with the axes it came from', () => {
    const xl = randn([2, 3, 4, 5], 9); // (N, H, W, C)
    const v = canonicalView(xl, { op: 'batch', layout: 'nhwc' });
    assert.deepEqual(v.shape, [2, 5, 12]);
    assert.deepEqual(v.canonicalShape, [2, 5, 3, 4]);
    assert.deepEqual([v.channelAxis, v.batchAxis, v.spatialAxes], [3, 0, [1, 2]]);
    assert.deepEqual(v.data, values(permute(xl, [0, 3, 1, 2])));
    const u = canonicalView(zerosOf([6, 7]), { op: 'group', groups: 2, unbatched: true });
    assert.deepEqual([u.shape, u.batchAxis, u.channelAxis, u.slabGroup], [[1, 6, 7], -1, 0, { perSample: 2, channelsPerGroup: 3 }]);
  });

  it('maps slabs to statistic groups: every group of the output has mean 0 and variance ~1', () => {
    const x = randn([3, 4, 6, 5], 10, 2, 3);
    const ps: NormParams[] = [
      { op: 'batch' }, { op: 'instance' }, { op: 'group', groups: 2 }, { op: 'layer', normalized_shape: [4, 6, 5] },
      { op: 'layer', normalized_shape: [3, 4, 6, 5] }, { op: 'batch', layout: 'nhwc' }, { op: 'group', groups: 5, layout: 'nhwc' },
    ];
    for (const p of ps) {
      const y = normalize(x, p).output;
      const v = canonicalView(y, p);
      const sg = v.slabGroup!;
      assert.ok(sg, p.op);
      const [N, C, S] = v.shape;
      const sum = new Float64Array(v.numStatGroups);
      const sq = new Float64Array(v.numStatGroups);
      const cnt = new Float64Array(v.numStatGroups);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const grp = n * sg.perSample + Math.floor(c / sg.channelsPerGroup);
          for (let s = 0; s < S; s++) { const a = v.data[(n * C + c) * S + s]; sum[grp] += a; sq[grp] += a * a; cnt[grp]++; }
        }
      }
      for (let k = 0; k < v.numStatGroups; k++) {
        assert.equal(cnt[k], v.statGroupSize, `${p.op} group ${k} size`);
        assert.ok(Math.abs(sum[k] / cnt[k]) < 1e-6, `${p.op} group ${k} mean ${sum[k] / cnt[k]}`);
        assert.ok(Math.abs(sq[k] / cnt[k] - 1) < 1e-3, `${p.op} group ${k} var ${sq[k] / cnt[k]}`);
      }
    }
    assert.equal(canonicalView(x, { op: 'layer' }).slabGroup, null);
    assert.equal(canonicalView(x, { op: 'rms', layout: 'nhwc', normalized_shape: [6, 5] }).slabGroup, null);
  });
});
