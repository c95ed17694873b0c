/**
 * The fast kernels in Node: `createFastKernels` compiles kernels.wasm onto a shared memory, and `KernelPool`
 * splits each op across threads (worker_threads) that run the same kernels on the same memory, so no tensor is
 * copied between threads. With `threads` = T the calling thread runs one part of every phase and T - 1 workers
 * the others; each phase ends when all parts are done (BatchNorm: statistics, then output).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FastKernels, FastOptions, FastOutput, Job, runJob } from '../engine/fast/fastKernels';
import { NormParams } from '../engine/params';
import { Tensor } from '../engine/tensor';

/** The fast kernels from kernels.wasm bytes, or null where WebAssembly SIMD or shared memory is missing. */
export function createFastKernels(bytes: ArrayBufferView, opts: FastOptions = {}): FastKernels | null {
  try {
    return FastKernels.tryCreate(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), opts);
  } catch {
    return null;
  }
}

export class KernelPool {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private busy = false;
  /** Set when a worker died: calls then run in this thread only. */
  private broken = false;

  private constructor(readonly fast: FastKernels, private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: { id: number; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve();
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', () => this.fail(new Error('a KernelPool worker exited')));
      w.unref();
    }
  }

  /**
   * A pool of `threads` threads (this one included) over `fast`'s memory. `script` is the built
   * kernelWorker.js, by default the one beside this file (dist/ for bundles, out/src/node/ for tsc output).
   */
  static async create(fast: FastKernels, threads = 2, script = path.join(__dirname, 'kernelWorker.js')): Promise<KernelPool> {
    const workers: Worker[] = [];
    for (let i = 1; i < threads; i++) {
      workers.push(new Worker(script, { workerData: { module: fast.module, memory: fast.memory } }));
    }
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('online', resolve);
      w.once('error', reject);
    })));
    return new KernelPool(fast, workers);
  }

  get threads(): number {
    return this.broken ? 1 : this.workers.length + 1;
  }

  /**
   * `fast.normalize(x, p)` with every phase split across the pool's threads (in this thread alone once a worker
   * has died or the pool is closed). One call at a time.
   */
  async normalize(x: Tensor, p: NormParams): Promise<FastOutput> {
    if (this.busy) throw new Error('KernelPool.normalize: a call is already running');
    if (this.broken) return this.fast.normalize(x, p);
    this.busy = true;
    for (const w of this.workers) w.ref();
    const run = this.fast.steps(x, p, this.threads);
    try {
      for (let r = run.next(); ; r = run.next()) {
        if (r.done) return r.value;
        await this.phase(r.value);
      }
    } catch (e) {
      run.return(undefined as unknown as FastOutput); // frees the call's scratch memory
      throw e;
    } finally {
      for (const w of this.workers) w.unref();
      this.busy = false;
    }
  }

  /** Runs one phase: job 0 here, job i on worker i - 1. */
  private async phase(jobs: Job[]): Promise<void> {
    const done = jobs.slice(1).map((job, i) => new Promise<void>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.workers[i].postMessage({ id, job });
    }));
    let local: unknown = null;
    try {
      if (jobs.length > 0) runJob(this.fast.kernels, jobs[0]);
    } catch (e) {
      local = e;
    }
    await Promise.all(done);
    if (local !== null) throw local;
  }

  private fail(e: Error): void {
    this.broken = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.broken = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
