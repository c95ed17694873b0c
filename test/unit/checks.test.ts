import * as assert from 'node:assert/strict';
import { analyze, channelAxis, groupRanges } from '../../src/engine/analyze';
import { compareOutputs, equivalenceChecks, healthFlags, MAX_FLAGS_PER_KIND, toNCHW } from '../../src/engine/checks';
import { normalize } from '../../src/engine/ops';
import { MAX_STAT_CHANNELS, sideStats } from '../../src/engine/stats';
import { tensor, toFloat64 } from '../../src/engine/tensor';

/** Deterministic pseudo-normal values with per-channel offsets and scales. */
function activations(shape: number[], offsets: number[] = [], scales: number[] = []): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const C = shape[1], S = shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = 12345;
  const rand = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 4294967296; };
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / S) % C;
    const z = (rand() + rand() + rand() + rand() - 2) * 1.7;
    out[i] = (offsets[c] ?? 0) + (scales[c] ?? 1) * z;
  }
  return out;
}

describe('equivalence checks', () => {
  it('runs every applicable identity on an (N, C, H, W) tensor and all pass', () => {
    const x = tensor('float32', [2, 4, 3, 5], activations([2, 4, 3, 5], [0, 100, -3, 1e3], [1, 0.01, 5, 2]));
    const checks = equivalenceChecks(x, { op: 'group', groups: 2 });
    assert.deepEqual(checks.map((c) => c.name), [
      'GroupNorm(G=C) == InstanceNorm',
      'BatchNorm(train) on N=1 == InstanceNorm',
      'InstanceNorm == BatchNorm(train) on (1, N*C, *)',
      'GroupNorm(G=1) == LayerNorm over (C, *)',
      'GroupNorm(G=2) == BatchNorm(train) on (1, N*G, -1)',
      'GroupNorm(G=1) == BatchNorm(train) on (1, N*G, -1)',
      'GroupNorm(G=4) == BatchNorm(train) on (1, N*G, -1)',
    ]);
    for (const c of checks) {
      assert.equal(c.pass, true, `${c.name}: max abs ${c.max_abs}`);
      assert.ok(c.max_abs < 1e-6, `${c.name}: max abs ${c.max_abs}`);
      assert.equal(c.tolerance, '|a - b| <= 1e-5 + 1e-5 * |b|');
    }
  });

  it('skips the InstanceNorm identities when there is no spatial extent', () => {
    const x = tensor('float32', [3, 4], activations([3, 4]));
    assert.deepEqual(equivalenceChecks(x, { op: 'batch' }).map((c) => c.name), [
      'GroupNorm(G=1) == LayerNorm over (C, *)',
      'GroupNorm(G=1) == BatchNorm(train) on (1, N*G, -1)',
    ]); // G=C=4 would put one value in each group: nothing to compare
  });

  it('reports the largest differences and fails beyond the tolerance', () => {
    const a = tensor('float64', [3], new Float64Array([1, 2, NaN]));
    const b = tensor('float64', [3], new Float64Array([1, 2.001, NaN]));
    const r = compareOutputs('x', ['a', 'b'], a, b);
    assert.equal(r.pass, false);
    assert.ok(Math.abs(r.max_abs - 0.001) < 1e-12);
    assert.ok(Math.abs(r.max_rel - 0.001 / 2.001) < 1e-12);
    const ok = compareOutputs('x', ['a', 'b'], a, tensor('float64', [3], new Float64Array([1, 2 + 1e-5, NaN])));
    assert.equal(ok.pass, true);
  });

  it('moves channels-last data and unbatched data to (N, C, *)', () => {
    const x = tensor('float64', [1, 2, 3], new Float64Array([0, 1, 2, 3, 4, 5])); // N=1, H=2, C=3
    const c = toNCHW(x, { layout: 'nhwc' });
    assert.deepEqual(c.shape, [1, 3, 2]);
    assert.deepEqual(Array.from(toFloat64(c)), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(toNCHW(tensor('float64', [3, 2], new Float64Array(6)), { unbatched: true }).shape, [1, 3, 2]);
    assert.equal(channelAxis([2, 5, 3], { layout: 'nhwc' }), 2);
    assert.equal(channelAxis([5, 3], { unbatched: true }), 0);
    assert.deepEqual(groupRanges(6, { op: 'group', groups: 3 }), [[0, 1], [2, 3], [4, 5]]);
  });
});

describe('health flags', () => {
  it('flags a constant channel as constant and eps-dominated, and nothing else', () => {
    const data = activations([2, 3, 4, 4], [0, 5, 0], [1, 0, 1]); // channel 1 is exactly 5 everywhere
    const a = analyze(tensor('float32', [2, 3, 4, 4], data), { op: 'batch' }, { checks: false });
    assert.deepEqual(a.flags.map((f) => [f.kind, f.channel]), [['constant_channel', 1], ['eps_dominated', 1]]);
    assert.match(a.flags[1].message, /^channel 1: variance 0 is below eps 1e-5; it is not scaled to unit variance$/);
  });

  it('flags drift when eps is large enough to shrink the normalized std', () => {
    const x = tensor('float32', [2, 2, 8], activations([2, 2, 8]));
    const a = analyze(x, { op: 'instance', eps: 0.5 }, { checks: false });
    const drift = a.flags.filter((f) => f.kind === 'drift');
    assert.equal(drift.length, 4); // every (sample, channel) group
    assert.match(drift[0].message, /^sample 0, channel 0: mean .*, std 0\.\d+ after normalization, expected 0 and 1$/);
    assert.equal(analyze(x, { op: 'instance' }, { checks: false }).flags.length, 0);
  });

  it('flags NaN and Inf per channel in input and output', () => {
    const d = activations([1, 2, 5]);
    d[6] = NaN;
    d[1] = Infinity;
    const a = analyze(tensor('float32', [1, 2, 5], d), { op: 'layer', normalized_shape: [5] }, { checks: false });
    const kinds = a.flags.map((f) => `${f.kind}@${f.channel ?? f.sample}`);
    assert.ok(kinds.includes('nan_input@1'), kinds.join());
    assert.ok(kinds.includes('inf_input@0'), kinds.join());
    assert.ok(kinds.includes('nan_output@0'), kinds.join()); // the Inf poisons its whole row
    assert.ok(kinds.includes('nan_output@1'), kinds.join());
  });

  it('checks RMSNorm groups for unit root mean square', () => {
    const x = tensor('float32', [4, 16], activations([4, 16], new Array(16).fill(3)));
    assert.deepEqual(analyze(x, { op: 'rms' }, { checks: false }).flags, []);
    const big = analyze(x, { op: 'rms', eps: 5 }, { checks: false }).flags;
    assert.equal(big.length, 4);
    assert.match(big[0].message, /^row 0: RMS 0\.\d+ after normalization, expected 1$/);
  });

  it('lists 20 flags of a kind and counts the rest, for groups past MAX_STAT_CHANNELS too (taken without per-group summaries)', () => {
    // InstanceNorm of (1, C, 4): C groups of 4 values; 25 of them constant (eps-dominated), 30 drifting
    // (eps = 0.5 shrinks a group of std ~0.3), the rest plain. Below the cap the flags come from sideStats
    // summaries, past it from the float64 sums in checks.ts: the same flags.
    const flagsOf = (C: number) => {
      const d = new Float32Array(C * 4);
      for (let c = 0; c < C; c++) {
        for (let k = 0; k < 4; k++) d[4 * c + k] = c % 1000 === 7 ? 2.5 : c % 1000 === 11 ? 0.1 * (k - 1.5) + 3 : (k - 1.5) * 2 + (c % 5);
      }
      const x = tensor('float32', [1, C, 4], d);
      const p = { op: 'instance' as const, eps: 0.5 };
      const out = normalize(x, p);
      let calls = 0;
      const stats: typeof sideStats = (...a) => { calls++; return sideStats(...a); };
      const flags = healthFlags(x, p, out, sideStats([], { outer: 1, channels: 1, inner: 0 }, 1, []), sideStats([], { outer: 1, channels: 1, inner: 0 }, 1, []), normalize, stats);
      return { flags, calls };
    };
    const small = flagsOf(25_000);
    const big = flagsOf(MAX_STAT_CHANNELS + 25_000);
    assert.equal(small.calls, 2, 'below the cap the kernels take the groups\' statistics');
    assert.equal(big.calls, 0, 'past the cap they are summed here');
    for (const { flags } of [small, big]) {
      const eps = flags.filter((f) => f.kind === 'eps_dominated');
      assert.equal(eps.length, MAX_FLAGS_PER_KIND + 1);
      assert.deepEqual(eps.slice(0, 2).map((f) => [f.sample, f.channel]), [[0, 7], [0, 11]]);
      assert.match(eps[0].message, /^sample 0, channel 7: variance 0 is below eps 0\.5; it is not scaled to unit variance$/);
    }
    assert.match(small.flags.find((f) => f.kind === 'eps_dominated' && f.channel === undefined)!.message, /^30 more eps dominated flags not listed$/);
    assert.match(big.flags.find((f) => f.kind === 'eps_dominated' && f.channel === undefined)!.message, /^162 more eps dominated flags not listed$/);
    // the plain groups (std ~2.2) drift too with eps 0.5: std sqrt(5 / 5.5) after normalization; same message both ways
    const drift = (f: typeof small.flags) => f.filter((g) => g.kind === 'drift').slice(0, 3).map((g) => g.message);
    assert.deepEqual(drift(big.flags), drift(small.flags));
  });

  it('gives per-group statistics for GroupNorm and per-channel histograms on shared edges', () => {
    const x = tensor('float32', [2, 4, 3, 3], activations([2, 4, 3, 3], [0, 10, 20, 30]));
    const a = analyze(x, { op: 'group', groups: 2 }, { bins: 10 });
    assert.equal(a.stats.before.groups.length, 2);
    assert.deepEqual(a.stats.before.groups[1].channels, [2, 3]);
    assert.equal(a.stats.before.channels.length, 4);
    assert.equal(a.stats.before.edges.length, 11);
    for (const ch of a.stats.before.channels) assert.equal(ch.histogram.reduce((s, v) => s + v, 0), 18);
    // after GroupNorm each (sample, group) is standardized, so each group's overall mean is ~0
    for (const g of a.stats.after.groups) assert.ok(Math.abs(g.mean!) < 1e-6);
    assert.ok(Math.abs(a.stats.after.overall.std! - 1) < 1e-4);
  });
});
