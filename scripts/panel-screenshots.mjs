// Refreshes the screenshots the README shows (media/screenshots/panel-dark.png, panel-light.png,
// panel-streaming.png: a 565 MB file generated in the temp folder, streamed, at a partial stage; notebook.png):
// runs the e2e tests that take them (real workbench in code-server + headless Chromium) and copies them there.
// Usage: node scripts/panel-screenshots.mjs     (after a UI change; commit the three PNGs)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(process.execPath, [path.join(root, 'scripts/test.mjs'), 'e2e'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NORMSCOPE_E2E_GREP: 'follows the theme|streamed file in the panel: screenshots|renders stored NormScope outputs', NORMSCOPE_UPDATE_SCREENSHOTS: '1' },
});
if (r.status === 0) console.log('updated media/screenshots/panel-dark.png, panel-light.png, panel-streaming.png and notebook.png');
process.exit(r.status ?? 1);
