// The CLI contract, end to end: the built dist/cli.js run as a child process on real files.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readNpy, writeNpy } from '../../src/engine/formats/npy';
import { tensor, toFloat64 } from '../../src/engine/tensor';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli.js');

interface Run { code: number; stdout: string; stderr: string }

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts exit 2 and exactly one stderr line, which is `expected`. */
function assertBadInput(r: Run, expected: string | RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  if (typeof expected === 'string') assert.equal(lines[0], expected);
  else assert.match(lines[0], expected);
  assert.equal(r.stdout, '');
}

let dir: string;

function file(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

function npy(name: string, shape: number[], values: number[], dtype: 'float32' | 'float64' = 'float32'): string {
  const data = dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  return file(name, writeNpy(tensor(dtype, shape, data)));
}

describe('normscope CLI', function () {
  this.timeout(20000);
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'normscope-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('stats', () => {
    it('prints the contract JSON for a JSON file (float64, population std)', () => {
      file('a.json', '[[1, 2], [3, 4]]');
      const r = cli('stats', 'a.json', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), {
        shape: [2, 2], dtype: 'float64', count: 4, mean: 2.5, std: Math.sqrt(1.25), min: 1, max: 4, nan: 0, inf: 0,
      });
    });

    it('counts NaN and Inf and takes the rest over finite values, from a JSON Pointer', () => {
      file('nested.json', '{"layer1": {"weight": {"shape": [2, 3], "dtype": "float32", "data": [1, NaN, 3, Infinity, -Infinity, 5]}}}');
      const r = cli('stats', 'nested.json#/layer1/weight', '--json');
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.deepEqual(s, { shape: [2, 3], dtype: 'float32', count: 6, mean: 3, std: Math.sqrt(8 / 3), min: 1, max: 5, nan: 1, inf: 2 });
    });

    it('gives nulls when nothing is finite, and reads a path containing #', () => {
      mkdirSync(path.join(dir, 'odd#dir'), { recursive: true });
      file('odd#dir/x#1.json', '[NaN, NaN]');
      const r = cli('stats', 'odd#dir/x#1.json', '--json');
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.deepEqual([s.mean, s.std, s.min, s.max, s.nan, s.count], [null, null, null, null, 2, 2]);
    });

    it('takes statistics of the whole tensor, and says so, where the channel axis is too long (an empty (0, 10^7) too)', () => {
      // a 128-byte header declaring 10^7 channels of nothing: per-channel statistics ran the process out of memory
      const header = writeNpy(tensor('float32', [0, 10_000_000], new Float32Array(0)));
      file('empty-wide.npy', header);
      const note = /^ {2}note: statistics are of the whole tensor, not per channel: axis 1 has 10,000,000 channels, more than the 65,536 NormScope takes one by one$/m;
      const r = cli('stats', 'empty-wide.npy');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^empty-wide\.npy: shape \[0, 10000000\] float32, 0 elements$/m);
      assert.match(r.stdout, note);
      assert.doesNotMatch(r.stdout, /channel +mean/);
      // 65,537 channels of one value: one row of overall statistics, not 65,537
      const values = Array.from({ length: 65_537 }, (_, i) => i % 7);
      npy('wide.npy', [1, 65_537], values);
      const w = cli('stats', 'wide.npy');
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stdout, /^ {2}note: statistics are of the whole tensor, not per channel: axis 1 has 65,537 channels/m);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      assert.ok(w.stdout.includes(`  mean ${Number(mean.toPrecision(6))}  `), w.stdout); // 2.99991
      assert.match(w.stdout, / min 0 +max 6 /);
      // at the cap, per channel as before
      npy('at-cap.npy', [1, 65_536], values.slice(0, 65_536));
      const c = cli('stats', 'at-cap.npy');
      assert.match(c.stdout, /^ {2}channel +mean/m);
      assert.doesNotMatch(c.stdout, /note:/);
      // normalize lists it among the warnings
      const n = cli('normalize', 'wide.npy', '--op', 'layer');
      assert.equal(n.code, 0, n.stderr);
      assert.match(n.stdout, /^warning: statistics are of the whole tensor, not per channel: axis 1 has 65,537 channels/m);
    });

    it('reads .npy with numpy dtype names', () => {
      const f = file('i.npy', writeNpy(tensor('int16', [3], Int16Array.from([-2, 0, 5]))));
      const s = JSON.parse(cli('stats', f, '--json').stdout);
      assert.equal(s.dtype, 'int16');
      assert.equal(s.mean, 1);
    });

    it('prints a readable table without --json', () => {
      npy('t.npy', [1, 2, 2], [1, 2, 10, 20]);
      const r = cli('stats', 't.npy');
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^t\.npy: shape \[1, 2, 2\] float32, 4 elements\n {2}mean 8\.25 {2}std 7\.62807 {2}min 1 {2}max 20 {3}\(std is the population std\)\n/);
      assert.match(r.stdout, /\n {2}1 +15 +5 +10 +20$/m);
    });
  });

  describe('normalize', () => {
    it('writes the normalized tensor as float32 .npy and the full JSON report', () => {
      const x = npy('x.npy', [2, 2, 3], [1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60]);
      const r = cli('normalize', x, '--op', 'instance', '--out', 'y.npy', '--json');
      assert.equal(r.code, 0, r.stderr);
      const y = readNpy(new Uint8Array(readFileSync(path.join(dir, 'y.npy'))));
      assert.equal(y.dtype, 'float32');
      assert.deepEqual(y.shape, [2, 2, 3]);
      const k = 1 / Math.sqrt(2 / 3 + 1e-5); // (x - mean) / sqrt(var + eps) for 1, 2, 3
      assert.deepEqual(Array.from(toFloat64(y)).slice(0, 3), [-k, 0, k].map(Math.fround));
      const j = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(j), ['input', 'op', 'shape_report', 'stats', 'checks', 'flags', 'warnings']);
      assert.deepEqual(j.input, { shape: [2, 2, 3], dtype: 'float32' });
      assert.equal(j.op.op, 'instance');
      assert.equal(j.op.eps, 1e-5);
      assert.deepEqual(Object.keys(j.stats.before), ['overall', 'edges', 'channels', 'groups']);
      assert.equal(j.stats.before.channels.length, 2);
      assert.equal(j.stats.before.overall.histogram.counts.length, 50);
      assert.equal(j.stats.after.channels[1].mean, 0);
      assert.ok(j.checks.length >= 4);
      for (const c of j.checks) assert.deepEqual(Object.keys(c), ['name', 'routes', 'max_abs', 'max_rel', 'tolerance', 'pass']);
      assert.deepEqual(j.shape_report.normalized_axes, [2]);
    });

    it('keeps float64 output for float64 input and takes params from JSON pointers', () => {
      const x = npy('x64.npy', [2, 2], [1, 2, 3, 5], 'float64');
      file('p.json', '{"weight": [2, 3], "bias": [0.5, -1]}');
      const r = cli('normalize', x, '--op', 'batch', '--weight', 'p.json#/weight', '--bias', 'p.json#/bias', '--out', 'y64.npy');
      assert.equal(r.code, 0, r.stderr);
      const y = readNpy(new Uint8Array(readFileSync(path.join(dir, 'y64.npy'))));
      assert.equal(y.dtype, 'float64');
      // channel 0 holds 1, 3: mean 2, var 1; channel 1 holds 2, 5: mean 3.5, var 2.25
      const k0 = 1 / Math.sqrt(1 + 1e-5), k1 = 1 / Math.sqrt(2.25 + 1e-5);
      const expected = [-k0 * 2 + 0.5, -1.5 * k1 * 3 - 1, k0 * 2 + 0.5, 1.5 * k1 * 3 - 1];
      Array.from(toFloat64(y)).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-15 * Math.abs(expected[i]), `${i}: ${v} vs ${expected[i]}`));
    });

    it('updates running statistics and writes them (momentum none = cumulative average)', () => {
      const x = npy('bn.npy', [3, 1], [1, 2, 6]);
      const rm = npy('rm.npy', [1], [10]);
      const rv = npy('rv.npy', [1], [4]);
      const r = cli('normalize', x, '--op', 'batch', '--running-mean', rm, '--running-var', rv, '--momentum', 'none',
        '--num-batches-tracked', '1', '--running-mean-out', 'rm2.npy', '--running-var-out', 'rv2.npy', '--json');
      assert.equal(r.code, 0, r.stderr);
      const m = toFloat64(readNpy(new Uint8Array(readFileSync(path.join(dir, 'rm2.npy')))));
      const v = toFloat64(readNpy(new Uint8Array(readFileSync(path.join(dir, 'rv2.npy')))));
      // factor 1 / (1 + 1): mean 3, unbiased var 7
      assert.equal(m[0], Math.fround((10 + 3) / 2));
      assert.equal(v[0], Math.fround((4 + 7) / 2));
      assert.equal(JSON.parse(r.stdout).running.num_batches_tracked, 2);
    });

    it('warns in --json when BatchNorm eval has no running statistics', () => {
      const x = npy('ev.npy', [2, 2], [1, 2, 3, 4]);
      const j = JSON.parse(cli('normalize', x, '--op', 'batch', '--mode', 'eval', '--json').stdout);
      assert.equal(j.warnings.length, 1);
      assert.match(j.warnings[0], /fresh module's running_mean=0 and running_var=1/);
    });

    it('writes a self-contained HTML report with the data and chart.js inlined', () => {
      const x = npy('rep.npy', [2, 2, 4], Array.from({ length: 16 }, (_, i) => (i * 7) % 5));
      const r = cli('normalize', x, '--op', 'group', '--groups', '2', '--report', 'r.html');
      assert.equal(r.code, 0, r.stderr);
      const html = readFileSync(path.join(dir, 'r.html'), 'utf8');
      assert.match(html, /<script type="application\/json" id="normscope-data">\{"source":/);
      assert.match(html, /Chart/);
      assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/); // nothing fetched
    });
  });

  describe('check', () => {
    it('prints the shape report, checks and flags, without stats, and exits 0 when all pass', () => {
      const x = npy('c.npy', [2, 4, 3], Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3 + (i % 4)));
      const r = cli('check', x, '--op', 'group', '--groups', '2', '--json');
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(j), ['input', 'op', 'shape_report', 'checks', 'flags', 'warnings']);
      assert.deepEqual(j.checks.map((c: { name: string }) => c.name), [
        'GroupNorm(G=C) == InstanceNorm',
        'BatchNorm(train) on N=1 == InstanceNorm',
        'InstanceNorm == BatchNorm(train) on (1, N*C, *)',
        'GroupNorm(G=1) == LayerNorm over (C, *)',
        'GroupNorm(G=2) == BatchNorm(train) on (1, N*G, -1)',
        'GroupNorm(G=1) == BatchNorm(train) on (1, N*G, -1)',
        'GroupNorm(G=4) == BatchNorm(train) on (1, N*G, -1)',
      ]);
      assert.ok(j.checks.every((c: { pass: boolean }) => c.pass));
    });

    it('flags a constant channel and points to it', () => {
      const vals = Array.from({ length: 24 }, (_, i) => (Math.floor(i / 4) % 3 === 1 ? 7 : Math.cos(i)));
      const x = npy('k.npy', [2, 3, 4], vals);
      const j = JSON.parse(cli('check', x, '--op', 'batch', '--json').stdout);
      assert.deepEqual(j.flags.map((f: { kind: string; channel: number }) => [f.kind, f.channel]), [['constant_channel', 1], ['eps_dominated', 1]]);
    });
  });

  describe('bad input: exit 2 and one line on stderr', () => {
    it('a missing file', () => assertBadInput(cli('stats', 'nope.npy'), 'normscope: cannot read nope.npy: no such file or directory'));
    it('an unknown command', () => assertBadInput(cli('frobnicate', 'x'), "normscope: unknown command 'frobnicate': expected stats, normalize or check"));
    it('an unknown flag', () => assertBadInput(cli('stats', 'a.json', '--nope'), /^normscope: Unknown option '--nope'.*see normscope --help/));
    it('a bad op', () => {
      npy('b.npy', [2, 2], [1, 2, 3, 4]);
      assertBadInput(cli('normalize', 'b.npy', '--op', 'batchnorm'), "normscope: --op: expected one of batch, layer, group, instance, rms, got 'batchnorm'");
    });
    it('normalize without --op', () => assertBadInput(cli('normalize', 'b.npy'), 'normscope: normalize: --op is required: one of batch, layer, group, instance, rms'));
    it('a non-number eps', () => assertBadInput(cli('normalize', 'b.npy', '--op', 'layer', '--eps', 'tiny'), "normscope: --eps: expected a number, got 'tiny'"));
    it('GroupNorm without groups', () => assertBadInput(cli('normalize', 'b.npy', '--op', 'group'), /^normscope: .*groups/));
    it('channels not divisible by groups, in PyTorch words', () => {
      npy('g.npy', [2, 6, 4], new Array(48).fill(0).map((_, i) => i));
      assertBadInput(cli('normalize', 'g.npy', '--op', 'group', '--groups', '4'),
        'normscope: Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 6, 4] and num_groups=4');
    });
    it('InstanceNorm with one spatial element', () => {
      npy('one.npy', [2, 3, 1], [1, 2, 3, 4, 5, 6]);
      assertBadInput(cli('normalize', 'one.npy', '--op', 'instance'), 'normscope: Expected more than 1 spatial element when training, got input size [2, 3, 1]');
    });
    it('BatchNorm train with one value per channel', () => {
      npy('bn1.npy', [1, 3], [1, 2, 3]);
      assertBadInput(cli('normalize', 'bn1.npy', '--op', 'batch'), 'normscope: Expected more than 1 value per channel when training, got input size [1, 3]');
    });
    it('a truncated .npy names the file and the byte offset', () => {
      const whole = writeNpy(tensor('float32', [10], new Float32Array(10)));
      file('trunc.npy', whole.slice(0, whole.length - 8));
      assertBadInput(cli('stats', 'trunc.npy'), /^normscope: trunc\.npy: truncated: header says 40 bytes of data, file has 32 after the header \(byte offset \d+\)$/);
    });
    it('a ragged JSON array names the JSON path', () => {
      file('ragged.json', '[[1, 2, 3], [4, 5]]');
      assertBadInput(cli('stats', 'ragged.json'), /^normscope: ragged\.json: ragged array: expected length 3, found 2 \(at \/1, line 1, column \d+\)$/);
    });
    it('a JSON Pointer to nothing', () => {
      file('obj.json', '{"a": [1, 2]}');
      assertBadInput(cli('stats', 'obj.json#/b'), /^normscope: obj\.json: .*\/b/);
    });
    it('a bad parameter file names the flag', () => {
      assertBadInput(cli('normalize', 'b.npy', '--op', 'batch', '--weight', 'missing.json'), 'normscope: --weight: cannot read missing.json: no such file or directory');
    });
    it('a weight of the wrong shape', () => {
      npy('w3.npy', [3], [1, 2, 3]);
      assertBadInput(cli('normalize', 'b.npy', '--op', 'batch', '--weight', 'w3.npy'), /^normscope: .*weight.*\[3\].*\[2\]/);
    });
    it('an unwritable output', () => {
      const r = cli('normalize', 'b.npy', '--op', 'layer', '--out', 'nodir/y.npy');
      assertBadInput(r, 'normscope: cannot write nodir/y.npy: no such file or directory');
    });
    it('running stats out for an op that has none', () => {
      assertBadInput(cli('normalize', 'b.npy', '--op', 'layer', '--running-mean-out', 'x.npy'),
        'normscope: --running-mean-out: only BatchNorm in train mode updates running statistics');
    });
  });
});

// Every PyTorch parity case once more, through the CLI: flags in, .npy out.
describe('normscope CLI: PyTorch parity through files', function () {
  this.timeout(120000);
  type Num = number | string;
  interface Arr { shape: number[]; dtype?: string; data: Num[] }
  interface Case {
    name: string; op: string; params: Record<string, unknown>; input: Arr; weight?: Arr; bias?: Arr;
    running_mean?: Arr; running_var?: Arr; offcentre: boolean; judge_by_reference64?: string; reference64: Num[];
    expected: { output: Num[]; running_mean?: Num[]; running_var?: Num[] };
  }
  const num = (v: Num) => Number(v);
  let work: string;
  before(() => { work = mkdtempSync(path.join(tmpdir(), 'normscope-parity-')); });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const op of ['batch', 'layer', 'group', 'instance', 'rms']) {
    const cases = (JSON.parse(readFileSync(path.join(ROOT, `test/fixtures/parity/${op}.json`), 'utf8')) as { cases: Case[] }).cases;
    it(`${op}: ${cases.length} cases match torch (atol = rtol = 1e-5; off-centre cases: the float32 rounding of the float64 reference)`, () => {
      for (const c of cases) {
        const save = (name: string, a: Arr) => {
          const dtype = (a.dtype ?? 'float32') as 'float32' | 'float64';
          const vals = a.data.map(num);
          const p = path.join(work, `${c.name}.${name}.npy`);
          writeFileSync(p, writeNpy(tensor(dtype, a.shape, dtype === 'float64' ? Float64Array.from(vals) : Float32Array.from(vals))));
          return p;
        };
        const args = ['normalize', save('input', c.input), '--op', c.op, '--out', path.join(work, `${c.name}.out.npy`)];
        const p = c.params;
        if (p.groups !== undefined) args.push('--groups', String(p.groups));
        if (p.normalized_shape !== undefined) args.push('--normalized-shape', (p.normalized_shape as number[]).join(','));
        if (p.eps !== undefined) args.push('--eps', String(p.eps));
        if (p.momentum !== undefined) args.push('--momentum', p.momentum === null ? 'none' : String(p.momentum));
        if (p.num_batches_tracked !== undefined) args.push('--num-batches-tracked', String(p.num_batches_tracked));
        if (p.mode !== undefined) args.push('--mode', String(p.mode));
        if (p.unbatched) args.push('--unbatched');
        if (p.layout !== undefined) args.push('--layout', String(p.layout));
        for (const k of ['weight', 'bias', 'running_mean', 'running_var'] as const) {
          const a = c[k];
          if (a) args.push(`--${k.replace('_', '-')}`, save(k, a));
        }
        const trains = c.op === 'batch' && p.mode !== 'eval';
        if (trains) args.push('--running-mean-out', path.join(work, `${c.name}.rm.npy`), '--running-var-out', path.join(work, `${c.name}.rv.npy`));
        const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${c.name}: ${r.stderr}`);
        const out = toFloat64(readNpy(new Uint8Array(readFileSync(path.join(work, `${c.name}.out.npy`)))));
        const exp = c.expected.output.map(num);
        const ref = c.reference64.map(num);
        assert.equal(out.length, exp.length, c.name);
        for (let i = 0; i < out.length; i++) {
          if (Number.isNaN(exp[i]) || Number.isNaN(ref[i])) {
            assert.ok(Number.isNaN(out[i]), `${c.name}[${i}]: ${out[i]}, expected NaN`);
          } else if (c.offcentre || c.judge_by_reference64) {
            const r32 = Math.fround(ref[i]);
            const ulp = Math.abs(Math.fround(r32 * (1 + 2 ** -23)) - r32) || 2 ** -149;
            assert.ok(Math.abs(out[i] - r32) <= ulp, `${c.name}[${i}]: ${out[i]} vs float32(ref64) ${r32}`);
          } else {
            assert.ok(Math.abs(out[i] - exp[i]) <= 1e-5 + 1e-5 * Math.abs(exp[i]), `${c.name}[${i}]: ${out[i]} vs torch ${exp[i]}`);
          }
        }
        if (trains && c.expected.running_mean) {
          const rm = toFloat64(readNpy(new Uint8Array(readFileSync(path.join(work, `${c.name}.rm.npy`)))));
          const rv = toFloat64(readNpy(new Uint8Array(readFileSync(path.join(work, `${c.name}.rv.npy`)))));
          c.expected.running_mean.map(num).forEach((v, i) => assert.ok(Math.abs(rm[i] - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${c.name} running_mean[${i}]: ${rm[i]} vs ${v}`));
          c.expected.running_var!.map(num).forEach((v, i) => assert.ok(Math.abs(rv[i] - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${c.name} running_var[${i}]: ${rv[i]} vs ${v}`));
        }
      }
    });
  }
});
