/**
 * Seeded random data for tests: a 32-bit linear congruential generator and Box-Muller normals, so every test
 * that asks for (n, seed) gets the same values on every machine.
 */
import { Tensor, numel, tensor } from '../../src/engine/tensor';

/** Uniform numbers in (0, 1) from `seed`. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
}

/** `n` float32 normals N(mean, std^2) from `seed`. */
export function randn(n: number, seed: number, mean = 0, std = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** A float32 tensor of `shape` holding `randn(numel(shape), seed, mean, std)`. */
export function randnTensor(shape: number[], seed: number, mean = 0, std = 1): Tensor {
  return tensor('float32', shape, randn(numel(shape), seed, mean, std));
}
