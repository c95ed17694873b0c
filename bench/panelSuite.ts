// Runs inside the real VS Code extension host (code-server, workbench in headless Chromium) for bench/panel.mjs,
// loaded as the workbench's extensionTestsPath (bundled to bench/tmp/panel-suite/index.js). For each run it opens
// the 25 MB .npy with "Normalize tensor" (the command with the file's URI, as the explorer's context menu does)
// and times, with performance.now() in this host, when the panel posts its statistics (`result`), when the real
// webview in Chromium reports its charts painted (`rendered`), when the equivalence checks arrive (`checks`),
// then one parameter change (GroupNorm(32), the same `setParams` message the webview's controls send) to its
// statistics and repaint. Also when the webview says `ready` (its page and script loaded). The first run is the cold one. Writes the timings as JSON to the `out` file named in
// panel-bench.json next to this bundle; run() rejects on any failure (the workbench then exits non-zero).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { NormScopeApi } from '../src/extension/api';
import type { PanelProbe } from '../src/extension/panel';
import type { FromWebview, ToWebview } from '../src/protocol/messages';

interface Config {
  file: string;
  /** A 1 GB .npy, streamed by the panel (over the default memory budget): one run timed to its first picture. */
  bigFile?: string;
  runs: number;
  out: string;
  timeoutMs: number;
}

export interface PanelRun {
  /** Command to the webview's `ready` message (its page and scripts loaded in Chromium). */
  open_to_ready_ms: number;
  /** Command to the host posting the statistics of the first run (`result`). */
  open_to_result_ms: number;
  /** Command to the webview's `rendered` message for that run (charts painted in Chromium). */
  open_to_painted_ms: number;
  /** Command to the equivalence checks and health flags (`checks`). */
  open_to_checks_ms: number;
  /** The webview's own drawing time of that run, as it reports it (`rendered.ms`). */
  webview_draw_ms: number;
  /** The engine's time for the statistics, as the worker reports it (`result.view.ms`). */
  engine_ms: number;
  charts: number;
  painted: number;
  /** GroupNorm(32) set to its statistics posted, and to repainted. */
  change_to_result_ms: number;
  change_to_painted_ms: number;
  change_webview_draw_ms: number;
  change_engine_ms: number;
  change_charts: number;
  change_painted: number;
}

/** "Normalize tensor" on a file the panel streams: when its first picture is painted, and when it is complete. */
export interface StreamedRun {
  /** Command to the first partial result (statistics of the first chunk) posted by the host. */
  open_to_first_result_ms: number;
  /** Command to the webview's first `rendered` message (that first picture painted in Chromium). */
  open_to_first_painted_ms: number;
  /** How much of the file the first picture covers, as the panel says it ("First 3.1% of 1.0 GB"). */
  first_text: string;
  /** Partial results posted before the final one (each refines the picture). */
  partials: number;
  /** Command to the final result (input and output statistics of the whole file) posted. */
  open_to_final_result_ms: number;
  charts: number;
  painted: number;
}

const COMMAND = 'normscope.normalizeTensor';

type Msg = ToWebview | FromWebview;

/** The panel's next message of `type` that satisfies `ok`, with the time (performance.now()) it was sent or received. */
async function when<T extends Msg['type']>(panel: PanelProbe, type: T, ok: (m: Extract<Msg, { type: T }>) => boolean, timeoutMs: number): Promise<{ m: Extract<Msg, { type: T }>; t: number }> {
  for (;;) {
    const m = await panel.next(type, { timeoutMs });
    const t = performance.now();
    if (ok(m)) return { m, t };
  }
}

async function oneRun(api: NormScopeApi, uri: vscode.Uri, requestId: number, timeoutMs: number): Promise<PanelRun> {
  const before = new Set(api.panels());
  const t0 = performance.now();
  await vscode.commands.executeCommand(COMMAND, uri);
  const panel = api.panels().find((p) => !before.has(p));
  if (!panel) throw new Error('the command opened no panel');
  // The command resolves once the panel exists; reading 25 MB and the statistics come later. Listen now.
  if (panel.sent.some((m) => m.type === 'result') || panel.received.some((m) => m.type === 'ready')) throw new Error('the panel went on before the bench could listen');
  const ready = when(panel, 'ready', () => true, timeoutMs);
  const result = when(panel, 'result', () => true, timeoutMs);
  const rendered = result.then(({ m }) => when(panel, 'rendered', (d) => d.requestId === m.requestId, timeoutMs));
  const checks = result.then(() => when(panel, 'checks', () => true, timeoutMs));
  const w = await ready;
  const r = await result;
  const d = await rendered;
  const c = await checks; // the worker is idle again: the change below does not cancel anything
  // Not faked: the webview must have painted every chart.
  if (!(d.m.charts > 2 && d.m.painted === d.m.charts)) throw new Error(`blank charts: ${JSON.stringify(d.m)}`);

  const t1 = performance.now();
  const result2 = when(panel, 'result', (m) => m.requestId === requestId, timeoutMs);
  const rendered2 = when(panel, 'rendered', (m) => m.requestId === requestId, timeoutMs);
  await panel.receive({ type: 'setParams', requestId, params: { op: 'group', groups: 32 } });
  const r2 = await result2;
  const d2 = await rendered2;
  if (r2.m.view.op.op !== 'group' || r2.m.view.op.groups !== 32) throw new Error(`not GroupNorm(32): ${JSON.stringify(r2.m.view.op)}`);
  if (!(d2.m.charts > 2 && d2.m.painted === d2.m.charts)) throw new Error(`blank charts after the change: ${JSON.stringify(d2.m)}`);
  panel.dispose(); // also stops the worker (the change's checks are not waited for)
  return {
    open_to_ready_ms: w.t - t0,
    open_to_result_ms: r.t - t0,
    open_to_painted_ms: d.t - t0,
    open_to_checks_ms: c.t - t0,
    webview_draw_ms: d.m.ms,
    engine_ms: r.m.view.ms,
    charts: d.m.charts,
    painted: d.m.painted,
    change_to_result_ms: r2.t - t1,
    change_to_painted_ms: d2.t - t1,
    change_webview_draw_ms: d2.m.ms,
    change_engine_ms: r2.m.view.ms,
    change_charts: d2.m.charts,
    change_painted: d2.m.painted,
  };
}

async function streamedRun(api: NormScopeApi, uri: vscode.Uri, timeoutMs: number): Promise<StreamedRun> {
  const before = new Set(api.panels());
  const t0 = performance.now();
  await vscode.commands.executeCommand(COMMAND, uri);
  const panel = api.panels().find((p) => !before.has(p));
  if (!panel) throw new Error('the command opened no panel');
  if (panel.sent.some((m) => m.type === 'result')) throw new Error('the panel went on before the bench could listen');
  const first = when(panel, 'result', (m) => m.partial !== undefined, timeoutMs);
  const firstPainted = when(panel, 'rendered', () => true, timeoutMs);
  const final = when(panel, 'result', (m) => m.partial === undefined, timeoutMs);
  const f = await first;
  const d = await firstPainted;
  const r = await final;
  // Not faked: the first picture had every chart painted, and the run was streamed.
  if (!(d.m.charts > 2 && d.m.painted === d.m.charts)) throw new Error(`blank first picture: ${JSON.stringify(d.m)}`);
  const partials = panel.sent.filter((m) => m.type === 'result' && m.partial !== undefined).length;
  panel.dispose();
  return {
    open_to_first_result_ms: f.t - t0,
    open_to_first_painted_ms: d.t - t0,
    first_text: f.m.partial!.text,
    partials,
    open_to_final_result_ms: r.t - t0,
    charts: d.m.charts,
    painted: d.m.painted,
  };
}

export async function run(): Promise<void> {
  const config = JSON.parse(fs.readFileSync(path.join(__dirname, 'panel-bench.json'), 'utf8')) as Config;
  const ext = vscode.extensions.getExtension<NormScopeApi>('normscope.normscope');
  if (!ext) throw new Error('the extension normscope.normscope is not loaded');
  const api = await ext.activate();
  const uri = vscode.Uri.file(config.file);
  const runs: PanelRun[] = [];
  let streamed: StreamedRun | undefined;
  try {
    for (let i = 0; i < config.runs; i++) {
      runs.push(await oneRun(api, uri, 100 + i, config.timeoutMs));
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      console.log(`panel bench: run ${i + 1}/${config.runs} done`);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // let the workbench settle, as between two opens by hand
    }
    if (config.bigFile) {
      streamed = await streamedRun(api, vscode.Uri.file(config.bigFile), config.timeoutMs);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      console.log('panel bench: streamed run done');
    }
    fs.writeFileSync(config.out, JSON.stringify({ ok: true, runs, streamed }));
  } catch (e) {
    fs.writeFileSync(config.out, JSON.stringify({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e), runs }));
    throw e;
  }
}
