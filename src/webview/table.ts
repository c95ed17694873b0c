/** The table view: the same numbers as the charts, for reading rather than looking. */
import type { SideStats, Summary } from '../engine/stats';
import type { AnalysisView } from '../protocol/messages';
import { el, num } from './dom';

const COLS = ['mean', 'std', 'min', 'max'] as const;

function cells(s: Summary): HTMLElement[] {
  return [...COLS.map((k) => el('td', { class: 'num' }, num(s[k]))), el('td', { class: 'num' }, s.nan || s.inf ? `${s.nan} / ${s.inf}` : '')];
}

function table(caption: string, rows: [string, Summary, Summary][]): HTMLElement {
  const head = el('tr', {}, el('th', { scope: 'col' }, ''),
    ...COLS.map((c) => el('th', { scope: 'col', class: 'num' }, `${c} before`)), el('th', { scope: 'col', class: 'num' }, 'NaN/Inf before'),
    ...COLS.map((c) => el('th', { scope: 'col', class: 'num' }, `${c} after`)), el('th', { scope: 'col', class: 'num' }, 'NaN/Inf after'));
  const body = rows.map(([label, b, a]) => el('tr', {}, el('th', { scope: 'row' }, label), ...cells(b), ...cells(a)));
  return el('table', { class: 'stats-table' }, el('caption', {}, caption), el('thead', {}, head), el('tbody', {}, ...body));
}

export function createTableView(view: AnalysisView): HTMLElement {
  const { before, after }: { before: SideStats; after: SideStats } = view.stats;
  const root = el('section', { class: 'table-view', 'aria-label': 'Statistics table' });
  root.append(table('Overall (std is the population std)', [['all values', before.overall, after.overall]]));
  if (before.groups.length) {
    root.append(table('Per group', before.groups.map((g, i) => [`group ${g.group} (ch. ${g.channels[0]}–${g.channels[1]})`, g, after.groups[i]])));
  }
  if (before.channels.length > 1) {
    root.append(table('Per channel', before.channels.map((c, i) => [`channel ${c.channel}`, c, after.channels[i]])));
  }
  return root;
}
