/**
 * Hover latency: the pure path a hover takes from the document text and the mouse offset to the Markdown shown
 * (hoverAt: find the literal, parse it, take statistics; hoverMarkdown: render). Literals of 10, 1,000 and 100,000
 * float32 elements written as np.array(...) in a Python file, hovered in their middle. Invoked by bench/hover.mjs;
 * prints one JSON array of {elements, chars, setting, kind, median_ms, cpu_ms, runs} to stdout.
 */
import { HOVER_DEFAULTS, hoverAt, hoverMarkdown } from '../src/engine/hoverSummary';

function randn(n: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  while (out.length < n) {
    const r = Math.sqrt(-2 * Math.log(rand())), t = 2 * Math.PI * rand();
    out.push(r * Math.cos(t), r * Math.sin(t));
  }
  return out.slice(0, n);
}

/** A Python file with `x = np.array([[...], ...], dtype=np.float32)` of rows x cols, values to 6 digits. */
function source(rows: number, cols: number): string {
  const v = randn(rows * cols, 7);
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) lines.push(`    [${v.slice(r * cols, (r + 1) * cols).map((x) => x.toFixed(6)).join(', ')}],`);
  return `import numpy as np\n\nx = np.array([\n${lines.join('\n')}\n], dtype=np.float32)\nprint(x.mean())\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time per call, and CPU time per call (user + system, averaged): steadier on a busy machine. */
function time(fn: () => void, minRuns = 5, minMs = 400): { ms: number; cpuMs: number; runs: number } {
  fn(); fn(); // warm up (JIT)
  const times: number[] = [];
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (times.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    if (times.length >= 500) break;
  }
  const cpu = process.cpuUsage(cpu0);
  return { ms: median(times), cpuMs: (cpu.user + cpu.system) / 1000 / times.length, runs: times.length };
}

const rows = [];
for (const [r, c] of [[2, 5], [10, 100], [100, 1000]]) {
  const text = source(r, c);
  const offset = Math.floor(text.length / 2);
  const settings: [string, number][] = [['default', HOVER_DEFAULTS.maxChars]];
  if (text.length > HOVER_DEFAULTS.maxChars) settings.push(['maxChars 2000000', 2_000_000]);
  for (const [setting, maxChars] of settings) {
    let kind = '';
    const t = time(() => {
      const f = hoverAt(text, offset, { language: 'python', maxChars });
      if (f === undefined) throw new Error('no hover');
      kind = f.kind;
      hoverMarkdown(f, { normalize: 'command:n', copyStats: 'command:c' });
    });
    rows.push({ elements: r * c, chars: text.length, setting, kind, median_ms: t.ms, cpu_ms: t.cpuMs, runs: t.runs });
  }
}
process.stdout.write(JSON.stringify(rows) + '\n');
