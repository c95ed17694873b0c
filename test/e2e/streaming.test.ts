// A streamed file in the panel as a person sees it. With normscope.memoryBudgetMB at 0.25 MiB in the test
// workspace's settings, a generated 8.4 MB .npy (in a temp folder, deleted after) opens in the NormScope editor
// and the engine worker reads it in chunks. Asserted: the final statistics equal the engine's for that file,
// the progress bar, Cancel and notification are gone at the end, the checks area says they were skipped; a
// parameter change, every message of which the panel records as it lands (so no stage is missed however fast
// the stream runs), shows the "partial" note and the progress bar before its final statistics, and moves
// nothing; the "partial" marking that stays when the op cannot stream; Cancel, in the panel and in the
// notification, on a 2 GiB file. With NORMSCOPE_UPDATE_SCREENSHOTS=1 (scripts/panel-screenshots.mjs) a 565 MB
// file streamed within the default budget is screenshot at a partial stage and at the end, dark and light; the
// dark partial one goes to media/screenshots/panel-streaming.png.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { npyHeader, writeNpy } from '../../src/engine/formats/npy';
import type { Summary } from '../../src/engine/stats';
import { tensor } from '../../src/engine/tensor';
import { EngineSession } from '../../src/extension/engineSession';
import { bytesText } from '../../src/extension/panelModel';
import { kernelBytes } from '../../src/node/kernelBytes';
import { createFastKernels } from '../../src/node/pool';
import type { AnalysisView, PanelParams } from '../../src/protocol/messages';
import { num } from '../../src/webview/dom';
import { rng } from '../support/random';
import {
  drawn, openPath, paintedPixels, runCommand, screenshot, setTheme, setWorkspaceSettings, webviewFrame, workbench,
} from './workbench';

const BUDGET_KEY = 'normscope.memoryBudgetMB';
const repoRoot = path.resolve(__dirname, '../../..');

/** A float32 .npy of `shape` written plane by plane (never whole in memory): channel c ~ N(mean_c, std_c²), every 5th through a ReLU. */
function writeActivations(file: string, shape: readonly number[], seed: number): void {
  const [n, c] = shape;
  const plane = shape.slice(2).reduce((a, b) => a * b, 1);
  const next = rng(seed);
  const buf = new Float32Array(plane);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, npyHeader('float32', shape));
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        const mean = 0.8 * Math.sin(0.7 * ch);
        const std = 0.4 + 0.6 * ((5 * ch) % 8) / 8;
        for (let k = 0; k < plane; k++) {
          const x = mean + std * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
          buf[k] = ch % 5 === 0 ? Math.max(0, x) : x;
        }
        fs.writeSync(fd, new Uint8Array(buf.buffer));
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** What the engine computes for a file streamed within `budgetMB` (the worker's code, on the same WebAssembly kernels). */
async function engineViews(file: string, budgetMB: number, runs: readonly PanelParams[]): Promise<AnalysisView[]> {
  const bytes = kernelBytes();
  const fast = bytes && createFastKernels(bytes);
  assert.ok(fast, 'the WebAssembly kernels (dist/kernels.wasm) load');
  const session = new EngineSession(fast);
  try {
    const loaded = await session.handleAsync({ kind: 'load', id: 1, label: 'x', name: path.basename(file), path: file, budgetMB });
    assert.ok(loaded.ok && loaded.kind === 'loaded' && loaded.info.streamed, JSON.stringify(loaded));
    const views: AnalysisView[] = [];
    for (const [i, params] of runs.entries()) {
      const r = await session.handleAsync({ kind: 'analyze', id: 2 + i, params, bins: 50 });
      if (!r.ok || r.kind !== 'analyzed') throw new Error(`the engine refused ${JSON.stringify(params)}: ${JSON.stringify(r)}`);
      views.push(r.view);
    }
    return views;
  } finally {
    await session.closeStream();
  }
}

/** The panel's line of overall statistics for one side. */
function statsLine(side: 'before' | 'after', s: Summary): string {
  return `${side} mean ${num(s.mean)} · std ${num(s.std)} · min ${num(s.min)} · max ${num(s.max)}`;
}

/** The overall statistics lines the panel shows ("before ...", "after ..."). */
async function shownLines(frame: FrameLocator): Promise<string[]> {
  return frame.locator('.overall > div').allTextContents();
}

/** Waits until the panel shows run `requestId`'s final (not partial) result. */
async function final(frame: FrameLocator, requestId: number): Promise<void> {
  await frame.locator(`body[data-rendered-request="${requestId}"][data-partial=""]`).waitFor({ timeout: 120_000 });
}

/** The busy parts of the panel and the workbench: Cancel, the progress bar, the status, the notification. */
async function assertIdle(page: Page, frame: FrameLocator): Promise<void> {
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'NormScope:' }).first().waitFor({ state: 'detached', timeout: 10_000 });
  assert.equal(await frame.locator('#app').getAttribute('aria-busy'), 'false');
  assert.equal(await frame.locator('.busy-box button', { hasText: 'Cancel' }).isVisible(), false, 'Cancel still shows');
  assert.equal(await frame.locator('progress.progress').isVisible(), false, 'the progress bar still shows');
  assert.equal(await frame.locator('.status').textContent(), '');
}

/** What the panel showed after one message, as recorded in the page by `record`. */
interface Shown {
  readonly partial: string;
  readonly note: string;
  readonly bar: number | null;
  readonly busy: boolean;
  /** Where the charts start (px from the top of the panel). */
  readonly chartsTop: number | undefined;
}

/**
 * Records, in the panel, what each message left on screen: the panel sets body[data-partial] on every result,
 * busy and progress message, and a MutationObserver's callback runs after each message's handler, before the
 * next message.
 */
async function record(frame: FrameLocator): Promise<void> {
  await frame.locator('body').evaluate((body) => {
    const w = window as unknown as { shown: Shown[] };
    w.shown = [];
    new MutationObserver(() => {
      const bar = document.querySelector<HTMLProgressElement>('progress.progress')!;
      const note = document.querySelector<HTMLElement>('.partial-note')!;
      w.shown.push({
        partial: body.dataset.partial ?? '',
        note: note.hidden ? '' : note.textContent ?? '',
        bar: bar.hidden ? null : bar.value,
        busy: document.getElementById('app')!.getAttribute('aria-busy') === 'true',
        chartsTop: document.querySelector('.charts')?.getBoundingClientRect().top,
      });
    }).observe(body, { attributes: true, attributeFilter: ['data-partial'] });
  });
}

async function recorded(frame: FrameLocator): Promise<Shown[]> {
  return frame.locator('body').evaluate(() => (window as unknown as { shown: Shown[] }).shown);
}

describe('A streamed file in the panel (real workbench)', function () {
  this.timeout(180_000);
  const budgetMB = 0.25; // streams files over 128 KiB; a chunk holds 3 samples of 1,024 elements
  let tmp: string;
  let file: string;
  let size: string; // as the panel writes it
  let batch: AnalysisView;
  let instance: AnalysisView;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normscope-e2e-streamed-'));
    file = path.join(tmp, 'streamed.npy');
    const shape = [2048, 4, 16, 16];
    const next = rng(11);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (1 + (i >> 8) % 4) * (next() + next() + next() - 1.5) + ((i >> 8) % 4) * 0.5;
    fs.writeFileSync(file, writeNpy(tensor('float32', shape, data)));
    size = bytesText(fs.statSync(file).size);
    [batch, instance] = await engineViews(file, budgetMB, [{ op: 'batch' }, { op: 'instance' }]);
    await setWorkspaceSettings(workbench().page, { [BUDGET_KEY]: budgetMB });
  });
  after(async () => {
    await setWorkspaceSettings(workbench().page, { [BUDGET_KEY]: undefined });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens the file (the NormScope editor) and waits for its final BatchNorm picture. */
  async function open(page: Page): Promise<FrameLocator> {
    await openPath(page, file);
    const frame = webviewFrame(page);
    await final(frame, 0);
    return frame;
  }

  it('shows the final statistics the engine computes, no busy parts left, and the checks skipped', async () => {
    const { page } = workbench();
    const frame = await open(page);
    assert.equal(await frame.locator('.meta').textContent(), `shape [2048, 4, 16, 16] · float32 · 2,097,152 elements · streamed from disk within ${budgetMB} MiB`);
    await frame.locator('.checks .pending').waitFor();
    assert.equal(await frame.locator('.checks .pending').textContent(),
      `Equivalence checks and health flags need the whole tensor in memory: this ${size} file is streamed in chunks within the ${budgetMB} MiB budget (normscope.memoryBudgetMB), so they are skipped.`);
    assert.deepEqual(await shownLines(frame), [
      statsLine('before', batch.stats.before.overall),
      statsLine('after', batch.stats.after.overall),
      `BatchNorm (train) · ${batch.shape_report.description}`,
    ]);
    assert.equal(await frame.locator('.partial-note').isVisible(), false);
    assert.equal(await frame.locator('.flags-card').count(), 0, 'no health flags card');
    assert.equal(await frame.locator('.flag-badges').textContent(), '');
    await assertIdle(page, frame);
    // overall pair, the profile and the 4 channels' pairs, all painted
    const painted = await paintedPixels(frame);
    assert.equal(painted.length, 2 + 1 + 2 * 4);
    assert.ok(painted.every((n) => n > 50), `blank charts: ${painted}`);
  });

  it('shows a parameter change refining a "partial" picture with a progress bar, then the final statistics', async () => {
    const { page } = workbench();
    const frame = await open(page);
    await record(frame);
    await frame.locator('#control-op').selectOption('instance');
    await final(frame, 1);
    await assertIdle(page, frame);
    assert.deepEqual(await shownLines(frame), [
      statsLine('before', instance.stats.before.overall),
      statsLine('after', instance.stats.after.overall),
      `InstanceNorm · ${instance.shape_report.description}`,
    ]);
    const shown = await recorded(frame);
    const stages = shown.map((s) => s.partial).filter((p, i, all) => p !== '' && p !== all[i - 1]);
    // "before" is kept (same layout): only "after" streams, its first chunk's picture first
    assert.equal(stages[0], 'after-preview', JSON.stringify(shown));
    assert.ok(stages.includes('after-moments') && stages.every((s) => s === 'after-preview' || s === 'after-moments'), JSON.stringify(stages));
    const first = shown.find((s) => s.partial === 'after-preview')!;
    assert.match(first.note, new RegExp(`^partial Input complete; output of the first [\\d.]+% of ${size.replace('.', '\\.')} - refining\\.\\.\\.$`));
    assert.ok(shown.some((s) => s.busy && s.bar !== null && s.bar > 0 && s.bar <= 1), `no progress bar showed: ${JSON.stringify(shown)}`);
    const last = shown[shown.length - 1];
    assert.deepEqual({ ...last, chartsTop: undefined }, { partial: '', note: '', bar: null, busy: false, chartsTop: undefined });
    // nothing moved the charts as the run started, refined and ended
    assert.deepEqual([...new Set(shown.map((s) => s.chartsTop))], [last.chartsTop], JSON.stringify(shown));
  });

  it('keeps the "partial" marking, with the input\'s statistics, where the op cannot stream (LayerNorm over every dim)', async () => {
    const { page } = workbench();
    const frame = await open(page);
    await frame.locator('#control-op').selectOption('layer');
    await frame.locator('#control-normalized_shape').selectOption({ label: '[2048, 4, 16, 16]' });
    await frame.locator('.field-error', { hasText: 'LayerNorm over every dim needs statistics of the whole tensor at once' }).waitFor({ timeout: 60_000 });
    await frame.locator('body[data-partial="input-only"]').waitFor();
    assert.equal(await frame.locator('.partial-note').textContent(), `partial Input statistics of all ${size}; the op did not run on the streamed file`);
    await assertIdle(page, frame);
    const lines = await shownLines(frame);
    assert.equal(lines[0], statsLine('before', batch.stats.before.overall), 'the input\'s statistics are complete');
    // "after" says it was never computed (not "pending"), in the header and in place of its chart
    assert.equal(lines[1], 'after not computed: the op did not run on the streamed file');
    assert.equal(await frame.locator('.pair .pending-chart').textContent(), 'not computed: the op did not run on the streamed file');
    assert.equal(await frame.locator('.pair canvas').count(), 1, 'only "before" is drawn');
    // the picture is this run's own (its note says so), not an older "last valid run"
    assert.equal(await frame.locator('.stale-note').isVisible(), false);
  });

  it('stops the reading of a 2 GiB file with Cancel in the panel, and with Cancel in the notification, and says so', async () => {
    const { page } = workbench();
    // A sparse file of zeros (no disk space, written at once): a run reads it 4 times in 0.25 MiB chunks, ~30 s
    // on 2 cores, against ~0.3 s for a click to reach the host, so each click lands mid-run, and the
    // notification (shown once a run takes 300 ms) is there to be clicked.
    const big = path.join(tmp, 'zeros.npy');
    const header = npyHeader('float32', [524288, 4, 16, 16]);
    fs.writeFileSync(big, header);
    fs.truncateSync(big, header.length + 2 ** 31);
    await openPath(page, big);
    const frame = webviewFrame(page);
    const cancelled = frame.locator('.field-error', { hasText: 'Cancelled. Change a parameter to run again.' });
    /** What shows is the picture the first pass had reached (its first chunk, or the moments of the part read so far: they refine every 250 ms), said to be partial and stopped. */
    const assertStopped = async () => {
      await cancelled.waitFor();
      await assertIdle(page, frame);
      assert.match(await frame.locator('body').getAttribute('data-partial') ?? '', /^(preview|moments)$/);
      assert.match(await frame.locator('.partial-note').textContent() ?? '',
        /^partial (First [\d.]+% of 2\.15 GB|Statistics of the first [\d.]+% of 2\.15 GB; histograms of the first [\d.]+%) - stopped before the end$/);
      // the header marks "before" partial and says "after" was not computed; no "last valid run" note over it
      const [beforeLine, afterLine] = await shownLines(frame);
      assert.match(beforeLine, /^before mean .* partial$/);
      assert.equal(afterLine, 'after not computed: stopped before the output pass');
      assert.equal(await frame.locator('.stale-note').isVisible(), false);
    };
    await drawn(frame, 0);
    await frame.locator('.busy-box button', { hasText: 'Cancel' }).click();
    await assertStopped();

    // A parameter change runs again (the input's statistics were not complete: it is read from the start).
    await frame.locator('#control-op').selectOption('instance');
    await drawn(frame, 1);
    assert.equal(await cancelled.count(), 0, 'the new run cleared the message');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'NormScope: normalizing zeros.npy' });
    await toast.getByRole('button', { name: 'Cancel' }).click();
    await assertStopped();
  });
});

if (process.env.NORMSCOPE_UPDATE_SCREENSHOTS) {
  describe('A streamed file in the panel: screenshots', function () {
    this.timeout(600_000);
    const readmeShots = path.join(repoRoot, 'media/screenshots');

    /**
     * Screenshots the panel while a run refines its "after" side: each attempt starts a run that streams "after"
     * again (switching between BatchNorm and InstanceNorm) and keeps the shot only if the run was busy on a
     * partial "after" picture (first chunk, or moments so far) both before and after it.
     */
    async function partialShot(page: Page, frame: FrameLocator, name: string): Promise<string> {
      const refining = () => frame.locator('body').evaluate((b) =>
        /^after-/.test(b.dataset.partial ?? '') && document.getElementById('app')!.getAttribute('aria-busy') === 'true');
      for (let attempt = 1; attempt <= 8; attempt++) {
        const op = await frame.locator('#control-op').inputValue();
        await frame.locator('#control-op').selectOption(op === 'batch' ? 'instance' : 'batch');
        try {
          await frame.locator('body[data-partial^="after-"]').waitFor({ timeout: 30_000 });
        } catch {
          continue;
        }
        if (!await refining()) continue;
        const shot = await screenshot(page, name);
        if (await refining()) return shot;
      }
      throw new Error('no screenshot caught a run refining its "after" side in 8 runs');
    }

    it('shows a 565 MB file streamed within the default budget, refining and at the end, dark and light', async () => {
      const { page } = workbench();
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normscope-e2e-shot-'));
      const file = path.join(tmp, 'conv_activations.npy');
      try {
        writeActivations(file, [44, 64, 224, 224], 5);
        await runCommand(page, 'View: Close Primary Side Bar');
        await setTheme(page, 'Dark Modern', 'vs-dark');
        await openPath(page, file);
        const frame = webviewFrame(page);
        await drawn(frame, 0, 60_000);
        assert.match(await frame.locator('.meta').textContent() ?? '', /streamed from disk within 512 MiB$/);
        for (const [theme, kind, label] of [['dark', 'vs-dark', 'Dark Modern'], ['light', 'vs', 'Light Modern']] as const) {
          await setTheme(page, label, kind);
          const shot = await partialShot(page, frame, `panel-streaming-${theme}-partial`);
          if (theme === 'dark') fs.copyFileSync(shot, path.join(readmeShots, 'panel-streaming.png'));
          await frame.locator('body[data-partial=""]').waitFor({ timeout: 120_000 });
          await frame.locator('.checks .pending').waitFor();
          await assertIdle(page, frame);
          await screenshot(page, `panel-streaming-${theme}-final`);
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
        await setTheme(page, 'Dark Modern', 'vs-dark');
        await runCommand(page, 'View: Toggle Primary Side Bar Visibility');
      }
    });
  });
}
