/**
 * The host's handle on one engine worker (dist/worker.js, a node:worker_threads thread). Requests are queued
 * by the worker and answered in order. `cancel()` terminates the thread (the only way to stop a running
 * normalization of a tensor in memory) and rejects what was pending with CancelledError; the next request
 * starts a fresh worker and re-loads the tensor from the bytes kept here - shared memory, so neither a copy nor
 * a re-read - or, for a streamed file, re-opens it by path (its header only). A streamed file's work is
 * instead aborted at its next chunk, keeping the worker. Streamed work reports events (progress, first
 * pictures) to the callback its request was given. No vscode import: unit tests run it against the built worker.
 */
import { Worker } from 'node:worker_threads';
import type { AnalysisView, CheckView, FlagView, PanelParams, ParamChoices, TensorInfo } from '../protocol/messages';
import type { LoadRequest, ParamFiles, StreamedInfo, TensorChoice, WorkerEvent, WorkerReply, WorkerRequest } from './workerMessages';

/** What a request's events carry (the id is the client's business). */
export type ClientEvent = WorkerEvent extends infer T ? T extends WorkerEvent ? Omit<T, 'id'> : never : never;

/** The work was cancelled (by the user, or replaced by newer work). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** The engine refused the input or the parameters; `message` is for people. */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void; onEvent?: (e: ClientEvent) => void };
/** A request before the client numbers it (Omit distributed over the union). */
type Unnumbered = WorkerRequest extends infer T ? T extends WorkerRequest ? Omit<T, 'id'> : never : never;
type Payload<K extends string> = Extract<WorkerReply, { ok: true; kind: K }>;

/** Copies `bytes` into shared memory so every (re)started worker views them without a copy. */
export function shareBytes(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}

export class WorkerClient {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private loadRequest: Omit<LoadRequest, 'id'> | undefined;
  /** The loaded tensor is streamed from its file (a file given by path may also be read whole: JSON, .ipynb). */
  private streamed = false;
  private disposed = false;

  constructor(private readonly scriptPath: string) {}

  /** Worker threads started so far: a cancel that terminates one makes the next request start another. */
  threadsStarted = 0;

  /** True while a request is unanswered. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /**
   * Loads a tensor from a file's bytes (kept in shared memory) or a literal. Without a selector and with
   * `listIfSeveral`, answers with the tensors found when the file holds several (nothing is loaded then).
   */
  async load(req: Omit<LoadRequest, 'kind' | 'id'>): Promise<
    | { kind: 'loaded'; info: TensorInfo; choices: ParamChoices; streamed?: StreamedInfo }
    | { kind: 'several'; tensors: readonly TensorChoice[]; metadata?: Readonly<Record<string, string>> }
  > {
    const bytes = req.bytes && !(req.bytes.buffer instanceof SharedArrayBuffer) ? shareBytes(req.bytes) : req.bytes;
    const load: Omit<LoadRequest, 'id'> = { ...req, kind: 'load', bytes };
    const reply = await this.request(load);
    if (reply.kind === 'loaded') {
      this.loadRequest = { ...load, listIfSeveral: false };
      this.streamed = reply.streamed !== undefined;
      return { kind: 'loaded', info: reply.info, choices: reply.choices, streamed: reply.streamed };
    }
    if (reply.kind === 'several') return { kind: 'several', tensors: reply.tensors, metadata: reply.metadata };
    throw new Error(`unexpected worker reply ${reply.kind}`);
  }

  /**
   * Phase 1: normalize and take statistics (a streamed tensor reports progress and first pictures to
   * `onEvent`); `tensors`: the files of `params.sources`.
   */
  async analyze(params: PanelParams, bins: number, onEvent?: (e: ClientEvent) => void, tensors?: ParamFiles): Promise<AnalysisView> {
    return (await this.expect<'analyzed'>({ kind: 'analyze', params, bins, ...(tensors && { tensors }) }, 'analyzed', onEvent)).view;
  }

  /** The tensors a file holds (its one tensor with selector '' for .npy), read by `path` or from `bytes`. */
  async list(req: { name: string; path?: string; bytes?: Uint8Array }): Promise<{ tensors: readonly TensorChoice[]; metadata?: Readonly<Record<string, string>> }> {
    const r = await this.expect<'listed'>({ kind: 'list', ...req }, 'listed');
    return { tensors: r.tensors, metadata: r.metadata };
  }

  /** Phase 2 of the last analyze: checks and flags. */
  async checks(): Promise<{ checks: readonly CheckView[]; flags: readonly FlagView[]; ms: number }> {
    const r = await this.expect<'checked'>({ kind: 'checks' }, 'checked');
    return { checks: r.checks, flags: r.flags, ms: r.ms };
  }

  /** The last normalized tensor as .npy bytes. */
  async npy(): Promise<Uint8Array> {
    return (await this.expect<'npy'>({ kind: 'npy' }, 'npy')).bytes;
  }

  /** A streamed tensor's last normalized output written to `path` in chunks; resolves with its size in bytes. */
  async npyToFile(path: string, params: PanelParams, onEvent?: (e: ClientEvent) => void, tensors?: ParamFiles): Promise<number> {
    return (await this.expect<'npyWritten'>({ kind: 'npy', path, params, ...(tensors && { tensors }) }, 'npyWritten', onEvent)).bytes;
  }

  /**
   * Stops whatever runs; pending requests reject with CancelledError. A streamed tensor's work is aborted at its
   * next chunk and the worker stays (with its open file and the statistics it keeps); otherwise the thread is
   * terminated (the only way to stop a computation on a tensor in memory).
   */
  cancel(): void {
    // only streamed work checks for an abort (between chunks); work on a tensor in memory never would
    if (this.worker && this.streamed && this.pending.size > 0) {
      const pending = [...this.pending.values()];
      this.pending.clear();
      this.worker.postMessage({ kind: 'abort', id: this.nextId++, upTo: this.nextId - 1 } satisfies WorkerRequest);
      for (const p of pending) p.reject(new CancelledError());
      return;
    }
    this.terminate();
  }

  /** Terminates the thread; pending requests reject with CancelledError. */
  private terminate(): void {
    const w = this.worker;
    this.worker = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    if (w) void w.terminate();
    for (const p of pending) p.reject(new CancelledError());
  }

  dispose(): void {
    this.disposed = true;
    this.terminate();
    this.loadRequest = undefined;
    this.streamed = false;
  }

  private async expect<K extends 'analyzed' | 'checked' | 'npy' | 'npyWritten' | 'listed'>(req: Unnumbered, kind: K, onEvent?: (e: ClientEvent) => void): Promise<Payload<K>> {
    const reply = await this.request(req, onEvent);
    if (reply.kind !== kind) throw new Error(`unexpected worker reply ${reply.kind}`);
    return reply as Payload<K>;
  }

  private request(req: Unnumbered, onEvent?: (e: ClientEvent) => void): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.disposed) return Promise.reject(new CancelledError());
    const w = this.ensureWorker(req.kind !== 'load');
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      w.postMessage({ ...req, id } as WorkerRequest);
    }).then((reply) => {
      if (!reply.ok) throw reply.user ? new EngineError(reply.message) : new Error(`engine worker: ${reply.message}`);
      return reply;
    });
  }

  /** The running worker, or a new one (re-loaded with the last tensor when `reload`). */
  private ensureWorker(reload: boolean): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.scriptPath);
    this.worker = w;
    this.threadsStarted++;
    w.on('message', (reply: WorkerReply | WorkerEvent) => {
      const p = this.pending.get(reply.id);
      if (!p) return; // the answer to an internal re-load
      if ('event' in reply) {
        const { id: _id, ...event } = reply;
        p.onEvent?.(event as ClientEvent);
        return;
      }
      this.pending.delete(reply.id);
      p.resolve(reply);
    });
    const failAll = (err: Error) => {
      if (this.worker !== w) return; // terminated on purpose: cancel() already rejected
      this.worker = undefined;
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const p of pending) p.reject(err);
    };
    w.on('error', (err) => failAll(new Error(`engine worker failed: ${err.message}`)));
    w.on('exit', (code) => failAll(new Error(`engine worker stopped (exit ${code})`)));
    if (reload && this.loadRequest) {
      // Queued first: the worker answers in order, so later requests see the tensor. Errors surface there.
      w.postMessage({ ...this.loadRequest, id: this.nextId++ } as WorkerRequest);
    }
    return w;
  }
}
