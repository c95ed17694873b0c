import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { activeEditor, hoverWord, openPath, screenshotDir, workbench } from './workbench';

// The screenshot goes to test-results/e2e/hover.png; NORMSCOPE_UPDATE_SCREENSHOTS=1 also writes
// media/screenshots/hover.png, which the README shows (commit it after a change to the hover).
const repoRoot = path.resolve(__dirname, '../../..');
const sample = path.join(repoRoot, 'test/fixtures/hover/sample.py');
const readmeShot = path.join(repoRoot, 'media/screenshots/hover.png');

/** Opens the sample .py file and waits for its text to be laid out. */
async function openSample(page: Page): Promise<void> {
  await openPath(page, sample);
  await activeEditor(page).locator('.view-lines').waitFor();
}

describe('hover over a tensor literal (real workbench)', () => {
  it('shows shape, dtype and statistics of np.array in a .py file, with working links', async () => {
    const { page } = workbench();
    await openSample(page);
    const hover = await hoverWord(page, '[3, 4]');
    const body = hover.locator('.hover-contents', { hasText: 'NormScope' }).first();
    await body.waitFor();
    const text = ((await body.textContent()) ?? '').replace(/\u00a0/g, ' ');
    assert.match(text, /NormScope · np\.array · float32 \(explicit\)/);
    assert.match(text, /shape \(2, 2\) · 4 elements · NaN 0 · Inf 0/);
    assert.match(text, /mean 2\.5 · std 1\.11803 \(population\) · min 1 · max 4/);
    assert.match(text, /histogram of 16 bins, 1 to 4/);
    assert.match(text, /Normalize tensor/);
    // The Copy stats link is a trusted command link: clicking it runs normscope.copyStats.
    await hover.getByRole('link', { name: 'Copy stats' }).click();
    await page.locator('.statusbar', { hasText: 'NormScope: statistics copied' }).waitFor();
  });

  it('shows channel means of a rank-3 literal (the README screenshot)', async () => {
    const { page } = workbench();
    await openSample(page);
    const hover = await hoverWord(page, '1.96');
    const body = hover.locator('.hover-contents', { hasText: 'NormScope' }).first();
    await body.waitFor();
    const text = ((await body.textContent()) ?? '').replace(/\u00a0/g, ' ');
    assert.match(text, /shape \(2, 3, 6\) · 36 elements/);
    assert.match(text, /mean 0\.266389 · std 1\.52127 \(population\) · min -1\.66 · max 3\.9/);
    assert.match(text, /channel means \(axis 1 of 3\): c0 -0\.114167 · c1 2\.12417 · c2 -1\.21083/);
    const box = (await hover.boundingBox())!;
    const shot = path.join(screenshotDir, 'hover.png');
    fs.mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: Math.min(1400, Math.max(1000, box.x + box.width + 40)), height: Math.min(900, box.y + box.height + 260) } });
    if (process.env.NORMSCOPE_UPDATE_SCREENSHOTS) fs.copyFileSync(shot, readmeShot);
  });

  it('shows nothing for a list comprehension', async () => {
    const { page } = workbench();
    await openSample(page);
    await assert.rejects(hoverWord(page, 'i * i', 5_000), /no hover/);
  });
});
