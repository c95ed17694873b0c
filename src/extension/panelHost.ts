/** The services panels share: the extension's folder, its log, the JSON tensor pick and the save dialog. */
import * as vscode from 'vscode';
import type { JsonTensorInfo } from '../engine/formats/json';
import type { PanelHost } from './panel';

/** Creates the PanelHost for this extension; the log channel is disposed with the extension. */
export function createPanelHost(context: vscode.ExtensionContext): PanelHost & { saveDialog: PanelHost['saveDialog'] } {
  const log = vscode.window.createOutputChannel('NormScope', { log: true });
  context.subscriptions.push(log);
  const host = {
    extensionUri: context.extensionUri,
    log,
    async pickTensor(label: string, tensors: readonly JsonTensorInfo[]): Promise<string | undefined> {
      const items = tensors.map((t) => ({
        label: t.pointer === '' ? '(the whole document)' : t.pointer,
        description: `[${t.shape.join(', ')}] ${t.dtype}`,
        pointer: t.pointer,
      }));
      const pick = await vscode.window.showQuickPick(items, {
        title: `${label} holds ${tensors.length} tensors: which one?`,
        placeHolder: 'JSON Pointer of the tensor to normalize',
        matchOnDescription: true,
      });
      return pick?.pointer;
    },
    saveDialog: (options: vscode.SaveDialogOptions) => vscode.window.showSaveDialog(options),
  };
  return host;
}
