// Helpers for e2e tests: one real VS Code workbench (code-server + headless Chromium) shared by every test.
// test/e2e/run.mjs starts it and calls setWorkbench() before mocha loads the *.test.js files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';

/** The shared workbench: the page, the server's origin and the folder it has open. */
export interface Workbench {
  readonly page: Page;
  readonly origin: string;
  readonly workspace: string;
}

const repoRoot = path.resolve(__dirname, '../../..');
/** Where screenshot() writes (ignored by git). */
export const screenshotDir = path.join(repoRoot, 'test-results', 'e2e');

let current: Workbench | undefined;

/** Called once by test/e2e/run.mjs when the workbench is ready. */
export function setWorkbench(workbench: Workbench): void {
  current = workbench;
}

/** The workbench all e2e tests share (they run one after another on the same page). */
export function workbench(): Workbench {
  if (!current) throw new Error('no workbench: run e2e tests through test/e2e/run.mjs');
  return current;
}

/** Waits until the workbench has rendered and the explorer shows the workspace's files. */
export async function waitForWorkbench(page: Page, timeout = 90_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ timeout });
  await page.locator('.explorer-folders-view').getByRole('treeitem').first().waitFor({ timeout });
}

/** Runs a command by its palette title (e.g. 'View: Close All Editors') through F1, as a person would. */
export async function runCommand(page: Page, title: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await openPalette(page, `>${title}`);
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  // Click the row labelled exactly `title`: Enter would run the top row, which may be a recently used one.
  await widget.locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exact }) })
    .first()
    .click();
  await widget.waitFor({ state: 'hidden' });
}

/**
 * Presses F1 until the command palette shows and types `text` into it. A key press can land in a webview frame
 * that is giving up the focus (e.g. right after a dialog it opened has closed) and be lost, and a palette that
 * opened then can close again as the focus settles: the focus then goes back to the workbench page and the
 * palette is opened again, up to three times.
 */
async function openPalette(page: Page, text: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      await input.fill(text, { timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt === 3) throw e;
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    }
  }
}

/**
 * Answers VS Code's open or save dialog with `file`, an absolute path, as a person types it. In the browser it is
 * the "simple file dialog": a path box in a quick input that fills in its start folder (open) or the suggested
 * path (save) - `prefilled` (default: any value) says when it has - and may fill it in again as the folder's
 * listing arrives, over what was typed; it also lists a typed folder as it goes and may ignore an OK while it
 * does. So the path is typed again whenever the box no longer holds it, and accepted once it has held it for
 * 300 ms, until the dialog is gone: the quick input hidden or showing another title (a pick that follows at once).
 */
export async function answerFileDialog(page: Page, file: string, prefilled: (value: string) => boolean = (v) => v !== ''): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  await input.waitFor();
  await until('the file dialog to fill in its path', async () => prefilled(await input.inputValue()) || undefined);
  const title = await widget.locator('.quick-input-title').textContent();
  const gone = async () => !(await widget.isVisible()) || (await widget.locator('.quick-input-title').textContent()) !== title;
  for (let attempt = 1; attempt <= 8; attempt++) {
    if ((await input.inputValue()) !== file) await input.fill(file);
    await page.waitForTimeout(300);
    if (await gone()) return;
    if ((await input.inputValue()) !== file) continue; // the dialog wrote over it: type it again
    await input.press('Enter').catch(() => undefined);
    try {
      await until('the file dialog to close', async () => (await gone()) || undefined, 3_000);
      return;
    } catch {
      // still open: try again
    }
  }
  throw new Error(`the file dialog did not take ${file}: it shows "${await input.inputValue().catch(() => '')}"`);
}

/**
 * Puts the workbench back to its start: closes menus, hovers and every editor (webview panels too).
 * run.mjs calls it after each test, so a test starts with no editor open. Leave no unsaved edits behind.
 */
export async function resetWorkbench(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
  await runCommand(page, 'View: Close All Editors');
  await page.locator('.editor-group-container .tabs-container .tab').first().waitFor({ state: 'detached' });
}

/** Opens a file of the workspace from the explorer (a single click = preview editor) and waits for its tab. */
export async function openFile(page: Page, name: string): Promise<void> {
  await page.locator('.explorer-folders-view').getByRole('treeitem', { name, exact: true }).click();
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
  await activeEditor(page).locator('.view-lines').waitFor();
}

/** Opens a file outside the workspace folder by its absolute path through Quick Open (Ctrl+P). */
export async function openPath(page: Page, file: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-box input').fill(file);
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(file) }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: path.basename(file) }).waitFor();
}

/**
 * Writes the workspace's .vscode/settings.json with the defined `settings` (an undefined value drops its key;
 * with none left the .vscode folder goes), then waits until the workbench has read the file: the Settings
 * editor (Workspace tab) shows each value set there, and no workspace value for each dropped key. The
 * extension host hears of a configuration change before any later request of the page, so what a test does
 * next runs with them. For number settings (their row holds a number input); the Settings editor is closed after.
 */
export async function setWorkspaceSettings(page: Page, settings: Record<string, number | undefined>): Promise<void> {
  const dir = path.join(workbench().workspace, '.vscode');
  const kept = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  if (Object.keys(kept).length > 0) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(kept, null, 2));
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await runCommand(page, 'Preferences: Open Workspace Settings');
  const editor = page.locator('.settings-editor');
  for (const [key, value] of Object.entries(settings)) {
    await editor.locator('.settings-header .suggest-input-container .monaco-editor').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(`@id:${key}`);
    const row = editor.locator(`.setting-item-contents[data-key="${key}"]`);
    if (value === undefined) {
      await row.and(page.locator(':not(.is-configured)')).waitFor();
    } else {
      await row.and(page.locator('.is-configured')).waitFor();
      const input = row.locator('input[type=number]');
      await until(`the Settings editor to show ${key} = ${value}`, async () => (await input.inputValue()) === String(value) || undefined);
    }
  }
  await runCommand(page, 'View: Close Editor');
  await editor.waitFor({ state: 'detached' });
}

/** Picks a colour theme through "Preferences: Color Theme", as a person would. */
export async function setTheme(page: Page, label: string, kind: 'vs' | 'vs-dark'): Promise<void> {
  // Not runCommand(): the theme picker is a second quick input that follows the palette at once.
  await openPalette(page, '>Preferences: Color Theme');
  const widget = page.locator('.quick-input-widget');
  await widget.locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: /^Preferences: Color Theme$/ }) }).first().click();
  await widget.locator('.quick-input-box input[placeholder*="Color Theme"]').waitFor();
  await widget.locator('.quick-input-box input').fill(label);
  await widget.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor();
  await page.keyboard.press('Enter');
  await widget.waitFor({ state: 'hidden' });
  await page.locator(`.monaco-workbench.${kind}`).waitFor();
}

/** Polls `probe` (every 100 ms) until it gives a value other than undefined, and returns it; fails after `timeout` ms. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeout = 30_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The text editor of the active editor group. */
export function activeEditor(page: Page): Locator {
  return page.locator('.editor-group-container.active .editor-container .monaco-editor').first();
}

/** The rendered text of the active editor (rendered lines only: fine for small files). */
export async function editorText(page: Page): Promise<string> {
  const lines = await activeEditor(page).locator('.view-lines .view-line').evaluateAll((nodes) =>
    nodes
      .map((n) => ({ top: (n as HTMLElement).offsetTop, text: n.textContent ?? '' }))
      .sort((a, b) => a.top - b.top) // Monaco keeps line nodes in recycled, not visual, order
      .map((l) => l.text));
  return lines.join('\n').replace(/\u00a0/g, ' ');
}

/** The content frame of an extension's webview panel (default: NormScope's). */
export function webviewFrame(page: Page, extensionId = 'normscope.normscope'): FrameLocator {
  return page.frameLocator(`iframe.webview.ready[src*="extensionId=${extensionId}"]`).frameLocator('#active-frame');
}

/** Waits until a NormScope panel has drawn its run `requestId` (0: the host's first run; a streamed file's first picture counts). */
export async function drawn(frame: FrameLocator, requestId: number, timeout = 30_000): Promise<void> {
  await frame.locator(`body[data-rendered-request="${requestId}"]`).waitFor({ timeout });
}

/** Painted (non-transparent) pixels of each canvas `selector` finds in `scope` (default: a NormScope panel's charts), in document order. */
export async function paintedPixels(scope: FrameLocator | Locator, selector = '.charts canvas'): Promise<number[]> {
  return scope.locator(selector).evaluateAll((canvases) => canvases.map((c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
    return n;
  }));
}

/** The content frame holding notebook outputs rendered by notebook renderers. */
export function notebookOutputFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready[src*="purpose=notebookRenderer"]').frameLocator('#active-frame');
}

/**
 * Moves the mouse onto the first occurrence of `word` in a visible editor and returns the hover widget
 * once it shows (retrying until `timeout` ms). Monaco merges tokens into spans, so the word is located with a DOM Range over text nodes.
 */
export async function hoverWord(page: Page, word: string, timeout = 30_000): Promise<Locator> {
  const box = await page.evaluate((w) => {
    for (const line of Array.from(document.querySelectorAll('.monaco-editor .view-lines .view-line'))) {
      const nodes: Text[] = [];
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) nodes.push(walker.currentNode as Text);
      const text = nodes.map((n) => n.data).join('').replace(/\u00a0/g, ' ');
      const start = text.indexOf(w);
      if (start < 0) continue;
      const range = document.createRange();
      let offset = 0;
      for (const node of nodes) {
        const end = offset + node.data.length;
        if (start >= offset && start < end) range.setStart(node, start - offset);
        if (start + w.length > offset && start + w.length <= end) range.setEnd(node, start + w.length - offset);
        offset = end;
      }
      const r = range.getBoundingClientRect();
      if (r.width > 0) return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    }
    return undefined;
  }, word);
  if (!box) throw new Error(`"${word}" is not visible in any editor`);
  // Language servers start lazily: no hover shows until one answers, so move off and back on until it does.
  const hover = page.locator('.monaco-hover:not(.hidden)').first();
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.mouse.move(box.x, box.y - 60);
    await page.mouse.move(box.x, box.y, { steps: 5 });
    try {
      await hover.waitFor({ timeout: 2_000 });
      return hover;
    } catch {
      if (Date.now() > deadline) throw new Error(`no hover over "${word}" within ${timeout / 1000} s`);
    }
  }
}

/** Saves a PNG of the whole page to test-results/e2e/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file });
  return file;
}
