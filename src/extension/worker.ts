/**
 * The engine worker (dist/worker.js): runs EngineSession on a node:worker_threads thread so the extension
 * host's event loop never waits for a normalization. One worker per panel; the host terminates it to cancel.
 * Requests run one at a time, in order; streamed work posts its events (progress, first pictures) before the
 * reply, and stops at its next chunk on an `abort` (which the host sends instead of terminating the thread).
 */
import { parentPort } from 'node:worker_threads';
import { kernelBytes } from '../node/kernelBytes';
import { createParallelKernels, defaultThreads } from '../node/pool';
import { EngineSession } from './engineSession';
import type { WorkerEvent, WorkerReply, WorkerRequest } from './workerMessages';

const port = parentPort;
if (!port) throw new Error('worker.js runs as a worker thread (started by workerClient.ts)');
// the WebAssembly kernels where they load (inlined into dist/worker.js), split across the CPUs (at most 4; the
// kernel threads beside dist/kernelWorker.js), else the TypeScript kernels. Same bits on any thread count.
const bytes = kernelBytes();
const pool = bytes ? createParallelKernels(bytes, { threads: defaultThreads() }) : null;
const session = new EngineSession(pool ?? undefined);
const emit = (e: WorkerEvent) => port.postMessage(e);
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: WorkerRequest) => {
  // an abort acts at once (the streamed work it stops checks between chunks); everything else runs in turn
  if (req.kind === 'abort') {
    session.abort(req.upTo);
    return;
  }
  queue = queue.then(async () => {
    const reply: WorkerReply = await session.handleAsync(req, emit);
    // The normalized .npy bytes move to the host instead of being copied.
    const transfer = reply.ok && reply.kind === 'npy' ? [reply.bytes.buffer as ArrayBuffer] : [];
    port.postMessage(reply, transfer);
  });
});
