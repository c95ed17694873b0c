/**
 * The NormScope notebook renderer (dist/renderer.js, ESM) for application/vnd.normscope.tensor+json outputs.
 * Each output gets its own OutputView; all share one Scheduler (one thread for the whole notebook) and one
 * stylesheet. Theme changes (VS Code switches the body's class) redraw the charts with the new colours.
 * Messaging is optional: with it, outputs offer "Open in panel" (handled by src/extension/notebookOutputs.ts).
 */
import type { OpenInPanelMessage } from '../protocol/rendererMessages';
import type { ActivationFunction, OutputItem } from './api';
import { errorLine } from './outputModel';
import { OutputView, createOutputView } from './outputView';
import { Scheduler } from './scheduler';
import { RENDERER_CSS } from './styles';

const STYLE_ID = 'normscope-renderer-style';

export const activate: ActivationFunction = (context) => {
  if (!document.getElementById(STYLE_ID)) {
    const style = document.createElement('style');
    style.id = STYLE_ID;
    style.textContent = RENDERER_CSS;
    document.head.append(style);
  }
  const scheduler = new Scheduler();
  const views = new Map<string, OutputView>();
  let rethemePending = false;
  const theme = new MutationObserver(() => {
    if (rethemePending) return;
    rethemePending = true;
    requestAnimationFrame(() => { // one redraw per theme change, however many attributes changed
      rethemePending = false;
      for (const v of views.values()) v.retheme();
    });
  });
  theme.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });
  theme.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] }); // the theme's CSS variables

  const dispose = (id: string) => {
    views.get(id)?.dispose();
    views.delete(id);
  };

  return {
    renderOutputItem(item: OutputItem, element: HTMLElement, signal?: AbortSignal) {
      dispose(item.id);
      if (signal?.aborted) return;
      let value: unknown;
      try {
        value = item.json();
      } catch (e) {
        value = undefined;
        element.replaceChildren(Object.assign(document.createElement('div'), {
          className: 'normscope-output ns-error', textContent: errorLine(`payload: not valid JSON (${e instanceof Error ? e.message : String(e)})`),
        }));
        return;
      }
      const post = context.postMessage?.bind(context);
      const openInPanel = post ? () => post({ type: 'openInPanel', outputId: item.id } satisfies OpenInPanelMessage) : undefined;
      views.set(item.id, createOutputView(element, value, { scheduler, openInPanel }));
    },
    disposeOutputItem(id?: string) {
      if (id !== undefined) dispose(id);
      else for (const key of [...views.keys()]) dispose(key);
    },
  };
};
