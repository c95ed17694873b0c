/**
 * The fast kernels in Node, on one thread or several. `createFastKernels` compiles kernels.wasm onto a shared
 * memory; `ParallelKernels` runs the phases of an op (`FastKernels.steps`, or any generator of the same shape)
 * on T threads that share that memory, so no tensor is copied between threads, and it does so synchronously.
 * Like FastKernels it implements the engine's `Kernels` (engine/kernels.ts): the CLI and the extension's engine
 * worker take it as they would FastKernels or the TypeScript kernels.
 *
 * How a phase runs (the synckit pattern, without postMessage): the T - 1 workers (worker_threads running
 * kernelWorker.js, which calls `workerLoop` below) sleep in Atomics.wait on a control block of Int32 slots in a
 * SharedArrayBuffer. The caller writes the phase's jobs (kernel id and arguments) into a shared Float64Array,
 * publishes them with one store to the CLAIM slot and Atomics.notify, and runs job 0 itself; the workers claim
 * jobs 1.. with a compare-exchange on CLAIM. The caller then takes any job still unclaimed (so a worker that is
 * late, descheduled or not online yet costs nothing; `stealAfterMs` delays this) and waits for the DONE count.
 * Both sides poll briefly before sleeping (`spin`): the gap between the phases of one op (BatchNorm:
 * statistics, then output) and a worker's lag behind the caller are usually shorter than a futex round trip.
 *
 * Failure handling: an exception in a worker's job is recorded in the control block and rethrown by the caller
 * once the phase is over. A worker that never comes online only means fewer threads. A job claimed by a worker
 * that then never finishes (it died or hangs) is waited for within a bound (see `waitBoundMs`); the call then
 * throws a clear error and the pool continues on one thread. Workers are unref'd (they never keep the process
 * alive) and `close()` ends them.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FastKernels, FastOptions, FastOutput, FastStatsOutput, Job, instantiateKernels, runJob } from '../engine/fast/fastKernels';
import { Kernels, StatsSpec, WORK_PARTS } from '../engine/kernels';
import { ChunkKernels, chunkKernels } from '../engine/streamKernels';
import { NormParams } from '../engine/params';
import { ChannelLayout, SideStats } from '../engine/stats';
import { Tensor } from '../engine/tensor';
import type { SharedMemoryLike } from '../engine/fast/arena';

/** The fast kernels from kernels.wasm bytes (one thread), or null where WebAssembly SIMD or shared memory is missing. */
export function createFastKernels(bytes: ArrayBufferView, opts: FastOptions = {}): FastKernels | null {
  try {
    return FastKernels.tryCreate(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), opts);
  } catch {
    return null;
  }
}

export interface ParallelOptions extends FastOptions {
  /** Threads, this one included (default `defaultThreads()`); 1 runs everything here, starting no worker. */
  readonly threads?: number;
  /** The built kernelWorker.js; by default the one beside this file (dist/ for bundles, out/src/node/ for tsc). */
  readonly script?: string;
  /** Iterations a waiting thread polls its slot before Atomics.wait (default SPIN_DEFAULT, ~200 µs; 0: sleep at once). */
  readonly spin?: number;
  /** Smallest bound on the wait for a job a worker claimed (default 10 s; see `waitBoundMs`). */
  readonly minWaitMs?: number;
  /**
   * How long the caller leaves the jobs beyond its first to the workers before taking them itself (default 0:
   * it takes any job no worker has claimed yet, so a late or descheduled worker costs nothing; a large value
   * gives each worker its own share, as tests need to be sure that the workers run jobs).
   */
  readonly stealAfterMs?: number;
  /** Testing only: workers claim jobs and never run them (to exercise the bounded wait). */
  readonly stallWorkersForTest?: boolean;
}

/** The default thread count: the machine's parallelism, at most 4 (the ops are bound by memory bandwidth). */
export function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(n, 4));
}

/** The fast kernels on `opts.threads` threads (see ParallelKernels), or null where they cannot load. */
export function createParallelKernels(bytes: ArrayBufferView, opts: ParallelOptions = {}): ParallelKernels | null {
  const fast = createFastKernels(bytes, opts);
  return fast ? new ParallelKernels(fast, opts) : null;
}

// ---- the control block (Int32 slots) shared by the caller and its workers ----
/** (generation & 0x7ff) << 20 | jobs << 10 | next job: one word, so a claim is one compare-exchange. */
const CLAIM = 0;
/** Jobs of the current phase finished (by any thread). */
const DONE = 1;
/** 1 once `close()` asked the workers to return. */
const STOP = 2;
/** 0, or 1 + the index of the first job that threw in a worker (its message is in the error bytes). */
const ERROR = 3;
const ERROR_LEN = 4;
/** Workers online (their kernels instantiated, waiting for jobs). */
const ONLINE = 5;
/** Spin iterations before Atomics.wait (workers read it at every wait, so it can be tuned while running). */
const SPIN = 6;
/** Jobs run by workers since the pool started (diagnostics: tests and the benchmark). */
const WORKER_JOBS = 7;
/** 1: workers claim jobs without running them (testing the bounded wait). */
const STALL = 8;
const SLOTS = 16;
const ERROR_BYTES = 2048;

/** Jobs one publication can hold (a phase with more is run in several rounds). */
const MAX_JOBS = 256;
/** Float64 per job in the table: kernel id, argument count, then the arguments. */
const STRIDE = 32;
const MAX_ARGS = STRIDE - 2;

/**
 * ~200 µs of polling (an iteration is ~10 ns). Measured on a 2-vCPU VM, 2 threads, LayerNorm and GroupNorm of
 * 25 MB: a worker woken from Atomics.wait started its job 40-90 µs after the publication, a polling one 2-20 µs;
 * whole calls with and without polling were within noise of each other (±4%). Longer polls cost other
 * processes' CPU time on a busy machine.
 */
const SPIN_DEFAULT = 20000;

const claimWord = (gen: number, jobs: number, next: number): number => ((gen & 0x7ff) << 20) | (jobs << 10) | next;
const jobsOf = (w: number): number => (w >>> 10) & 0x3ff;
const nextOf = (w: number): number => w & 0x3ff;

/** What a worker is started with (kernelWorker.ts passes its workerData to `workerLoop`). */
export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: SharedMemoryLike;
  readonly control: SharedArrayBuffer;
  readonly table: SharedArrayBuffer;
  readonly errors: SharedArrayBuffer;
  /** Kernel ids: index into this list of export names. */
  readonly names: readonly string[];
}

/** Claims and runs jobs of the published phase until none is left; returns how many it ran. */
function claimAndRun(
  ctl: Int32Array, table: Float64Array, fns: readonly ((...a: number[]) => void)[],
  onError: (job: number, e: unknown) => void, stall = false,
): number {
  let ran = 0;
  for (;;) {
    const w = Atomics.load(ctl, CLAIM);
    const j = nextOf(w);
    if (j >= jobsOf(w)) return ran;
    if (Atomics.compareExchange(ctl, CLAIM, w, w + 1) !== w) continue;
    if (stall) {
      while (Atomics.load(ctl, STOP) === 0) Atomics.wait(ctl, STOP, 0, 1000);
      return ran;
    }
    // the job is ours; the table row stays as it is until DONE counts it
    const base = j * STRIDE;
    const n = table[base + 1];
    try {
      const args = new Array<number>(n);
      for (let a = 0; a < n; a++) args[a] = table[base + 2 + a];
      fns[table[base]](...args);
    } catch (e) {
      onError(j, e);
    }
    ran++;
    if (Atomics.add(ctl, DONE, 1) + 1 === jobsOf(w)) Atomics.notify(ctl, DONE);
  }
}

/** A worker's life: instantiate the kernels on the shared memory, then run jobs until STOP. */
export function workerLoop(init: WorkerInit): void {
  const ctl = new Int32Array(init.control);
  const table = new Float64Array(init.table);
  const errors = new Uint8Array(init.errors);
  const kernels = instantiateKernels(init.module, init.memory) as unknown as Record<string, (...a: number[]) => void>;
  const fns = init.names.map((n) => kernels[n]);
  const onError = (job: number, e: unknown): void => {
    if (Atomics.compareExchange(ctl, ERROR, 0, job + 1) !== 0) return;
    const msg = new TextEncoder().encode(e instanceof Error ? `${e.name}: ${e.message}` : String(e)).subarray(0, ERROR_BYTES);
    errors.set(msg);
    Atomics.store(ctl, ERROR_LEN, msg.length);
  };
  Atomics.add(ctl, ONLINE, 1);
  for (;;) {
    if (Atomics.load(ctl, STOP) !== 0) return;
    const ran = claimAndRun(ctl, table, fns, onError, Atomics.load(ctl, STALL) !== 0);
    if (ran > 0) Atomics.add(ctl, WORKER_JOBS, ran);
    // wait for the next publication (CLAIM changes only when the caller publishes once the phase is claimed)
    const seen = Atomics.load(ctl, CLAIM);
    if (nextOf(seen) < jobsOf(seen)) continue; // published meanwhile
    for (let s = Atomics.load(ctl, SPIN); s > 0 && Atomics.load(ctl, CLAIM) === seen; s--);
    if (Atomics.load(ctl, CLAIM) === seen && Atomics.load(ctl, STOP) === 0) Atomics.wait(ctl, CLAIM, seen);
  }
}

/**
 * The fast kernels on several threads, synchronously: `normalize(x, p)` gives what `fast.normalize(x, p)`
 * gives (the same bits for every op but BatchNorm in train mode, whose per-part sums are added in another
 * order: within float64's last bits), with every phase split across `threads` threads; `run(steps)` runs any
 * generator of job phases shaped like `FastKernels.steps`. One call at a time (calls are synchronous).
 */
/** A kernel thread did not finish its job in time (see `waitBoundMs`); the pool runs on one thread after it. */
export class HungThreadError extends Error {}

export class ParallelKernels implements Kernels {
  private readonly workers: Worker[] = [];
  private readonly ctl: Int32Array;
  private readonly table: Float64Array;
  private readonly errors: Uint8Array;
  private readonly ids = new Map<string, number>();
  private readonly local: ((...a: number[]) => void)[];
  private readonly minWaitMs: number;
  private readonly stealAfterMs: number;
  /** Wake the workers when a call starts (see `run`); tuning. */
  prewake = true;
  private gen = 0;
  private busy = false;
  /** Set by close() or when a worker failed to finish a job: calls then run on this thread only. */
  private single: boolean;
  private failure: string | undefined;

  constructor(readonly fast: FastKernels, opts: ParallelOptions = {}) {
    const threads = opts.threads ?? defaultThreads();
    if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError(`threads: expected a positive integer, got ${threads}`);
    this.minWaitMs = opts.minWaitMs ?? 10000;
    this.stealAfterMs = Math.max(0, opts.stealAfterMs ?? 0);
    const names = Object.keys(fast.kernels).filter((k) => typeof (fast.kernels as unknown as Record<string, unknown>)[k] === 'function');
    names.forEach((n, i) => this.ids.set(n, i));
    this.local = names.map((n) => (fast.kernels as unknown as Record<string, (...a: number[]) => void>)[n]);
    const shared = typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object';
    this.ctl = new Int32Array(shared ? new SharedArrayBuffer(SLOTS * 4) : new ArrayBuffer(SLOTS * 4));
    this.table = new Float64Array(shared ? new SharedArrayBuffer(MAX_JOBS * STRIDE * 8) : new ArrayBuffer(8));
    this.errors = new Uint8Array(shared ? new SharedArrayBuffer(ERROR_BYTES) : new ArrayBuffer(1));
    this.ctl[SPIN] = opts.spin ?? SPIN_DEFAULT;
    this.ctl[STALL] = opts.stallWorkersForTest ? 1 : 0;
    this.single = !shared || threads === 1;
    if (this.single) return;
    const init: WorkerInit = {
      module: fast.module as WebAssembly.Module, memory: fast.memory,
      control: this.ctl.buffer as SharedArrayBuffer, table: this.table.buffer as SharedArrayBuffer,
      errors: this.errors.buffer as SharedArrayBuffer, names,
    };
    const script = opts.script ?? path.join(__dirname, 'kernelWorker.js');
    try {
      for (let i = 1; i < threads; i++) {
        const w = new Worker(script, { workerData: init });
        // A worker that cannot start (missing script, no memory) or exits just never claims jobs; one that exits
        // holding a job is caught by the bounded wait. Errors are handled here so they never crash the process.
        w.on('error', () => undefined);
        w.unref();
        this.workers.push(w);
      }
    } catch {
      this.single = this.workers.length === 0;
    }
  }

  /** Threads the calls run on: this one and the workers (1 after close() or a failed worker). */
  get threads(): number {
    return this.single ? 1 : this.workers.length + 1;
  }

  /** Workers online so far (they start in the background; calls before then run on fewer threads). */
  get online(): number {
    return this.single ? 0 : Atomics.load(this.ctl, ONLINE);
  }

  /** Jobs the workers have run since the start (diagnostics). */
  get workerJobs(): number {
    return Atomics.load(this.ctl, WORKER_JOBS);
  }

  /** Why the pool went to one thread, if a worker failed. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** Spin iterations before sleeping (tuning; see the module comment). */
  set spin(n: number) {
    Atomics.store(this.ctl, SPIN, Math.max(0, Math.floor(n)));
  }

  /**
   * Blocks until every worker is online or `timeoutMs` has passed; returns the workers online. Optional: calls
   * before then run on the threads that are there.
   */
  waitOnline(timeoutMs = 5000): number {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const n = this.online;
      if (this.single || n >= this.workers.length) return n;
      const left = end - performance.now();
      if (left <= 0) return n;
      Atomics.wait(this.ctl, ONLINE, n, Math.min(left, 5));
    }
  }

  /** `fast.allocFloat32`: a zeroed float32 array in the shared memory (inputs there are read in place). */
  allocFloat32(n: number): Float32Array | null {
    return this.fast.allocFloat32(n);
  }

  /** `fast.release`: gives an output (or an `allocFloat32` array) back to the memory now. */
  release(a: Float32Array | Tensor): void {
    this.fast.release(a);
  }

  private chunkKernels: ChunkKernels | undefined;

  /** The streamed passes' per-chunk statistics (streamKernels.ts) across the threads (same bits as `fast.chunks`). */
  get chunks(): ChunkKernels {
    return (this.chunkKernels ??= chunkKernels(this.fast, this));
  }

  /** `fast.normalize(x, p)` with each phase split across the threads. */
  normalize(x: Tensor, p: NormParams): FastOutput {
    return this.run(this.fast.steps(x, p, WORK_PARTS));
  }

  /** `fast.normalizeWithStats(x, p, spec)` (the op and both sides' statistics) across the threads. */
  normalizeWithStats(x: Tensor, p: NormParams, spec: StatsSpec): FastStatsOutput {
    return this.run(this.fast.normalizeWithStatsSteps(x, p, spec, WORK_PARTS));
  }

  /** `fast.sideStats(...)` (stats.ts `sideStats` on the WebAssembly kernels) across the threads. */
  sideStats(values: ArrayLike<number>, layout: ChannelLayout, bins: number, groups: readonly (readonly [number, number])[]): SideStats {
    return this.run(this.fast.sideStatsSteps(values, layout, bins, groups, WORK_PARTS));
  }

  /**
   * Runs a generator of phases (arrays of jobs that may run at the same time) to its result, each phase on
   * every thread; `FastKernels.steps(x, p, parts)` is one (pass parts = WORK_PARTS: the same bits on any thread count). On an error the generator
   * is closed (its `finally` frees its scratch memory) and the error is rethrown.
   */
  run<T>(steps: Generator<Job[], T, void>): T {
    if (this.busy) throw new Error('ParallelKernels.run: a call is already running');
    this.busy = true;
    // wake the sleeping workers now: they poll (`spin`) while the generator prepares the first phase, which
    // hides the futex wake-up (tens of microseconds) behind that serial part
    if (this.prewake && !this.single) Atomics.notify(this.ctl, CLAIM);
    try {
      for (let r = steps.next(); ; r = steps.next()) {
        if (r.done) return r.value;
        this.phase(r.value);
      }
    } catch (e) {
      // A thread that hangs may still write into this call's blocks until it is terminated: leave them allocated
      // (a leak, once, on a broken machine) rather than hand them out again.
      if (!(e instanceof HungThreadError)) steps.return(undefined as unknown as T);
      throw e;
    } finally {
      this.busy = false;
    }
  }

  /** Runs one phase's jobs on every thread; returns when all are done. */
  private phase(jobs: readonly Job[]): void {
    if (this.single || jobs.length <= 1 || this.online === 0) {
      for (const job of jobs) runJob(this.fast.kernels, job);
      return;
    }
    for (let start = 0; start < jobs.length; start += MAX_JOBS) this.round(jobs.slice(start, start + MAX_JOBS));
  }

  private round(jobs: readonly Job[]): void {
    const { ctl, table } = this;
    jobs.forEach((job, j) => {
      const id = this.ids.get(job.fn);
      if (id === undefined) throw new Error(`ParallelKernels: unknown kernel '${job.fn}'`);
      if (job.args.length > MAX_ARGS) throw new Error(`ParallelKernels: kernel '${job.fn}' takes at most ${MAX_ARGS} arguments here`);
      const base = j * STRIDE;
      table[base] = id;
      table[base + 1] = job.args.length;
      for (let a = 0; a < job.args.length; a++) table[base + 2 + a] = job.args[a];
    });
    Atomics.store(ctl, DONE, 0);
    this.gen = (this.gen + 1) & 0x7ff;
    // publishes the table (a seq-cst store); job 0 is the caller's, the workers claim from job 1
    Atomics.store(ctl, CLAIM, claimWord(this.gen, jobs.length, 1));
    Atomics.notify(ctl, CLAIM);

    let localError: unknown;
    const onError = (_: number, e: unknown): void => { if (localError === undefined) localError = e ?? new Error('a kernel threw'); };
    const published = performance.now();
    try {
      runJob(this.fast.kernels, jobs[0]);
    } catch (e) {
      onError(0, e);
    }
    Atomics.add(ctl, DONE, 1);
    // then any job no worker has claimed yet, unless the workers are given `stealAfterMs` to claim theirs
    if (this.stealAfterMs === 0) claimAndRun(ctl, table, this.local, onError);
    this.waitDone(jobs.length, performance.now() - published, published, onError);

    if (localError !== undefined) {
      Atomics.store(ctl, ERROR, 0);
      throw localError;
    }
    const failedJob = Atomics.load(ctl, ERROR);
    if (failedJob !== 0) {
      const msg = new TextDecoder().decode(this.errors.slice(0, Atomics.load(ctl, ERROR_LEN)));
      Atomics.store(ctl, ERROR, 0);
      throw new Error(`in a kernel thread (job ${failedJob - 1} of ${jobs.length}, ${jobs[failedJob - 1].fn}): ${msg}`);
    }
  }

  /**
   * How long the caller waits for jobs claimed by workers after finishing its own: the jobs of a phase are
   * near-equal parts, so a worker that takes 50 times the caller's time (at least `minWaitMs`) is taken as dead.
   */
  static waitBoundMs(ownMs: number, minWaitMs: number): number {
    return Math.max(minWaitMs, 50 * ownMs);
  }

  /** Waits until the phase's `jobs` are done, taking unclaimed ones once `stealAfterMs` have passed. */
  private waitDone(jobs: number, ownMs: number, published: number, onError: (job: number, e: unknown) => void): void {
    const { ctl, table } = this;
    let done = Atomics.load(ctl, DONE);
    if (done >= jobs) return;
    const unclaimed = (): boolean => nextOf(Atomics.load(ctl, CLAIM)) < jobs;
    const steal = (): void => {
      const t = performance.now();
      claimAndRun(ctl, table, this.local, onError);
      ownMs += performance.now() - t;
    };
    if (this.stealAfterMs === 0 || performance.now() - published >= this.stealAfterMs) {
      for (let s = Atomics.load(ctl, SPIN); s > 0 && done < jobs; s--) done = Atomics.load(ctl, DONE);
      if (done >= jobs) return;
    }
    let last = done;
    let since = performance.now();
    for (;;) {
      const now = performance.now();
      const stealIn = this.stealAfterMs - (now - published);
      if (stealIn <= 0 && unclaimed()) steal();
      Atomics.wait(ctl, DONE, done, stealIn > 0 && unclaimed() ? Math.min(50, stealIn) : 50);
      done = Atomics.load(ctl, DONE);
      if (done >= jobs) return;
      const bound = ParallelKernels.waitBoundMs(ownMs, this.minWaitMs);
      if (done !== last || unclaimed()) { last = done; since = performance.now(); continue; }
      if (performance.now() - since > bound) {
        this.failure = `a kernel thread did not finish its job within ${(bound / 1000).toFixed(1)} s (it died or hangs); NormScope continues on one thread`;
        this.stopWorkers();
        throw new HungThreadError(this.failure);
      }
    }
  }

  private stopWorkers(): void {
    this.single = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, CLAIM, 0); // (a no-op store; the notify below wakes the sleepers to see STOP)
    Atomics.notify(this.ctl, CLAIM);
    Atomics.notify(this.ctl, STOP);
    for (const w of this.workers) void w.terminate().catch(() => undefined);
  }

  /** Ends the workers; later calls run on this thread. The kernels and their memory stay usable. */
  close(): void {
    if (this.workers.length > 0 && !Atomics.load(this.ctl, STOP)) this.stopWorkers();
    this.single = true;
  }
}
