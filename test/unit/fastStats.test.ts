import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { analyze, channelAxis, groupRanges, tensorStats } from '../../src/engine/analyze';
import { FastKernels, Job, runJob } from '../../src/engine/fast/fastKernels';
import { NormParams } from '../../src/engine/params';
import { ChannelLayout, SideStats, Summary, channelLayout, sideStats } from '../../src/engine/stats';
import { Tensor, numel, tensor, toComputeArray } from '../../src/engine/tensor';
import { ParallelKernels, createFastKernels } from '../../src/node/pool';
import { randn } from '../support/random';

// The WebAssembly statistics (FastKernels.sideStats*, normalizeWithStats*) against the TypeScript sideStats.
//
// Exact, compared with Object.is / deepStrictEqual: count, nan, inf, min, max (a zero's sign included), the
// edges and every histogram count (channel, group, overall): the kernels take the same float64 values, the same
// edges and the same bin formula floor((v - lo) * scale), clamped.
//
// mean and std: both sides sum the same float64 values (float32 promoted exactly) in different orders. Any
// float64 summation order of n terms errs by at most (n - 1) u sum|v| (u = 2^-53), so two orders differ by at most
// 2 (n - 1) u sum|v|: |delta mean| <= 2 n u mean|v| + 2 u |mean| (the division rounds once each). m2 is a sum of
// n non-negative squares of v - mean (each rounded once, relative u; squared, 3u) and the corrected two-pass
// residue removes, to first order, any difference between the two means; so each m2 errs by at most (n + 2) u m2,
// and the two differ by at most 2 (n + 3) u m2. Groups and overall add sum_c f_c (mean_c - M)^2 over their channels,
// whose difference is bounded by 2 sum_c f_c |mean_c - M| tolMean_c. std = sqrt(m2 / n): |delta std| <=
// tolM2 / (2 n std), or sqrt(tolM2 / n) when std = 0. These are worst-case bounds; a wrong element, block or
// channel in a sum is off by far more (a test below checks that the comparison does fail on such changes).

const WASM = readFileSync(process.env.NORMSCOPE_TEST_WASM ?? path.resolve(__dirname, '../../../dist/kernels.wasm'));
const U = 2 ** -53;


/** Runs every phase of a steps generator in this thread, each job in turn (as a pool would across threads). */
function drive<T>(fast: FastKernels, run: Generator<Job[], T, void>, parts: number, ran: Job[][] = []): T {
  for (let r = run.next(); ; r = run.next()) {
    if (r.done) return r.value;
    assert.ok(r.value.length >= 1 && r.value.length <= parts, `a phase holds 1..${parts} jobs, got ${r.value.length}`);
    ran.push(r.value);
    for (const job of r.value) runJob(fast.kernels, job);
  }
}

/** Per-channel mean |v| over the finite values (for the tolerances above). */
function meanAbs(values: ArrayLike<number>, layout: ChannelLayout): { abs: number[]; finite: number[] } {
  const { outer, channels: C, inner } = layout;
  const abs = new Array<number>(C).fill(0);
  const finite = new Array<number>(C).fill(0);
  for (let o = 0; o < outer; o++) for (let c = 0; c < C; c++) {
    for (let i = (o * C + c) * inner, e = i + inner; i < e; i++) {
      const v = values[i];
      if (v - v === 0) { abs[c] += Math.abs(v); finite[c]++; }
    }
  }
  return { abs: abs.map((a, c) => (finite[c] ? a / finite[c] : 0)), finite };
}

function sameExact(ours: Summary, ref: Summary, what: string): void {
  for (const k of ['count', 'nan', 'inf', 'min', 'max'] as const) {
    assert.ok(Object.is(ours[k], ref[k]), `${what}.${k}: ${ours[k]} vs ${ref[k]}`);
  }
  assert.equal(ours.mean === null, ref.mean === null, `${what}.mean null`);
  assert.equal(ours.std === null, ref.std === null, `${what}.std null`);
}

function close(ours: number | null, ref: number | null, tol: number, what: string): void {
  if (ours === null || ref === null) { assert.equal(ours, ref, what); return; }
  assert.ok(Math.abs(ours - ref) <= tol, `${what}: ${ours} vs ${ref} (|diff| ${Math.abs(ours - ref)} > tol ${tol})`);
}

/** Asserts `ours` equals the TypeScript `ref` as the header comment defines it. */
function assertSameStats(ours: SideStats, ref: SideStats, values: ArrayLike<number>, layout: ChannelLayout, label: string): void {
  assert.deepStrictEqual(ours.edges, ref.edges, `${label}: edges`);
  assert.deepStrictEqual(ours.overall.histogram, ref.overall.histogram, `${label}: overall histogram`);
  assert.equal(ours.channels.length, ref.channels.length);
  assert.equal(ours.groups.length, ref.groups.length);
  const { abs, finite } = meanAbs(values, layout);
  const tolMeanC: number[] = [];
  const tolM2C: number[] = [];
  ref.channels.forEach((r, c) => {
    const o = ours.channels[c];
    const what = `${label}: channel ${c}`;
    assert.equal(o.channel, c);
    sameExact(o, r, what);
    assert.deepStrictEqual(o.histogram, r.histogram, `${what} histogram`);
    const n = finite[c];
    tolMeanC.push(2 * n * U * abs[c] + 2 * U * Math.abs(r.mean ?? 0));
    tolM2C.push(2 * (n + 3) * U * n * (r.std ?? 0) ** 2);
    close(o.mean, r.mean, tolMeanC[c], `${what} mean`);
    close(o.std, r.std, stdTol(r.std, tolM2C[c], n), `${what} std`);
  });
  const merged = (first: number, last: number, r: Summary, what: string, o: Summary): void => {
    let n = 0, a = 0;
    for (let c = first; c <= last; c++) { n += finite[c]; a += abs[c] * finite[c]; }
    const M = r.mean ?? 0;
    let tolMean = 2 * n * U * (n ? a / n : 0) + 2 * U * Math.abs(M);
    let tolM2 = 2 * (n + 3) * U * n * (r.std ?? 0) ** 2;
    for (let c = first; c <= last; c++) {
      const rc = ref.channels[c];
      if (rc.mean === null) continue;
      tolMean += 0; // the group's sum is the channels' sums: bounded by the same n u sum|v| as above
      tolM2 += tolM2C[c] + 2 * finite[c] * (Math.abs(rc.mean - M) + tolMeanC[c]) * tolMeanC[c] * 2;
    }
    close(o.mean, r.mean, tolMean, `${what} mean`);
    close(o.std, r.std, stdTol(r.std, tolM2, n), `${what} std`);
  };
  ref.groups.forEach((r, g) => {
    const o = ours.groups[g];
    const what = `${label}: group ${g}`;
    assert.deepStrictEqual(o.channels, r.channels);
    sameExact(o, r, what);
    assert.deepStrictEqual(o.histogram, r.histogram, `${what} histogram`);
    merged(r.channels[0], r.channels[1], r, what, o);
  });
  sameExact(ours.overall, ref.overall, `${label}: overall`);
  if (ref.channels.length > 0) merged(0, ref.channels.length - 1, ref.overall, `${label}: overall`, ours.overall);
}

function stdTol(std: number | null, tolM2: number, n: number): number {
  if (std === null || n === 0) return 0;
  return std > 0 ? tolM2 / (2 * n * std) : Math.sqrt(tolM2 / n);
}

interface Case { name: string; values: Float32Array; layout: ChannelLayout; bins?: number; groups?: [number, number][] }

function cases(): Case[] {
  const out: Case[] = [];
  out.push({ name: 'random (3, 5, 37), groups', values: randn(3 * 5 * 37, 1, 0.5, 2), layout: { outer: 3, channels: 5, inner: 37 },
    groups: [[0, 1], [2, 4]] });
  out.push({ name: 'random, 7 bins, inner multiple of 4', values: randn(4 * 6 * 64, 2, -3, 0.1), layout: { outer: 4, channels: 6, inner: 64 }, bins: 7 });
  out.push({ name: 'more channels than rows (channel split)', values: randn(1 * 9 * 13, 3), layout: { outer: 1, channels: 9, inner: 13 } });
  out.push({ name: 'nhwc: channels last (inner 1), odd C', values: randn(2 * 11 * 7, 4, 1, 3), layout: { outer: 2 * 11, channels: 7, inner: 1 },
    groups: [[0, 6]] });
  out.push({ name: 'channels last, fewer rows than parts (channel split)', values: randn(2 * 11, 16, 5, 1), layout: { outer: 2, channels: 11, inner: 1 } });
  out.push({ name: 'a single channel', values: randn(1001, 5), layout: { outer: 1, channels: 1, inner: 1001 } });
  out.push({ name: 'a single channel as (N, 1, S)', values: randn(3 * 1 * 21, 6), layout: { outer: 3, channels: 1, inner: 21 } });
  out.push({ name: 'one element', values: Float32Array.of(-2.5), layout: { outer: 1, channels: 1, inner: 1 } });
  out.push({ name: 'empty', values: new Float32Array(0), layout: { outer: 0, channels: 3, inner: 4 } });
  out.push({ name: 'all equal', values: new Float32Array(2 * 3 * 10).fill(0.1), layout: { outer: 2, channels: 3, inner: 10 } });
  out.push({ name: 'huge offset (mean 1e4, std 1e-2)', values: randn(4 * 3 * 257, 7, 1e4, 1e-2), layout: { outer: 4, channels: 3, inner: 257 },
    groups: [[0, 2]] });
  out.push({ name: 'huge offset, channels last', values: randn(300 * 4, 8, 1e4, 1e-2), layout: { outer: 300, channels: 4, inner: 1 } });
  // values on the edges: integers 0..10 with 10 bins, so floor((v - lo) * scale) lands exactly on bin boundaries
  const ints = new Float32Array(2 * 2 * 33);
  for (let i = 0; i < ints.length; i++) ints[i] = i % 11;
  out.push({ name: 'values on bin edges', values: ints, layout: { outer: 2, channels: 2, inner: 33 }, bins: 10 });
  // non-finite values: NaN, +Inf, -Inf scattered; channel 1 has no finite value; channel 2 is all zeros, -0 first
  const nf = randn(3 * 4 * 19, 9);
  for (let i = 0; i < nf.length; i += 7) nf[i] = NaN;
  for (let i = 3; i < nf.length; i += 11) nf[i] = Infinity;
  for (let i = 5; i < nf.length; i += 13) nf[i] = -Infinity;
  for (let o = 0; o < 3; o++) {
    for (let i = 0; i < 19; i++) nf[(o * 4 + 1) * 19 + i] = i % 2 ? NaN : (i % 4 ? Infinity : -Infinity);
    for (let i = 0; i < 19; i++) nf[(o * 4 + 2) * 19 + i] = (o + i) % 3 === 0 ? 0 : -0;
  }
  nf[2 * 19] = -0; // the first zero of channel 2 is -0: stats.ts keeps it as min and max
  out.push({ name: 'NaN, ±Inf, a channel without finite values, signed zeros', values: nf, layout: { outer: 3, channels: 4, inner: 19 },
    groups: [[0, 1], [2, 3]] });
  const nf1 = randn(5 * 6, 10);
  nf1[0] = NaN; nf1[7] = Infinity; nf1[13] = -Infinity; nf1[2] = 0; nf1[8] = -0;
  out.push({ name: 'non-finite, channels last', values: nf1, layout: { outer: 5, channels: 6, inner: 1 } });
  // 200 channels x 501 bins: four histogram copies per channel would take more memory than allowed, so one copy
  // (parts 1, 2), or the TypeScript sideStats (parts 3: even one copy per part is too much)
  out.push({ name: 'many channels and bins (one histogram copy)', values: randn(3 * 200 * 17, 14, 0, 2), layout: { outer: 3, channels: 200, inner: 17 }, bins: 500 });
  // short channel blocks (1 < inner < 8) run as inner * C channels of one value per row, merged back
  const sh = randn(7 * 5 * 3, 17, -2, 3);
  sh[4] = NaN; sh[20] = Infinity; sh[21] = -0; sh[22] = 0;
  out.push({ name: 'short channel blocks (inner 3), NaN, Inf, zeros', values: sh, layout: { outer: 7, channels: 5, inner: 3 }, groups: [[0, 2], [3, 4]] });
  out.push({ name: 'short channel blocks (inner 2), huge offset', values: randn(50 * 6 * 2, 18, 1e4, 1e-2), layout: { outer: 50, channels: 6, inner: 2 } });
  out.push({ name: 'only NaN', values: new Float32Array(9).fill(NaN), layout: { outer: 3, channels: 1, inner: 3 } });
  out.push({ name: 'extremes of float32', values: Float32Array.of(3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45, 0, 1, -1, 2.5),
    layout: { outer: 2, channels: 2, inner: 2 }, bins: 3 });
  return out;
}

describe('fast statistics (WebAssembly sideStats)', () => {
  const fast = createFastKernels(WASM)!;

  it('loads', () => assert.ok(fast));

  for (const parts of [1, 2, 3]) {
    for (const k of cases()) {
      it(`${k.name}, parts = ${parts}: equals sideStats (input copied in, and in place)`, () => {
        const bins = k.bins ?? 50;
        const groups = k.groups ?? [];
        const ref = sideStats(k.values, k.layout, bins, groups);
        const copied = drive(fast, fast.sideStatsSteps(k.values, k.layout, bins, groups, parts), parts);
        assertSameStats(copied, ref, k.values, k.layout, `${k.name} (copied)`);
        const inPlace = fast.allocFloat32(Math.max(1, k.values.length))!.subarray(0, k.values.length);
        inPlace.set(k.values);
        const ours = drive(fast, fast.sideStatsSteps(inPlace, k.layout, bins, groups, parts), parts);
        assertSameStats(ours, ref, k.values, k.layout, `${k.name} (in place)`);
        fast.release(inPlace);
      });
    }
  }

  it('the in-thread sideStats is the same; float64 and plain arrays run the TypeScript sideStats; bins are checked', () => {
    const v = randn(2 * 3 * 40, 11);
    const layout = { outer: 2, channels: 3, inner: 40 };
    assertSameStats(fast.sideStats(v, layout, 20), sideStats(v, layout, 20), v, layout, 'in thread');
    const d = Float64Array.from(v, (x) => x + 1e-9);
    assert.deepStrictEqual(fast.sideStats(d, layout, 20), sideStats(d, layout, 20));
    assert.deepStrictEqual(fast.sideStats(Array.from(v), layout), sideStats(Array.from(v), layout));
    assert.throws(() => fast.sideStats(v, layout, 0), RangeError);
    assert.throws(() => fast.sideStats(v, layout, 1.5), RangeError);
  });

  it('one histogram copy, or the TypeScript sideStats, where four copies would not be worth their memory', () => {
    const k = cases().find((c) => c.name.startsWith('many channels'))!;
    for (const [parts, copies] of [[1, 1], [2, 1], [3, 0]]) {
      const phases: Job[][] = [];
      drive(fast, fast.sideStatsSteps(k.values, k.layout, 500, [], parts), parts, phases);
      if (copies === 0) assert.equal(phases.length, 0, 'TypeScript sideStats');
      else assert.deepEqual(phases[1].map((j) => j.args[j.args.length - 1]), new Array(phases[1].length).fill(copies));
    }
    const phases: Job[][] = [];
    drive(fast, fast.sideStatsSteps(randn(4 * 64 * 50, 15), { outer: 4, channels: 64, inner: 50 }, 50, [], 2), 2, phases);
    assert.deepEqual(phases[1].map((j) => j.args[j.args.length - 1]), [4, 4], 'four copies');
  });

  it('gives its scratch memory back', () => {
    const v = randn(4 * 8 * 100, 12);
    const before = fast.arena.usedBytes;
    fast.sideStats(v, { outer: 4, channels: 8, inner: 100 }, 30, [[0, 7]]);
    drive(fast, fast.sideStatsSteps(v, { outer: 4, channels: 8, inner: 100 }, 30, [], 2), 2);
    assert.equal(fast.arena.usedBytes, before);
  });

  it('the comparison can fail: one histogram count, one min, one mean off by an element', () => {
    const k = cases()[0];
    const ref = sideStats(k.values, k.layout, 50, k.groups);
    const ours = fast.sideStats(k.values, k.layout, 50, k.groups);
    const h = ours.channels[1].histogram.slice();
    h[h.findIndex((x) => x > 0)]--;
    const broken1 = { ...ours, channels: ours.channels.map((c, i) => (i === 1 ? { ...c, histogram: h } : c)) };
    assert.throws(() => assertSameStats(broken1, ref, k.values, k.layout, 'broken'), /histogram/);
    const broken2 = { ...ours, channels: ours.channels.map((c, i) => (i === 2 ? { ...c, min: (c.min ?? 0) + 1e-7 } : c)) };
    assert.throws(() => assertSameStats(broken2, ref, k.values, k.layout, 'broken'), /min/);
    // a channel's sum missing its last element
    const c0 = ours.channels[0];
    const n = c0.count;
    const lastOfChannel0 = k.values[(k.layout.outer - 1) * k.layout.channels * k.layout.inner + k.layout.inner - 1];
    const wrongMean = ((c0.mean ?? 0) * n - lastOfChannel0) / n;
    const broken3 = { ...ours, channels: ours.channels.map((c, i) => (i === 0 ? { ...c, mean: wrongMean } : c)) };
    assert.throws(() => assertSameStats(broken3, ref, k.values, k.layout, 'broken'), /mean/);
  });
});

/** What analyze() shows: statistics of input and output with the op's channel layout and groups. */
function specOf(x: Tensor, p: NormParams, bins = 50): { layout: ChannelLayout; bins: number; groups: [number, number][] } {
  const layout = channelLayout(x.shape, channelAxis(x.shape, p));
  return { layout, bins, groups: groupRanges(layout.channels, p) };
}

describe('fast statistics fused with the normalization (normalizeWithStats)', () => {
  const fast = createFastKernels(WASM)!;
  const shape = [3, 6, 5, 7];
  const x = tensor('float32', shape, randn(numel(shape), 21, 0.3, 1.7));
  const w6 = tensor('float32', [6], randn(6, 22));
  const b6 = tensor('float32', [6], randn(6, 23));
  const xh = tensor('float32', [3, 5, 7, 6], randn(3 * 5 * 7 * 6, 26, -0.2, 0.8));
  const input = (p: NormParams): Tensor => (p.op === 'group' && p.layout === 'nhwc' ? xh : x);
  const OPS: NormParams[] = [
    { op: 'batch' },
    { op: 'batch', mode: 'eval', running_mean: tensor('float32', [6], Float32Array.of(1, 2, 3, -1, 0, 0.5)),
      running_var: tensor('float32', [6], Float32Array.of(0.5, 1, 2, 3, 4, 5)) },
    { op: 'batch', layout: 'nhwc' },
    { op: 'layer' },
    { op: 'layer', normalized_shape: [5, 7], weight: tensor('float32', [5, 7], randn(35, 24)) },
    { op: 'layer', layout: 'nhwc', normalized_shape: [7] },
    { op: 'layer', normalized_shape: [6, 5, 7] }, // rows of 210 across 6 channel segments of 35
    { op: 'layer', normalized_shape: [7] }, // rows of 7, 5 to a channel segment (a part may end mid-segment)
    { op: 'group', groups: 3, weight: w6, bias: b6 },
    { op: 'group', groups: 2, layout: 'nhwc', weight: tensor('float32', [6], randn(6, 25)) }, // on xh: C = 6 last
    { op: 'instance' },
    { op: 'instance', layout: 'nhwc' },
    { op: 'rms' },
    { op: 'rms', normalized_shape: [5, 7], weight: tensor('float32', [5, 7], randn(35, 27)) },
    { op: 'rms', layout: 'nhwc' },
  ];
  for (const parts of [1, 2, 3]) {
    for (const p of OPS) {
      it(`${p.op}${p.mode ? ` ${p.mode}` : ''}${p.layout ? ` ${p.layout}` : ''}${p.weight ? ' affine' : ''}, parts = ${parts}: the output of steps, both sides' sideStats`, () => {
        const x = input(p);
        const spec = specOf(x, p);
        assert.ok(spec.groups.length === (p.op === 'group' ? p.groups : 0));
        const plain = fast.normalize(x, p);
        const phases: Job[][] = [];
        const r = drive(fast, fast.normalizeWithStatsSteps(x, p, spec, parts), parts, phases);
        assert.equal(r.kernels, 'wasm');
        // BatchNorm, GroupNorm, InstanceNorm: pass 1 of both sides rides on the write pass (no stats1 phase);
        // LayerNorm, RMSNorm: on the rows just written, per channel segment (35 values here), except with
        // channels last (segments of one value): one stats1 phase per side. Pass 2: one stats2 phase per side.
        const count = (fn: string): number => phases.filter((ph) => ph.every((j) => j.fn === fn)).length;
        assert.equal(count('stats1_f32'), (p.op === 'layer' || p.op === 'rms') && spec.layout.inner === 1 ? 2 : 0, 'pass-1 phases');
        assert.equal(count('stats2_f32'), 2, 'pass-2 phases');
        assert.deepStrictEqual(r.output.data, plain.output.data, 'output bit for bit');
        assert.deepStrictEqual(r.running_mean?.data, plain.running_mean?.data);
        assert.deepStrictEqual(r.moments, plain.moments);
        const xin = toComputeArray(x);
        const xout = toComputeArray(r.output);
        assertSameStats(r.stats.before!, sideStats(xin, spec.layout, spec.bins, spec.groups), xin, spec.layout, 'before');
        assertSameStats(r.stats.after, sideStats(xout, spec.layout, spec.bins, spec.groups), xout, spec.layout, 'after');
        fast.release(plain.output);
        fast.release(r.output);
      });
    }
  }

  it('LayerNorm/RMSNorm rows cut into parts in the middle of channel segments, with NaN, Inf and zeros of both signs', () => {
    // 90 rows of 7 in 18 channel segments of 35: 4 parts of 23, 23, 22, 22 rows end mid-segment, so a segment's
    // pass 1 is split between two parts' accumulators and merged in element order
    const v = Float32Array.from(x.data as Float32Array);
    v[36] = NaN; v[170] = Infinity; v[160] = -0; v[161] = 0; v[300] = 0; v[301] = -0;
    const xs = tensor('float32', [3, 6, 5, 7], v);
    for (const p of [{ op: 'layer', normalized_shape: [7] }, { op: 'rms', normalized_shape: [7] }] as NormParams[]) {
      const spec = specOf(xs, p, 11);
      const phases: Job[][] = [];
      const r = drive(fast, fast.normalizeWithStatsSteps(xs, p, spec, 4), 4, phases);
      assert.equal(phases.filter((ph) => ph.every((j) => j.fn === 'stats1_f32')).length, 0, `${p.op}: pass 1 rides on the rows`);
      const xin = toComputeArray(xs);
      assertSameStats(r.stats.before!, sideStats(xin, spec.layout, 11, spec.groups), xin, spec.layout, `${p.op} before`);
      const xout = toComputeArray(r.output);
      assertSameStats(r.stats.after, sideStats(xout, spec.layout, 11, spec.groups), xout, spec.layout, `${p.op} after`);
      fast.release(r.output);
    }
  });

  it('input already in the memory, a strided view, and NaN in the input', () => {
    const inArena = fast.allocFloat32(numel(shape))!;
    inArena.set(x.data as Float32Array);
    inArena[17] = NaN;
    inArena[40] = -Infinity;
    const xa = tensor('float32', shape, inArena);
    for (const p of [{ op: 'instance' }, { op: 'layer' }] as NormParams[]) {
      const spec = specOf(xa, p, 13);
      const r = fast.normalizeWithStats(xa, p, spec);
      const xin = toComputeArray(xa);
      assertSameStats(r.stats.before!, sideStats(xin, spec.layout, 13, spec.groups), xin, spec.layout, `${p.op} before`);
      const xout = toComputeArray(r.output);
      assertSameStats(r.stats.after, sideStats(xout, spec.layout, 13, spec.groups), xout, spec.layout, `${p.op} after`);
      fast.release(r.output);
    }
    fast.release(inArena);
  });

  it('an output with Inf where the input has none (weights near float32\'s max), fused and not', () => {
    const big = tensor('float32', [6], Float32Array.of(3e38, 1, -3e38, 2, 3e38, 1));
    for (const p of [{ op: 'batch', weight: big }, { op: 'group', groups: 3, weight: big }, { op: 'rms', normalized_shape: [5, 7], weight: tensor('float32', [5, 7], new Float32Array(35).fill(3e38)) }] as NormParams[]) {
      const spec = specOf(x, p, 20);
      const r = fast.normalizeWithStats(x, p, spec);
      const xout = toComputeArray(r.output);
      assert.ok(xout.some((v) => v === Infinity) && xout.some((v) => Number.isFinite(v)), `${p.op}: the output has Inf and finite values`);
      assertSameStats(r.stats.after, sideStats(xout, spec.layout, 20, spec.groups), xout, spec.layout, `${p.op} after`);
      fast.release(r.output);
    }
  });

  it('before: false gives the output\'s statistics only (the same), for every op, one phase per pass fewer', () => {
    for (const p of OPS) {
      const x = input(p);
      const spec = specOf(x, p);
      const both: Job[][] = [];
      const one: Job[][] = [];
      const a = drive(fast, fast.normalizeWithStatsSteps(x, p, spec, 1), 1, both);
      const b = drive(fast, fast.normalizeWithStatsSteps(x, p, { ...spec, before: false }, 1), 1, one);
      assert.equal(b.stats.before, undefined);
      assert.deepStrictEqual(b.stats.after, a.stats.after, p.op);
      assert.deepStrictEqual(b.output.data, a.output.data);
      const statPhases = (ph: Job[][]): number => ph.filter((jobs) => jobs[0].fn.startsWith('stats')).length;
      assert.equal(statPhases(one), statPhases(both) / 2, p.op);
      fast.release(a.output);
      fast.release(b.output);
    }
  });

  it('unbatched, 2-D and short-S inputs (channels on axis 0 or 1; S = 1 or 3)', () => {
    const u = tensor('float32', [6, 5, 7], randn(210, 61, -1, 2));
    const m = tensor('float32', [40, 6], randn(240, 62, 3, 0.5));
    const runs: [Tensor, NormParams][] = [
      [u, { op: 'instance', unbatched: true }], [u, { op: 'group', groups: 2, unbatched: true }], [u, { op: 'layer', unbatched: true }],
      [m, { op: 'batch' }], [m, { op: 'layer' }], [m, { op: 'rms' }],
      [tensor('float32', [10, 6, 3], randn(180, 63, 1, 2)), { op: 'batch' }], // S = 3: short channel blocks
      [tensor('float32', [10, 6, 3], randn(180, 64, 1, 2)), { op: 'group', groups: 3 }],
    ];
    for (const [x, p] of runs) {
      for (const parts of [1, 2]) {
        const spec = specOf(x, p);
        const r = drive(fast, fast.normalizeWithStatsSteps(x, p, spec, parts), parts);
        const plain = drive(fast, fast.steps(x, p, parts), parts);
        assert.deepStrictEqual(r.output.data, plain.output.data, `${p.op} output`);
        const xin = toComputeArray(x);
        const xout = toComputeArray(r.output);
        assertSameStats(r.stats.before!, sideStats(xin, spec.layout, spec.bins, spec.groups), xin, spec.layout, `${p.op} before`);
        assertSameStats(r.stats.after, sideStats(xout, spec.layout, spec.bins, spec.groups), xout, spec.layout, `${p.op} after`);
        fast.release(r.output);
        fast.release(plain.output);
      }
    }
  });

  it('float64 input falls back to the TypeScript kernels and statistics', () => {
    const x64 = tensor('float64', [2, 3, 4], Float64Array.from(randn(24, 31)));
    const p: NormParams = { op: 'batch' };
    const spec = specOf(x64, p);
    const r = fast.normalizeWithStats(x64, p, spec);
    assert.equal(r.kernels, 'ts');
    assert.deepStrictEqual(r.stats.before, sideStats(toComputeArray(x64), spec.layout, spec.bins));
  });

  it('analyze() takes FastKernels as its kernels (fused statistics), same analysis as the TypeScript kernels', () => {
    const p: NormParams = { op: 'group', groups: 3 };
    const ts = analyze(x, p);
    const ours = analyze(x, p, { kernels: fast });
    assert.deepStrictEqual(ours.result.output.data, ts.result.output.data);
    const xin = toComputeArray(x);
    const layout = channelLayout(x.shape, 1);
    assertSameStats(ours.stats.before, ts.stats.before, xin, layout, 'before');
    assertSameStats(ours.stats.after, ts.stats.after, toComputeArray(ts.result.output), layout, 'after');
    assert.deepStrictEqual(ours.checks, ts.checks);
    assert.deepStrictEqual(ours.flags, ts.flags);
  });

  it('tensorStats takes the fast sideStats (normscope stats, hovers)', () => {
    const xh64 = tensor('float32', [3, 5, 7, 6], randn(3 * 5 * 7 * 6, 51, 1e4, 1e-2));
    for (const p of [{}, { layout: 'nhwc' as const }, { unbatched: true }]) {
      const ours = tensorStats(xh64, p, 30, fast);
      const layout = channelLayout(xh64.shape, channelAxis(xh64.shape, p));
      assertSameStats(ours, tensorStats(xh64, p, 30), toComputeArray(xh64), layout, JSON.stringify(p));
    }
  });
});

describe('fast statistics on two threads (ParallelKernels.run)', function () {
  this.timeout(60000);
  const fast = createFastKernels(WASM)!;
  let pool: ParallelKernels;
  before(() => {
    // the caller leaves the worker its share, so the worker surely runs parts of every phase
    pool = new ParallelKernels(fast, { threads: 2, stealAfterMs: 60000 });
    assert.equal(pool.waitOnline(20000), 1, 'the worker came online');
  });
  after(() => pool.close());

  it('sideStatsSteps and normalizeWithStatsSteps: each part\'s accumulators written on its own thread, merged here', () => {
    const jobs = pool.workerJobs;
    for (const k of cases().slice(0, 4)) {
      const bins = k.bins ?? 50;
      const ours = pool.run(fast.sideStatsSteps(k.values, k.layout, bins, k.groups ?? [], pool.threads));
      assertSameStats(ours, sideStats(k.values, k.layout, bins, k.groups ?? []), k.values, k.layout, k.name);
    }
    const x = tensor('float32', [4, 8, 6, 5], randn(4 * 8 * 6 * 5, 41, 2, 0.5));
    for (const p of [{ op: 'batch' }, { op: 'group', groups: 4 }, { op: 'layer' }] as NormParams[]) {
      const spec = specOf(x, p);
      const r = pool.run(fast.normalizeWithStatsSteps(x, p, spec, pool.threads));
      const one = pool.run(fast.steps(x, p, pool.threads)); // BatchNorm's per-part sums: the same split, the same bits
      assert.deepStrictEqual(r.output.data, one.output.data, `${p.op}: output`);
      const xin = toComputeArray(x);
      const xout = toComputeArray(r.output);
      assertSameStats(r.stats.before!, sideStats(xin, spec.layout, spec.bins, spec.groups), xin, spec.layout, `${p.op} before`);
      assertSameStats(r.stats.after, sideStats(xout, spec.layout, spec.bins, spec.groups), xout, spec.layout, `${p.op} after`);
      fast.release(r.output);
      fast.release(one.output);
    }
    assert.ok(pool.workerJobs > jobs, 'the worker ran jobs');
  });
});
