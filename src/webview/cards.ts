/**
 * Cards: the shape report (with the parameter tensors read from files), one card per equivalence check (two routes, max abs/rel difference, pass/fail),
 * the health flags (each pointing to its channel or group) and the engine's warnings.
 */
import type { AnalysisView, ChecksMessage, FlagView } from '../protocol/messages';
import { el, num, shapeText } from './dom';

const FLAG_TITLES: Readonly<Record<FlagView['kind'], string>> = {
  eps_dominated: 'eps-dominated',
  constant_channel: 'constant channel',
  nan_input: 'NaN in input',
  inf_input: 'Inf in input',
  nan_output: 'NaN in output',
  inf_output: 'Inf in output',
  drift: 'drifting group',
};

/** The op as a title: "GroupNorm (4 groups)", "LayerNorm over (16, 16)", ... */
export function opTitle(view: Pick<AnalysisView, 'op'>): string {
  const o = view.op;
  switch (o.op) {
    case 'batch': return `BatchNorm (${o.mode}${o.momentum === null ? ', momentum None' : ''})`;
    case 'layer': return `LayerNorm over ${shapeText(o.normalized_shape ?? [])}`;
    case 'group': return `GroupNorm (${o.groups} groups)`;
    case 'instance': return 'InstanceNorm';
    case 'rms': return `RMSNorm over ${shapeText(o.normalized_shape ?? [])}`;
    default: { const never: never = o.op; return String(never); }
  }
}

/** The shape report as a definition list. */
export function shapeCard(view: AnalysisView): HTMLElement {
  const r = view.shape_report;
  const shapeOrDash = (s: readonly number[] | null) => (s ? shapeText(s) : '-');
  const rows: [string, string][] = [
    ['statistics', r.description],
    ['input', `${shapeText(r.input_shape)} ${view.input.dtype}`],
    ['as the op sees it', shapeText(r.canonical_shape)],
    ['normalized axes', `(${r.normalized_axes.join(', ')})`],
    ['statistic groups', `${r.num_stat_groups.toLocaleString('en-US')} of ${r.stat_group_size.toLocaleString('en-US')} elements`],
    ['weight / bias', `${shapeOrDash(r.weight_shape)} / ${shapeOrDash(r.bias_shape)}${view.op.affine ? '' : ' (affine off)'}`],
    ['running stats', shapeOrDash(r.running_shape)],
    ...(view.sources && Object.keys(view.sources).length
      ? [['from files', Object.entries(view.sources).map(([name, v]) => `${name}: ${v!.label} ${shapeText(v!.shape)}`).join('; ')] as [string, string]]
      : []),
    ['output', shapeText(r.output_shape)],
    ['eps', num(view.op.eps)],
    ['computed in', `${view.ms} ms`],
  ];
  const dl = el('dl');
  for (const [k, v] of rows) dl.append(el('dt', {}, k), el('dd', {}, v));
  return el('section', { class: 'card shape-report', 'aria-label': 'Shape report' }, el('h3', {}, 'Shape report'), dl);
}

/** The check cards, or a placeholder while they run. */
export function checkCards(checks: ChecksMessage | undefined, pending: string | undefined): HTMLElement {
  const section = el('section', { class: 'checks', 'aria-label': 'Equivalence checks' }, el('h2', {}, 'Equivalence checks'));
  if (!checks) {
    section.append(el('p', { class: 'muted pending' }, pending ?? 'Running the equivalence checks...'));
    return section;
  }
  if (checks.checks.length === 0) {
    section.append(el('p', { class: 'muted' }, 'No equivalence applies to this shape.'));
    return section;
  }
  section.append(el('p', { class: 'muted' }, `Each identity computed both ways; tolerance ${checks.checks[0].tolerance}; ${checks.ms} ms.`));
  const grid = el('div', { class: 'cards' });
  for (const c of checks.checks) {
    grid.append(el('article', { class: `card check ${c.pass ? 'pass' : 'fail'}`, 'aria-label': `${c.name}: ${c.pass ? 'pass' : 'fail'}` },
      el('div', { class: 'card-head' }, el('h3', {}, c.name), el('span', { class: `badge ${c.pass ? 'pass' : 'fail'}` }, c.pass ? 'pass' : 'FAIL')),
      el('p', { class: 'routes' }, c.routes[0], el('span', { class: 'muted' }, ' vs '), c.routes[1]),
      el('p', { class: 'muted' }, `max abs ${c.max_abs === null ? '∞' : num(c.max_abs)} · max rel ${c.max_rel === null ? '∞' : num(c.max_rel)}`)));
  }
  section.append(grid);
  return section;
}

/** The flag summary shown in the header: a count per kind, or "no flags". */
export function flagBadges(checks: ChecksMessage | undefined): HTMLElement {
  const box = el('div', { class: 'flag-badges', 'aria-label': 'Health flags' });
  if (!checks) return box;
  if (checks.flags.length === 0) {
    box.append(el('span', { class: 'badge pass' }, 'no health flags'));
    return box;
  }
  const counts = new Map<string, number>();
  for (const f of checks.flags) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  for (const [kind, n] of counts) box.append(el('a', { class: 'badge warn', href: '#flags' }, `${FLAG_TITLES[kind as FlagView['kind']]} ×${n}`));
  return box;
}

/** The flag list; flags about a channel or group are buttons that show it in the charts. */
export function flagCard(checks: ChecksMessage | undefined, reveal: (f: FlagView) => void): HTMLElement | null {
  if (!checks || checks.flags.length === 0) return null;
  const ul = el('ul', { class: 'flags' });
  for (const f of checks.flags) {
    const target = f.group !== undefined ? `group ${f.group}` : f.channel !== undefined ? `channel ${f.channel}` : undefined;
    ul.append(el('li', {},
      el('span', { class: 'badge warn' }, FLAG_TITLES[f.kind]), ' ', f.message, ' ',
      target ? el('button', { type: 'button', class: 'link', onclick: () => reveal(f) }, `show ${target}`) : null));
  }
  return el('section', { class: 'card flags-card', id: 'flags', 'aria-label': 'Health flags' }, el('h3', {}, 'Health flags'), ul);
}

export function warningCard(view: AnalysisView): HTMLElement | null {
  if (view.warnings.length === 0) return null;
  return el('section', { class: 'card warnings', 'aria-label': 'Warnings' }, el('h3', {}, 'Warnings'),
    el('ul', {}, ...view.warnings.map((w) => el('li', {}, w))));
}
