/** Human-readable output of the CLI (what prints without --json). */
import { Analysis } from '../engine/analyze';
import { SideStats, Summary } from '../engine/stats';
import { Tensor } from '../engine/tensor';

/** Up to 6 significant digits, without trailing zeros. */
export function num(v: number | null): string {
  if (v === null) return '-';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(4).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(6)));
}

function summaryLine(s: Summary): string {
  const nonFinite = s.nan || s.inf ? `  nan ${s.nan}  inf ${s.inf}` : '';
  return `mean ${num(s.mean)}  std ${num(s.std)}  min ${num(s.min)}  max ${num(s.max)}${nonFinite}`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

const MAX_ROWS = 16;

function channelTable(side: SideStats): string {
  const rows = [['channel', 'mean', 'std', 'min', 'max']];
  for (const c of side.channels.slice(0, MAX_ROWS)) rows.push([String(c.channel), num(c.mean), num(c.std), num(c.min), num(c.max)]);
  const more = side.channels.length > MAX_ROWS ? `\n  ... ${side.channels.length - MAX_ROWS} more channels (--json lists all)` : '';
  return table(rows) + more;
}

/** `normscope stats` without --json; `note`: why there are no per-channel rows (a wide channel axis). */
export function formatStats(source: string, x: Tensor, s: SideStats, note?: string): string {
  return [
    `${source}: shape [${x.shape.join(', ')}] ${x.dtype}, ${s.overall.count} elements`,
    `  ${summaryLine(s.overall)}   (std is the population std)`,
    s.channels.length > 1 ? channelTable(s) : '',
    note ? `  note: ${note}` : '',
  ].filter(Boolean).join('\n');
}

/** `normscope normalize` / `check` without --json. */
export function formatAnalysis(source: string, a: Omit<Analysis, 'stats' | 'result'> & { stats?: Analysis['stats'] }): string {
  const r = a.shape_report;
  const lines = [
    `${source}: shape [${a.input.shape.join(', ')}] ${a.input.dtype}`,
    `${a.op.op} norm, eps ${num(a.op.eps)}${a.op.groups ? `, groups ${a.op.groups}` : ''}${a.op.mode ? `, ${a.op.mode} mode` : ''}: ${r.description}`,
    `  statistic groups: ${r.num_stat_groups} of ${r.stat_group_size} elements; normalized axes (${r.normalized_axes.join(', ')}); output [${r.output_shape.join(', ')}]`,
  ];
  if (a.op.affine && r.weight_shape) lines.push(`  affine: weight [${r.weight_shape.join(', ')}]${r.bias_shape ? `, bias [${r.bias_shape.join(', ')}]` : ''}`);
  if (a.stats) {
    lines.push(`before: ${summaryLine(a.stats.before.overall)}`);
    lines.push(`after:  ${summaryLine(a.stats.after.overall)}`);
  }
  if (a.checks.length) {
    lines.push(`equivalence checks (${a.checks[0].tolerance}):`);
    lines.push(table(a.checks.map((c) => [c.pass ? 'pass' : 'FAIL', c.name, `max abs ${num(c.max_abs)}`, `max rel ${num(c.max_rel)}`])));
  }
  for (const f of a.flags) lines.push(`flag ${f.kind}: ${f.message}`);
  for (const w of a.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
