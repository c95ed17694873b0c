/**
 * The kernels the CLI runs on: the WebAssembly kernels on `threads` threads where they load (same results as
 * the TypeScript kernels, faster; float32 input), else the TypeScript kernels. One pool for the process (a new
 * thread count replaces it), shared by the in-memory and the streamed paths.
 */
import { Kernels, tsKernels } from '../engine/kernels';
import { kernelBytes } from '../node/kernelBytes';
import { createParallelKernels } from '../node/pool';

let cached: { kernels: Kernels; threads: number; close?: () => void } | undefined;

/** A ParallelKernels on `threads` threads, or `tsKernels` where WebAssembly does not load. */
export function cliKernels(threads: number): Kernels {
  if (cached === undefined || cached.threads !== threads) {
    cached?.close?.();
    const bytes = kernelBytes();
    const pool = bytes ? createParallelKernels(bytes, { threads }) : null;
    cached = pool ? { kernels: pool, threads, close: () => pool.close() } : { kernels: tsKernels, threads };
  }
  return cached.kernels;
}
