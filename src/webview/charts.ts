/**
 * The chart view of one result: overall before/after (N(0, 1) over "after"), the per-channel mean/std
 * profile, and small multiples per group and per channel, paged. Drawing uses the shared src/ui/charts.ts;
 * all numbers come precomputed from the host.
 */
import type { Chart } from 'chart.js';
import type { ChannelStats, GroupStats, SideStats, Summary } from '../engine/stats';
import type { AnalysisView } from '../protocol/messages';
import { drawHistogram, drawMiniHistogram, drawProfile, ThemeColors } from '../ui/charts';
import { el, num } from './dom';

export interface ChartView {
  readonly root: HTMLElement;
  /** Every chart canvas currently drawn. */
  canvases(): HTMLCanvasElement[];
  /** Shows the page holding `channel`, highlights its figure and focuses it. */
  revealChannel(channel: number): void;
  revealGroup(group: number): void;
  destroy(): void;
}

/** "mean 0.5 · std 2" */
export function statLine(s: Summary): string {
  const nonFinite = s.nan || s.inf ? ` · NaN ${s.nan} · Inf ${s.inf}` : '';
  return `mean ${num(s.mean)} · std ${num(s.std)} · min ${num(s.min)} · max ${num(s.max)}${nonFinite}`;
}

function figure(cls: string, caption: (Node | string)[], ...canvases: HTMLElement[]): HTMLElement {
  return el('figure', { class: cls }, el('figcaption', {}, ...caption), ...canvases.map((c) => el('div', { class: 'canvas' }, c)));
}

/** Where a chart of "after" will be, while a streamed run has not computed it: an outlined box saying why. */
function pendingBox(text: string): HTMLElement {
  return el('div', { class: 'pending-chart', role: 'note' }, text);
}

interface Pager<T> {
  readonly root: HTMLElement;
  show(page: number): void;
  pageOf(index: number): number;
  figureOf(index: number): HTMLElement | undefined;
  items: readonly T[];
}

/**
 * Draws `view` into a new section appended to `container` (attached first: chart.js sizes canvases from the
 * layout). `pages` holds the shown page of each pager and is updated as the user pages. `afterPending` (a
 * streamed run's first pictures, before the op ran) says why there is no "after" yet: its charts are then
 * left out, each in a box of the same size, so nothing moves when they come.
 */
export function createChartView(
  container: HTMLElement, view: AnalysisView, colors: ThemeColors, pageSize: number, pages: { channel: number; group: number },
  afterPending?: string,
): ChartView {
  const charts: Chart[] = [];
  const { before, after } = view.stats;
  const root = el('section', { class: 'charts', 'aria-label': 'Charts' });
  container.append(root);

  // Overall before / after.
  const bc = el('canvas', { role: 'img', 'aria-label': `Histogram of all values before: ${statLine(before.overall)}` });
  const ac = afterPending ? pendingBox(afterPending) : el('canvas', { role: 'img', 'aria-label': `Histogram of all values after: ${statLine(after.overall)}` });
  root.append(el('div', { class: 'pair' },
    figure('big', [el('b', {}, 'Before'), ' ', el('span', { class: 'muted' }, statLine(before.overall))], bc),
    figure('big', [el('b', {}, 'After'), ' ', el('span', { class: 'muted' }, afterPending ?? `${statLine(after.overall)} · dashed: N(0, 1)`)], ac)));
  const text = colors.text, grid = colors.grid;
  charts.push(drawHistogram(bc, { ...before.overall.histogram, color: colors.before, label: 'before', textColor: text, gridColor: grid }));
  if (ac instanceof HTMLCanvasElement) {
    charts.push(drawHistogram(ac, { ...after.overall.histogram, color: colors.after, label: 'after', normalOverlay: true, textColor: text, gridColor: grid }));
  }

  // Per-channel profile.
  if (before.channels.length > 1) {
    const pc = el('canvas', { role: 'img', 'aria-label': 'Per-channel mean and std, before and after' });
    root.append(el('h2', {}, 'Per-channel mean and std'),
      figure('profile', [el('span', { class: 'muted' }, 'solid: mean · dashed: std · std is the population std')], pc));
    charts.push(drawProfile(pc, {
      labels: before.channels.map((c) => String(c.channel)),
      lines: [
        { label: 'mean before', values: before.channels.map((c) => c.mean), color: colors.before },
        { label: 'std before', values: before.channels.map((c) => c.std), color: colors.before, dashed: true },
        ...(afterPending ? [] : [
          { label: 'mean after', values: after.channels.map((c) => c.mean), color: colors.after },
          { label: 'std after', values: after.channels.map((c) => c.std), color: colors.after, dashed: true },
        ]),
      ],
      textColor: text,
      gridColor: grid,
    }));
  }

  /** A paged grid of before|after histogram pairs. */
  function multiples<T extends ChannelStats | GroupStats>(
    title: string, kind: 'channel' | 'group', side: { before: SideStats; after: SideStats }, itemsBefore: readonly T[], itemsAfter: readonly T[],
    label: (t: T) => string, startPage: number,
  ): Pager<T> {
    const pageCount = Math.max(1, Math.ceil(itemsBefore.length / pageSize));
    const grid2 = el('div', { class: 'multiples', role: 'list' });
    const status = el('span', { class: 'page-status', 'aria-live': 'polite' });
    const prev = el('button', { type: 'button', class: 'secondary', 'aria-label': `Previous ${kind}s` }, '‹ Prev');
    const next = el('button', { type: 'button', class: 'secondary', 'aria-label': `Next ${kind}s` }, 'Next ›');
    const section = el('section', { class: `multiples-section ${kind}s`, 'aria-label': title },
      el('div', { class: 'section-head' }, el('h2', {}, title),
        pageCount > 1 ? el('div', { class: 'pager' }, prev, status, next) : null),
      el('p', { class: 'muted' }, 'Each pair: before (left) and after (right); all before plots share one set of bin edges, all after plots another.'),
      grid2);
    let pageCharts: { destroy(): void }[] = [];
    let page = 0;
    const figures = new Map<number, HTMLElement>();
    const pager: Pager<T> = {
      root: section,
      items: itemsBefore,
      pageOf: (i) => Math.floor(i / pageSize),
      figureOf: (i) => figures.get(i),
      show(p: number) {
        page = Math.min(Math.max(0, p), pageCount - 1);
        for (const c of pageCharts) c.destroy();
        pageCharts = [];
        figures.clear();
        grid2.replaceChildren();
        const first = page * pageSize;
        const last = Math.min(itemsBefore.length, first + pageSize);
        status.textContent = `${kind}s ${first}–${last - 1} of ${itemsBefore.length}`;
        prev.disabled = page === 0;
        next.disabled = page === pageCount - 1;
        for (let i = first; i < last; i++) {
          const b = itemsBefore[i], a = itemsAfter[i];
          const cb = el('canvas', { role: 'img', 'aria-label': `${label(b)} before: ${statLine(b)}` });
          const ca = afterPending ? pendingBox('') : el('canvas', { role: 'img', 'aria-label': `${label(b)} after: ${statLine(a)}` });
          const moments = afterPending ? ` μ ${num(b.mean)} · σ ${num(b.std)}` : ` μ ${num(b.mean)} → ${num(a.mean)} · σ ${num(b.std)} → ${num(a.std)}`;
          const fig = el('figure', { class: 'small', role: 'listitem', tabindex: -1, 'data-index': i },
            el('figcaption', {}, el('b', {}, label(b)), el('span', { class: 'muted' }, moments)),
            el('div', { class: 'pair-small' }, el('div', { class: 'canvas' }, cb), el('div', { class: 'canvas' }, ca)));
          figures.set(i, fig);
          grid2.append(fig);
          pageCharts.push(drawMiniHistogram(cb, { edges: side.before.edges, counts: b.histogram, color: colors.before, label: `${label(b)} before` }));
          if (ca instanceof HTMLCanvasElement) {
            pageCharts.push(drawMiniHistogram(ca, { edges: side.after.edges, counts: a.histogram, color: colors.after, label: `${label(b)} after` }));
          }
        }
        if (kind === 'channel') pages.channel = page; else pages.group = page;
      },
    };
    prev.addEventListener('click', () => pager.show(page - 1));
    next.addEventListener('click', () => pager.show(page + 1));
    root.append(section);
    pager.show(startPage);
    charts.push({ destroy: () => { for (const c of pageCharts) c.destroy(); } } as unknown as Chart);
    return pager;
  }

  let groupPager: Pager<GroupStats> | undefined;
  if (before.groups.length > 0) {
    groupPager = multiples(`Per group (${before.groups.length})`, 'group', view.stats, before.groups, after.groups,
      (g) => `group ${g.group} (ch. ${g.channels[0]}–${g.channels[1]})`, pages.group);
  }
  let channelPager: Pager<ChannelStats> | undefined;
  if (before.channels.length > 1) {
    channelPager = multiples(`Per channel (${before.channels.length})`, 'channel', view.stats, before.channels, after.channels,
      (c) => `channel ${c.channel}`, pages.channel);
  }

  function reveal<T>(pager: Pager<T> | undefined, index: number): void {
    if (!pager || index < 0 || index >= pager.items.length) return;
    pager.show(pager.pageOf(index));
    const fig = pager.figureOf(index);
    if (!fig) return;
    for (const f of Array.from(root.querySelectorAll('.highlight'))) f.classList.remove('highlight');
    fig.classList.add('highlight');
    fig.scrollIntoView({ block: 'center' });
    fig.focus();
  }

  return {
    root,
    canvases: () => Array.from(root.querySelectorAll('canvas')),
    revealChannel: (c) => reveal(channelPager, c),
    revealGroup: (g) => reveal(groupPager, g),
    destroy() {
      for (const c of charts) c.destroy();
      root.remove();
    },
  };
}
