/**
 * The kernels the CLI runs on: the WebAssembly kernels on `threads` threads where they load (same results as
 * the TypeScript kernels, faster; float32 input), else the TypeScript kernels. One pool for the process (a new
 * thread count replaces it), shared by the in-memory and the streamed paths.
 */
import type { AnalyzeOptions } from '../engine/analyze';
import { normalize } from '../engine/ops';
import { sideStats } from '../engine/stats';
import { ChunkKernels, chunkKernels } from '../engine/streamKernels';
import { kernelBytes } from '../node/kernelBytes';
import { ParallelKernels, createParallelKernels } from '../node/pool';

let cached: { kernels: ParallelKernels | null; threads: number } | undefined;

/** The WebAssembly kernels on `threads` threads, or null where they do not load. */
export function cliKernels(threads: number): ParallelKernels | null {
  if (cached === undefined || cached.threads !== threads) {
    cached?.kernels?.close();
    const bytes = kernelBytes();
    cached = { kernels: bytes ? createParallelKernels(bytes, { threads }) : null, threads };
  }
  return cached.kernels;
}

/** What the CLI runs the ops and statistics on (analyze()'s options). */
export type Engine = Required<Pick<AnalyzeOptions, 'normalize' | 'sideStats'>> & Pick<AnalyzeOptions, 'normalizeWithStats'>;

/** The ops and statistics on `cliKernels(threads)`, or on the TypeScript kernels. */
export function cliEngine(threads: number): Engine {
  const k = cliKernels(threads);
  if (!k) return { normalize, sideStats };
  return {
    normalize: (x, p) => k.normalize(x, p),
    normalizeWithStats: (x, p, spec) => k.normalizeWithStats(x, p, spec),
    sideStats: (v, l, b, g) => k.sideStats(v, l, b, g),
  };
}

/** The streamed passes' per-chunk statistics on the same kernels (this thread), or undefined (TypeScript). */
export function cliChunkKernels(threads: number): ChunkKernels | undefined {
  const k = cliKernels(threads);
  return k ? chunkKernels(k.fast) : undefined;
}
