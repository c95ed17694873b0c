// Hover latency for tensor literals of 10, 1,000 and 100,000 elements (bench/hover.ts): the pure path from the
// document text and offset to the hover's Markdown. Run alone (`node bench/hover.mjs`) or from bench/run.mjs.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

mkdirSync('bench/tmp', { recursive: true });
esbuild.buildSync({ entryPoints: ['bench/hover.ts'], outfile: 'bench/tmp/hover.cjs', bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
const r = spawnSync(process.execPath, ['bench/tmp/hover.cjs'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (r.status !== 0) throw new Error('hover benchmark failed');
const rows = JSON.parse(r.stdout);

console.log('\nHover latency (text + offset -> Markdown: find, parse, statistics, render; median of repeated runs)');
const header = ['elements', 'chars', 'setting', 'hover', 'ms', 'cpu ms'];
const lines = rows.map((x) => [x.elements.toLocaleString('en-US'), x.chars.toLocaleString('en-US'), x.setting, x.kind, x.median_ms.toFixed(3), x.cpu_ms.toFixed(3)]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const show = (cols) => cols.map((c, i) => (i === 2 || i === 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(show(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const l of lines) console.log(show(l));
console.log('ms: median wall time per hover; cpu ms: CPU time per hover (steadier when the machine is busy).');
console.log('setting: normscope.hover.maxChars (default 200000); beyond it the hover says "too large" without parsing.');
