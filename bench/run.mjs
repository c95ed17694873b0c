// `npm run bench`: times the engine's ops and, where /usr/bin/python3 has torch, torch with 1 thread on the same
// cases in the same run; prints a table with ratios and writes bench/results.json. No speed asserts anywhere.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

mkdirSync('bench/tmp', { recursive: true });
const bundle = (entry, outfile) => esbuild.buildSync({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
bundle('bench/bench.ts', 'bench/tmp/bench.cjs');
bundle('bench/cases.ts', 'bench/tmp/cases.cjs');
const { CASES } = await import('./tmp/cases.cjs').then((m) => m.default ?? m);

function runNode() {
  const r = spawnSync(process.execPath, ['bench/tmp/bench.cjs'], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('engine benchmark failed');
  return JSON.parse(r.stdout);
}

function runTorch(threads) {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) return null;
  const r = spawnSync(python, ['bench/torch_bench.py', String(threads)], { input: JSON.stringify(CASES), encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['pipe', 'pipe', 'inherit'] });
  if (r.status !== 0) { console.error('torch benchmark failed; continuing without it'); return null; }
  return JSON.parse(r.stdout);
}

console.log(`NormScope benchmark on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
const engine = runNode();
const torch1 = runTorch(1);
if (!torch1) console.log('(torch not found under /usr/bin/python3: torch columns are empty)');

const rows = engine.map((r) => {
  const key = `${r.label}|${r.shape.join('x')}`;
  const t = torch1 ? torch1[key] ?? null : null;
  return { op: r.op, label: r.label, shape: r.shape, impl: r.impl, threads: r.threads, median_ms: r.median_ms, gbps: r.gbps, torch_median_ms: t };
});
writeFileSync('bench/results.json', JSON.stringify(rows.map(({ label, ...r }) => ({ ...r, case: label })), null, 2) + '\n');

const fmt = (v, d = 2) => (v === null || v === undefined ? '-' : v.toFixed(d));
const header = ['shape', 'case', 'impl', 'thr', 'ms', 'GB/s', 'torch ms', 'ours/torch'];
const lines = rows.map((r) => [r.shape.join('x'), r.label, r.impl, String(r.threads), fmt(r.median_ms), fmt(r.gbps, 1), fmt(r.torch_median_ms), r.torch_median_ms ? fmt(r.median_ms / r.torch_median_ms) + 'x' : '-']);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const show = (cols) => cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(show(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const l of lines) console.log(show(l));
console.log('\nms: median wall time per call; GB/s counts one read and one write of the tensor; ratio < 1 means faster than torch.');
console.log('wrote bench/results.json');
