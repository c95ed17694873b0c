import * as assert from 'node:assert/strict';
import { editorText, hoverWord, openFile, runCommand, webviewFrame, workbench } from './workbench';

describe('workbench', () => {
  it('shows the test workspace in the explorer and opens a file of it', async () => {
    const { page } = workbench();
    await openFile(page, 'notes.md');
    assert.match(await editorText(page), /^# NormScope test workspace\n/);
  });

  it('runs palette commands and shows webview content', async () => {
    const { page } = workbench();
    await openFile(page, 'notes.md');
    await runCommand(page, 'Markdown: Open Preview to the Side');
    const heading = webviewFrame(page, 'vscode.markdown-language-features').locator('h1');
    await heading.waitFor();
    assert.equal(await heading.textContent(), 'NormScope test workspace');
  });

  it('shows a hover over a word in the editor', async () => {
    const { page } = workbench();
    await openFile(page, 'style.css');
    const hover = await hoverWord(page, 'color');
    assert.match((await hover.textContent()) ?? '', /color/i);
  });

  it('has loaded NormScope from this repository', async () => {
    const { page } = workbench();
    await runCommand(page, 'Developer: Show Running Extensions');
    await page.locator('.runtime-extensions-editor').getByText('normscope.normscope', { exact: true }).waitFor();
  });
});
