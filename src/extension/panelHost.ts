/** The services panels share: the extension's folder, its log, the JSON tensor pick and the save dialog. */
import * as vscode from 'vscode';
import type { TensorChoice } from './workerMessages';
import type { PanelHost } from './panel';

/** Creates the PanelHost for this extension; the log channel is disposed with the extension. */
export function createPanelHost(context: vscode.ExtensionContext): PanelHost & { saveDialog: PanelHost['saveDialog'] } {
  const log = vscode.window.createOutputChannel('NormScope', { log: true });
  context.subscriptions.push(log);
  const host = {
    extensionUri: context.extensionUri,
    log,
    async pickTensor(label: string, tensors: readonly TensorChoice[]): Promise<string | undefined> {
      const items = tensors.map((t) => ({
        label: t.selector === '' ? '(the whole document)' : t.selector,
        description: `[${t.shape.join(', ')}] ${t.dtype}`,
        selector: t.selector,
      }));
      const pick = await vscode.window.showQuickPick(items, {
        title: `${label} holds ${tensors.length} tensors: which one?`,
        placeHolder: 'the tensor to normalize (a JSON Pointer or a member name)',
        matchOnDescription: true,
      });
      return pick?.selector;
    },
    saveDialog: (options: vscode.SaveDialogOptions) => vscode.window.showSaveDialog(options),
  };
  return host;
}
