// Refreshes media/screenshots/report-{light,dark}.png (shown in README) from the CLI's HTML report on a sample,
// rendered by Debian's Chromium. Run after changing the report: node scripts/report-screenshot.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const html = path.join(root, 'reports/screenshot-conv-group.html');
mkdirSync(path.dirname(html), { recursive: true });
const r = spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), 'normalize', 'samples/conv_activations.npy', '--op', 'group', '--groups', '4', '--report', html], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(1);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
for (const scheme of ['light', 'dark']) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 }, colorScheme: scheme, deviceScaleFactor: 1 });
  await page.goto(`file://${html}`);
  await page.waitForSelector('body[data-rendered="true"]');
  const out = path.join(root, `media/screenshots/report-${scheme}.png`);
  await page.screenshot({ path: out });
  console.log(`wrote ${path.relative(root, out)}`);
}
await browser.close();
