// Draws media/icon.png (128x128): a calm histogram with the standard normal curve over it. The SVG below is
// rasterized by headless Chromium (playwright-core + Debian chromium, as the tests use).
// Usage: node scripts/make-icon.mjs
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'media/icon.png');

// Bars: N(0, 1) bin heights over [-3, 3] in 9 bins, scaled into the tile; the curve is the density itself.
const bins = 9, x0 = 18, width = 92, base = 100, height = 62;
const phi = (x) => Math.exp(-x * x / 2);
let bars = '';
for (let i = 0; i < bins; i++) {
  const mid = -3 + (i + 0.5) * (6 / bins);
  const h = height * phi(mid) * 0.92;
  const w = width / bins;
  bars += `<rect x="${(x0 + i * w + 1).toFixed(2)}" y="${(base - h).toFixed(2)}" width="${(w - 2).toFixed(2)}" height="${h.toFixed(2)}" rx="1.5" fill="#7fc8b8"/>`;
}
let curve = '';
for (let i = 0; i <= 60; i++) {
  const x = -3.2 + (i / 60) * 6.4;
  const px = x0 + ((x + 3) / 6) * width;
  const py = base - height * phi(x);
  curve += `${i ? 'L' : 'M'}${px.toFixed(2)},${py.toFixed(2)}`;
}
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">
  <defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1f4e5f"/><stop offset="1" stop-color="#163a47"/></linearGradient></defs>
  <rect x="4" y="4" width="120" height="120" rx="24" fill="url(#bg)"/>
  ${bars}
  <path d="${curve}" fill="none" stroke="#f4f1e8" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/>
  <rect x="14" y="${base + 2}" width="100" height="3" rx="1.5" fill="#f4f1e8" opacity="0.55"/>
</svg>`;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 128, height: 128 } });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  writeFileSync(out, await page.locator('svg').screenshot({ omitBackground: true }));
  console.log(`wrote ${path.relative(root, out)}`);
} finally {
  await browser.close();
}
