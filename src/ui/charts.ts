/**
 * Chart drawing shared by the HTML report, the panel webview and the notebook renderer (browser side only).
 * Histograms are bar charts over precomputed counts; nothing heavy is computed here.
 */
import { BarController, BarElement, CategoryScale, Chart, Filler, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Filler);

export interface HistogramSpec {
  readonly edges: readonly number[];
  readonly counts: readonly number[];
  readonly color: string;
  readonly label: string;
  /** Overlay the standard normal density, scaled to the counts (for "after" plots). */
  readonly normalOverlay?: boolean;
  /** Small multiples: no axes, no tooltips title. */
  readonly compact?: boolean;
  readonly textColor?: string;
  readonly gridColor?: string;
}

/** A short number for axis labels and tooltips. */
export function short(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** Expected count per bin of N(0, 1) for `total` values over the given edges. */
export function normalCounts(edges: readonly number[], total: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < edges.length; i++) out.push(total * (phi(edges[i + 1]) - phi(edges[i])));
  return out;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, error < 1.5e-7: plenty for a picture). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return 0.5 * (1 + (x < 0 ? -erf : erf));
}

/** Round values in [lo, hi] about `n` steps apart: multiples of 1, 2 or 5 x 10^k (axis ticks). */
export function niceTicks(lo: number, hi: number, n = 6): number[] {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return [];
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  const top = hi + 1e-9 * span; // a value at hi itself, despite k * step's rounding (0.1 * 3 > 0.3)
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= top; k++) out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

/**
 * The histogram's axis labels by bin: a round value (niceTicks) names the bin it falls in, the other bins have
 * none. The label sits at that bin's centre, within half a bin of its value.
 */
function roundLabels(edges: readonly number[]): Map<number, string> {
  const n = edges.length - 1;
  let out = new Map<number, string>();
  // about 6 steps; about 10 where the round step of 6 leaves fewer than 3 (e.g. -3.99 to 8.72: steps of 5)
  for (const steps of [6, 10]) {
    out = new Map<number, string>();
    for (const v of niceTicks(edges[0], edges[n], steps)) {
      let i = 0;
      while (i < n - 1 && v >= edges[i + 1]) i++;
      if (!out.has(i)) out.set(i, short(v));
    }
    if (out.size >= 3) break;
  }
  return out;
}

/** Draws a histogram into `canvas`; returns the chart so callers can destroy it. */
export function drawHistogram(canvas: HTMLCanvasElement, spec: HistogramSpec): Chart {
  const { edges, counts } = spec;
  const labels = counts.map((_, i) => short((edges[i] + edges[i + 1]) / 2));
  const round = roundLabels(edges);
  const total = counts.reduce((a, b) => a + b, 0);
  const datasets: any[] = [{
    type: 'bar',
    label: spec.label,
    data: [...counts],
    backgroundColor: spec.color,
    borderWidth: 0,
    barPercentage: 1,
    categoryPercentage: 1,
    order: 2,
  }];
  if (spec.normalOverlay) {
    datasets.push({
      type: 'line',
      label: 'N(0, 1)',
      data: normalCounts(edges, total),
      borderColor: spec.textColor ?? '#888',
      borderWidth: 1.5,
      borderDash: [4, 3],
      pointRadius: 0,
      tension: 0.3,
      order: 1,
    });
  }
  const grid = spec.gridColor ?? 'rgba(128,128,128,0.2)';
  const text = spec.textColor ?? '#888';
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          enabled: true,
          callbacks: {
            title: (items) => {
              const i = items[0].dataIndex;
              const closing = i === counts.length - 1 ? ']' : ')';
              return `[${short(edges[i])}, ${short(edges[i + 1])}${closing}`;
            },
            label: (item) => (item.dataset as { type?: string }).type === 'line'
              ? `N(0,1) expects ${short(item.parsed.y as number)}`
              : `${item.parsed.y} values`,
          },
        },
      },
      scales: {
        x: {
          display: !spec.compact,
          // round values where there are enough bins for them, else chart.js's pick of the bins' centres
          ticks: round.size >= 3
            ? { color: text, autoSkip: false, maxRotation: 0, callback: (_v, i) => round.get(i) ?? '' }
            : { color: text, maxTicksLimit: 6, maxRotation: 0 },
          grid: { display: false },
        },
        y: { display: !spec.compact, ticks: { color: text, maxTicksLimit: 4 }, grid: { color: grid }, beginAtZero: true },
      },
    },
  });
}

/** One line of a profile chart: a value per channel (null where undefined). */
export interface ProfileLine {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
  readonly dashed?: boolean;
}

export interface ProfileSpec {
  /** x labels, e.g. channel numbers. */
  readonly labels: readonly string[];
  readonly lines: readonly ProfileLine[];
  readonly textColor?: string;
  readonly gridColor?: string;
}

/** Draws per-channel values (e.g. mean and std before and after) as lines with a legend. */
export function drawProfile(canvas: HTMLCanvasElement, spec: ProfileSpec): Chart {
  const text = spec.textColor ?? '#888';
  const grid = spec.gridColor ?? 'rgba(128,128,128,0.2)';
  const many = spec.labels.length > 64;
  return new Chart(canvas, {
    type: 'line',
    data: {
      labels: [...spec.labels],
      datasets: spec.lines.map((l) => ({
        type: 'line' as const,
        label: l.label,
        data: [...l.values],
        borderColor: l.color,
        backgroundColor: l.color,
        borderWidth: 1.5,
        borderDash: l.dashed ? [4, 3] : [],
        pointRadius: many ? 0 : 2,
        spanGaps: true,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { display: true, labels: { color: text, boxWidth: 12, boxHeight: 2 } },
        tooltip: {
          enabled: true,
          callbacks: {
            title: (items) => `channel ${items[0].label}`,
            label: (item) => `${item.dataset.label}: ${item.parsed.y === null ? '-' : short(item.parsed.y as number)}`,
          },
        },
      },
      scales: {
        x: { ticks: { color: text, maxTicksLimit: 16, maxRotation: 0 }, grid: { display: false } },
        y: { ticks: { color: text, maxTicksLimit: 5 }, grid: { color: grid } },
      },
    },
  });
}

/** Number of pixels of `canvas` with any opacity: how tests and the panel tell a painted chart from a blank one. */
export function paintedPixels(canvas: HTMLCanvasElement): number {
  const ctx = canvas.getContext('2d');
  if (!ctx || canvas.width === 0 || canvas.height === 0) return 0;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
  return n;
}

/** Chart colours from VS Code's theme variables (webview and notebook renderer), with fallbacks. */
export interface ThemeColors {
  readonly before: string;
  readonly after: string;
  readonly accent: string;
  readonly warn: string;
  readonly text: string;
  readonly grid: string;
  readonly background: string;
}

export function themeColors(el: Element = document.body): ThemeColors {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    before: v('--vscode-charts-blue', '#3794ff'),
    after: v('--vscode-charts-green', '#89d185'),
    accent: v('--vscode-charts-purple', '#b180d7'),
    warn: v('--vscode-charts-orange', '#d18616'),
    text: v('--vscode-descriptionForeground', v('--vscode-foreground', '#888')),
    grid: 'rgba(128,128,128,0.22)',
    background: v('--vscode-editor-background', '#1e1e1e'),
  };
}

/** A small-multiple histogram: bars only, no axes. */
export interface MiniHistogramSpec {
  readonly edges: readonly number[];
  readonly counts: readonly number[];
  readonly color: string;
  /** Prefix of the hover text, e.g. "channel 3 before". */
  readonly label: string;
}

/**
 * Draws a small histogram straight onto a canvas (no chart.js: hundreds of these must draw in milliseconds).
 * Hovering a bar shows its range and count in the canvas title. Returns the same destroy() as a Chart.
 */
export function drawMiniHistogram(canvas: HTMLCanvasElement, spec: MiniHistogramSpec): { destroy(): void } {
  const { edges, counts } = spec;
  const box = canvas.parentElement ?? canvas;
  const cssWidth = Math.max(1, box.clientWidth);
  const cssHeight = Math.max(1, box.clientHeight);
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(cssWidth * ratio);
  canvas.height = Math.round(cssHeight * ratio);
  // Fills its box, so a resized panel stretches the bars instead of overflowing.
  canvas.style.width = '100%';
  canvas.style.height = '100%';
  canvas.style.display = 'block';
  const ctx = canvas.getContext('2d');
  const bins = counts.length;
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  if (ctx && bins > 0) {
    ctx.fillStyle = spec.color;
    const w = canvas.width / bins;
    for (let i = 0; i < bins; i++) {
      if (counts[i] === 0) continue;
      // At least one device pixel tall, so a lone value in a bin stays visible.
      const h = Math.max(1, Math.round((counts[i] / max) * (canvas.height - 1)));
      ctx.fillRect(Math.floor(i * w), canvas.height - h, Math.max(1, Math.ceil(w) - (w > 3 ? 1 : 0)), h);
    }
    // A hairline baseline so an all-empty histogram still reads as a chart.
    ctx.globalAlpha = 0.35;
    ctx.fillRect(0, canvas.height - 1, canvas.width, 1);
    ctx.globalAlpha = 1;
  }
  const onMove = (e: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    const i = Math.min(bins - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * bins)));
    const closing = i === bins - 1 ? ']' : ')';
    canvas.title = `${spec.label}: [${short(edges[i])}, ${short(edges[i + 1])}${closing} ${counts[i]} values`;
  };
  canvas.addEventListener('mousemove', onMove);
  return { destroy: () => canvas.removeEventListener('mousemove', onMove) };
}
