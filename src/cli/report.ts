/** The self-contained HTML report: the analysis as JSON plus the bundled chart script, inlined; opens offline. */
import { Analysis } from '../engine/analyze';
import { toJson } from './json';
// Inlined at build time by scripts/build.mjs (the browser bundle of src/report/reportPage.ts with chart.js).
import reportScript from 'inline:dist/report.js';

/** Escapes text for a <script> element: nothing inside may close it. */
function scriptSafe(s: string): string {
  return s.replace(/<\//g, '<\\/').replace(/<!--/g, '<\\!--');
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The report page for `a` computed from `source`. */
export function renderReport(source: string, a: Analysis): string {
  const data = JSON.stringify({ source, ...toJson(a) });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NormScope: ${htmlEscape(source)}</title>
<style>
:root { --bg: #ffffff; --fg: #1f2328; --muted: #656d76; --grid: rgba(100,110,120,0.18); --before: #6e8fb8; --after: #3f9e8f; --fail: #c0392b; --pass: #2e7d4f; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --bg: #1e1e1e; --fg: #d4d4d4; --muted: #9da5b4; --grid: rgba(200,200,200,0.12); --before: #7fa3d1; --after: #5fbfae; --fail: #f07167; --pass: #6fcf97; } }
* { box-sizing: border-box; }
body { background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; }
#app { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 20px; font-weight: 600; margin: 0 0 4px; } h2 { font-size: 15px; font-weight: 600; margin: 28px 0 4px; }
.muted { color: var(--muted); font-size: 12px; }
figure { margin: 0; min-width: 0; } figcaption { font-size: 12px; margin-bottom: 2px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; margin-top: 16px; }
.big .canvas { height: 220px; position: relative; }
.multiples { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px 16px; }
.small .canvas { height: 70px; position: relative; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: 4px 12px 4px 0; text-align: left; border-bottom: 1px solid var(--grid); }
.pass { color: var(--pass); } .fail { color: var(--fail); font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; } dt { color: var(--muted); } dd { margin: 0; }
</style>
</head>
<body>
<div id="app"></div>
<script type="application/json" id="normscope-data">${scriptSafe(data)}</script>
<script>${scriptSafe(reportScript)}</script>
</body>
</html>
`;
}
