import * as assert from 'node:assert/strict';
import { channelLayout, finishSide, histogramEdges, histogramPlan, newAccumulator, sideStats, summarize } from '../../src/engine/stats';

describe('statistics', () => {
  it('summarizes with the population std over finite values, counting NaN and Inf', () => {
    const s = summarize([1, 2, 3, 4, NaN, Infinity, -Infinity]);
    assert.equal(s.count, 7);
    assert.equal(s.mean, 2.5);
    assert.equal(s.std, Math.sqrt(1.25));
    assert.equal(s.min, 1);
    assert.equal(s.max, 4);
    assert.equal(s.nan, 1);
    assert.equal(s.inf, 2);
  });

  it('gives nulls when no value is finite', () => {
    const s = summarize([NaN, Infinity]);
    assert.deepEqual([s.mean, s.std, s.min, s.max, s.count], [null, null, null, null, 2]);
  });

  it('lays out channels as (outer, C, inner)', () => {
    assert.deepEqual(channelLayout([2, 3, 4, 5], 1), { outer: 2, channels: 3, inner: 20 });
    assert.deepEqual(channelLayout([2, 4, 5, 3], 3), { outer: 40, channels: 3, inner: 1 });
    assert.deepEqual(channelLayout([7], -1), { outer: 1, channels: 1, inner: 7 });
  });

  it('computes per-channel stats across the batch, with shared edges', () => {
    // shape (2, 2, 2): channel 0 holds 0,1 (n=0) and 4,5 (n=1); channel 1 holds 2,3 and 6,7.
    const v = [0, 1, 2, 3, 4, 5, 6, 7];
    const s = sideStats(v, channelLayout([2, 2, 2], 1), 7, [[0, 1]]);
    assert.deepEqual(s.edges, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(s.channels[0].mean, 2.5);
    assert.equal(s.channels[0].std, Math.sqrt((2.5 ** 2 + 1.5 ** 2 + 1.5 ** 2 + 2.5 ** 2) / 4));
    assert.equal(s.channels[1].mean, 4.5);
    assert.deepEqual(s.channels[0].histogram, [1, 1, 0, 0, 1, 1, 0]);
    assert.deepEqual(s.channels[1].histogram, [0, 0, 1, 1, 0, 0, 2]); // 7 falls in the closed last bin
    assert.equal(s.groups[0].mean, 3.5);
    assert.equal(s.groups[0].std, Math.sqrt(5.25));
    assert.deepEqual(s.overall.histogram.counts, [1, 1, 1, 1, 1, 1, 2]);
    assert.equal(s.overall.std, Math.sqrt(5.25));
  });

  it('stays exact for off-centre data (no catastrophic cancellation)', () => {
    const v = new Float64Array(1000);
    for (let i = 0; i < v.length; i++) v[i] = 1e8 + (i % 2 ? 0.5 : -0.5);
    const s = summarize(v);
    assert.equal(s.mean, 1e8);
    assert.equal(s.std, 0.5);
  });

  it('widens a constant range so it still has a bin', () => {
    assert.deepEqual(histogramEdges(3, 3, 2), [2.5, 3, 3.5]);
    const s = summarize([3, 3, 3], 2);
    assert.deepEqual(s.histogram.counts, [0, 3]);
    assert.equal(s.std, 0);
  });

  it('histogramPlan and finishSide (what the fast kernels finish with) rebuild sideStats from accumulators', () => {
    // shape (2, 2, 3), channel 1 holds a NaN and an Inf; one group over both channels
    const v = [0, 1, 2, 10, NaN, 12, 3, 4, 5, Infinity, 14, 15];
    const layout = channelLayout([2, 2, 3], 1);
    const accs = [newAccumulator(), newAccumulator()];
    v.forEach((x, i) => {
      const a = accs[Math.floor(i / 3) % 2];
      a.count++;
      if (x !== x) a.nan++;
      else if (!Number.isFinite(x)) a.inf++;
      else { a.finite++; a.sum += x; a.min = Math.min(a.min, x); a.max = Math.max(a.max, x); }
    });
    const plan = histogramPlan(accs, 5);
    assert.deepEqual(plan.edges, [0, 3, 6, 9, 12, 15]);
    assert.deepEqual(plan.means, [2.5, 51 / 4]);
    const hist = [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]];
    v.forEach((x, i) => {
      if (!Number.isFinite(x)) return;
      const c = Math.floor(i / 3) % 2;
      accs[c].m2 += (x - plan.means[c]) ** 2;
      hist[c][Math.min(4, Math.floor((x - plan.lo) * plan.scale))]++;
    });
    assert.deepStrictEqual(finishSide(accs, hist, plan.edges, [[0, 1]]), sideStats(v, layout, 5, [[0, 1]]));
  });
});
