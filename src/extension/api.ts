/**
 * What `activate()` returns (vscode.extensions.getExtension('normscope.normscope').exports): a read-only view
 * of the open panels and, for tests, hooks to answer the dialogs a test cannot click.
 */
import type * as vscode from 'vscode';
import type { TensorChoice } from './workerMessages';
import { NormPanel, PanelHost, PanelProbe } from './panel';

export interface NormScopeApi {
  /** The open NormScope panels and .npy editors, oldest first. */
  panels(): readonly PanelProbe[];
  /** Replaces the save dialog (undefined restores VS Code's). */
  setSaveDialog(fn: ((options: vscode.SaveDialogOptions) => Thenable<vscode.Uri | undefined>) | undefined): void;
  /** Replaces the QuickPick of a file's tensors (undefined restores VS Code's). */
  setTensorPick(fn: ((label: string, tensors: readonly TensorChoice[]) => Promise<string | undefined>) | undefined): void;
}

type MutableHost = { -readonly [K in keyof PanelHost]: PanelHost[K] };

export function createApi(host: MutableHost): NormScopeApi {
  const saveDialog = host.saveDialog;
  const pickTensor = host.pickTensor;
  return {
    panels: () => [...NormPanel.all],
    setSaveDialog: (fn) => { host.saveDialog = fn ?? saveDialog; },
    setTensorPick: (fn) => { host.pickTensor = fn ?? pickTensor; },
  };
}
