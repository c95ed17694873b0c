// Streamed files in the real extension host: with a tiny normscope.memoryBudgetMB, "Normalize tensor" on a
// local .npy leaves the reading to the engine worker (chunks within the budget); the panel receives partial
// results (first chunk, moments, then the output's), progress, and a final result equal to the in-memory one;
// checks are skipped with a note; parameter changes reuse "before"; the .npy export is written in chunks.
// With NORMSCOPE_MEASURE_GB=1 (run alone) it also times a generated 1 GB file: see the last test.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { npyHeader, writeNpy } from '../../src/engine/formats/npy';
import type { SideStats, Summary } from '../../src/engine/stats';
import { tensor } from '../../src/engine/tensor';
import type { NormScopeApi } from '../../src/extension/api';
import { EngineSession } from '../../src/extension/engineSession';
import type { PanelProbe } from '../../src/extension/panel';
import type { AnalysisView, ErrorMessage, PanelParams, ResultMessage, ToWebview } from '../../src/protocol/messages';
import { activateNormScope, openPanel } from './panels';

let api: NormScopeApi;

const open = (arg: unknown): Promise<PanelProbe> => openPanel(api, arg);

/** Waits (polling the panel's log) until `pick` finds a message among those sent from index `from` on. */
async function sentUntil<T>(panel: PanelProbe, from: number, pick: (msgs: readonly ToWebview[]) => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = pick(panel.sent.slice(from));
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; sent: ${panel.sent.slice(from).map((m) => m.type).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const results = (msgs: readonly ToWebview[]) => msgs.filter((m): m is ResultMessage => m.type === 'result');
const finalOf = (requestId: number) => (msgs: readonly ToWebview[]) => results(msgs).find((m) => !m.partial && m.requestId === requestId);

/** The in-memory session's view of the same bytes (what the panel shows for a small file). */
function inMemory(bytes: Uint8Array, params: PanelParams, bins: number): AnalysisView {
  const s = new EngineSession();
  const r = s.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes });
  assert.ok(r.ok);
  const a = s.handle({ kind: 'analyze', id: 2, params, bins });
  if (!a.ok || a.kind !== 'analyzed') throw new Error(`in-memory analyze failed: ${JSON.stringify(a)}`);
  return a.view;
}

/** Exact counts, histograms, edges and extremes; moments to 1e-12 (chunks merge them in another order). */
function sameStats(a: SideStats, b: SideStats, what: string): void {
  const summary = (x: Summary, y: Summary, w: string) => {
    assert.deepEqual([x.count, x.nan, x.inf, x.min, x.max], [y.count, y.nan, y.inf, y.min, y.max], `${what} ${w}`);
    assert.ok(Math.abs(x.mean! - y.mean!) <= 1e-12 * Math.max(Math.abs(y.mean!), y.std!), `${what} ${w} mean ${x.mean} vs ${y.mean}`);
    assert.ok(Math.abs(x.std! - y.std!) <= 1e-12 * y.std!, `${what} ${w} std ${x.std} vs ${y.std}`);
  };
  summary(a.overall, b.overall, 'overall');
  assert.deepEqual(a.edges, b.edges, `${what} edges`);
  assert.deepEqual(a.overall.histogram, b.overall.histogram, `${what} histogram`);
  a.channels.forEach((c, i) => { summary(c, b.channels[i], `channel ${i}`); assert.deepEqual(c.histogram, b.channels[i].histogram); });
  assert.equal(a.groups.length, b.groups.length);
  a.groups.forEach((g, i) => { summary(g, b.groups[i], `group ${i}`); assert.deepEqual(g.histogram, b.groups[i].histogram); });
}

describe('Normalize tensor on a streamed file (tiny memory budget)', function () {
  this.timeout(180_000);
  const config = () => vscode.workspace.getConfiguration('normscope');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normscope-streamed-'));
  // 256 x 4 x 16 x 16 float32: 1 MiB; a 0.1 MiB budget streams it (over half the budget) in ~1,300-element chunks
  const shape = [256, 4, 16, 16];
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.013) * (1 + (i >> 10) % 4) + ((i >> 8) % 4) * 0.5;
  const bytes = writeNpy(tensor('float32', shape, data));
  const file = path.join(tmp, 'streamed.npy');
  fs.writeFileSync(file, bytes);

  before(async () => {
    api = await activateNormScope();
    await config().update('memoryBudgetMB', 0.1, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await config().update('memoryBudgetMB', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(async () => {
    api.setSaveDialog(undefined);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('shows partial results, then the final statistics equal to the in-memory ones; checks say why they are skipped', async () => {
    const panel = await open({ uri: vscode.Uri.file(file).toString(), op: 'group', params: { groups: 2 } });
    const tensorMsg = await panel.next('tensor', { past: true });
    assert.deepEqual(tensorMsg.info.streamed, { fileBytes: bytes.length, budgetMB: 0.1 });
    const final = await sentUntil(panel, 0, finalOf(0), 'final result');
    const all = results(panel.sent);
    // each stage in order; 'moments' and 'after-moments' repeat when a pass outlasts the 250 ms between running updates
    const stages = all.filter((m) => m.partial).map((m) => m.partial!.stage);
    assert.deepEqual(stages.filter((s, i) => s !== stages[i - 1]), ['preview', 'moments', 'after-preview', 'after-moments'], stages.join(', '));
    assert.ok(all[all.length - 1] === final, 'the final result comes after every partial one');
    const preview = all[0];
    assert.ok(preview.view.stats.before.overall.count < data.length && preview.partial!.afterPending, 'the first picture is of the first chunk');
    assert.match(preview.partial!.text, /^First \d+(\.\d+)?% of 1\.0 MB$/);
    assert.ok(panel.sent.some((m) => m.type === 'progress'), 'progress was sent');
    const want = inMemory(bytes, { op: 'group', groups: 2 }, 50);
    sameStats(final.view.stats.before, want.stats.before, 'before');
    sameStats(final.view.stats.after, want.stats.after, 'after');
    const note = await sentUntil(panel, 0, (msgs) => msgs.find((m) => m.type === 'error' && m.scope === 'checks'), 'checks note');
    assert.match((note as { message: string }).message, /need the whole tensor in memory: this 1\.0 MB file is streamed in chunks within the 0\.1 MiB budget/);
    assert.ok(!panel.sent.some((m) => m.type === 'checks'), 'no checks were run');
    // The real webview drew the final result (and its first pictures before it).
    const rendered = await panel.next('rendered', { past: true });
    assert.ok(rendered.painted > 0 && rendered.painted === rendered.charts, JSON.stringify(rendered));
  });

  it('re-streams only "after" on a parameter change that keeps the layout and groups, and refuses LayerNorm over everything in place', async () => {
    const panel = await open({ uri: vscode.Uri.file(file).toString(), op: 'batch' });
    await sentUntil(panel, 0, finalOf(0), 'first result');
    const from = panel.sent.length;
    await panel.receive({ type: 'setParams', requestId: 7, params: { op: 'instance' } });
    const final = await sentUntil(panel, from, finalOf(7), 'result 7');
    const stages = results(panel.sent.slice(from)).filter((m) => m.partial).map((m) => m.partial!.stage);
    assert.deepEqual(stages.filter((s, i) => s !== stages[i - 1]), ['after-preview', 'after-moments'], stages.join(', '));
    sameStats(final.view.stats.after, inMemory(bytes, { op: 'instance' }, 50).stats.after, 'after');
    const from2 = panel.sent.length;
    await panel.receive({ type: 'setParams', requestId: 8, params: { op: 'layer', normalized_shape: shape } });
    const e = await sentUntil(panel, from2, (msgs) => msgs.find((m) => m.type === 'error'), 'error');
    assert.ok(e.type === 'error' && e.scope === 'params' && /LayerNorm over every dim needs statistics of the whole tensor at once/.test(e.message), JSON.stringify(e));
  });

  it('names the budget setting when one sample does not fit in a chunk', async () => {
    // 4 x 4 x 64 x 64 float32 (256 KiB): one sample is 16,384 elements, more than a 0.1 MiB budget's chunk
    const wide = path.join(tmp, 'wide.npy');
    fs.writeFileSync(wide, writeNpy(tensor('float32', [4, 4, 64, 64], Float32Array.from({ length: 65536 }, (_, i) => i % 17))));
    const panel = await open({ uri: vscode.Uri.file(wide).toString(), op: 'instance' });
    const e = await sentUntil(panel, 0, (msgs) => msgs.find((m) => m.type === 'error'), 'error');
    assert.ok(e.type === 'error' && e.scope === 'params', JSON.stringify(e));
    assert.match(e.message, /^one sample holds 16384 elements, more than the \d+ a chunk may hold within the memory budget: raise the budget \(normscope\.memoryBudgetMB, now 0\.1 MiB\)$/);
    // the input's statistics are complete all the same
    const last = results(panel.sent).pop()!;
    assert.ok(last.partial?.stage === 'input-only' && last.view.stats.before.overall.count === 65536, JSON.stringify(last.partial));
  });

  it('writes the .npy export chunk by chunk, equal to the in-memory output', async () => {
    const target = vscode.Uri.file(path.join(tmp, 'out.npy'));
    api.setSaveDialog(async () => target);
    const panel = await open({ uri: vscode.Uri.file(file).toString(), op: 'instance' });
    await sentUntil(panel, 0, finalOf(0), 'result');
    const saved = panel.next('notice');
    await panel.receive({ type: 'export', format: 'npy' });
    assert.match((await saved).message, /^Saved out\.npy \([\d,]+ bytes, written in chunks\)$/);
    const s = new EngineSession();
    s.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes });
    s.handle({ kind: 'analyze', id: 2, params: { op: 'instance' }, bins: 50 });
    const want = s.handle({ kind: 'npy', id: 3 });
    assert.ok(want.ok && want.kind === 'npy');
    assert.ok(Buffer.compare(new Uint8Array(fs.readFileSync(target.fsPath)), want.bytes) === 0, 'the written file equals the in-memory .npy');
    await panel.receive({ type: 'export', format: 'stats-json' });
    assert.equal(JSON.parse(panel.exports[panel.exports.length - 1].text!).op.op, 'instance');
  });

  it('cancel stops a streamed run (the panel says so, no final result), and the next change streams again', async () => {
    // 2048 x 4 x 16 x 16 float32 (8 MiB): hundreds of chunks at 0.1 MiB, so the cancel lands mid-stream
    const bigShape = [2048, 4, 16, 16];
    const n = bigShape.reduce((a, b) => a * b, 1);
    const big = path.join(tmp, 'cancel.npy');
    fs.writeFileSync(big, writeNpy(tensor('float32', bigShape, Float32Array.from({ length: n }, (_, i) => Math.sin(i)))));
    const panel = await open(vscode.Uri.file(big));
    await sentUntil(panel, 0, (msgs) => results(msgs).find((m) => m.partial), 'first picture');
    await panel.receive({ type: 'cancel' });
    const e = await sentUntil(panel, 0, (msgs) => msgs.find((m) => m.type === 'error'), 'cancel message');
    assert.ok(e.type === 'error' && /^Cancelled\./.test(e.message), JSON.stringify(e));
    assert.ok(!results(panel.sent).some((m) => !m.partial), 'no final result after the cancel');
    const from = panel.sent.length;
    await panel.receive({ type: 'setParams', requestId: 3, params: { op: 'instance' } });
    const final = await sentUntil(panel, from, finalOf(3), 'result 3', 120_000);
    assert.equal(final.view.stats.after.overall.count, n);
    // A run cancelled after its first picture: the screen shows that partial picture, the last complete result
    // has other parameters, so an export says so instead of writing the older run's statistics.
    const from4 = panel.sent.length;
    await panel.receive({ type: 'setParams', requestId: 4, params: { op: 'group', groups: 2 } });
    await sentUntil(panel, from4, (msgs) => results(msgs).find((m) => m.partial && m.requestId === 4), 'first picture of 4');
    await panel.receive({ type: 'cancel' });
    const exported = panel.exports.length;
    const refusal = panel.next('error');
    await panel.receive({ type: 'export', format: 'stats-json' });
    const r = await refusal;
    assert.ok(r.type === 'error' && r.scope === 'export' && /partial/.test(r.message), JSON.stringify(r));
    assert.equal(panel.exports.length, exported, 'nothing exported');
  });

  it('lists the members of a streamed .npz from its headers (the QuickPick), then streams the one picked', async () => {
    const npz = path.resolve(__dirname, '../../../test/fixtures/containers/savez.npz');
    await config().update('memoryBudgetMB', 0.006, vscode.ConfigurationTarget.Global); // streams files over 3 KiB
    try {
      let offered: readonly { selector: string; shape: readonly number[] }[] = [];
      api.setTensorPick(async (_label, tensors) => { offered = tensors; return tensors[0].selector; });
      const panel = await open(vscode.Uri.file(npz));
      const t = await panel.next('tensor', { past: true });
      const mem = new EngineSession().handle({ kind: 'load', id: 1, label: 'n', name: 'savez.npz', bytes: new Uint8Array(fs.readFileSync(npz)), listIfSeveral: true });
      assert.ok(mem.ok && mem.kind === 'several');
      assert.deepEqual(offered, mem.tensors, 'the pick lists what the in-memory reader lists');
      assert.ok(t.info.streamed, 'the member is streamed');
      assert.equal(t.info.label, `savez.npz#${offered[0].selector}`);
      assert.deepEqual(t.info.shape, offered[0].shape);
    } finally {
      api.setTensorPick(undefined);
      await config().update('memoryBudgetMB', 0.1, vscode.ConfigurationTarget.Global);
    }
  });

  it('reads files of other schemes whole (no ranged reads) up to the cap, and names the cap and the scheme above it', async () => {
    // a file system of two files: the 1 MiB tensor, and one whose stat claims 3 GB (never read)
    const files = new Map<string, { size: number; data?: Uint8Array }>([
      ['/whole.npy', { size: bytes.length, data: bytes }],
      ['/huge.npy', { size: 3e9 }],
    ]);
    const entry = (uri: vscode.Uri) => {
      const f = files.get(uri.path);
      if (!f) throw vscode.FileSystemError.FileNotFound(uri);
      return f;
    };
    const reads: string[] = [];
    const provider: vscode.FileSystemProvider = {
      onDidChangeFile: new vscode.EventEmitter<vscode.FileChangeEvent[]>().event,
      watch: () => new vscode.Disposable(() => undefined),
      stat: (uri) => ({ type: vscode.FileType.File, ctime: 0, mtime: 0, size: entry(uri).size }),
      readDirectory: () => [],
      createDirectory: () => undefined,
      readFile: (uri) => { reads.push(uri.path); const f = entry(uri); if (!f.data) throw new Error('read the huge file'); return f.data; },
      writeFile: () => undefined,
      delete: () => undefined,
      rename: () => undefined,
    };
    const registration = vscode.workspace.registerFileSystemProvider('normscope-test', provider, { isReadonly: true });
    try {
      const whole = await open(vscode.Uri.from({ scheme: 'normscope-test', path: '/whole.npy' }));
      const t = await whole.next('tensor', { past: true });
      assert.equal(t.info.streamed, undefined, 'over the streaming threshold, but not a file: URI: read whole');
      const final = await sentUntil(whole, 0, finalOf(0), 'result');
      assert.ok(!final.partial && final.view.stats.before.overall.count === data.length);
      const huge = await open(vscode.Uri.from({ scheme: 'normscope-test', path: '/huge.npy' }));
      const e = await huge.next('error', { past: true });
      assert.equal(e.scope, 'load');
      assert.match(e.message, /^huge\.npy: the file is 3,000,000,000 bytes, over the 2,147,483,647-byte cap for files read whole: "normscope-test:" files are read whole/);
      assert.deepEqual(reads, ['/whole.npy'], 'the huge file was never read');
    } finally {
      registration.dispose();
    }
  });

  // Measurement (not a test of speed: nothing is asserted about time): NORMSCOPE_MEASURE_GB=1 generates a
  // float32 file of that many GB under the OS temp dir, opens it with the default budget, logs the time to the
  // first picture and to the final statistics and the extension host's peak RSS, and deletes the file.
  // Registered only when asked for, so a normal run has no pending test.
  const gb = Number(process.env.NORMSCOPE_MEASURE_GB ?? 0);
  if (gb > 0) it(`measures a ${gb} GB .npy (NORMSCOPE_MEASURE_GB)`, async function () {
    this.timeout(1_800_000);
    const budget = Number(process.env.NORMSCOPE_MEASURE_BUDGET_MB ?? 0);
    await config().update('memoryBudgetMB', budget > 0 ? budget : undefined, vscode.ConfigurationTarget.Global);
    const readBudget = () => config().get<number>('memoryBudgetMB');
    const big = path.join(os.tmpdir(), `normscope-measure-${process.pid}.npy`);
    try {
      const bigShape = [Math.max(1, Math.round(gb * 64)), 64, 256, 256]; // 1 GB: 64x64x256x256 float32
      const count = bigShape.reduce((a, b) => a * b, 1);
      const header = npyHeader('float32', bigShape);
      // written asynchronously, a block at a time, so the extension host stays responsive while it is made
      const fh = await fs.promises.open(big, 'w');
      await fh.write(header);
      const block = new Float32Array(1 << 22);
      for (let off = 0; off < count; off += block.length) {
        const n = Math.min(block.length, count - off);
        for (let i = 0; i < n; i++) block[i] = Math.sin((off + i) * 1e-3) + ((off + i) % 97) / 97;
        await fh.write(new Uint8Array(block.buffer, 0, n * 4));
      }
      await fh.close();
      const rss0 = process.resourceUsage().maxRSS * 1024;
      // the longest stall of the extension host's event loop while the panel streams
      let lag = 0;
      let tick = performance.now();
      const ticker = setInterval(() => { const now = performance.now(); lag = Math.max(lag, now - tick - 10); tick = now; }, 10);
      const t0 = Date.now();
      const stageTimes: string[] = [];
      try {
        const panel = await open(vscode.Uri.file(big));
        const first = await sentUntil(panel, 0, (msgs) => results(msgs).find((m) => m.partial), 'first picture', 600_000);
        const tFirst = Date.now() - t0;
        const seen = new Set<string>();
        const final = await sentUntil<ResultMessage | ErrorMessage>(panel, 0, (msgs) => {
          for (const m of results(msgs)) {
            const stage = m.partial?.stage ?? 'final';
            if (!seen.has(stage)) { seen.add(stage); stageTimes.push(`${stage} ${Date.now() - t0} ms`); }
          }
          return finalOf(0)(msgs) ?? msgs.find((m): m is ErrorMessage => m.type === 'error' && m.scope === 'params');
        }, 'final result', 1_700_000);
        if (final.type === 'error') throw new Error(`the op did not run: ${final.message} [${stageTimes.join(', ')}]`);
        const tFinal = Date.now() - t0;
        // a parameter change that keeps the layout: only "after" is streamed again
        const from = panel.sent.length;
        const t1 = Date.now();
        await panel.receive({ type: 'setParams', requestId: 1, params: { op: 'instance' } });
        const change = await sentUntil<ResultMessage | ErrorMessage>(panel, from, (msgs) => finalOf(1)(msgs) ?? msgs.find((m): m is ErrorMessage => m.type === 'error' && m.scope === 'params'), 'result 1', 1_700_000);
        const tChange = Date.now() - t1;
        const line = `MEASURE ${bigShape.join('x')} float32, ${(fs.statSync(big).size / 1e9).toFixed(2)} GB, budget ${readBudget()} MiB: first picture (${first.partial!.text}) ${tFirst} ms, final (${final.view.op.op}, engine ${final.view.ms} ms) ${tFinal} ms [${stageTimes.join(', ')}]; change to ${change.type === 'result' ? change.view.op.op : change.message} ${tChange} ms; extension host peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (before opening ${(rss0 / 2 ** 20).toFixed(0)} MiB); longest event-loop stall ${lag.toFixed(0)} ms`;
        console.log(line);
        if (process.env.NORMSCOPE_MEASURE_OUT) fs.writeFileSync(process.env.NORMSCOPE_MEASURE_OUT, line);
      } finally {
        clearInterval(ticker);
      }
    } finally {
      fs.rmSync(big, { force: true });
    }
  });
});
