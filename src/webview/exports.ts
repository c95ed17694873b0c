/** The export toolbar; the PNG of the charts is composed here from the canvases already drawn. */
import type { ExportFormat } from '../protocol/messages';
import { el } from './dom';

/** Draws every figure under `root` (captions and canvases, as laid out) onto one canvas; returns a PNG data URL. */
export function composePng(root: HTMLElement, background: string, foreground: string): string {
  const box = root.getBoundingClientRect();
  const scale = window.devicePixelRatio || 1;
  const out = document.createElement('canvas');
  out.width = Math.ceil(box.width * scale);
  out.height = Math.ceil(root.scrollHeight * scale);
  const ctx = out.getContext('2d')!;
  ctx.scale(scale, scale);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, box.width, root.scrollHeight);
  ctx.fillStyle = foreground;
  ctx.textBaseline = 'top';
  const font = getComputedStyle(root).fontFamily || 'sans-serif';
  for (const node of Array.from(root.querySelectorAll('h2, figcaption'))) {
    const r = node.getBoundingClientRect();
    ctx.font = `${node.tagName === 'H2' ? '600 14px' : '12px'} ${font}`;
    ctx.fillText(node.textContent ?? '', r.left - box.left, r.top - box.top, r.width);
  }
  for (const c of Array.from(root.querySelectorAll('canvas'))) {
    const r = c.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) ctx.drawImage(c, r.left - box.left, r.top - box.top, r.width, r.height);
  }
  return out.toDataURL('image/png');
}

export function createExportBar(onExport: (format: ExportFormat) => void, onPng: () => void): HTMLElement {
  const button = (label: string, title: string, action: () => void) =>
    el('button', { type: 'button', class: 'secondary', title, onclick: action }, label);
  return el('div', { class: 'exports', role: 'toolbar', 'aria-label': 'Exports' },
    button('Save .npy', 'Save the normalized tensor as .npy', () => onExport('npy')),
    button('Copy stats JSON', 'Copy every statistic as JSON', () => onExport('stats-json')),
    button('Copy stats CSV', 'Copy the per-channel and per-group statistics as CSV', () => onExport('stats-csv')),
    button('Save charts PNG', 'Save the charts as one PNG image', onPng),
    button('Copy PyTorch snippet', 'Copy Python code that runs this op with these parameters', () => onExport('snippet')));
}
