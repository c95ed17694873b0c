/**
 * The host side of the notebook renderer (src/renderer): "Open in panel" on a NormScope output opens the panel
 * on that output's tensor (`nb.ipynb#cell=N&output=K`, read from the notebook's live cells), starting with the
 * op and parameters the payload asked for.
 */
import * as vscode from 'vscode';
import { pickFromCells, notebookSelector } from '../engine/formats/ipynb';
import type { PanelParams } from '../protocol/messages';
import { RENDERER_ID, parseFromRenderer } from '../protocol/rendererMessages';
import { cellsToIpynb, findOutput, liveCells } from './notebookCells';
import { openPanel, PanelHost } from './panel';

/** The payload's `norm` as the panel's parameters (tensor-valued ones stay behind: the panel has no such control). */
export function panelParamsOf(norm: ReturnType<typeof pickFromCells>['chosen']['norm']): Partial<PanelParams> | undefined {
  if (!norm) return undefined;
  const { op, mode, groups, normalized_shape, eps, momentum, unbatched, layout } = norm;
  const p: Record<string, unknown> = { op, mode, groups, normalized_shape, eps, momentum, unbatched, layout };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return p as Partial<PanelParams>;
}

/** Opens the panel on output `outputId` of the notebook shown in `editor`. */
export async function openOutputInPanel(host: PanelHost, doc: vscode.NotebookDocument, outputId: string): Promise<void> {
  const at = findOutput(doc, outputId);
  if (!at) {
    void vscode.window.showErrorMessage('NormScope: this output is no longer in the notebook (run the cell again, then Open in panel).');
    return;
  }
  const cells = liveCells(doc);
  const selector = notebookSelector(at.cell, at.output);
  let params: Partial<PanelParams> | undefined;
  try {
    params = panelParamsOf(pickFromCells(cells, selector).chosen.norm);
  } catch {
    params = undefined; // the panel reports the error itself
  }
  openPanel({ kind: 'file', uri: doc.uri.toString(), selector }, host, { bytes: cellsToIpynb(cells), params });
}

/** Listens to the renderer (messaging is optional for it: without a host it simply offers no button). */
export function registerNotebookOutputs(host: PanelHost): vscode.Disposable {
  const messaging = vscode.notebooks.createRendererMessaging(RENDERER_ID);
  return messaging.onDidReceiveMessage(({ editor, message }) => {
    const msg = parseFromRenderer(message);
    if (!msg) {
      host.log.warn(`notebook renderer: ignored a message that is not one of ours: ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    switch (msg.type) {
      case 'openInPanel':
        void openOutputInPanel(host, editor.notebook, msg.outputId).catch((e) => {
          host.log.error(e instanceof Error ? e : String(e));
          void vscode.window.showErrorMessage(`NormScope: ${e instanceof Error ? e.message : String(e)}`);
        });
        return;
      default: {
        const never: never = msg.type;
        host.log.warn(`notebook renderer: unknown message ${String(never)}`);
      }
    }
  });
}
