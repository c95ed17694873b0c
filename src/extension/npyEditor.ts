/**
 * .npy files open in a read-only custom editor showing the same panel as "Normalize tensor", so an .npy file
 * is no longer a "binary file" dead end. VS Code re-opens the editor after a reload; the webview's persisted
 * parameters come back with its `ready` message.
 */
import * as vscode from 'vscode';
import { NormPanel, PanelHost } from './panel';

export const NPY_EDITOR_VIEW_TYPE = 'normscope.npyPreview';

class NpyDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

class NpyEditorProvider implements vscode.CustomReadonlyEditorProvider<NpyDocument> {
  constructor(private readonly host: PanelHost) {}

  openCustomDocument(uri: vscode.Uri): NpyDocument {
    return new NpyDocument(uri);
  }

  resolveCustomEditor(document: NpyDocument, webviewPanel: vscode.WebviewPanel): void {
    new NormPanel(webviewPanel, { kind: 'file', uri: document.uri.toString() }, this.host);
  }
}

/** Registers the .npy custom editor (package.json contributes.customEditors). */
export function registerNpyEditor(host: PanelHost): vscode.Disposable {
  return vscode.window.registerCustomEditorProvider(NPY_EDITOR_VIEW_TYPE, new NpyEditorProvider(host), {
    supportsMultipleEditorsPerDocument: true,
  });
}
