import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensorStats, groupRanges } from '../../src/engine/analyze';
import { readNpy, writeNpy } from '../../src/engine/formats/npy';
import { ByteSource, bytesSource, openNpySource } from '../../src/engine/formats/source';
import { normalize } from '../../src/engine/ops';
import { NormParams } from '../../src/engine/params';
import { SideStats, Summary, channelLayout, sideStats } from '../../src/engine/stats';
import { StreamingStats, mergeMoments, momentsOf } from '../../src/engine/streamStats';
import { chunkElementsFor, streamNormalize, streamStats } from '../../src/engine/streaming';
import { Tensor, tensor, toFloat64 } from '../../src/engine/tensor';
import { randn } from '../support/random';

const FORMATS = join(__dirname, '../../../test/fixtures/formats');



function close(a: number | null, b: number | null, rel: number, what: string): void {
  if (a === null || b === null) { assert.equal(a, b, what); return; }
  const tol = rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (rel ${Math.abs(a - b) / Math.max(Math.abs(b), 1e-300)})`);
}

function sameSummary(a: Summary, b: Summary, what: string): void {
  assert.equal(a.count, b.count, `${what} count`);
  assert.equal(a.nan, b.nan, `${what} nan`);
  assert.equal(a.inf, b.inf, `${what} inf`);
  assert.equal(a.min, b.min, `${what} min`);
  assert.equal(a.max, b.max, `${what} max`);
  // relative to the spread too: a mean near 0 (normalized data) is a cancellation of values of size std
  if (a.mean !== null && b.mean !== null && b.std !== null) {
    assert.ok(Math.abs(a.mean - b.mean) <= 1e-12 * Math.max(Math.abs(b.mean), b.std), `${what} mean: ${a.mean} vs ${b.mean}`);
  } else assert.equal(a.mean, b.mean, `${what} mean`);
  close(a.std, b.std, 1e-12, `${what} std`);
}

/** Streamed statistics must equal the in-memory ones: exact counts, histograms and extremes; moments to 1e-12. */
function sameStats(a: SideStats, b: SideStats): void {
  sameSummary(a.overall, b.overall, 'overall');
  assert.deepEqual(a.edges, b.edges);
  assert.deepEqual(a.overall.histogram.counts, b.overall.histogram.counts);
  assert.equal(a.channels.length, b.channels.length);
  a.channels.forEach((c, i) => { sameSummary(c, b.channels[i], `channel ${i}`); assert.deepEqual(c.histogram, b.channels[i].histogram); });
  assert.equal(a.groups.length, b.groups.length);
  a.groups.forEach((g, i) => { sameSummary(g, b.groups[i], `group ${i}`); assert.deepEqual(g.histogram, b.groups[i].histogram); });
}

/** A ByteSource over bytes that counts its reads. */
function counting(bytes: Uint8Array): ByteSource & { reads: number } {
  const s = bytesSource(bytes);
  const o = { size: s.size, reads: 0, read: (off: number, len: number) => { o.reads++; return s.read(off, len); } };
  return o;
}

describe('streamed statistics: Chan merge', () => {
  it('merges moments of parts into the moments of the whole', () => {
    const v = randn(1001, 7, 100, 3);
    const whole = momentsOf(v);
    const merged = momentsOf(v, 0, 1);
    for (const [a, b] of [[1, 10], [10, 500], [500, 501], [501, 1001]]) mergeMoments(merged, momentsOf(v, a, b));
    assert.equal(merged.finite, 1001);
    close(merged.mean, whole.mean, 1e-14, 'mean');
    close(merged.m2, whole.m2, 1e-12, 'm2');
  });

  it('chunk boundaries anywhere (inside slabs, across channels) give the in-memory statistics', () => {
    const shapes: [number[], number][] = [[[3, 4, 5, 6], 1], [[2, 7, 3], 1], [[5, 6, 4, 3], 3], [[1000], -1], [[4, 1, 9], 1]];
    for (const [shape, axis] of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = randn(n, n, 5, 2);
      v[3] = NaN; v[n - 2] = Infinity; v[n >> 1] = -Infinity;
      const layout = channelLayout(shape, axis);
      const groups = layout.channels % 2 === 0 ? [[0, layout.channels / 2 - 1], [layout.channels / 2, layout.channels - 1]] as [number, number][] : [];
      const expected = sideStats(v, layout, 17, groups);
      for (const chunk of [1, 7, 13, 64, n]) {
        const s = new StreamingStats(layout, 17, groups);
        for (let i = 0; i < n; i += chunk) s.addMoments(v.subarray(i, i + chunk), i);
        for (let i = 0; i < n; i += chunk) s.addHistogram(v.subarray(i, i + chunk), i);
        sameStats(s.result(), expected);
      }
    }
  });

  it('keeps off-centre data accurate (mean 1e4, std 1e-2)', () => {
    const v = new Float64Array(randn(4096, 3, 0, 1)).map((x) => 1e4 + 1e-2 * x);
    const expected = sideStats(v, channelLayout([4096], -1));
    const s = new StreamingStats(channelLayout([4096], -1));
    for (let i = 0; i < v.length; i += 100) s.addMoments(v.subarray(i, i + 100), i);
    close(s.result().overall.std, expected.overall.std, 1e-12, 'std');
  });

  it('stays exact when a run starts with an outlier far from its mean (the second pass about the mean)', () => {
    // runs longer than SHIFT_TRUST whose first value is 1e7 among values near 1e4 (channels first and last)
    for (const [shape, axis] of [[[2, 3, 3000], 1], [[3000, 3], 1]] as [number[], number][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = new Float64Array(randn(n, 5, 0, 1)).map((x) => 1e4 + 1e-2 * x);
      const layout = channelLayout(shape, axis);
      if (layout.inner > 1) for (let i = 0; i < n; i += layout.inner) v[i] = 1e7;
      else v.fill(1e7, 0, layout.channels);
      const expected = sideStats(v, layout);
      for (const chunk of [2500, 7000, n]) {
        const s = new StreamingStats(layout);
        for (let i = 0; i < n; i += chunk) s.addMoments(v.subarray(i, i + chunk), i);
        for (let i = 0; i < n; i += chunk) s.addHistogram(v.subarray(i, i + chunk), i);
        sameStats(s.result(), expected);
      }
    }
  });
});

describe('streamed statistics: histograms over assumed edges (StreamingStats.assumeEdges)', () => {
  const shape = [6, 4, 25];
  const layout = channelLayout(shape, 1);
  const v = randn(600, 21, 1, 3);
  const expected = sideStats(v, layout, 13);

  /** Moments and, while the assumed edges hold, histograms chunk by chunk; then settleEdges. */
  const run = (edges: number[]) => {
    const s = new StreamingStats(layout, 13);
    s.assumeEdges(edges);
    let counting = true;
    for (let i = 0; i < 600; i += 70) {
      s.addMoments(v.subarray(i, i + 70), i);
      if (counting) counting = s.withinAssumedEdges();
      if (counting) s.addHistogram(v.subarray(i, i + 70), i);
    }
    return { s, held: s.settleEdges(counting) };
  };

  it('the true edges: counted in the moments pass, the in-memory statistics', () => {
    const { s, held } = run(expected.edges);
    assert.equal(held, true);
    sameStats(s.result(), expected);
  });

  for (const [what, edges] of [
    ['wider', expected.edges.map((e) => 2 * e)],
    ['narrower (values fall outside: counting stops)', expected.edges.map((e) => e / 2)],
  ] as const) {
    it(`edges ${what}: not held, histograms zeroed, then counted again over the true edges`, () => {
      const { s, held } = run([...edges]);
      assert.equal(held, false);
      const zeroed = s.result();
      assert.deepEqual(zeroed.edges, expected.edges);
      assert.equal(zeroed.overall.histogram.counts.reduce((a, b) => a + b, 0), 0);
      for (let i = 0; i < 600; i += 70) s.addHistogram(v.subarray(i, i + 70), i);
      sameStats(s.result(), expected);
    });
  }
});

describe('streamed statistics: .npy in chunks', () => {
  const x = tensor('float32', [6, 4, 5, 7], randn(6 * 4 * 5 * 7, 11, 1, 2));
  const bytes = writeNpy(x);

  it('reads a file in the chunks a tiny budget allows and matches tensorStats', async () => {
    const src = counting(bytes);
    const t = await openNpySource(src);
    assert.equal(src.reads, 2); // the preamble, then exactly the header
    const { stats, info } = await streamStats(t, { chunkElements: 100 });
    assert.equal(info.chunks, Math.ceil(840 / 100));
    assert.equal(info.chunks, 9);
    sameStats(stats, tensorStats(readNpy(bytes)));
  });

  it('reports progress over both passes, a preview of the first chunk and a first picture after pass 1', async () => {
    const seen: number[] = [];
    let moments: SideStats | undefined;
    let preview: [SideStats, number] | undefined;
    await streamStats(await openNpySource(bytesSource(bytes)), {
      chunkElements: 300, onProgress: (p) => seen.push(p.done / p.total), onMoments: (s) => { moments = s; },
      onPreview: (s, n) => { preview = [s, n]; },
    });
    assert.equal(preview?.[1], 300);
    const firstChunk = sideStats(toFloat64(x).subarray(0, 300), channelLayout([300], -1)).overall;
    sameSummary(preview![0].overall, firstChunk, 'preview');
    assert.deepEqual(preview![0].overall.histogram, firstChunk.histogram);
    assert.equal(preview![0].channels.length, 4);
    assert.deepEqual(seen.map((f) => Math.round(f * 840 * 2)), [300, 600, 840, 1140, 1440, 1680]);
    assert.equal(moments?.overall.count, 840);
    assert.equal(moments?.overall.histogram.counts.reduce((a, b) => a + b, 0), 0);
  });

  it('channels-last and unbatched layouts stream like in memory', async () => {
    const t = await openNpySource(bytesSource(bytes));
    sameStats((await streamStats(t, { chunkElements: 33, layout: 'nhwc' })).stats, tensorStats(x, { layout: 'nhwc' }));
    sameStats((await streamStats(t, { chunkElements: 33, unbatched: true })).stats, tensorStats(x, { unbatched: true }));
  });

  for (const file of ['fortran_float64.npy', 'fortran_be_int32.npy', 'be_float16.npy', 'be_int64.npy', 'float16.npy', 'bool.npy', 'uint64.npy']) {
    it(`streams the numpy fixture ${file} like the in-memory reader`, async () => {
      const b = new Uint8Array(readFileSync(join(FORMATS, file)));
      const { stats } = await streamStats(await openNpySource(bytesSource(b)), { chunkElements: 2 });
      sameStats(stats, tensorStats(readNpy(b)));
    });
  }

  it('refuses a truncated file before reading data, with the in-memory message', async () => {
    await assert.rejects(openNpySource(bytesSource(bytes.subarray(0, bytes.length - 4))),
      { message: 'truncated: header says 3360 bytes of data, file has 3356 after the header (byte offset 128)' });
  });

  it('sizes chunks from a memory budget', () => {
    assert.equal(chunkElementsFor(4, 512 * 2 ** 20), Math.floor((512 - 96) * 2 ** 20 / 24));
    assert.equal(chunkElementsFor(4, 1000), 20); // 500 bytes left, 24 per element
    assert.equal(chunkElementsFor(2, 1000, 0), 125);
    assert.equal(chunkElementsFor(4, 10), 1);
  });
});

describe('streamed normalization', () => {
  const x = tensor('float32', [6, 4, 3, 5], randn(360, 5, 3, 2));
  const bytes = writeNpy(x);
  const cases: [string, NormParams][] = [
    ['LayerNorm [C,H,W]', { op: 'layer', normalized_shape: [4, 3, 5] }],
    ['LayerNorm [W]', { op: 'layer' }],
    ['GroupNorm(2)', { op: 'group', groups: 2 }],
    ['InstanceNorm', { op: 'instance' }],
    ['RMSNorm [W]', { op: 'rms' }],
    ['BatchNorm eval', { op: 'batch', mode: 'eval', running_mean: tensor('float64', [4], new Float64Array([1, 2, 3, 4])), running_var: tensor('float64', [4], new Float64Array([1, 2, 3, 4])) }],
    ['BatchNorm train', { op: 'batch', mode: 'train' }],
    ['BatchNorm train nhwc', { op: 'batch', mode: 'train', layout: 'nhwc', momentum: null, num_batches_tracked: 3 }],
  ];
  for (const [name, p] of cases) {
    it(`${name}: chunks of whole samples give the whole-tensor result`, async () => {
      const whole = normalize(x, p);
      const parts: Float32Array[] = [];
      const r = await streamNormalize(await openNpySource(bytesSource(bytes)), p, async (y) => { parts.push(Float32Array.from(y)); }, { chunkElements: 150 });
      assert.equal(r.info.chunks, 3); // 150 elements = 2 samples of 60
      const got = new Float32Array(360);
      let o = 0;
      for (const q of parts) { got.set(q, o); o += q.length; }
      const want = toFloat64(whole.output);
      const train = p.op === 'batch' && p.mode === 'train';
      for (let i = 0; i < 360; i++) close(got[i], want[i], train ? 4e-7 : 0, `output ${i}`);
      const layout = channelLayout(x.shape, p.layout === 'nhwc' ? 3 : 1);
      const groups = groupRanges(layout.channels, p);
      sameStats(r.before, sideStats(toFloat64(x), layout, 50, groups));
      const after = sideStats(toFloat64(whole.output), layout, 50, groups);
      if (!train) sameStats(r.after, after);
      else close(r.after.overall.std, after.overall.std, 1e-6, 'after std');
      if (train) {
        const rm = toFloat64(whole.running_mean as Tensor), rv = toFloat64(whole.running_var as Tensor);
        for (let c = 0; c < rm.length; c++) {
          close(r.running_mean?.[c] ?? null, rm[c], 1e-6, `running_mean ${c}`);
          close(r.running_var?.[c] ?? null, rv[c], 1e-6, `running_var ${c}`);
        }
        assert.equal(r.num_batches_tracked, whole.num_batches_tracked);
      }
    });
  }

  it('two passes over the file; BatchNorm runs its op once (output histograms in the same pass), the others twice', async () => {
    for (const [name, p] of cases) {
      const src = counting(bytes);
      let normalized = 0;
      const r = await streamNormalize(await openNpySource(src), p, async () => {}, {
        chunkElements: 150,
        // (BatchNorm's edge prediction runs the op on 2 samples of one value per channel: 2 x 4 elements)
        normalize: (t, q) => { if (t.shape[0] > 2 || t.shape[2] !== 1) normalized += t.shape.reduce((a, b) => a * b, 1); return normalize(t, q); },
      });
      assert.equal(r.info.passes, 2, name);
      assert.equal(src.reads, 2 + 2 * 3, name); // the header, then 3 chunks per pass
      assert.equal(normalized, p.op === 'batch' ? 360 : 720, name);
    }
  });

  it('BatchNorm whose output overflows float32 (edges not predictable): a third pass, the in-memory statistics', async () => {
    const C = (v: number[]) => tensor('float64', [4], new Float64Array(v));
    const p: NormParams = { op: 'batch', mode: 'eval', running_mean: C([0, 0, 0, 0]), running_var: C([1, 1, 1, 1]), weight: C([1, 1e38, 1, -1e38]) };
    const whole = normalize(x, p);
    const after = sideStats(toFloat64(whole.output), channelLayout(x.shape, 1), 50, []);
    assert.ok(after.overall.inf > 0);
    const parts: number[] = [];
    const r = await streamNormalize(await openNpySource(bytesSource(bytes)), p, async (y) => { parts.push(...y); }, { chunkElements: 150 });
    assert.equal(r.info.passes, 3);
    assert.deepEqual(parts, Array.from(toFloat64(whole.output)));
    sameStats(r.after, after);
  });

  it('refuses what needs the whole tensor, and samples larger than a chunk', async () => {
    const src = await openNpySource(bytesSource(bytes));
    await assert.rejects(streamNormalize(src, { op: 'layer', normalized_shape: [6, 4, 3, 5] }, async () => {}, { chunkElements: 150 }),
      { message: 'LayerNorm over every dim needs statistics of the whole tensor at once: it is not streamed; normalize over the non-batch dims, or load the tensor whole' });
    await assert.rejects(streamNormalize(src, { op: 'instance' }, async () => {}, { chunkElements: 59 }),
      { message: 'one sample holds 60 elements, more than the 59 a chunk may hold within the memory budget: raise the budget' });
    await assert.rejects(streamNormalize(src, { op: 'instance', unbatched: true }, async () => {}, { chunkElements: 150 }),
      { message: 'streamed ops need a batch axis to split the work by samples (N, C, *): this input has none' });
    const fortran = await openNpySource(bytesSource(new Uint8Array(readFileSync(join(FORMATS, 'fortran_float64.npy')))));
    await assert.rejects(streamNormalize(fortran, { op: 'layer' }, async () => {}, { chunkElements: 150 }),
      { message: 'streamed ops need C-order data: this file is in Fortran order (statistics still stream)' });
  });

  it('a channel axis past MAX_STAT_CHANNELS: statistics of the whole tensor, as in memory; BatchNorm train refused, eval streams', async () => {
    const shape = [2, 70_000, 2];
    const x = tensor('float32', shape, randn(2 * 70_000 * 2, 31, 0.5, 2));
    const src = await openNpySource(bytesSource(writeNpy(x)));
    const streamed = await streamStats(src, { chunkElements: 150_000 });
    assert.equal(streamed.stats.channels.length, 1);
    sameStats(streamed.stats, tensorStats(x));
    await assert.rejects(streamNormalize(src, { op: 'batch' }, async () => {}, { chunkElements: 150_000 }),
      { message: 'BatchNorm in train mode on a streamed file takes its batch statistics channel by channel, and axis 1 has 70,000 channels, more than the 65,536 NormScope takes statistics of one by one: use eval mode, or load the tensor whole (raise the budget)' });
    const parts: number[] = [];
    const r = await streamNormalize(src, { op: 'batch', mode: 'eval' }, async (y) => { for (const v of y) parts.push(v); }, { chunkElements: 150_000 });
    const whole = normalize(x, { op: 'batch', mode: 'eval' });
    assert.deepEqual(parts, Array.from(toFloat64(whole.output)));
    sameStats(r.after, tensorStats(whole.output));
  });
});

describe('streamed statistics on the WebAssembly stats kernels (streamKernels.ts)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createFastKernels } = require('../../src/node/pool') as typeof import('../../src/node/pool');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chunkKernels } = require('../../src/engine/streamKernels') as typeof import('../../src/engine/streamKernels');
  const wasm = readFileSync(join(__dirname, '../../../dist/kernels.wasm'));
  const fast = createFastKernels(wasm);
  if (!fast) throw new Error('the kernels did not load');
  const k = chunkKernels(fast);

  /** v copied into the kernels' memory (where forEachChunk reads chunks). */
  const shared = (v: Float32Array): Float32Array => { const a = fast.allocFloat32(v.length); if (!a) throw new Error('no room'); a.set(v); return a; };

  it('chunk boundaries anywhere, every layout kind (inner 1, short, long), NaN/Inf and signed zeros: the in-memory statistics', () => {
    const shapes: [number[], number][] = [[[3, 4, 5, 6], 1], [[2, 7, 33], 1], [[5, 6, 4, 3], 3], [[1000], -1], [[4, 1, 9], 1], [[6, 5, 8], 1], [[40, 12], 1]];
    for (const [shape, axis] of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = shared(randn(n, n, 5, 2));
      v[3] = NaN; v[n - 2] = Infinity; v[n >> 1] = -Infinity;
      const layout = channelLayout(shape, axis);
      // a channel whose smallest value is a zero, -0 first: the sign the TypeScript pass keeps
      for (let i = 0; i < n; i++) if (Math.floor(i / layout.inner) % layout.channels === 0) v[i] = Math.abs(v[i]) + 1;
      const z = [...Array(n).keys()].filter((i) => Math.floor(i / layout.inner) % layout.channels === 0);
      v[z[1]] = -0; v[z[z.length - 1]] = 0;
      const groups = layout.channels % 2 === 0 ? [[0, layout.channels / 2 - 1], [layout.channels / 2, layout.channels - 1]] as [number, number][] : [];
      const expected = sideStats(v, layout, 17, groups);
      for (const chunk of [1, 7, 13, 64, 120, n]) {
        const s = new StreamingStats(layout, 17, groups);
        let viaKernels = 0;
        for (let i = 0; i < n; i += chunk) if (k.addMoments(s, v.subarray(i, i + chunk), i)) viaKernels++;
        for (let i = 0; i < n; i += chunk) assert.ok(k.addHistogram(s, v.subarray(i, i + chunk), i));
        assert.equal(viaKernels, Math.ceil(n / chunk));
        const got = s.result();
        sameStats(got, expected);
        assert.ok(Object.is(got.channels[0].min, -0), `${shape} chunk ${chunk}: the first zero's sign`);
      }
    }
  });

  it('a chunk whose whole blocks hold +0 and whose tail block holds -0: min is the first zero seen (+0), as in memory', () => {
    // (4, 2, 32), channels on axis 1: channel blocks of 32 (long enough for the per-block kernels); the chunk
    // [0, 80) holds the whole blocks [0, 32) and [32, 64) and the tail [64, 80) of channel 0's second block
    const layout = channelLayout([4, 2, 32], 1);
    const v = shared(Float32Array.from({ length: 256 }, (_, i) => 1 + (i % 5)));
    v[2] = 0; v[70] = -0;
    const expected = sideStats(v, layout, 9);
    assert.ok(Object.is(expected.channels[0].min, 0));
    const s = new StreamingStats(layout, 9);
    for (let i = 0; i < 256; i += 80) assert.ok(k.addMoments(s, v.subarray(i, i + 80), i));
    for (let i = 0; i < 256; i += 80) assert.ok(k.addHistogram(s, v.subarray(i, i + 80), i));
    const got = s.result();
    sameStats(got, expected);
    assert.ok(Object.is(got.channels[0].min, 0), `min ${Object.is(got.channels[0].min, -0) ? '-0' : got.channels[0].min}`);
  });

  it('off-centre data in long blocks (the sums about each view\'s mean, bn_sums_f32): the in-memory statistics', () => {
    // mean 1e4, std 1: sums of squares about 0 would lose 8 digits of the spread
    const layout = channelLayout([4, 3, 40], 1);
    const v = shared(randn(480, 17, 1e4, 1));
    const expected = sideStats(v, layout, 7);
    for (const chunk of [40, 100, 480]) {
      const s = new StreamingStats(layout, 7);
      for (let i = 0; i < 480; i += chunk) assert.ok(k.addMoments(s, v.subarray(i, i + chunk), i));
      for (let i = 0; i < 480; i += chunk) assert.ok(k.addHistogram(s, v.subarray(i, i + chunk), i));
      sameStats(s.result(), expected);
    }
  });

  it('refuses what is not in its memory (the caller runs TypeScript)', () => {
    const s = new StreamingStats(channelLayout([4, 3], 1));
    assert.equal(k.addMoments(s, new Float32Array(12), 0), false);
    assert.equal(k.addMoments(s, new Float64Array(12), 0), false);
  });

  const x = tensor('float32', [6, 4, 5, 7], randn(6 * 4 * 5 * 7, 12, 1, 2));
  const bytes = writeNpy(x);

  it('streamStats with kernels equals streamStats without, and reports running moments', async () => {
    for (const chunkElements of [100, 140, 840]) {
      const plain = await streamStats(await openNpySource(bytesSource(bytes)), { chunkElements, bins: 9 });
      const running: number[] = [];
      const viaK = await streamStats(await openNpySource(bytesSource(bytes)), {
        chunkElements, bins: 9, kernels: k, runningEveryMs: 0, onRunning: (st, n) => { running.push(n); assert.equal(st.overall.count, n); },
      });
      sameStats(viaK.stats, plain.stats);
      sameStats(viaK.stats, sideStats(x.data as Float32Array, channelLayout(x.shape, 1), 9));
      assert.equal(viaK.moments.length, 4);
      // every chunk but the last (the moments after pass 1 come by onMoments)
      assert.deepEqual(running, Array.from({ length: Math.ceil(840 / chunkElements) - 1 }, (_, i) => (i + 1) * chunkElements));
    }
  });

  it('streamNormalize given the streamed input statistics: same output and statistics (BatchNorm in one pass)', async () => {
    for (const p of [{ op: 'batch', mode: 'train' }, { op: 'group', groups: 2 }, { op: 'instance' }] as NormParams[]) {
      const chunkElements = 280;
      const groups = p.op === 'group' ? groupRanges(4, p) : [];
      const st = await streamStats(await openNpySource(bytesSource(bytes)), { chunkElements, bins: 11, groups, kernels: k });
      const outs: number[][] = [[], []];
      const runs = [];
      for (const [i, before] of [undefined, { stats: st.stats, moments: st.moments }].entries()) {
        runs.push(await streamNormalize(await openNpySource(bytesSource(bytes)), p, async (y) => { outs[i].push(...y); }, {
          chunkElements, bins: 11, groups, kernels: i ? k : undefined, before,
        }));
      }
      assert.equal(runs[0].info.passes, 2);
      assert.equal(runs[1].info.passes, p.op === 'batch' ? 1 : 2);
      // the batch statistics from the kernels' moments: to float64 rounding, so the float32 output to an ulp
      if (p.mode === 'train') outs[1].forEach((v, j) => close(v, outs[0][j], 4e-7, `${p.op}: output ${j}`));
      else assert.deepEqual(outs[1], outs[0], `${p.op}: output`);
      sameStats(runs[1].before, runs[0].before);
      sameStats(runs[1].after, runs[0].after);
      const ref = normalize(x, p).output;
      sameStats(runs[1].after, sideStats(toFloat64(ref), channelLayout(x.shape, 1), 11, groups));
      if (p.mode === 'train') for (let c = 0; c < 4; c++) close(runs[1].running_var?.[c] ?? null, runs[0].running_var?.[c] ?? null, 1e-12, `running_var ${c}`);
    }
  });
});
