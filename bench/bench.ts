/**
 * Times the engine's ops on the benchmark shapes: the TypeScript kernels (1 thread) and the WebAssembly SIMD
 * kernels (1 thread, and 2 threads through ParallelKernels), and measures the fast kernels' error against the
 * float64 result of the TypeScript kernels. Where /usr/bin/python3 has torch, torch runs beside it as a server
 * (bench/torch_bench.py) and every case is timed in rounds that alternate ours and torch's, 1 then 2 threads:
 * on a shared machine a slow minute then slows both columns, not one. Each figure is the median over the
 * rounds of per-round medians. Invoked by bench/run.mjs after `npm run build` (it reads dist/kernels.wasm and
 * dist/kernelWorker.js), which prints the table. Prints one JSON array of {op, label, shape, impl, threads,
 * median_ms, gbps, torch_median_ms, torch1_median_ms[, cpu_ms, torch_cpu_ms][, max_ulps, inexact]}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import { FLOAT32_EPS, normalize } from '../src/engine/ops';
import { NormParams } from '../src/engine/params';
import { contiguous, tensor } from '../src/engine/tensor';
import { Job, KernelName } from '../src/engine/fast/fastKernels';
import { WORK_PARTS } from '../src/engine/kernels';
import { ParallelKernels, createFastKernels } from '../src/node/pool';
import { vsReference } from '../test/support/ulps';
import { CASES } from './cases';

function randn(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand())), t = 2 * Math.PI * rand();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median wall time per call, and median CPU time of this process per call (user + system: on a loaded machine
 * it leaves out the time the thread waited for a core; it counts every thread, so it is kept for 1 thread only).
 */
async function time(fn: () => unknown, minRuns = 9, minMs = 300): Promise<{ ms: number; cpu: number }> {
  await fn(); await fn(); // warm up (JIT, wasm tier-up, first touch of the output pages)
  const times: number[] = [];
  const cpus: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minMs) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
    if (times.length >= 200) break;
  }
  return { ms: median(times), cpu: median(cpus) };
}

/** Largest distance in float32 ulps from a float64 reference, and how many elements differ from fround(reference). */
function accuracy(ours: ArrayLike<number>, ref: ArrayLike<number>): { max_ulps: number; inexact: number } {
  const e = vsReference(ours, ref);
  return { max_ulps: e.maxUlps, inexact: e.inexact };
}

interface Timing { readonly ms: number; readonly cpu: number }

/** Rounds per case (NORMSCOPE_BENCH_ROUNDS, default 7), each measurement at least MIN_MS long. */
const ROUNDS = Math.max(1, Number(process.env.NORMSCOPE_BENCH_ROUNDS || 7));
const MIN_MS = 150;

/** torch timing the same cases in its own process, one request at a time (bench/torch_bench.py). */
class TorchServer {
  private readonly waiting: ((line: string) => void)[] = [];

  private constructor(private readonly child: ReturnType<typeof spawn>) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
  }

  /** The server, or null where /usr/bin/python3 has no torch. */
  static start(): TorchServer | null {
    const python = '/usr/bin/python3';
    const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) return null;
    const child = spawn(python, ['bench/torch_bench.py'], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin!.write(JSON.stringify(CASES) + '\n');
    return new TorchServer(child);
  }

  /** Median wall and CPU ms per call of case `index` on `threads` threads. */
  time(index: number, threads: number, minRuns = 9, minMs = 300): Promise<Timing> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the torch benchmark exited (${code})`));
      this.child.once('exit', onExit);
      this.waiting.push((line) => {
        this.child.off('exit', onExit);
        const [ms, cpu] = JSON.parse(line) as [number, number];
        resolve({ ms, cpu });
      });
      this.child.stdin!.write(`${index} ${threads} ${minRuns} ${minMs}\n`);
    });
  }

  close(): void {
    this.child.stdin!.end();
  }
}

/** The median over rounds of each measurement (wall and CPU time separately). */
function medianOf(ts: readonly Timing[]): Timing {
  return { ms: median(ts.map((t) => t.ms)), cpu: median(ts.map((t) => t.cpu)) };
}

async function main(): Promise<void> {
  const fast = createFastKernels(readFileSync(path.resolve('dist/kernels.wasm')));
  if (!fast) throw new Error('the WebAssembly kernels did not load');
  const pool = new ParallelKernels(fast, { threads: 2, script: path.resolve('dist/kernelWorker.js') });
  if (pool.waitOnline(10000) !== 1) throw new Error('the kernel worker did not come online');

  const torch = TorchServer.start();
  const rows: object[] = [];
  const inputs = new Map<string, Float32Array>();
  for (const [index, c] of CASES.entries()) {
    const key = c.shape.join('x');
    if (!inputs.has(key)) {
      // in the kernels' shared memory, where a front end reading a file for the fast path puts it
      const a = fast.allocFloat32(c.shape.reduce((x, y) => x * y, 1))!;
      a.set(randn(a.length, 42));
      inputs.set(key, a);
    }
    const data = inputs.get(key)!;
    const bytes = data.byteLength * 2; // one read, one write
    /**
     * Ours and torch's in alternation, ROUNDS times: each of ours is followed by torch on the same thread count, so
     * each round gives a pair measured within a second of each other. The medians over the rounds, and per
     * measurement of ours the median and range over the rounds of the paired ratio ours / torch.
     */
    const rounds = async (ours: Record<string, () => unknown>, minRuns: number): Promise<Map<string, Timing[]>> => {
      const seen = new Map<string, Timing[]>();
      const add = (k: string, t: Timing): void => { seen.set(k, [...(seen.get(k) ?? []), t]); };
      for (let r = 0; r < ROUNDS; r++) {
        for (const [k, fn] of Object.entries(ours)) {
          add(k, await time(fn, minRuns, MIN_MS));
          const threads = Number(k.split(':')[1]);
          // torch once per thread count and round for the copy floors (their three rows pair with the same)
          if (torch && k !== 'floor:1' && (c.op !== 'copy' || !k.startsWith('wasm:1'))) add(`torch:${threads}`, await torch.time(index, threads, minRuns, MIN_MS));
        }
      }
      return seen;
    };
    const row = (impl: string, threads: number, ts: Timing[], all: Map<string, Timing[]>, extra = {}): void => {
      const t = medianOf(ts);
      const torchTs = all.get(`torch:${threads}`);
      const torchT = torchTs ? medianOf(torchTs) : undefined;
      const torch1 = all.get('torch:1');
      // paired per round: ours in round r against torch's measurement right after it
      const ratios = !torchTs ? [] : ts.length === torchTs.length ? ts.map((o, r) => o.ms / torchTs[r].ms) : [t.ms / torchT!.ms];
      const cpu = threads === 1 ? { cpu_ms: t.cpu, torch_cpu_ms: torch1 ? medianOf(torch1).cpu : null } : {};
      rows.push({
        op: c.op, label: c.label, shape: c.shape, impl, threads, median_ms: t.ms, gbps: bytes / t.ms / 1e6,
        torch_median_ms: torchT?.ms ?? null, torch1_median_ms: torch1 ? medianOf(torch1).ms : null,
        ratio: ratios.length ? median(ratios) : null,
        ratio_range: ratios.length ? [Math.min(...ratios), Math.max(...ratios)] : null, ...cpu, ...extra,
      });
    };
    if (c.op === 'copy') {
      // dst.set(src) between ordinary arrays as the issue states the floor (from the shared memory V8 copies
      // with relaxed atomics, which can be slower), and memory.copy inside the kernels' memory on 1 and 2 threads
      // (the floor for an output pass of the kernels, cut into WORK_PARTS jobs like an op)
      const dst = new Float32Array(data.length);
      const plain = Float32Array.from(data);
      const out = fast.allocFloat32(data.length)!;
      const k = fast.kernels as unknown as { copy_f32(x: number, o: number, n: number): void };
      const part = Math.ceil(data.length / WORK_PARTS);
      function* copySteps(): Generator<Job[], void, void> {
        const jobs: Job[] = [];
        for (let i = 0; i < data.length; i += part) {
          const n = Math.min(part, data.length - i);
          jobs.push({ fn: 'copy_f32' as KernelName, args: [data.byteOffset + 4 * i, out.byteOffset + 4 * i, n] });
        }
        yield jobs;
      }
      const all = await rounds({
        'ts:1': () => dst.set(plain),
        'wasm:1': () => k.copy_f32(data.byteOffset, out.byteOffset, data.length),
        'wasm:2': () => pool.run(copySteps()),
      }, 15);
      row('ts', 1, all.get('ts:1')!, all);
      row('wasm', 1, all.get('wasm:1')!, all);
      row('wasm', 2, all.get('wasm:2')!, all);
      fast.release(out);
      continue;
    }
    const x = tensor('float32', c.shape, data);
    const C = c.shape[1];
    const p: NormParams = {
      op: c.op,
      groups: c.groups,
      normalized_shape: c.normalized_shape,
      mode: c.mode,
      running_mean: c.mode === 'eval' ? tensor('float32', [C], new Float32Array(C).fill(0.1)) : undefined,
      running_var: c.mode === 'eval' ? tensor('float32', [C], new Float32Array(C).fill(1.5)) : undefined,
    };
    const xHeap = tensor('float32', c.shape, Float32Array.from(data)); // the reference path's own array
    // the float64 result of the reference kernels (RMSNorm with float32's eps, as for float32 input)
    const x64 = tensor('float64', c.shape, Float64Array.from(data));
    const ref = contiguous(normalize(x64, c.op === 'rms' ? { ...p, eps: FLOAT32_EPS } : p).output).data as Float64Array;
    const once = fast.normalize(x, p);
    const acc = accuracy(once.output.data as Float32Array, ref);
    fast.release(once.output);
    // dst.set of the same bytes (ordinary arrays) before each round of ours: the op's paired ratio to a plain
    // copy (vs_copy)
    const dst = new Float32Array(data.length);
    const all = await rounds({
      'floor:1': () => dst.set(xHeap.data as Float32Array),
      'wasm:1': () => fast.release(fast.normalize(x, p).output),
      'wasm:2': () => fast.release(pool.normalize(x, p).output),
    }, 15);
    const floor = all.get('floor:1')!;
    const vsCopy = all.get('wasm:1')!.map((t, r) => t.ms / floor[r].ms);
    // the TypeScript kernels once (they are 4-8x slower and only set the reference's scale)
    row('ts', 1, [await time(() => normalize(xHeap, p), 9, 600)], all);
    row('wasm', 1, all.get('wasm:1')!, all, { ...acc, vs_copy: median(vsCopy), vs_copy_range: [Math.min(...vsCopy), Math.max(...vsCopy)] });
    row('wasm', 2, all.get('wasm:2')!, all);
  }
  torch?.close();
  pool.close();
  process.stdout.write(JSON.stringify(rows));
}

main().catch((e) => { console.error(e); process.exit(1); });
