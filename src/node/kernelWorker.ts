/**
 * A ParallelKernels worker thread (src/node/pool.ts): instantiates the kernels on the pool's shared memory and
 * runs the jobs published in its shared control block until the pool closes. No messages: see `workerLoop`.
 */
import { workerData } from 'node:worker_threads';
import { WorkerInit, workerLoop } from './pool';

workerLoop(workerData as WorkerInit);
