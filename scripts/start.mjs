// `npm start`: builds, then opens VS Code on samples/ with this repository loaded as the extension under
// development - the desktop `code` when it is on PATH, otherwise code-server in the browser (installed on
// demand into .vscode-test/) on 127.0.0.1:$PORT (default 8080, or a free port when that one is taken).
// Reload the window after rebuilding (`npm run watch` in another terminal rebuilds on save). Ctrl-C stops it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensureInstalled, repoRoot } from './vscode/install.mjs';
import { startCodeServer } from './vscode/server.mjs';

const folder = existsSync(path.join(repoRoot, 'samples')) ? path.join(repoRoot, 'samples') : repoRoot;

function build() {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/build.mjs')], { stdio: 'inherit', cwd: repoRoot });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** `port` when nothing listens on it, else 0 (code-server then picks a free one). */
function freeOr0(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(0));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(port)));
  });
}

build();
if (onPath('code')) {
  const child = spawn('code', [`--extensionDevelopmentPath=${repoRoot}`, folder], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  try {
    ensureInstalled({ chromium: false });
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  const port = await freeOr0(Number(process.env.PORT || 8080));
  const server = await startCodeServer({
    folder,
    extensionDevelopmentPath: repoRoot,
    userDataDir: path.join(repoRoot, '.vscode-test', 'start-user-data'), // settings survive restarts
    port,
  });
  console.log(`\nNormScope in VS Code (code-server): ${server.url}\nCtrl-C stops it.`);
  const stop = () => server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
