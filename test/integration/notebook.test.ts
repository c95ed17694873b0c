// "Normalize tensor" on notebook cells inside a real extension host: the committed notebooks executed by a real
// kernel (test/fixtures/notebooks), a cell focused, the panel's tensor checked - our MIME type (with the payload's
// op), a numpy repr, a QuickPick between a repr and a print, a literal in the source, the selection in a cell,
// and the refusal of a summarized repr.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { NormScopeApi } from '../../src/extension/api';
import type { PanelProbe } from '../../src/extension/panel';
import { activateNormScope } from './panels';

const repo = path.resolve(__dirname, '../../..');
const notebooks = path.join(repo, 'test/fixtures/notebooks');
const COMMAND = 'normscope.normalizeTensor';
let api: NormScopeApi;

async function showCell(file: string, index: number): Promise<vscode.NotebookEditor> {
  const doc = await vscode.workspace.openNotebookDocument(vscode.Uri.file(path.join(notebooks, file)));
  const editor = await vscode.window.showNotebookDocument(doc);
  editor.selections = [new vscode.NotebookRange(index, index + 1)];
  editor.revealRange(editor.selections[0]);
  return editor;
}

/** The panel the command opened (undefined when it opened none). */
async function normalize(): Promise<PanelProbe | undefined> {
  const before = api.panels().length;
  await vscode.commands.executeCommand(COMMAND);
  const panels = api.panels();
  return panels.length > before ? panels[panels.length - 1] : undefined;
}

async function tensorOf(panel: PanelProbe | undefined) {
  assert.ok(panel, 'the command opened a panel');
  const failed = panel.next('error', { past: true, timeoutMs: 30_000 }).then((e) => { throw new Error(`the panel says: ${e.message}`); });
  failed.catch(() => undefined);
  return Promise.race([panel.next('tensor', { past: true, timeoutMs: 30_000 }), failed]);
}

describe('Normalize tensor on notebook cells', function () {
  this.timeout(120_000);

  before(async () => {
    api = await activateNormScope();
  });
  // Panels close after each test; the notebook stays open (re-opening a just-closed notebook can take 30 s).
  afterEach(() => {
    for (const p of api.panels()) p.dispose();
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('takes a numpy repr from the focused cell\'s output', async () => {
    await showCell('cells.ipynb', 2);
    const t = await tensorOf(await normalize());
    assert.deepEqual([t.info.shape, t.info.dtype], [[2, 3, 2, 2], 'float32']);
    assert.match(t.info.label, /cells\.ipynb#cell=2&output=0/);
  });

  it('takes our MIME type first and starts with the payload\'s op', async () => {
    await showCell('cells.ipynb', 13);
    const t = await tensorOf(await normalize());
    assert.deepEqual([t.info.shape, t.info.dtype], [[2, 4, 3, 3], 'float32']);
    assert.equal(t.info.label, 'cells.ipynb#cell=13&output=0');
    assert.deepEqual([t.params.op, t.params.groups], ['group', 2]);
  });

  it('asks with a QuickPick when a cell holds several tensors (a repr and a print)', async () => {
    await showCell('cells.ipynb', 5);
    const before = api.panels().length;
    const running = vscode.commands.executeCommand(COMMAND);
    await new Promise((r) => setTimeout(r, 1500)); // the QuickPick opens
    await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await running;
    assert.equal(api.panels().length, before + 1);
    const t = await tensorOf(api.panels()[api.panels().length - 1]);
    assert.deepEqual([t.info.shape, t.info.dtype], [[2, 3], 'float16'], 'the second item: the printed float16 repr');
  });

  it('falls back to a literal in the source when the outputs hold none', async () => {
    await showCell('cells.ipynb', 15);
    const t = await tensorOf(await normalize());
    assert.deepEqual([t.info.shape, t.info.dtype], [[2, 2], 'float32']);
    assert.match(t.info.label, /cells\.ipynb#cell=15 \(source line 1\)/);
  });

  it('takes the selection in a cell first', async () => {
    const editor = await showCell('cells.ipynb', 15);
    const cell = editor.notebook.cellAt(15);
    const text = cell.document.getText();
    const start = text.indexOf('[[0.5');
    const end = text.indexOf(']]') + 2;
    const cellEditor = await vscode.window.showTextDocument(cell.document, {
      selection: new vscode.Range(cell.document.positionAt(start), cell.document.positionAt(end)),
    });
    assert.equal(cellEditor.document.uri.scheme, 'vscode-notebook-cell');
    const t = await tensorOf(await normalize());
    assert.deepEqual([t.info.shape, t.info.dtype], [[2, 2], 'float64'], 'a plain nested list: float64');
    assert.match(t.info.label, /^selection in cells\.ipynb/);
  });

  it('refuses a summarized repr and opens no panel', async () => {
    await showCell('cells.ipynb', 12);
    assert.equal(await normalize(), undefined);
  });
});
