// End to end in the real VS Code workbench (code-server 4.100.3 in headless Debian Chromium, scripts/vscode/):
// "open a 25 MB tensor to painted panel". Writes a 32x64x56x56 float32 .npy into a temp workspace, opens that
// folder with this repository as the extension under development and bench/panelSuite.ts as the workbench's
// extensionTestsPath; the suite, in the extension host, runs "Normalize tensor" on the file RUNS times and times
// command -> statistics posted by the host -> charts painted (the webview's `rendered` message) -> checks, then
// GroupNorm(32) -> statistics -> repainted. Run 1 is reported on its own as "cold" (first panel after the
// workbench started), the rest as medians ("warm"). Prints a table and appends rows (impl "panel") to
// bench/results.json. Called from bench/run.mjs after it wrote results.json; runs alone after a build:
// `node bench/panel.mjs`. Never fails the bench: when the workbench cannot start it prints why and returns.
// Installs code-server on demand (about 1-2 minutes, said when it happens); NORMSCOPE_BENCH_PANEL=0 skips.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import { npyHeader, writeTensorFile } from './npyHeader.mjs';

const SHAPE = [32, 64, 56, 56];
/** A 1 GB file, over the default 512 MiB budget: the panel streams it and refines its picture as chunks arrive. */
const BIG_SHAPE = [80, 64, 224, 224];
const RUNS = Number(process.env.NORMSCOPE_BENCH_PANEL_RUNS || 6); // 1 cold + 5 warm
const BUDGET_MS = 180_000; // the whole workbench session, start included; beyond it the rows are skipped
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Roughly normal values per channel with a channel-dependent mean and scale (deterministic). */
function tensorBytes(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const plane = shape.slice(2).reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const c = Math.floor(i / plane) % shape[1];
    data[i] = ((s / 2 ** 32) * 3.4641 - 1.732) * (1 + c / 8) + c * 0.1;
  }
  return Buffer.concat([npyHeader(shape), Buffer.from(data.buffer)]);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Starts the workbench on `folder` with the suite, waits for it to exit; returns the suite's JSON. */
async function runSuite(folder, file, bigFile) {
  const { codeServerInstalled, ensureInstalled } = await import('../scripts/vscode/install.mjs');
  if (!codeServerInstalled()) {
    console.log('panel bench: code-server is not installed; installing it now (about 1-2 minutes, once) ...');
  }
  ensureInstalled(); // Chromium too; throws with the reason (e.g. not root and packages missing)
  const { launchChromium, startCodeServer, testSettings } = await import('../scripts/vscode/server.mjs');

  const suiteDir = path.join(repoRoot, 'bench/tmp/panel-suite');
  mkdirSync(suiteDir, { recursive: true });
  esbuild.buildSync({
    entryPoints: [path.join(repoRoot, 'bench/panelSuite.ts')], outfile: path.join(suiteDir, 'index.js'),
    bundle: true, platform: 'node', format: 'cjs', external: ['vscode'], logLevel: 'warning',
  });
  const out = path.join(folder, '..', 'panel-bench-out.json');
  writeFileSync(path.join(suiteDir, 'panel-bench.json'), JSON.stringify({ file, bigFile, runs: RUNS, out, timeoutMs: 60_000 }));

  let server;
  let browser;
  let timer;
  const t0 = performance.now();
  try {
    server = await startCodeServer({
      folder, extensionDevelopmentPath: repoRoot, extensionTestsPath: path.join(suiteDir, 'index.js'), settings: testSettings,
    });
    browser = await launchChromium();
    const errors = [];
    let finish;
    const exited = new Promise((resolve, reject) => {
      finish = resolve;
      timer = setTimeout(() => reject(new Error(`the workbench session took over ${BUDGET_MS / 1000} s`)), BUDGET_MS);
    });
    exited.catch(() => {});
    // In test mode the workbench reports through these two; they must exist before it loads.
    await browser.page.exposeFunction('codeAutomationExit', (code) => finish(Number(code)));
    await browser.page.exposeFunction('codeAutomationLog', (level, message) => {
      const text = Array.isArray(message) ? format(...message) : String(message);
      if (text.startsWith('panel bench:')) console.error(text);
      else if (level === 'error') errors.push(text);
    });
    const code = await Promise.race([exited, browser.page.goto(server.url).then(() => exited)]);
    const started = performance.now() - t0;
    const suite = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : undefined;
    if (process.env.NORMSCOPE_BENCH_PANEL_RAW) console.error(JSON.stringify(suite?.runs, null, 1));
    if (code !== 0 || !suite?.ok) {
      throw new Error(`the suite failed (exit ${code}): ${suite?.error ?? 'no result'}` +
        (errors.length ? `\n--- last errors in the workbench ---\n${errors.slice(-10).join('\n')}` : ''));
    }
    return { ...suite, session_ms: started };
  } catch (err) {
    if (server) err.message += `\n--- last code-server output ---\n${server.logTail().split('\n').slice(-10).join('\n')}`;
    throw err;
  } finally {
    clearTimeout(timer);
    await browser?.close();
    await server?.stop();
  }
}

function rowsOf(runs, bytes) {
  const cold = runs[0];
  const warm = runs.slice(1);
  const measures = [
    ['panel-open-ready', 'open_to_ready_ms', 'command to the webview page loaded (its ready message)'],
    ['panel-open-stats', 'open_to_result_ms', 'command to statistics posted by the host'],
    ['panel-open-painted', 'open_to_painted_ms', 'command to charts painted in the webview'],
    ['panel-open-checks', 'open_to_checks_ms', 'command to equivalence checks and flags posted'],
    ['panel-group-stats', 'change_to_result_ms', 'switch to GroupNorm(32) to statistics posted'],
    ['panel-group-painted', 'change_to_painted_ms', 'switch to GroupNorm(32) to charts repainted'],
  ];
  const rows = [];
  for (const [op, key, what] of measures) {
    const perByte = op !== 'panel-open-ready'; // GB/s: tensor bytes per second of wall time; not for the page load
    for (const [run, sample] of [['cold', [cold]], ['warm', warm]]) {
      if (sample.length === 0) continue;
      const ms = median(sample.map((r) => r[key]));
      rows.push({
        op, shape: SHAPE, impl: 'panel', threads: 1, median_ms: ms, gbps: perByte ? bytes / ms / 1e6 : null, torch_median_ms: null,
        case: `25 MB .npy, ${what}; real workbench, headless Chromium, ${run === 'cold' ? 'first panel after start' : `median of ${sample.length}`}`,
        run, runs: sample.length, min_ms: Math.min(...sample.map((r) => r[key])), max_ms: Math.max(...sample.map((r) => r[key])),
      });
    }
  }
  return rows;
}

function streamedRows(s) {
  if (!s) return [];
  const what = [
    ['panel-stream-first-painted', s.open_to_first_painted_ms, `command to the first picture painted (${s.first_text})`],
    ['panel-stream-final-stats', s.open_to_final_result_ms, `command to the statistics of the whole file posted (after ${s.partials} partial pictures)`],
  ];
  return what.map(([op, ms, text]) => ({
    op, shape: BIG_SHAPE, impl: 'panel', threads: 1, median_ms: ms, gbps: null, torch_median_ms: null,
    case: `1 GB .npy streamed within the default 512 MiB budget, ${text}; real workbench, headless Chromium, one run`, run: 'streamed', runs: 1,
  }));
}

function printStreamed(s) {
  if (!s) return;
  console.log(`\nStreamed in the panel: 1 GB .npy (${BIG_SHAPE.join('x')} float32, over the default 512 MiB budget), one run
first picture posted ${s.open_to_first_result_ms.toFixed(0)} ms and painted ${s.open_to_first_painted_ms.toFixed(0)} ms after the command (${s.first_text});
${s.partials} partial pictures, then the statistics of the whole file (input and BatchNorm output) posted at ${s.open_to_final_result_ms.toFixed(0)} ms.`);
}

function printTable(runs, rows, sessionMs, loadBefore) {
  const fmt = (v) => (v === undefined ? '-' : v.toFixed(0));
  const cold = runs[0];
  const warm = runs.slice(1);
  const med = (key) => (warm.length ? median(warm.map((r) => r[key])) : undefined);
  const header = ['', 'webview ready ms', 'stats ms', 'painted ms', 'checks ms', 'engine ms', 'draw ms'];
  const lines = [
    ['open, cold', fmt(cold.open_to_ready_ms), fmt(cold.open_to_result_ms), fmt(cold.open_to_painted_ms), fmt(cold.open_to_checks_ms), fmt(cold.engine_ms), fmt(cold.webview_draw_ms)],
    [`open, warm (median of ${warm.length})`, fmt(med('open_to_ready_ms')), fmt(med('open_to_result_ms')), fmt(med('open_to_painted_ms')), fmt(med('open_to_checks_ms')), fmt(med('engine_ms')), fmt(med('webview_draw_ms'))],
    ['GroupNorm(32), cold', '', fmt(cold.change_to_result_ms), fmt(cold.change_to_painted_ms), '', fmt(cold.change_engine_ms), fmt(cold.change_webview_draw_ms)],
    [`GroupNorm(32), warm (median of ${warm.length})`, '', fmt(med('change_to_result_ms')), fmt(med('change_to_painted_ms')), '', fmt(med('change_engine_ms')), fmt(med('change_webview_draw_ms'))],
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const show = (cols) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\nPanel end to end: 25 MB .npy (${SHAPE.join('x')} float32) -> "Normalize tensor" -> painted, in the real workbench`);
  console.log(show(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(show(l));
  console.log(`Times from the command (or the parameter change) to the webview saying it loaded, to the host posting the
statistics, to the webview reporting its ${cold.charts} charts painted (GroupNorm: ${cold.change_charts}), and to the checks; the charts
are drawn once both the webview and the statistics are there. engine: the worker's own time for the statistics;
draw: the webview's own drawing time. Measured in the extension host (performance.now() around the panel's messages)
with code-server ${'4.100.3'} in headless Chromium; the whole session took ${(sessionMs / 1000).toFixed(0)} s. Load average (1 min)
${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after, on ${os.cpus().length} cores (the machine may be shared).`);
}

async function main() {
  if (process.env.NORMSCOPE_BENCH_PANEL === '0') {
    console.log('\nPanel end to end: skipped (NORMSCOPE_BENCH_PANEL=0)');
    return;
  }
  if (!existsSync(path.join(repoRoot, 'dist/extension.js'))) {
    console.log('\nPanel end to end: skipped (dist/extension.js is missing: npm run build)');
    return;
  }
  const loadBefore = os.loadavg()[0];
  const root = mkdtempSync(path.join(os.tmpdir(), 'normscope-bench-panel-'));
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => { cleanup(); process.exit(130); });
  try {
    const folder = path.join(root, 'workspace');
    mkdirSync(folder);
    const file = path.join(folder, `activations_${SHAPE.join('x')}.npy`);
    const bytes = tensorBytes(SHAPE);
    writeFileSync(file, bytes);
    const bigFile = path.join(folder, `big_${BIG_SHAPE.join('x')}.npy`);
    writeTensorFile(bigFile, BIG_SHAPE);
    const suite = await runSuite(folder, file, bigFile);
    const rows = [...rowsOf(suite.runs, bytes.length), ...streamedRows(suite.streamed)];
    const resultsFile = path.join(repoRoot, 'bench/results.json');
    const results = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
    writeFileSync(resultsFile, JSON.stringify([...results.filter((r) => r.impl !== 'panel'), ...rows], null, 2) + '\n');
    printTable(suite.runs, rows, suite.session_ms, loadBefore);
    printStreamed(suite.streamed);
    console.log('appended the panel rows to bench/results.json');
  } catch (err) {
    console.log(`\nPanel end to end: skipped, the real workbench did not complete (${err.message.split('\n')[0]})`);
    console.error(err.message);
  } finally {
    cleanup();
  }
}

await main();
