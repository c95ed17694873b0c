// The VS Code host side of NormScope. activate() only registers features, one line per feature,
// each implemented in its own file in this folder.
import type * as vscode from 'vscode';
import { createApi, NormScopeApi } from './api';
import { registerHover } from './hover';
import { registerNormalizeCommand } from './normalizeCommand';
import { registerNotebookOutputs } from './notebookOutputs';
import { registerNpyEditor } from './npyEditor';
import { registerPanelSerializer } from './panel';
import { createPanelHost } from './panelHost';

/** Called once when VS Code starts the extension (activationEvents in package.json). */
export function activate(context: vscode.ExtensionContext): NormScopeApi {
  const panels = createPanelHost(context);
  context.subscriptions.push(registerNormalizeCommand(panels));
  context.subscriptions.push(registerPanelSerializer(panels));
  context.subscriptions.push(registerNpyEditor(panels));
  context.subscriptions.push(registerHover());
  context.subscriptions.push(registerNotebookOutputs(panels));
  return createApi(panels);
}

/** Nothing to tear down: everything registered in activate() is disposed through context.subscriptions. */
export function deactivate(): void {}
