/**
 * Times the engine's ops (plain TypeScript kernels, 1 thread) on the benchmark shapes. Invoked by bench/run.mjs,
 * which bundles this file, runs it, times torch on the same cases and prints the table.
 * Prints one JSON array of {op, shape, impl, threads, median_ms, gbps} to stdout.
 */
import { normalize } from '../src/engine/ops';
import { NormParams } from '../src/engine/params';
import { tensor } from '../src/engine/tensor';
import { CASES } from './cases';

function randn(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand())), t = 2 * Math.PI * rand();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, minRuns = 7, minMs = 600): number {
  fn(); fn(); // warm up (JIT)
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    if (times.length >= 200) break;
  }
  return median(times);
}

const rows = [];
const inputs = new Map<string, Float32Array>();
for (const c of CASES) {
  const key = c.shape.join('x');
  if (!inputs.has(key)) inputs.set(key, randn(c.shape.reduce((a, b) => a * b, 1), 42));
  const data = inputs.get(key)!;
  const bytes = data.byteLength * 2; // one read, one write
  if (c.op === 'copy') {
    const dst = new Float32Array(data.length);
    const ms = time(() => dst.set(data));
    rows.push({ op: c.op, label: c.label, shape: c.shape, impl: 'ts', threads: 1, median_ms: ms, gbps: bytes / ms / 1e6 });
    continue;
  }
  const x = tensor('float32', c.shape, data);
  const C = c.shape[1];
  const p: NormParams = {
    op: c.op,
    groups: c.groups,
    normalized_shape: c.normalized_shape,
    mode: c.mode,
    running_mean: c.mode === 'eval' ? tensor('float32', [C], new Float32Array(C).fill(0.1)) : undefined,
    running_var: c.mode === 'eval' ? tensor('float32', [C], new Float32Array(C).fill(1.5)) : undefined,
  };
  const ms = time(() => normalize(x, p));
  rows.push({ op: c.op, label: c.label, shape: c.shape, impl: 'ts', threads: 1, median_ms: ms, gbps: bytes / ms / 1e6 });
}
process.stdout.write(JSON.stringify(rows));
