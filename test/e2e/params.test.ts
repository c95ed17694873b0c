// A layer's parameters from files, as a person takes them in the real workbench: "from a file…" beside a
// parameter, VS Code's open dialog (in the browser: the simple file dialog), the member pick, the chip with ×,
// and a wrong-shape member explained once in place. The statistics the panel shows are checked against
// PyTorch's F.batch_norm in eval mode (test/fixtures/panel/make_bn_e2e_expected.py).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { answerFileDialog, drawn, runCommand, screenshot, until, webviewFrame, workbench } from './workbench';

const repoRoot = path.resolve(__dirname, '../../..');
const fixtures = path.join(repoRoot, 'test/fixtures/panel');
const input = path.join(fixtures, 'bn_input_2x4x3x3.npy');
const safetensors = path.join(fixtures, 'bn_checkpoint.safetensors');
const npz = path.join(fixtures, 'bn_checkpoint.npz');

interface Expected {
  overall: Record<'mean' | 'std' | 'min' | 'max', number>;
  channels: { mean: number; std: number }[];
}
const torch: Record<'eval_default' | 'eval_mean_only' | 'eval_running', Expected> =
  JSON.parse(fs.readFileSync(path.join(fixtures, 'bn_e2e_expected.json'), 'utf8'));

/** The panel shows 4 significant digits: the shown value is PyTorch's rounded (plus the parity tests' 1e-5). */
function near(shown: number, want: number): boolean {
  return Math.abs(shown - want) <= 5e-4 * Math.abs(want) + 1e-5;
}

/** "mean -0.1148 · std 1.029 · min -2.799 · max 2.503" -> its numbers. */
function statNumbers(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of line.matchAll(/(mean|std|min|max) (\S+)/g)) out[m[1]] = Number(m[2]);
  return out;
}

/** The "after" line of the panel's header. */
async function afterLine(frame: FrameLocator): Promise<string> {
  return (await frame.locator('.overall > div').nth(1).textContent()) ?? '';
}

/** The after mean and std of each channel in the Table view (the tab is left on Charts). */
async function channelTable(frame: FrameLocator): Promise<{ mean: number; std: number }[]> {
  await frame.locator('.tabs button', { hasText: 'Table' }).click();
  const rows = await frame.locator('.stats-table').filter({ hasText: 'Per channel' }).locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')));
  await frame.locator('.tabs button', { hasText: 'Charts' }).click();
  await frame.locator('.charts canvas').first().waitFor();
  // columns: mean, std, min, max, NaN/Inf before; the same after
  return rows.map((cells) => ({ mean: Number(cells[5]), std: Number(cells[6]) }));
}

/** Asserts that the panel shows PyTorch's after-statistics `want`, overall (header) and per channel (table). */
async function assertShows(frame: FrameLocator, want: Expected, what: string): Promise<void> {
  const line = await afterLine(frame);
  const shown = statNumbers(line);
  for (const k of ['mean', 'std', 'min', 'max'] as const) {
    assert.ok(near(shown[k], want.overall[k]), `${what}: after ${k} shows ${shown[k]} ("${line}"), PyTorch ${want.overall[k]}`);
  }
  const channels = await channelTable(frame);
  assert.equal(channels.length, want.channels.length);
  want.channels.forEach((c, i) => assert.ok(near(channels[i].mean, c.mean) && near(channels[i].std, c.std),
    `${what}: channel ${i} shows mean ${channels[i].mean} std ${channels[i].std}, PyTorch ${c.mean} / ${c.std}`));
}

/** The member pick that follows the open dialog: its rows' labels (separators left out), in order. */
async function memberPick(page: Page, title: string): Promise<string[]> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor();
  const rows = widget.locator('.quick-input-list .monaco-list-row');
  await rows.first().waitFor();
  return rows.evaluateAll((els) => els
    .filter((e) => !e.classList.contains('quick-input-list-separator-as-item'))
    .map((e) => e.querySelector('.label-name')?.textContent ?? ''));
}

async function pickMember(page: Page, label: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/\./g, '\\.')}$`) }) })
    .first().click();
  await widget.waitFor({ state: 'hidden' });
}

/** The text of the chip of `name`'s row (its file#member and shape; × has no text of its own but "×"). */
async function chip(frame: FrameLocator, name: string): Promise<string> {
  const c = frame.locator(`.tensor-source[data-field="${name}"] .chip`);
  await c.waitFor();
  return ((await c.textContent()) ?? '').replace(/×$/, '');
}

describe('Parameters from files (real workbench)', () => {
  it('takes running_mean and running_var from checkpoints through the open dialog and the member pick, shows them as chips, clears them with × and explains a wrong shape', async () => {
    const { page } = workbench();
    // No editor open: "Normalize tensor" asks for the file with the open dialog.
    await runCommand(page, 'NormScope: Normalize tensor');
    await answerFileDialog(page, input);
    const frame = webviewFrame(page);
    await drawn(frame, 0);
    assert.equal(await frame.locator('h1').textContent(), 'bn_input_2x4x3x3.npy');
    assert.equal(await frame.locator('#control-op').inputValue(), 'batch');
    await frame.locator('#control-mode').selectOption('eval');
    await drawn(frame, 1);
    // A fresh module's running statistics, 0 and 1 (as PyTorch's F.batch_norm with zeros and ones).
    assert.equal((await frame.locator('.tensor-source[data-field="running_mean"] .source-value').textContent()), '0 (a fresh module)');
    await assertShows(frame, torch.eval_default, 'eval, no files');
    const freshLine = await afterLine(frame);

    // running_mean from the .safetensors: the open dialog (it starts in the input's folder), then the pick of
    // its 7 members. Escape in the pick leaves everything as it was; the second time a member is picked.
    const inFixtures = (v: string) => v === `${fixtures}/`;
    await frame.locator('#control-running_mean').click();
    const dialog = page.locator('.quick-input-widget');
    await dialog.locator('.quick-input-title', { hasText: 'running_mean: a tensor from a file (.npy, .npz, .safetensors, .json)' }).waitFor();
    await dialog.locator('.monaco-button', { hasText: 'Use as running_mean' }).waitFor();
    await answerFileDialog(page, safetensors, inFixtures);
    await memberPick(page, 'bn_checkpoint.safetensors (running_mean) holds 7 tensors');
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await page.waitForTimeout(500);
    assert.equal(await frame.locator('.tensor-source .chip').count(), 0, 'no chip after Escape');
    assert.equal(await frame.locator('body').getAttribute('data-rendered-request'), '1', 'no run after Escape');
    assert.deepEqual((await frame.locator('.field-error').allTextContents()).filter((t) => t !== ''), []);
    await frame.locator('#control-running_mean').click();
    await answerFileDialog(page, safetensors, inFixtures);
    const offered = await memberPick(page, 'bn_checkpoint.safetensors (running_mean) holds 7 tensors');
    console.log(`      member pick for running_mean: ${offered.join(', ')}`);
    assert.equal(offered[0], 'bn1.running_mean', 'the member named like the parameter comes first');
    assert.deepEqual(offered.slice().sort(), ['bn1.bias', 'bn1.num_batches_tracked', 'bn1.running_mean', 'bn1.running_var', 'bn1.weight', 'conv1.weight', 'head.weight']);
    await pickMember(page, 'bn1.running_mean');
    await drawn(frame, 2);
    assert.equal(await chip(frame, 'running_mean'), 'bn_checkpoint.safetensors#bn1.running_mean, [4]');
    await assertShows(frame, torch.eval_mean_only, 'running_mean from the file');

    // running_var from the .npz (the same tensors, by the same names).
    await frame.locator('#control-running_var').click();
    await answerFileDialog(page, npz, inFixtures);
    const offeredVar = await memberPick(page, 'bn_checkpoint.npz (running_var) holds 7 tensors');
    assert.equal(offeredVar[0], 'bn1.running_var', 'the member named like the parameter comes first');
    await pickMember(page, 'bn1.running_var');
    await drawn(frame, 3);
    assert.equal(await chip(frame, 'running_var'), 'bn_checkpoint.npz#bn1.running_var, [4]');
    assert.equal(await chip(frame, 'running_mean'), 'bn_checkpoint.safetensors#bn1.running_mean, [4]');
    await assertShows(frame, torch.eval_running, 'running_mean and running_var from files');
    await frame.locator('.shape-report', { hasText: 'running_var: bn_checkpoint.npz#bn1.running_var [4]' }).waitFor();
    const runningLine = await afterLine(frame);
    await screenshot(page, 'params-from-files');

    // A member of the wrong shape (8 values for 4 channels): one message at running_var, the last valid run stays.
    await frame.locator('#control-running_var').click();
    await answerFileDialog(page, safetensors);
    await memberPick(page, 'bn_checkpoint.safetensors (running_var) holds 7 tensors');
    await pickMember(page, 'head.weight');
    const message = 'running_var has shape [8], expected [4] (one per channel, C=4)';
    await frame.locator('#error-running_var', { hasText: message }).waitFor();
    await page.waitForTimeout(500); // a second message would have come by now
    const messages = (await frame.locator('.field-error').allTextContents()).filter((t) => t !== '');
    assert.deepEqual(messages, [message], 'one message, at running_var');
    assert.equal(await page.locator('.notifications-toasts .notification-toast').count(), 0, 'no notification');
    assert.equal(await frame.locator('.stale-note').isVisible(), true);
    assert.equal(await frame.locator('body').getAttribute('data-rendered-request'), '3', 'the last valid run stays drawn');
    assert.equal(await afterLine(frame), runningLine);
    await screenshot(page, 'params-wrong-shape');
    // × on the wrong file: running_var back to a fresh module's 1, and the message gone.
    assert.equal(await chip(frame, 'running_var'), 'bn_checkpoint.safetensors#head.weight, [8]');
    await frame.locator('.tensor-source[data-field="running_var"] .chip-clear').click();
    await until('the message to go', async () => ((await frame.locator('#error-running_var').textContent()) === '') || undefined);
    await drawn(frame, 5);
    assert.equal(await frame.locator('.stale-note').isVisible(), false);
    assert.equal(await frame.locator('.tensor-source[data-field="running_var"] .source-value').textContent(), '1 (a fresh module)');
    await assertShows(frame, torch.eval_mean_only, 'the wrong file cleared');

    // × on running_mean too: both back to a fresh module's, and the statistics to those before any file.
    await frame.locator('.tensor-source[data-field="running_mean"] .chip-clear').click();
    await drawn(frame, 6);
    assert.equal(await frame.locator('.tensor-source .chip').count(), 0, 'no chip left');
    assert.equal(await frame.locator('.tensor-source[data-field="running_mean"] .source-value').textContent(), '0 (a fresh module)');
    assert.equal(await frame.locator('.shape-report', { hasText: 'from files' }).count(), 0);
    assert.equal(await afterLine(frame), freshLine);
    await assertShows(frame, torch.eval_default, 'both cleared');
  });
});
