/**
 * Messages between the notebook renderer (src/renderer, in the notebook's output webview) and the extension host
 * (src/extension/notebookOutputs.ts), over VS Code's renderer messaging (`requiresMessaging: "optional"`: the
 * renderer works without it and then offers no "Open in panel"). Types and the host-side validator only.
 */

/** The renderer's id in package.json (contributes.notebookRenderer). */
export const RENDERER_ID = 'normscope.tensor';

/** "Open in panel" on one output: the output's id as the renderer got it (OutputItem.id). */
export interface OpenInPanelMessage {
  readonly type: 'openInPanel';
  readonly outputId: string;
}

export type FromRenderer = OpenInPanelMessage;

/** Validates a message from the renderer (a web page: untrusted); undefined when it is not one of ours. */
export function parseFromRenderer(v: unknown): FromRenderer | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const m = v as Record<string, unknown>;
  if (m.type === 'openInPanel' && typeof m.outputId === 'string' && m.outputId.length > 0 && m.outputId.length <= 1024) {
    return { type: 'openInPanel', outputId: m.outputId };
  }
  return undefined;
}
