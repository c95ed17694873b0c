// Streamed-file rows of `npm run bench` (called from bench/run.mjs; also runs alone after a build:
// `node bench/stream.mjs`). Writes a 1 GB and a 4 GB float32 .npy to the temp dir, runs the built CLI on each as
// a user would (`normscope stats FILE --json`: streamed automatically, default 512 MiB budget; and a streamed
// GroupNorm writing its output .npy), measures wall time and the CLI process's peak RSS, deletes the files, and
// appends rows to bench/results.json. The files are written just before they are read, so they are read from
// the page cache: the figures are the engine's and Node's, not the disk's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTensorFile } from './npyHeader.mjs';

const CLI = 'dist/cli.js';
if (!existsSync(CLI)) throw new Error('bench/stream.mjs: build first (npm run build)');
mkdirSync('bench/tmp', { recursive: true });
const RSS_HOOK = path.resolve('bench/tmp/rss-hook.cjs');
writeFileSync(RSS_HOOK, "process.on('exit', () => { const u = process.resourceUsage(); require('fs').writeFileSync(process.env.NORMSCOPE_RSS_OUT, JSON.stringify({ rss: u.maxRSS * 1024, cpu_ms: (u.userCPUTime + u.systemCPUTime) / 1000 })); });\n");

/** Runs the CLI once; returns wall ms, the process's peak RSS and CPU time, and its JSON output. */
function runCli(args, dir) {
  const rssFile = path.join(dir, 'rss.txt');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--require', RSS_HOOK, CLI, ...args], {
    encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, NORMSCOPE_RSS_OUT: rssFile },
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`normscope ${args.join(' ')} failed: ${r.stderr}`);
  const { rss, cpu_ms } = JSON.parse(readFileSync(rssFile, 'utf8'));
  return { ms, rss, cpu_ms, json: JSON.parse(r.stdout) };
}

const FILES = [
  { label: '1 GB', shape: [80, 64, 224, 224], normalize: true },
  { label: '4 GB', shape: [320, 64, 224, 224], normalize: false },
];

const dir = mkdtempSync(path.join(os.tmpdir(), 'normscope-bench-'));
const cleanup = () => rmSync(dir, { recursive: true, force: true });
process.on('SIGINT', () => { cleanup(); process.exit(130); });
const rows = [];
try {
  for (const f of FILES) {
    const file = path.join(dir, 'x.npy');
    const t0 = performance.now();
    writeTensorFile(file, f.shape);
    const bytes = f.shape.reduce((a, b) => a * b, 1) * 4;
    console.error(`stream bench: wrote the ${f.label} file (${bytes} bytes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const s = runCli(['stats', file, '--json'], dir);
    rows.push({
      op: 'stream-stats', shape: f.shape, impl: 'stream', threads: 1, median_ms: s.ms, gbps: bytes / s.ms / 1e6, torch_median_ms: null,
      case: `stats of a ${f.label} .npy, streamed (${s.json.streamed.passes} passes)`, file_bytes: bytes, peak_rss_mb: s.rss / 2 ** 20,
      budget_mb: s.json.streamed.budget_mb, chunks: s.json.streamed.chunks, cpu_ms: s.cpu_ms, runs: 1,
    });
    if (f.normalize) {
      const out = path.join(dir, 'y.npy');
      const n = runCli(['normalize', file, '--op', 'group', '--groups', '32', '--out', out, '--json'], dir);
      rows.push({
        op: 'stream-group', shape: f.shape, impl: 'stream', threads: 1, median_ms: n.ms, gbps: (2 * bytes) / n.ms / 1e6, torch_median_ms: null,
        case: `GroupNorm(32) of a ${f.label} .npy to .npy, streamed (${n.json.streamed.passes} passes)`, file_bytes: bytes, peak_rss_mb: n.rss / 2 ** 20,
        budget_mb: n.json.streamed.budget_mb, chunks: n.json.streamed.chunks, cpu_ms: n.cpu_ms, runs: 1,
      });
      rmSync(out, { force: true });
    }
    rmSync(file, { force: true });
  }
} finally {
  cleanup();
}

const results = existsSync('bench/results.json') ? JSON.parse(readFileSync('bench/results.json', 'utf8')) : [];
writeFileSync('bench/results.json', JSON.stringify([...results.filter((r) => r.impl !== 'stream'), ...rows], null, 2) + '\n');

const header = ['file', 'case', 'time s', 'CPU s', 'GB/s', 'peak RSS MiB', 'budget MiB', 'chunks'];
const lines = rows.map((r) => [r.shape.join('x'), r.case, (r.median_ms / 1000).toFixed(2), (r.cpu_ms / 1000).toFixed(2), r.gbps.toFixed(2), r.peak_rss_mb.toFixed(0), String(r.budget_mb), String(r.chunks)]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const show = (cols) => cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(`\nStreamed files (one run each, the CLI as a child process, file in the page cache):`);
console.log(show(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const l of lines) console.log(show(l));
console.log(`GB/s: file bytes per second of wall time (GroupNorm: bytes read + written); CPU s: the CLI's user + system time
(wall time well above it means a loaded machine: load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores); peak RSS: the CLI's maxRSS.`);
