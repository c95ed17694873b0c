/**
 * The script of the self-contained HTML report written by `normscope normalize --report`. It reads the
 * analysis embedded in the page (a JSON script element) and draws the histograms with chart.js.
 */
import { drawHistogram, short } from '../ui/charts';

interface Summary { count: number; mean: number | null; std: number | null; min: number | null; max: number | null; nan: number; inf: number }
interface Side {
  overall: Summary & { histogram: { edges: number[]; counts: number[] } };
  edges: number[];
  channels: (Summary & { channel: number; histogram: number[] })[];
  groups: (Summary & { group: number; channels: [number, number]; histogram: number[] })[];
}
interface ReportData {
  source: string;
  input: { shape: number[]; dtype: string };
  op: Record<string, unknown> & { op: string; eps: number };
  shape_report: Record<string, unknown> & { description: string };
  stats: { before: Side; after: Side };
  checks: { name: string; max_abs: number | null; max_rel: number | null; tolerance: string; pass: boolean }[];
  flags: { kind: string; message: string }[];
  warnings: string[];
}

const css = getComputedStyle(document.documentElement);
const color = (name: string) => css.getPropertyValue(name).trim();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function stat(s: Summary): string {
  return `mean ${s.mean === null ? '-' : short(s.mean)} · std ${s.std === null ? '-' : short(s.std)} · min ${s.min === null ? '-' : short(s.min)} · max ${s.max === null ? '-' : short(s.max)}${s.nan || s.inf ? ` · NaN ${s.nan} · Inf ${s.inf}` : ''}`;
}

function chartBox(title: string, sub: string, cls: string): [HTMLElement, HTMLCanvasElement] {
  const canvas = el('canvas');
  const box = el('figure', { class: cls }, el('figcaption', {}, el('b', {}, title), ' ', el('span', { class: 'muted' }, sub)), el('div', { class: 'canvas' }, canvas));
  return [box, canvas];
}

function render(d: ReportData): void {
  const root = document.getElementById('app')!;
  const before = color('--before'), after = color('--after'), text = color('--muted'), grid = color('--grid');
  root.append(
    el('h1', {}, 'NormScope report'),
    el('p', { class: 'muted' }, `${d.source} · shape [${d.input.shape.join(', ')}] · ${d.input.dtype} · ${d.op.op} norm (eps ${short(d.op.eps)}) · ${d.shape_report.description}`),
  );
  const overall = el('section', { class: 'pair' });
  const [b, bc] = chartBox('Before', stat(d.stats.before.overall), 'big');
  const [a, ac] = chartBox('After', stat(d.stats.after.overall) + ' · dashed: N(0, 1)', 'big');
  overall.append(b, a);
  root.append(overall);
  drawHistogram(bc, { ...d.stats.before.overall.histogram, color: before, label: 'before', textColor: text, gridColor: grid });
  drawHistogram(ac, { ...d.stats.after.overall.histogram, color: after, label: 'after', normalOverlay: true, textColor: text, gridColor: grid });

  const smallMultiples = (title: string, items: { label: string; b: Side['channels'][0] | Side['groups'][0]; a: Side['channels'][0] | Side['groups'][0] }[]) => {
    if (items.length < 2) return;
    root.append(el('h2', {}, title), el('p', { class: 'muted' }, 'Each row: before (left, shared edges across rows) and after (right, shared edges across rows). std is the population std.'));
    const grid2 = el('section', { class: 'multiples' });
    root.append(grid2);
    for (const it of items) {
      const [bb, bcv] = chartBox(it.label, stat(it.b), 'small');
      const [ab, acv] = chartBox('', stat(it.a), 'small');
      grid2.append(bb, ab);
      drawHistogram(bcv, { edges: d.stats.before.edges, counts: it.b.histogram, color: before, label: it.label, compact: true });
      drawHistogram(acv, { edges: d.stats.after.edges, counts: it.a.histogram, color: after, label: it.label, compact: true });
    }
  };
  const MAX = 64;
  smallMultiples(`Per group (${d.stats.before.groups.length})`, d.stats.before.groups.map((g, i) => ({ label: `group ${g.group} (channels ${g.channels[0]}-${g.channels[1]})`, b: g, a: d.stats.after.groups[i] })));
  smallMultiples(`Per channel (${d.stats.before.channels.length}${d.stats.before.channels.length > MAX ? `, first ${MAX} shown` : ''})`,
    d.stats.before.channels.slice(0, MAX).map((c, i) => ({ label: `channel ${c.channel}`, b: c, a: d.stats.after.channels[i] })));

  if (d.checks.length) {
    root.append(el('h2', {}, 'Equivalence checks'), el('p', { class: 'muted' }, `tolerance ${d.checks[0].tolerance}`));
    const t = el('table', {}, el('tr', {}, el('th', {}, 'check'), el('th', {}, 'max abs'), el('th', {}, 'max rel'), el('th', {}, 'result')));
    for (const c of d.checks) {
      t.append(el('tr', {}, el('td', {}, c.name), el('td', {}, c.max_abs === null ? '∞' : short(c.max_abs)), el('td', {}, c.max_rel === null ? '∞' : short(c.max_rel)), el('td', { class: c.pass ? 'pass' : 'fail' }, c.pass ? 'pass' : 'FAIL')));
    }
    root.append(t);
  }
  if (d.flags.length || d.warnings.length) {
    root.append(el('h2', {}, 'Flags'));
    const ul = el('ul');
    for (const f of d.flags) ul.append(el('li', {}, el('b', {}, f.kind.replace(/_/g, ' ')), ': ', f.message));
    for (const w of d.warnings) ul.append(el('li', {}, el('b', {}, 'warning'), ': ', w));
    root.append(ul);
  }
  const dl = el('dl');
  for (const [k, v] of Object.entries(d.shape_report)) {
    dl.append(el('dt', {}, k.replace(/_/g, ' ')), el('dd', {}, Array.isArray(v) ? `[${v.join(', ')}]` : v === null ? '-' : String(v)));
  }
  root.append(el('h2', {}, 'Shape report'), dl);
}

const data = JSON.parse(document.getElementById('normscope-data')!.textContent!) as ReportData;
render(data);
document.body.dataset.rendered = 'true';
