/** Float32 accuracy against a float64 reference, shared by the fast-kernel tests and the benchmark. */

const u32 = new Uint32Array(1);
const f32 = new Float32Array(u32.buffer);

/** The float32 ulp at |v| (the gap to the next float32 away from zero). */
export function ulp32(v: number): number {
  f32[0] = Math.abs(v);
  const a = f32[0];
  u32[0] += 1;
  return f32[0] - a;
}

/**
 * `ours` (float32 values) against a float64 reference: the largest distance in float32 ulps, and how many
 * elements are not the reference's float32 rounding (`inexact`).
 */
export function vsReference(ours: ArrayLike<number>, ref: ArrayLike<number>): { maxUlps: number; inexact: number } {
  let maxUlps = 0;
  let inexact = 0;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] === Math.fround(ref[i])) continue;
    inexact++;
    maxUlps = Math.max(maxUlps, Math.abs(ours[i] - ref[i]) / ulp32(ref[i]));
  }
  return { maxUlps, inexact };
}
