// `npm run bench`: times the engine's ops (TypeScript kernels; WebAssembly SIMD kernels on 1 and 2 threads) and,
// where /usr/bin/python3 has torch, torch with 1 and 2 threads on the same cases, in alternation with ours (see
// bench/bench.ts); prints a table with ratios and the fast kernels' error against a float64 reference, and writes
// bench/results.json.
// No speed asserts anywhere.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

mkdirSync('bench/tmp', { recursive: true });
const bundle = (entry, outfile) => esbuild.buildSync({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
bundle('bench/bench.ts', 'bench/tmp/bench.cjs');

function runNode() {
  const r = spawnSync(process.execPath, ['bench/tmp/bench.cjs'], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('engine benchmark failed');
  return JSON.parse(r.stdout);
}

console.log(`NormScope benchmark on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
const rows = runNode();
if (rows.every((r) => r.torch_median_ms === null)) console.log('(torch not found under /usr/bin/python3: torch columns are empty)');
writeFileSync('bench/results.json', JSON.stringify(rows.map(({ label, torch1_median_ms, ...r }) => ({ ...r, case: label })), null, 2) + '\n');

const fmt = (v, d = 2) => (v === null || v === undefined ? '-' : v.toFixed(d));
const ratio = (a, b) => (a && b ? fmt(a / b) + 'x' : '-');
const header = ['shape', 'case', 'impl', 'thr', 'ms', 'GB/s', 'torch ms', 'ours/torch', 'range', 'ours/torch 1t', 'cpu ms', 'torch cpu',
  'cpu ratio', 'vs copy', 'max ulp', 'inexact'];
const lines = rows.map((r) => [r.shape.join('x'), r.label, r.impl, String(r.threads), fmt(r.median_ms), fmt(r.gbps, 1),
  fmt(r.torch_median_ms), r.ratio === null ? '-' : fmt(r.ratio) + 'x',
  r.ratio_range === null || r.impl === 'ts' ? '' : `${fmt(r.ratio_range[0])}-${fmt(r.ratio_range[1])}`, ratio(r.median_ms, r.torch1_median_ms),
  r.cpu_ms === undefined ? '' : fmt(r.cpu_ms), r.cpu_ms === undefined ? '' : fmt(r.torch_cpu_ms),
  r.cpu_ms === undefined ? '' : ratio(r.cpu_ms, r.torch_cpu_ms),
  r.vs_copy === undefined ? '' : `${fmt(r.vs_copy)}x (${fmt(r.vs_copy_range[0])}-${fmt(r.vs_copy_range[1])})`,
  r.max_ulps === undefined ? '' : fmt(r.max_ulps), r.inexact === undefined ? '' : `${r.inexact}/${r.shape.reduce((a, b) => a * b, 1)}`]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const show = (cols) => cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(show(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const l of lines) console.log(show(l));
console.log('\nms: median wall time per call over the rounds; GB/s counts one read and one write of the tensor. ours/torch: in each');
console.log('round torch runs right after ours on the same thread count; the median and range over the rounds of that paired');
console.log('ratio (< 1: faster than torch); "1t": against torch on 1 thread (ratio of medians). cpu: median CPU time of the');
console.log('process per call, 1-thread rows only. vs copy: the op on 1 thread against dst.set of the same bytes between');
console.log('ordinary arrays, paired per round (median and range).');
console.log('max ulp, inexact: the WebAssembly output against the float64');
console.log('result of the TypeScript kernels (inexact: elements not equal to its float32 rounding). wasm inputs live in the');
console.log('kernels\' shared memory (a front end reads files there); TypeScript inputs in an ordinary array.');
console.log('wrote bench/results.json');
if (process.env.NORMSCOPE_BENCH_CASES) {
  console.log(`(only the cases matching NORMSCOPE_BENCH_CASES=${process.env.NORMSCOPE_BENCH_CASES}; hover, streamed files and panel skipped)`);
} else {
  await import('./hover.mjs'); // hover latency for tensor literals (bench/hover.ts)
  await import('./stream.mjs'); // streamed 1 GB / 4 GB files: time and peak RSS (bench/stream.mjs)
  await import('./panel.mjs'); // end to end in the real workbench: 25 MB .npy to painted panel (bench/panel.mjs)
}
