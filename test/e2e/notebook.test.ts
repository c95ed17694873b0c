// Notebooks in the real workbench: a committed .ipynb whose stored outputs have our MIME type renders through
// the extension's notebook renderer with no kernel - charts painted in the renderer's frame, a bad payload as
// one line - "Open in panel" reaches the host, and the README screenshot media/screenshots/notebook.png.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { notebookOutputFrame, paintedPixels, runCommand, screenshot, setTheme, webviewFrame, workbench } from './workbench';

const repoRoot = path.resolve(__dirname, '../../..');
const notebook = path.join(repoRoot, 'test/fixtures/notebooks/render.ipynb');
const readmeShot = path.join(repoRoot, 'media/screenshots/notebook.png');

/** Opens a notebook outside the workspace folder through Quick Open and waits for the notebook editor. */
export async function openNotebook(page: Page, file: string): Promise<void> {
  // A notebook opened before the extension host is up shows as JSON text: make sure it is.
  await runCommand(page, 'Developer: Show Running Extensions');
  await page.locator('.runtime-extensions-editor').getByText('normscope.normscope', { exact: true }).waitFor();
  await runCommand(page, 'View: Close All Editors');
  const widget = page.locator('.quick-input-widget');
  const name = path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const tab = page.locator('.tabs-container .tab.active', { hasText: path.basename(file) });
  // Quick Open, again if the notebook's tab does not come (once in a full run the clicked row opened nothing,
  // as a list still filling may move its rows under the pointer)
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+P');
    await widget.locator('.quick-input-box input').fill(file);
    // Click the row of exactly this file: Enter would take the top row, which may be a recently opened notebook.
    await widget.locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${name}$`) }) })
      .filter({ hasText: path.basename(path.dirname(file)) })
      .first().click();
    try {
      await tab.waitFor({ timeout: 10_000 });
      break;
    } catch (e) {
      if (attempt === 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
  await page.locator('.notebookOverlay').first().waitFor();
}

/** A NormScope output whose charts are painted, by its title. */
function paintedOutput(frame: FrameLocator, title: string): Locator {
  return frame.locator('.normscope-output[data-state="painted"]', { has: frame.locator('.ns-title', { hasText: title }) });
}


describe('notebook renderer (real workbench)', () => {
  it('renders stored NormScope outputs with painted charts, checks, and a bad payload as one line', async () => {
    const { page } = workbench();
    await openNotebook(page, notebook);
    const frame = notebookOutputFrame(page);

    // GroupNorm output: before/after, per-channel profile, per-group and per-channel histograms, shape report, checks.
    const norm = paintedOutput(frame, 'conv2 activations');
    await norm.waitFor({ timeout: 60_000 });
    const text = (await norm.textContent()) ?? '';
    assert.match(text, /shape \[8, 6, 5, 5\] · float32 · 1,200 elements/);
    assert.match(text, /GroupNorm \(3 groups\)/);
    assert.match(text, /Per group \(3\)/);
    assert.match(text, /Per channel \(6\)/);
    assert.match(text, /Shape report/);
    const pixels = await paintedPixels(norm, 'canvas');
    assert.ok(pixels.length >= 2 + 1 + 2 * 3 + 2 * 6, `charts drawn: ${pixels.length}`);
    assert.ok(pixels.every((n) => n > 0), `every chart painted: ${pixels.join(', ')}`);
    assert.equal(await norm.getAttribute('data-painted'), await norm.getAttribute('data-charts'));
    // Phase 2: the equivalence checks arrive and pass.
    await norm.locator('.card.check').first().waitFor();
    assert.equal(await norm.locator('.card.check.fail').count(), 0);
    assert.ok(await norm.locator('.card.check.pass').count() >= 1);

    // Statistics-only output: one histogram.
    const stats = paintedOutput(frame, 'logits');
    await stats.waitFor();
    assert.match((await stats.textContent()) ?? '', /shape \[1000\] · float32 · 1,000 elements/);
    const one = await paintedPixels(stats, 'canvas');
    assert.equal(one.length, 1);
    assert.ok(one[0] > 0);

    // A payload whose bytes do not fit its shape: one line, not a blank output.
    const bad = frame.locator('.normscope-output.ns-error');
    await bad.waitFor();
    assert.equal(await bad.textContent(),
      'NormScope: payload.data: 8 bytes of base64 data, but shape [2, 3] of float32 needs 24 (6 elements x 4 bytes)');

    // The README screenshot: a taller window, the notebook scrolled to the cell with the GroupNorm output.
    const size = page.viewportSize();
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.waitForTimeout(1000);
    const overlay = page.locator('.notebookOverlay').first();
    const cell = await page.locator('.notebookOverlay .cell-editor-container .view-line', { hasText: 'conv2 activations' }).first().boundingBox();
    let box = await overlay.boundingBox();
    if (box && cell) {
      await page.mouse.move(box.x + 12, cell.y); // the gutter: wheel events over an output go to its frame
      await page.mouse.wheel(0, cell.y - box.y - 24);
      await page.waitForTimeout(1000); // the output webview follows the scroll
      box = await overlay.boundingBox();
    }
    const shot = path.join(path.dirname(await screenshot(page, 'notebook-render')), 'notebook.png');
    await page.screenshot({ path: shot, clip: box ?? undefined });
    // the README's copy only on request (scripts/panel-screenshots.mjs): a test run leaves the repository as it was
    if (process.env.NORMSCOPE_UPDATE_SCREENSHOTS) fs.copyFileSync(shot, readmeShot);
    if (size) await page.setViewportSize(size);
  });

  it('"Open in panel" on an output opens the panel on that tensor with the payload\'s op', async () => {
    const { page } = workbench();
    await openNotebook(page, notebook);
    const norm = paintedOutput(notebookOutputFrame(page), 'conv2 activations');
    await norm.waitFor({ timeout: 60_000 });
    await norm.getByRole('button', { name: 'Open in panel' }).click();
    const panel = webviewFrame(page);
    await panel.locator('.meta', { hasText: 'shape [8, 6, 5, 5]' }).waitFor({ timeout: 30_000 });
    assert.match((await panel.locator('h1').textContent()) ?? '', /render\.ipynb#cell=2&output=0/);
    await panel.locator('.overall', { hasText: 'GroupNorm (3 groups)' }).waitFor({ timeout: 30_000 });
  });

  it('"Normalize tensor" on a cell whose output is a numpy repr opens the panel on that array', async () => {
    const { page } = workbench();
    await openNotebook(page, notebook);
    // Focus the cell from the keyboard, as a person would: into any cell on screen, out of its editor, the last
    // cell (Ctrl+End), the one above it, edit it. (The notebook reopens where it was scrolled to.)
    await page.locator('.notebookOverlay .cell-editor-container .view-line:visible').first().click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await page.locator('.statusbar', { hasText: 'Cell 5 of 6' }).waitFor(); // cell 4 (0-based): x = np.arange(24, ...)
    await runCommand(page, 'NormScope: Normalize tensor');
    const panel = webviewFrame(page);
    await panel.locator('.meta', { hasText: 'shape [2, 3, 4] · float32 · 24 elements' }).waitFor({ timeout: 30_000 });
    assert.match((await panel.locator('h1').textContent()) ?? '', /render\.ipynb#cell=4&output=0/);
  });

  it('renders thirty outputs of one notebook, each in a turn of its own, checks after all charts', async () => {
    const { page } = workbench();
    await openNotebook(page, path.join(repoRoot, 'test/fixtures/notebooks/many.ipynb'));
    const frame = notebookOutputFrame(page);
    const painted = frame.locator('.normscope-output[data-state="painted"]');
    const deadline = Date.now() + 90_000;
    while (await painted.count() < 30) {
      assert.ok(Date.now() < deadline, `only ${await painted.count()} of 30 outputs painted within 90 s`);
      await page.waitForTimeout(500);
    }
    // Each output is computed and drawn in a turn of its own on the shared thread (never all in one long task),
    // and the equivalence checks come after every output has its charts.
    await frame.locator('.normscope-output[data-checks-turn]').nth(29).waitFor({ timeout: 90_000 });
    const turns = await painted.evaluateAll((els) => els.map((e) => ({
      turn: Number((e as HTMLElement).dataset.turn), checks: Number((e as HTMLElement).dataset.checksTurn), ms: Number((e as HTMLElement).dataset.ms),
    })));
    assert.equal(new Set(turns.map((t) => t.turn)).size, 30, `30 separate turns: ${JSON.stringify(turns)}`);
    assert.ok(Math.max(...turns.map((t) => t.turn)) < Math.min(...turns.map((t) => t.checks)), `charts first, checks later: ${JSON.stringify(turns)}`);
    assert.equal(await frame.locator('.normscope-output.ns-error').count(), 0);
    assert.deepEqual(await frame.locator('.normscope-output .ns-title').evaluateAll((els) => els.slice(0, 3).map((e) => e.textContent)), ['layer0', 'layer1', 'layer2']);
  });

  it('redraws its charts in the colours of a new theme', async () => {
    const { page } = workbench();
    await openNotebook(page, notebook);
    const frame = notebookOutputFrame(page);
    const stats = paintedOutput(frame, 'logits');
    await stats.waitFor({ timeout: 60_000 });
    const first = (await stats.getAttribute('data-colors'))!.split(' ')[0];
    assert.ok(await pixelsOf(stats, first) > 0, `bars drawn in ${first}`);
    const wasDark = await page.locator('.monaco-workbench.vs-dark').count() > 0;
    await (wasDark ? setTheme(page, 'Light+', 'vs') : setTheme(page, 'Dark Modern', 'vs-dark'));
    try {
      const redrawn = frame.locator(`.normscope-output[data-state="painted"]:not([data-colors^="${first}"])`, { has: frame.locator('.ns-title', { hasText: 'logits' }) });
      await redrawn.waitFor({ state: 'attached', timeout: 30_000 });
      const next = (await redrawn.getAttribute('data-colors'))!.split(' ')[0];
      assert.ok(await pixelsOf(redrawn, next) > 0, `bars redrawn in ${next}`);
      assert.equal(await pixelsOf(redrawn, first), 0, `no bar left in ${first}`);
    } finally {
      await (wasDark ? setTheme(page, 'Dark Modern', 'vs-dark') : setTheme(page, 'Light+', 'vs'));
    }
  });
  it('runs the checks of a tensor over a million elements on demand', async () => {
    const { page } = workbench();
    // Written here, not committed: 4 MiB of float32 as base64 in a stored output.
    const values = Float32Array.from({ length: 4 * 512 * 512 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 4)) + (i >> 18));
    const payload = { shape: [1, 4, 512, 512], dtype: 'float32', data: Buffer.from(values.buffer).toString('base64'), name: 'big', norm: { op: 'group', groups: 2 } };
    const file = path.join(repoRoot, 'test-results', 'e2e', 'big.ipynb');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({
      cells: [{ cell_type: 'code', execution_count: 1, id: 'big0', metadata: {}, source: ['normscope.show(big)'],
        outputs: [{ output_type: 'display_data', metadata: {}, data: { 'application/vnd.normscope.tensor+json': payload, 'text/plain': ['big'] } }] }],
      // As nbformat writes it (cell ids, language_info): anything less and VS Code fills it in, making the file dirty.
      metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' }, language_info: { name: 'python' } },
      nbformat: 4, nbformat_minor: 5,
    }));
    await openNotebook(page, file);
    const big = paintedOutput(notebookOutputFrame(page), 'big');
    await big.waitFor({ timeout: 60_000 });
    assert.match((await big.textContent()) ?? '', /1,048,576 elements/);
    const run = big.getByRole('button', { name: 'Run equivalence checks' });
    await run.waitFor();
    assert.equal(await big.locator('.card.check').count(), 0, 'no checks before the click');
    await run.evaluate((b) => (b as HTMLButtonElement).click()); // below the notebook's fold: no pointer scrolling into a frame
    await big.locator('.card.check').first().waitFor({ timeout: 60_000 });
    assert.equal(await big.locator('.card.check.fail').count(), 0);
    // A 5 MB notebook outside any folder: close it for sure (revert, should VS Code have touched it).
    await runCommand(page, 'View: Revert and Close Editor');
    await page.locator('.tabs-container .tab', { hasText: 'big.ipynb' }).waitFor({ state: 'detached' });
  });
});

/** Opaque pixels of exactly the colour `hex` (#rrggbb) in an output's first canvas. */
async function pixelsOf(output: Locator, hex: string): Promise<number> {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return output.locator('canvas').first().evaluate((c, rgb) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] === rgb[0] && d[i + 1] === rgb[1] && d[i + 2] === rgb[2] && d[i + 3] === 255) n++;
    return n;
  }, [r, g, b]);
}

