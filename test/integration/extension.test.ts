import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';

describe('extension host', () => {
  it('loads this repository as normscope.normscope and activates it', async () => {
    const extension = vscode.extensions.getExtension('normscope.normscope');
    assert.ok(extension, 'normscope.normscope is not among the loaded extensions');
    assert.equal(extension.packageJSON.name, 'normscope');
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it('opens the test workspace and a file of it in an editor', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder is open');
    assert.equal(path.basename(folder.uri.path), 'workspace');
    const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, 'notes.md'));
    const editor = await vscode.window.showTextDocument(document);
    assert.equal(editor.document.lineAt(0).text, '# NormScope test workspace');
    assert.equal(document.languageId, 'markdown');
  });
});
