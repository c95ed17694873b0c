/**
 * One NormScope output in the notebook: its own root element, charts and state (outputs share one document, so
 * nothing here is global or found by id). Draws with the panel's components (src/webview) and the shared
 * chart code (src/ui/charts.ts); numbers come from outputModel.ts, computed through the shared Scheduler.
 */
import type { Chart } from 'chart.js';
import type { ChecksMessage, FlagView } from '../protocol/messages';
import { drawHistogram, paintedPixels, themeColors } from '../ui/charts';
import { checkCards, flagBadges, flagCard, opTitle, shapeCard, warningCard } from '../webview/cards';
import { ChartView, createChartView, statLine } from '../webview/charts';
import { countText, el, shapeText } from '../webview/dom';
import { OutputModel, checksPhase, errorLine, firstPhase } from './outputModel';
import { Job, Scheduler } from './scheduler';

export interface OutputViewOptions {
  readonly scheduler: Scheduler;
  /** Present when the extension host listens (renderer messaging): shows "Open in panel". */
  readonly openInPanel?: () => void;
}

export interface OutputView {
  /** Redraws the charts with the current theme's colours. */
  retheme(): void;
  dispose(): void;
}

/** Small multiples per page in an output (the panel shows 16). */
const PAGE_SIZE = 8;
/** Above this many elements the equivalence checks wait for a click (the panel runs them in a worker). */
export const CHECKS_AUTO_LIMIT = 1_000_000;

/** Renders the payload `value` into `element` (replacing what was there). */
export function createOutputView(element: HTMLElement, value: unknown, opts: OutputViewOptions): OutputView {
  const root = el('div', { class: 'normscope-output', 'data-state': 'pending' }, el('span', { class: 'muted' }, 'NormScope: computing...'));
  element.replaceChildren(root);
  let model: OutputModel | undefined;
  let checks: ChecksMessage | undefined;
  let charts: Chart[] = [];
  let chartView: ChartView | undefined;
  const pages = { channel: 0, group: 0 };
  let disposed = false;
  const jobs: Job[] = [];
  const chartSlot = el('div', { class: 'ns-charts' });
  const badgeSlot = el('div', { class: 'ns-badges' });
  const cardSlot = el('div', { class: 'ns-cards' });
  const checksSlot = el('div', { class: 'ns-checks' });

  const schedule = (run: () => void, priority: number): void => {
    jobs.push(opts.scheduler.add(() => { if (!disposed) run(); }, priority));
  };

  // Outputs on screen are computed first; the rest follow in order.
  const visibility = typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) for (const j of jobs) if (j.priority === 1) opts.scheduler.reprioritize(j, 0);
    }, { rootMargin: '300px' })
    : undefined;
  visibility?.observe(root);

  function head(m: Exclude<OutputModel, { kind: 'error' }>): HTMLElement {
    return el('div', { class: 'ns-head' },
      el('span', { class: 'ns-title' }, m.title),
      el('span', { class: 'muted' }, `shape ${shapeText(m.shape)} · ${m.dtype} · ${countText(m.numel)} elements`),
      opts.openInPanel ? el('button', { type: 'button', class: 'ns-open', title: 'Open this tensor in the NormScope panel', onclick: () => opts.openInPanel!() }, 'Open in panel') : null);
  }

  function destroyCharts(): void {
    for (const c of charts) c.destroy();
    charts = [];
    chartView?.destroy();
    chartView = undefined;
    chartSlot.replaceChildren();
  }

  /** Draws the charts of the model (again, e.g. after a theme change), then reports what was painted. */
  function drawCharts(): void {
    if (!model || model.kind === 'error') return;
    destroyCharts();
    const colors = themeColors(root);
    root.dataset.colors = `${colors.before} ${colors.after}`; // the theme colours drawn with (tests read it)
    if (model.kind === 'stats') {
      const o = model.stats.overall;
      const canvas = el('canvas', { role: 'img', 'aria-label': `Histogram of all values: ${statLine(o)}` });
      chartSlot.append(el('figure', { class: 'single' }, el('div', { class: 'canvas' }, canvas)));
      charts.push(drawHistogram(canvas, { ...o.histogram, color: colors.before, label: 'values', textColor: colors.text, gridColor: colors.grid }));
    } else {
      chartView = createChartView(chartSlot, model.view, colors, PAGE_SIZE, pages);
    }
    root.dataset.state = 'drawn';
    requestAnimationFrame(() => {
      if (disposed) return;
      const canvases = Array.from(root.querySelectorAll('canvas'));
      root.dataset.charts = String(canvases.length);
      root.dataset.painted = String(canvases.filter((c) => paintedPixels(c) > 0).length);
      root.dataset.state = 'painted';
    });
  }

  function drawCards(): void {
    if (!model || model.kind !== 'norm') return;
    const view = model.view;
    const shown: ChecksMessage = checks ?? { type: 'checks', requestId: 0, checks: [], flags: model.flags, ms: 0 };
    const reveal = (f: FlagView) => {
      if (f.group !== undefined && view.stats.before.groups.length) chartView?.revealGroup(f.group);
      else if (f.channel !== undefined) chartView?.revealChannel(f.channel);
    };
    badgeSlot.replaceChildren(flagBadges(shown));
    cardSlot.replaceChildren(...[shapeCard(view), warningCard(view), flagCard(shown, reveal)].filter((c): c is HTMLElement => c !== null));
    if (checks || !onDemand) {
      checksSlot.replaceChildren(checkCards(checks, undefined));
    } else {
      // Several more op runs over a large tensor would hold the notebook's one thread for seconds: on demand.
      const run = el('button', { type: 'button', onclick: () => { run.disabled = true; runChecks(0); } }, 'Run equivalence checks');
      checksSlot.replaceChildren(checkCards(undefined, `Equivalence checks run on demand above ${countText(CHECKS_AUTO_LIMIT)} elements. `));
      checksSlot.querySelector('.pending')?.append(run);
    }
  }

  function show(m: OutputModel): void {
    model = m;
    if (m.kind === 'error') {
      root.className = 'normscope-output ns-error';
      root.setAttribute('role', 'alert');
      root.title = m.message;
      root.textContent = m.message;
      root.dataset.state = 'error';
      return;
    }
    if (m.kind === 'stats') {
      root.replaceChildren(head(m), el('div', { class: 'ns-overall' }, statLine(m.stats.overall)), chartSlot);
    } else {
      const v = m.view;
      root.replaceChildren(head(m),
        el('div', { class: 'ns-overall' },
          el('div', {}, el('span', { class: 'side before' }, 'before'), ' ', statLine(v.stats.before.overall)),
          el('div', {}, el('span', { class: 'side after' }, 'after'), ' ', statLine(v.stats.after.overall)),
          el('div', { class: 'muted' }, `${opTitle(v)} · ${v.shape_report.description}`)),
        badgeSlot, chartSlot, cardSlot, checksSlot);
      drawCards();
    }
    drawCharts();
  }

  let onDemand = false;
  schedule(() => {
    const t0 = performance.now();
    const m = firstPhase(value);
    onDemand = m.kind === 'norm' && m.numel > CHECKS_AUTO_LIMIT;
    show(m);
    root.dataset.ms = String(Math.round(performance.now() - t0)); // how long this output held the shared thread
    root.dataset.turn = String(opts.scheduler.turn);
    if (m.kind === 'norm' && !onDemand) runChecks(2);
  }, 1);

  /** Phase 2: the equivalence checks, in a turn of their own. */
  function runChecks(priority: number): void {
    schedule(() => {
      if (!model || model.kind !== 'norm') return;
      try {
        checks = checksPhase(model);
        root.dataset.checksTurn = String(opts.scheduler.turn);
      } catch (e) {
        checksSlot.replaceChildren(el('p', { class: 'muted' }, errorLine(e)));
        return;
      }
      drawCards();
    }, priority);
  }

  return {
    retheme() {
      if (!disposed) drawCharts();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const j of jobs) j.cancelled = true;
      visibility?.disconnect();
      destroyCharts();
      root.remove();
    },
  };
}
