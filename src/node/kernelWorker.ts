/**
 * A KernelPool thread: instantiates the kernels on the pool's shared memory and runs the jobs it is sent.
 * Messages in: {id, job}; out: {id} or {id, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels, Job, runJob } from '../engine/fast/fastKernels';

const kernels = instantiateKernels(workerData.module, workerData.memory);

parentPort!.on('message', (m: { id: number; job: Job }) => {
  try {
    runJob(kernels, m.job);
    parentPort!.postMessage({ id: m.id });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
