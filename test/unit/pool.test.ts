import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../../src/engine/formats/npy';
import { Job } from '../../src/engine/fast/fastKernels';
import { normalize } from '../../src/engine/ops';
import { NormParams } from '../../src/engine/params';
import { Tensor, contiguous, numel, tensor } from '../../src/engine/tensor';
import { channelLayout } from '../../src/engine/stats';
import { StreamingStats } from '../../src/engine/streamStats';
import { HungThreadError, ParallelKernels, createFastKernels, createParallelKernels, defaultThreads } from '../../src/node/pool';
import { randnTensor as randn } from '../support/random';

// ParallelKernels: the fast kernels split across worker threads, called synchronously. Results must not depend
// on the thread count; worker failures must surface (errors) or be survived (dead or missing workers). No timings.

const WASM = readFileSync(path.resolve(__dirname, '../../../dist/kernels.wasm'));
const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/parity');


const data = (t: Tensor): Float32Array => contiguous(t).data as Float32Array;

/** Index of the first element whose bits differ (NaN equals NaN), or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return -1;
}

function assertSameBits(what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  const i = firstDifference(a, b);
  assert.equal(i, -1, `${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
}

type Num = number | string;
interface ArrJson { shape: number[]; dtype?: string; data: Num[] }
interface Case { name: string; params: Record<string, unknown>; input: ArrJson; weight?: ArrJson; bias?: ArrJson; running_mean?: ArrJson; running_var?: ArrJson }
const num = (v: Num): number => (typeof v === 'string' ? Number(v) : v);
const fromJson = (a: ArrJson): Tensor => tensor('float32', a.shape, Float32Array.from(a.data.map(num)));
function paramsOf(c: Case): NormParams {
  const p: Record<string, unknown> = { ...c.params };
  for (const k of ['weight', 'bias', 'running_mean', 'running_var'] as const) if (c[k]) p[k] = fromJson(c[k]!);
  return p as unknown as NormParams;
}

const OPS: NormParams[] = [
  { op: 'batch' },
  { op: 'batch', mode: 'eval', running_mean: randn([16], 1), running_var: tensor('float32', [16], new Float32Array(16).fill(2)) },
  { op: 'layer' },
  { op: 'layer', normalized_shape: [64], weight: randn([64], 2), bias: randn([64], 3) },
  { op: 'group', groups: 4, weight: randn([16], 4), bias: randn([16], 5) },
  { op: 'instance' },
  { op: 'rms', normalized_shape: [64] },
  { op: 'instance', layout: 'nhwc' },
];
const label = (p: NormParams): string => `${p.op}${p.mode ? ` ${p.mode}` : ''}${p.layout ? ` ${p.layout}` : ''}${p.normalized_shape ? ` [${p.normalized_shape}]` : ''}`;

describe('ParallelKernels (synchronous, 2 threads over shared memory)', function () {
  this.timeout(60000);
  const fast = createFastKernels(WASM)!;
  let pool: ParallelKernels;
  before(() => {
    // the caller leaves the worker its share (by default it would take jobs the worker has not claimed yet,
    // which on a busy machine can be all of them): here the worker is sure to run part of every op
    pool = new ParallelKernels(fast, { threads: 2, stealAfterMs: 60000 });
    assert.equal(pool.waitOnline(20000), 1, 'the worker came online (out/src/node/kernelWorker.js)');
  });
  after(() => pool.close());

  it('has 2 threads: this one and one worker; the default is the machine\'s parallelism up to 4', () => {
    assert.equal(pool.threads, 2);
    assert.ok(defaultThreads() >= 1 && defaultThreads() <= 4);
  });

  let jobsBefore = 0;
  it('parity fixtures: 2 threads give the bits of 1 thread, and of the TypeScript kernels where those agree', () => {
    jobsBefore = pool.workerJobs;
    let cases = 0;
    {
      for (const op of ['batch', 'layer', 'group', 'instance', 'rms']) {
        const all = (JSON.parse(readFileSync(path.join(FIXTURES, `${op}.json`), 'utf8')) as { cases: Case[] }).cases;
        for (const c of all) {
          if ((c.input.dtype ?? 'float32') !== 'float32' || numel(c.input.shape) === 0) continue;
          const x = fromJson(c.input);
          const p = paramsOf(c);
          const one = fast.normalize(x, p);
          const two = pool.normalize(x, p);
          assert.equal(two.kernels, one.kernels, c.name);
          assertSameBits(`${c.name} output`, data(two.output), data(one.output));
          if (one.running_mean) {
            assertSameBits(`${c.name} running_mean`, data(two.running_mean!), data(one.running_mean));
            assertSameBits(`${c.name} running_var`, data(two.running_var!), data(one.running_var!));
          }
          const ts = normalize(x, p);
          // the fast kernels round like the TypeScript ones (ops.test.ts: within 1 ulp of float64, >= 99.9% exact)
          const d = data(two.output);
          const r = data(ts.output);
          let same = 0;
          for (let i = 0; i < r.length; i++) if (Object.is(d[i], r[i]) || (Number.isNaN(d[i]) && Number.isNaN(r[i]))) same++;
          assert.ok(same >= r.length - Math.max(1, Math.floor(r.length / 100)), `${c.name}: ${same}/${r.length} equal to the TypeScript kernels`);
          cases++;
        }
      }
    }
    assert.ok(cases > 60, `${cases} fixture cases`);
    assert.ok(pool.workerJobs - jobsBefore > cases / 2, `the worker ran ${pool.workerJobs - jobsBefore} jobs`);
  });

  for (const p of OPS) {
    it(`${label(p)} on 2M elements: the bits of 1 thread`, () => {
      const shape = p.layout === 'nhwc' ? [8, 64, 64, 16] : [8, 16, 256, 64];
      const x = randn(shape, 7, 0.5, 2);
      const one = fast.normalize(x, p);
      const two = pool.normalize(x, p);
      assert.equal(two.kernels, 'wasm');
      assertSameBits('output', data(two.output), data(one.output));
      if (one.running_mean) {
        assertSameBits('running_mean', data(two.running_mean!), data(one.running_mean));
        assertSameBits('running_var', data(two.running_var!), data(one.running_var!));
      }
      if (one.moments) {
        // BatchNorm's per-channel sums are added per part (another order): float64's last bits only
        const close = (a: Float64Array, b: Float64Array) => a.every((v, i) => Math.abs(v - b[i]) <= 1e-14 * Math.abs(b[i]));
        const same = p.op === 'batch' ? close : (a: Float64Array, b: Float64Array) => firstDifference(a, b) === -1;
        assert.ok(same(two.moments!.mean, one.moments.mean) && same(two.moments!.var, one.moments.var), 'moments');
      }
      fast.release(one.output);
      fast.release(two.output);
    });
  }

  it('the worker ran part of each op above', () => {
    assert.ok(pool.workerJobs - jobsBefore > OPS.length, `${pool.workerJobs - jobsBefore} jobs ran on the worker`);
  });

  it('the streamed per-chunk statistics (chunks) on 2 threads: the bits of FastKernels.chunks, part of them on the worker', () => {
    const before = pool.workerJobs;
    // long blocks split by rows and by channels (bn_sums_f32), with NaN (stats2_f32), and channels last; views
    // of 2^16 values or more are split into jobs
    for (const [shape, nan] of [[[12, 4, 4096], false], [[2, 16, 8192], false], [[2, 16, 8192], true], [[20000, 12], false]] as [number[], boolean][]) {
      const n = numel(shape);
      const v = fast.allocFloat32(n)!;
      v.set(data(randn(shape, 31, 2, 3)));
      if (nan) v[45] = NaN;
      const layout = channelLayout(shape, 1);
      for (const chunk of [n, Math.ceil(n / 3) + 5]) {
        const one = new StreamingStats(layout, 9);
        const two = new StreamingStats(layout, 9);
        for (const pass of ['addMoments', 'addHistogram'] as const) {
          for (let i = 0; i < n; i += chunk) {
            assert.ok(fast.chunks[pass](one, v.subarray(i, i + chunk), i));
            assert.ok(pool.chunks[pass](two, v.subarray(i, i + chunk), i));
          }
        }
        assert.deepStrictEqual(two.result(), one.result(), `${shape} chunk ${chunk}`);
      }
      fast.release(v);
    }
    assert.ok(pool.workerJobs > before, 'the worker ran some of the jobs');
  });

  it('the default pool (the caller takes jobs no worker has claimed yet) gives the same bits', () => {
    const p2 = new ParallelKernels(fast, { threads: 2 });
    p2.waitOnline(20000);
    const x = randn([8, 16, 64, 64], 12, 3, 2);
    for (const p of OPS.slice(0, 7)) {
      assertSameBits(label(p), data(p2.normalize(x, p).output), data(fast.normalize(x, p).output));
    }
    p2.close();
  });

  it('BatchNorm with a second pass (a channel far from its shift) and input in the shared memory', () => {
    const x = randn([6, 3, 5000], 5);
    (x.data as Float32Array)[0] = 1e6;
    const inPlace = fast.allocFloat32(numel(x.shape))!;
    inPlace.set(x.data as Float32Array);
    const xs = tensor('float32', x.shape, inPlace);
    assertSameBits('output', data(pool.normalize(xs, { op: 'batch' }).output), data(fast.normalize(x, { op: 'batch' }).output));
    fast.release(inPlace);
  });

  it('run() runs any generator of phases: several jobs per thread, empty phases, more jobs than one round holds', () => {
    const rows = 600;
    const K = 96;
    const x = randn([rows, K], 9);
    const xs = fast.allocFloat32(rows * K)!;
    xs.set(x.data as Float32Array);
    const outs = [fast.allocFloat32(rows * K)!, fast.allocFloat32(rows * K)!];
    const at = (a: Float32Array): number => fast.arena.addressOf(a);
    function* steps(jobsPerPhase: number): Generator<Job[], string, void> {
      const perJob = Math.ceil(rows / jobsPerPhase);
      const phase = (o: number, fn: 'layer_f32' | 'rms_f32'): Job[] => Array.from({ length: jobsPerPhase }, (_, j) => {
        const r0 = Math.min(rows, j * perJob);
        const r1 = Math.min(rows, r0 + perJob);
        return fn === 'layer_f32'
          ? { fn, args: [at(xs), o, r0, r1, K, 1e-5, 0, 0, 0] }
          : { fn, args: [at(xs), o, r0, r1, K, 1e-6, 0, 0] };
      });
      yield phase(at(outs[0]), 'layer_f32');
      yield [];
      const between = outs[0][0]; // the first phase is complete when the generator resumes
      yield phase(at(outs[1]), 'rms_f32');
      return `done ${between}`;
    }
    const wantRms = fast.normalize(x, { op: 'rms', normalized_shape: [K], eps: 1e-6 }).output;
    for (const jobs of [1, 2, 7, 300]) {
      outs[0].fill(0);
      outs[1].fill(0);
      const r = pool.run(steps(jobs));
      assert.equal(r, `done ${outs[0][0]}`);
      assertSameBits(`layer, ${jobs} jobs a phase`, outs[0], data(fast.normalize(x, { op: 'layer', normalized_shape: [K] }).output));
      assertSameBits(`rms, ${jobs} jobs a phase`, outs[1], data(wantRms));
    }
  });

  it('an exception in a job run by the worker is rethrown by the caller, and the pool keeps working', () => {
    const big = randn([64, 65536], 3);
    const xs = fast.allocFloat32(numel(big.shape))!;
    xs.set(big.data as Float32Array);
    const out = fast.allocFloat32(numel(big.shape))!;
    const bad = fast.memory.buffer.byteLength + (1 << 20); // beyond the memory: the kernel traps
    const steps = function* (): Generator<Job[], void, void> {
      yield [
        { fn: 'layer_f32', args: [fast.arena.addressOf(xs), fast.arena.addressOf(out), 0, 64, 65536, 1e-5, 0, 0, 0] },
        { fn: 'layer_f32', args: [bad, bad, 0, 1, 1024, 1e-5, 0, 0, 0] },
      ];
    };
    let fromWorker = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      // job 0 is the caller's; the pool leaves job 1 to the worker
      assert.throws(() => pool.run(steps()), (e: Error) => {
        assert.match(e.message, /out of bounds/);
        if (/in a kernel thread/.test(e.message)) fromWorker++;
        return true;
      });
    }
    assert.equal(fromWorker, 3, 'the error came from the worker');
    assert.equal(pool.threads, 2);
    const x = randn([4, 6, 5, 7], 6);
    assertSameBits('after', data(pool.normalize(x, { op: 'instance' }).output), data(fast.normalize(x, { op: 'instance' }).output));
    fast.release(xs);
    fast.release(out);
  });

  it('validation errors throw as normalize\'s do, and free the scratch memory', () => {
    const before = fast.arena.usedBytes;
    assert.throws(() => pool.normalize(randn([2, 4, 3], 1), { op: 'group', groups: 3 }), /divisible by num_groups/);
    assert.ok(fast.arena.usedBytes <= before);
    assert.equal(pool.normalize(randn([2, 4, 3], 1), { op: 'group', groups: 2 }).kernels, 'wasm');
  });

  it('a dead worker leaves the work to the caller (no hang), at once or after stealAfterMs', async () => {
    for (const stealAfterMs of [0, 100]) {
      const p2 = new ParallelKernels(fast, { threads: 2, stealAfterMs });
      assert.equal(p2.waitOnline(20000), 1);
      await (p2 as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0].terminate();
      const x = randn([8, 16, 64, 64], 6);
      const want = data(fast.normalize(x, { op: 'group', groups: 4 }).output);
      assertSameBits('dead worker', data(p2.normalize(x, { op: 'group', groups: 4 }).output), want);
      assert.equal(p2.threads, 2, 'no error: the caller took the job');
      p2.close();
    }
  });

  it('a worker that never comes online (missing script) leaves the work to the caller', () => {
    const p2 = new ParallelKernels(fast, { threads: 3, script: path.join(__dirname, 'no-such-kernelWorker.js') });
    assert.equal(p2.waitOnline(200), 0);
    const x = randn([4, 6, 5, 7], 6);
    assertSameBits('no worker', data(p2.normalize(x, { op: 'batch' }).output), data(fast.normalize(x, { op: 'batch' }).output));
    p2.close();
  });

  it('a worker that holds a job and never finishes it: a clear error within the bound, then one thread', () => {
    const p2 = new ParallelKernels(fast, { threads: 2, minWaitMs: 300, stallWorkersForTest: true });
    assert.equal(p2.waitOnline(20000), 1);
    const x = randn([16, 16, 128, 128], 4);
    let error: Error | undefined;
    for (let attempt = 0; attempt < 10 && !error; attempt++) {
      try {
        fast.release(p2.normalize(x, { op: 'instance' }).output); // the caller ran both jobs: try again
      } catch (e) {
        error = e as Error;
      }
    }
    assert.ok(error, 'the stalled worker was noticed');
    assert.match(error.message, /did not finish its job within .* continues on one thread/);
    assert.ok(error instanceof HungThreadError, 'its blocks stay allocated (the hung thread may still write there)');
    assert.equal(p2.threads, 1);
    assert.ok(p2.failed);
    assertSameBits('after', data(p2.normalize(x, { op: 'instance' }).output), data(fast.normalize(x, { op: 'instance' }).output));
    p2.close();
  });

  it('close(): later calls run on this thread with the same results; threads = 1 starts no worker', () => {
    const p2 = createParallelKernels(WASM, { threads: 2 })!;
    p2.waitOnline(20000);
    const x = randn([4, 6, 5, 7], 8);
    const before = data(p2.normalize(x, { op: 'layer' }).output).slice();
    p2.close();
    assert.equal(p2.threads, 1);
    assertSameBits('after close', data(p2.normalize(x, { op: 'layer' }).output), before);
    const p1 = new ParallelKernels(fast, { threads: 1 });
    assert.equal(p1.threads, 1);
    assert.equal(p1.waitOnline(10), 0);
    assertSameBits('1 thread', data(p1.normalize(x, { op: 'layer' }).output), before);
    assert.throws(() => new ParallelKernels(fast, { threads: 0 }), /positive integer/);
  });

  it('workers never keep the process alive', () => {
    const pool = path.resolve(__dirname, '../../src/node/pool.js');
    const script = `const { createParallelKernels } = require(${JSON.stringify(pool)});
      const k = createParallelKernels(require('fs').readFileSync(${JSON.stringify(path.resolve(__dirname, '../../../dist/kernels.wasm'))}), { threads: 3 });
      if (k.waitOnline(20000) !== 2) process.exit(5);
      console.log('ok');`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });
});

describe('CLI --threads (dist/cli.js and the dist/kernelWorker.js beside it)', function () {
  this.timeout(60000);
  const CLI = path.resolve(__dirname, '../../../dist/cli.js');
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'normscope-threads-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });

  it('normalize and check give the same bytes and report on 1, 2 and 3 threads, in memory and streamed', () => {
    const x = randn([8, 16, 32, 32], 21, 1, 2);
    writeFileSync(path.join(dir, 'x.npy'), writeNpy(x));
    for (const op of [['--op', 'batch'], ['--op', 'layer', '--normalized-shape', '32']]) {
      const runs = ['1', '2', '3'].flatMap((t) => [[], ['--budget-mb', '4']].map((extra) => {
        const out = `y${t}${extra.length}.npy`;
        const r = cli('normalize', 'x.npy', ...op, '--threads', t, '--out', out, '--json', ...extra);
        assert.equal(r.status, 0, r.stderr);
        return { json: r.stdout, bytes: readFileSync(path.join(dir, out)) };
      }));
      for (const r of runs) assert.ok(r.bytes.toString('base64') === runs[0].bytes.toString('base64'), `${op.join(' ')}: same output file`);
      assert.equal(runs[2].json, runs[0].json, 'in memory: same report');
      assert.equal(runs[3].json, runs[1].json, 'streamed: same report');
    }
    const c1 = cli('check', 'x.npy', '--op', 'instance', '--threads', '1', '--json');
    const c2 = cli('check', 'x.npy', '--op', 'instance', '--threads', '2', '--json');
    assert.equal(c1.status, 0, c1.stderr);
    assert.equal(c2.stdout, c1.stdout);
  });

  it('a bad --threads is a usage error naming the flag (exit 2, one line)', () => {
    for (const bad of ['0', '65', '1.5', 'two']) {
      for (const extra of bad === '0' ? [[], ['--budget-mb', '4']] : [[]]) {
        const r = cli('normalize', 'x.npy', '--op', 'layer', '--threads', bad, ...extra);
        assert.equal(r.status, 2, r.stderr);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1);
        assert.match(r.stderr, /^normscope: --threads: expected a whole number of threads from 1 to 64, got '/);
      }
    }
    assert.match(cli('--help').stdout, /--threads N/);
  });
});
