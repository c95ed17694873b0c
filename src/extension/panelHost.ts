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
    async pickTensor(label: string, tensors: readonly TensorChoice[], metadata?: Readonly<Record<string, string>>, purpose = 'the tensor to normalize'): Promise<string | undefined> {
      const items: (vscode.QuickPickItem & { selector?: string })[] = tensors.map((t) => ({
        label: t.selector === '' ? '(the whole document)' : t.selector,
        description: `[${t.shape.join(', ')}] ${t.dtype}`,
        selector: t.selector,
      }));
      // a .safetensors' __metadata__ heads the list (a separator: shown, never picked)
      const meta = metadata ? Object.entries(metadata).map(([k, v]) => `${k}: ${v}`).join(' · ') : '';
      if (meta) {
        items.unshift({ label: `__metadata__ ${meta.length > 200 ? `${meta.slice(0, 199)}…` : meta}`, kind: vscode.QuickPickItemKind.Separator });
        log.info(`${label} __metadata__: ${JSON.stringify(metadata)}`);
      }
      const pick = await vscode.window.showQuickPick(items, {
        title: `${label} holds ${tensors.length} tensors: which one?`,
        placeHolder: `${purpose} (a JSON Pointer or a member name)`,
        matchOnDescription: true,
      });
      return pick?.selector;
    },
    saveDialog: (options: vscode.SaveDialogOptions) => vscode.window.showSaveDialog(options),
  };
  return host;
}
