/**
 * The NormScope panel (dist/webview.js): shows what the host sends and sends back what the person does.
 * It computes nothing heavy: histograms and statistics arrive precomputed. Messages follow
 * src/protocol/messages.ts; the switch over them ends in a `never` check.
 */
import type { ChecksMessage, ErrorMessage, FlagView, InitMessage, ProgressMessage, ResultMessage, TensorMessage, ToWebview } from '../protocol/messages';
import { paintedPixels, themeColors } from '../ui/charts';
import { checkCards, flagBadges, flagCard, opTitle, shapeCard, warningCard } from './cards';
import { ChartView, createChartView, statLine } from './charts';
import { Controls, createControls } from './controls';
import { countText, el, shapeText } from './dom';
import { composePng, createExportBar } from './exports';
import { createTableView } from './table';
import { persist, persisted, send } from './vscodeApi';

/** Everything the panel knows; rendering reads it, messages write it. */
interface Model {
  init?: InitMessage;
  tensor?: TensorMessage;
  result?: ResultMessage;
  checks?: ChecksMessage;
  /** A load error replaces the whole panel; a params error shows in place. */
  error?: ErrorMessage;
  busy?: string;
  /** How far a streamed file's work has come (while busy). */
  progress?: ProgressMessage;
  tab: 'charts' | 'table';
  pages: { channel: number; group: number };
}

const model: Model = { tab: 'charts', pages: { channel: 0, group: 0 } };
let nextRequestId = 1;
const app = document.getElementById('app')!;

// Fixed skeleton; sections are filled as messages arrive.
const title = el('h1', {}, 'NormScope');
const meta = el('p', { class: 'meta' });
const overall = el('div', { class: 'overall' });
const badges = el('div', { class: 'badges' });
const status = el('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
const progressBar = el('progress', { class: 'progress', max: 1, value: 0, hidden: true, 'aria-label': 'Progress' });
const cancelButton = el('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => send({ type: 'cancel' }) }, 'Cancel');
const controlsSlot = el('div', { class: 'controls-slot' });
const loadError = el('div', { class: 'load-error', role: 'alert', hidden: true });
const chartsTab = el('button', { type: 'button', class: 'tab', 'aria-pressed': 'true', onclick: () => setTab('charts') }, 'Charts');
const tableTab = el('button', { type: 'button', class: 'tab', 'aria-pressed': 'false', onclick: () => setTab('table') }, 'Table');
const tabs = el('div', { class: 'tabs', role: 'group', 'aria-label': 'View' }, chartsTab, tableTab);
const viewSlot = el('div', { class: 'view-slot' });
const staleNote = el('p', { class: 'stale-note', hidden: true }, 'Showing the last valid run.');
/** Over the charts while they show a first picture of a streamed file ("First 8% of 1.07 GB - refining..."). */
const partialNote = el('p', { class: 'partial-note', role: 'status', hidden: true });
const cardsSlot = el('div', { class: 'cards-slot' });
const checksSlot = el('div', { class: 'checks-slot' });
const notice = el('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
const exportBar = createExportBar((format) => send({ type: 'export', format }), () => savePng());
const body = el('div', { class: 'body', hidden: true }, tabs, staleNote, partialNote, viewSlot, cardsSlot, checksSlot);

const controlRow = el('div', { class: 'control-row', hidden: true }, controlsSlot);
/** Cancel, the progress bar and what runs: at the end of the export row, a line every panel has anyway. */
const busyBox = el('div', { class: 'busy-box' }, status, progressBar, cancelButton);
app.replaceChildren(
  el('header', { class: 'head' }, title, meta, overall, badges),
  controlRow,
  loadError,
  el('div', { class: 'export-row' }, exportBar, notice, busyBox),
  body,
);
exportBar.hidden = true;

let controls: Controls | undefined;
let chartView: ChartView | undefined;
/** The "after" pending text the charts were drawn with (see afterPendingText). */
let renderedPending: string | undefined;

function setTab(tab: Model['tab']): void {
  model.tab = tab;
  chartsTab.setAttribute('aria-pressed', String(tab === 'charts'));
  tableTab.setAttribute('aria-pressed', String(tab === 'table'));
  renderView();
}

function renderHead(): void {
  const t = model.tensor?.info;
  title.textContent = model.init ? model.init.title : 'NormScope';
  meta.textContent = t ? `shape ${shapeText(t.shape)} · ${t.dtype} · ${countText(t.numel)} elements` : 'Loading...';
  if (t?.streamed) meta.textContent += ` · streamed from disk within ${t.streamed.budgetMB} MiB`;
  const r = model.result?.view;
  const partial = model.result?.partial;
  const pending = afterPendingText();
  // which side a partial picture leaves unfinished (the note under the tabs says how much it covers)
  const mark = (unfinished: boolean) => (unfinished ? [' ', el('span', { class: 'badge partial' }, 'partial')] : []);
  overall.replaceChildren();
  if (r) {
    overall.append(
      el('div', {}, el('span', { class: 'side before' }, 'before'), ' ', statLine(r.stats.before.overall),
        ...mark(partial?.stage === 'preview' || partial?.stage === 'moments')),
      el('div', {}, el('span', { class: 'side after' }, 'after'), ' ',
        ...(pending ? [el('span', { class: 'muted' }, pending)] : [statLine(r.stats.after.overall), ...mark(partial?.stage === 'after-preview' || partial?.stage === 'after-moments')])),
      el('div', { class: 'muted' }, `${opTitle(r)} · ${r.shape_report.description}`));
  }
  badges.replaceChildren(flagBadges(model.checks));
}

/**
 * What stands for "after" while a streamed run has not computed it (undefined once it has): pending while the
 * run goes on, else why it never came (cancelled, or the op cannot run on a streamed file).
 */
function afterPendingText(): string | undefined {
  const partial = model.result?.partial;
  if (!partial?.afterPending) return undefined;
  if (model.busy) return 'pending: runs once the input is read';
  return partial.stage === 'input-only' ? 'not computed: the op did not run on the streamed file' : 'not computed: stopped before the output pass';
}

/** Draws the charts (or the table) of the current result and reports to the host what was painted. */
function renderView(): void {
  chartView?.destroy();
  chartView = undefined;
  viewSlot.replaceChildren();
  const result = model.result;
  if (!result) return;
  const t0 = performance.now();
  if (model.tab === 'table') {
    viewSlot.append(createTableView(result.view));
    return;
  }
  const pageSize = model.init?.settings.pageSize ?? 16;
  renderedPending = afterPendingText();
  const view = createChartView(viewSlot, result.view, themeColors(), pageSize, model.pages, afterPendingText());
  chartView = view;
  requestAnimationFrame(() => {
    if (chartView !== view) return;
    const canvases = view.canvases();
    const painted = canvases.filter((c) => paintedPixels(c) > 0).length;
    document.body.dataset.renderedRequest = String(result.requestId);
    send({ type: 'rendered', requestId: result.requestId, charts: canvases.length, painted, ms: performance.now() - t0 });
  });
}

function renderCards(): void {
  const r = model.result?.view;
  cardsSlot.replaceChildren();
  if (r) {
    const reveal = (f: FlagView) => {
      if (model.tab !== 'charts') setTab('charts');
      if (f.group !== undefined && r.stats.before.groups.length) chartView?.revealGroup(f.group);
      else if (f.channel !== undefined) chartView?.revealChannel(f.channel);
    };
    for (const c of [shapeCard(r), warningCard(r), flagCard(model.checks, reveal)]) if (c) cardsSlot.append(c);
  }
  const streamedNote = model.tensor?.info.streamed
    ? 'Skipped: this file is streamed in chunks, and the equivalence checks and health flags need the whole tensor in memory.'
    : undefined;
  const pending = model.error?.scope === 'checks' ? model.error.message : streamedNote;
  checksSlot.replaceChildren(r ? checkCards(model.checks, pending) : '');
  badges.replaceChildren(flagBadges(model.checks));
}

function renderBusy(): void {
  const p = model.busy ? model.progress : undefined;
  // a run that ends without its output (cancelled, or refused on a streamed file) says so where "after" waits
  const pending = afterPendingText();
  if (model.result?.partial?.afterPending && pending !== renderedPending) {
    renderHead();
    renderView();
  }
  status.textContent = model.busy ? `${model.busy[0].toUpperCase()}${model.busy.slice(1)}${p ? ` · ${p.text} · ${Math.floor(100 * p.fraction)}%` : '...'}` : '';
  progressBar.hidden = !p;
  if (p) progressBar.value = p.fraction;
  cancelButton.hidden = !model.busy;
  app.setAttribute('aria-busy', String(Boolean(model.busy)));
  renderPartial();
}

/** The note over a first picture: what it covers, and whether it is still being refined. */
function renderPartial(): void {
  const partial = model.result?.partial;
  partialNote.hidden = !partial;
  document.body.dataset.partial = partial ? partial.stage : '';
  if (!partial) return;
  partialNote.replaceChildren(
    el('span', { class: 'badge partial' }, 'partial'), ' ',
    `${partial.text}${model.busy ? ' - refining...' : partial.stage === 'input-only' ? '' : ' - stopped before the end'}`);
}

function onParamsChanged(params: ResultMessage['params']): void {
  const requestId = nextRequestId++;
  send({ type: 'setParams', requestId, params });
}

function savePng(): void {
  if (!chartView) {
    setTab('charts');
  }
  const root = viewSlot.querySelector<HTMLElement>('.charts');
  if (!root) return;
  const c = themeColors();
  send({ type: 'savePng', dataUrl: composePng(root, c.background, getComputedStyle(document.body).color || c.text) });
}

function saveState(): void {
  if (!model.init) return;
  persist({ version: 1, source: model.init.source, params: model.result?.params ?? model.tensor?.params });
}

function handle(msg: ToWebview): void {
  switch (msg.type) {
    case 'init':
      model.init = msg;
      saveState();
      renderHead();
      return;
    case 'tensor':
      model.tensor = msg;
      model.error = undefined;
      loadError.hidden = true;
      controls = createControls(msg.choices, msg.params, onParamsChanged, (field) => send({ type: 'pickParamSource', field }));
      controlsSlot.replaceChildren(controls.root);
      controlRow.hidden = false;
      renderHead();
      return;
    case 'busy':
      model.busy = msg.busy ? msg.what : undefined;
      model.progress = undefined;
      renderBusy();
      return;
    case 'progress':
      model.progress = msg;
      renderBusy();
      return;
    case 'result': {
      // A streamed run sends several pictures of one request: the controls take its parameters once, so a
      // refinement never overwrites what the user is typing (or clears a validation message) mid-stream.
      const sameRun = model.result?.partial !== undefined && model.result.requestId === msg.requestId;
      model.result = msg;
      model.checks = undefined;
      model.error = undefined;
      if (!sameRun) {
        controls?.show(msg.params, msg.view.op, msg.view.sources);
        controls?.showError(undefined, undefined);
      }
      staleNote.hidden = true;
      body.hidden = false;
      exportBar.hidden = false;
      saveState();
      renderHead();
      renderPartial();
      renderView();
      renderCards();
      return;
    }
    case 'checks':
      model.checks = msg;
      if (model.error?.scope === 'checks') model.error = undefined;
      renderCards();
      return;
    case 'error':
      switch (msg.scope) {
        case 'load':
          model.error = msg;
          loadError.replaceChildren(el('h2', {}, 'Cannot show this tensor'), el('p', {}, msg.message));
          loadError.hidden = false;
          controlRow.hidden = true;
          body.hidden = true;
          exportBar.hidden = true;
          meta.textContent = '';
          return;
        case 'params':
          model.error = msg;
          controls?.showError(undefined, undefined);
          controls?.showError(msg.field, msg.message);
          // over the first pictures of the run that failed or was cancelled, the partial note says what they are
          staleNote.hidden = !model.result
            || (model.result.partial !== undefined && (msg.requestId === undefined || msg.requestId === model.result.requestId));
          return;
        case 'checks':
          model.error = msg;
          renderCards();
          return;
        case 'export':
          notice.textContent = msg.message;
          notice.classList.add('error');
          return;
        default: { const never: never = msg.scope; return void never; }
      }
    case 'notice':
      notice.textContent = msg.message;
      notice.classList.remove('error');
      return;
    case 'paramSource':
      controls?.setSource(msg.field, msg.ref, msg.shape);
      return;
    default: {
      const never: never = msg;
      console.warn('NormScope: unknown message', never);
    }
  }
}

window.addEventListener('message', (e: MessageEvent) => handle(e.data as ToWebview));
// The theme changed (VS Code swaps the body class and the --vscode-* variables): redraw in the new colours.
new MutationObserver(() => { if (model.tab === 'charts') renderView(); })
  .observe(document.body, { attributes: true, attributeFilter: ['class'] });
renderBusy();
const saved = persisted();
send(saved?.params ? { type: 'ready', params: saved.params } : { type: 'ready' });
