// The VS Code host side of NormScope. activate() only registers features, one line per feature,
// each implemented in its own file in this folder (the commands, hover, panel and notebook glue come next).
import type * as vscode from 'vscode';

/** Called once when VS Code starts the extension (activationEvents in package.json). */
export function activate(_context: vscode.ExtensionContext): void {
  // Features register here, e.g. context.subscriptions.push(registerNormalizeCommand(context));
}

/** Nothing to tear down: everything registered in activate() is disposed through context.subscriptions. */
export function deactivate(): void {}
