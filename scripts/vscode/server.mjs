// Starts code-server (VS Code 1.100.3 in a browser, Node extension host) and headless Chromium for the
// integration tests, the e2e tests and `npm start`. Recipe and reasons: /work/shared/docs/real-vscode.md.
//   const server = await startCodeServer({ folder, extensionDevelopmentPath });  // -> { url, origin, port, stop() }
//   const browser = await launchChromium();                                     // -> { context, page, close() }
//   await browser.page.goto(server.url);
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumPath, codeServerEntry, codeServerInstalled } from './install.mjs';

const HOST = '127.0.0.1';
const live = new Set(); // process groups to kill if this process exits without stop()
process.on('exit', () => {
  for (const pid of live) killGroup(pid, 'SIGKILL');
});

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** User settings for test runs: no welcome walkthrough, no prompts or toasts that cover what tests look at. */
export const testSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never', // test/fixtures/workspace lies inside this repository
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
};

/** A throwaway folder; also used as HOME/XDG_* so nothing writes into the user's ~/.config. */
export function makeTempDir(prefix) {
  return mkdtempSync(path.join(os.tmpdir(), `normscope-${prefix}-`));
}

function xdgEnv(root) {
  const env = {
    XDG_CONFIG_HOME: path.join(root, 'config'),
    XDG_DATA_HOME: path.join(root, 'data'),
    XDG_CACHE_HOME: path.join(root, 'cache'),
  };
  for (const dir of Object.values(env)) mkdirSync(dir, { recursive: true });
  return env;
}

/**
 * The workbench URL that opens `folder` with the extension under development loaded (and, with
 * extensionTestsPath, runs that mocha suite in the extension host and reports through codeAutomationExit).
 */
export function workbenchUrl({ origin, folder, extensionDevelopmentPath, extensionTestsPath }) {
  const authority = new URL(origin).host;
  const remote = (p) => `vscode-remote://${authority}${path.resolve(p)}`;
  const payload = [];
  for (const dev of [extensionDevelopmentPath].flat().filter(Boolean)) payload.push(['extensionDevelopmentPath', remote(dev)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  const query = [];
  if (folder) query.push(`folder=${encodeURIComponent(path.resolve(folder))}`);
  if (payload.length) query.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  return `${origin}/${query.length ? `?${query.join('&')}` : ''}`;
}

/**
 * Starts code-server in its own process group on 127.0.0.1 (port 0 = a free one).
 * `url` is the workbench URL for folder + extension (+ test suite); stop() kills the whole group.
 * settings (optional) replaces <userDataDir>/User/settings.json. onLog receives each line of the server's
 * output; the last lines also appear in start-up errors.
 */
export async function startCodeServer({
  folder, extensionDevelopmentPath, extensionTestsPath, userDataDir, extensionsDir, settings,
  port = 0, onLog = () => {}, startTimeoutMs = 60_000,
}) {
  if (!codeServerInstalled()) throw new Error('code-server is not installed: run `node scripts/vscode/install.mjs`');
  const root = makeTempDir('code-server');
  userDataDir = path.resolve(userDataDir ?? path.join(root, 'user-data'));
  extensionsDir = path.resolve(extensionsDir ?? path.join(root, 'extensions'));
  mkdirSync(userDataDir, { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  if (settings) {
    mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
    writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  }
  const args = [
    codeServerEntry,
    '--config', path.join(root, 'config.yaml'),
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--bind-addr', `${HOST}:${port}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true, // own process group: stop() kills file watchers and extension hosts too
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...xdgEnv(root), EXTENSIONS_GALLERY: '{}' },
  });
  live.add(child.pid);
  const tail = [];
  let exited = false;
  const exitedPromise = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    live.delete(child.pid);
    resolve(code ?? signal);
  }));

  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start within ${startTimeoutMs / 1000} s`)), startTimeoutMs);
    let partial = '';
    const onData = (chunk) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLog(line);
        const m = /HTTP server listening on (http:\/\/[^/\s]+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exitedPromise.then((code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code}) before listening`));
    });
  });

  async function stop() {
    if (!exited) {
      killGroup(child.pid, 'SIGTERM');
      const timeout = new Promise((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([exitedPromise, timeout]);
    }
    killGroup(child.pid, 'SIGKILL'); // the group may outlive its leader (extension host, watchers)
    live.delete(child.pid);
    rmSync(root, { recursive: true, force: true });
  }

  let origin;
  try {
    origin = (await listening).replace('://localhost', `://${HOST}`);
    const health = await fetch(`${origin}/healthz`);
    if (!health.ok) throw new Error(`${origin}/healthz answered ${health.status}`);
  } catch (err) {
    await stop();
    err.message += `\n--- last code-server output ---\n${tail.join('\n')}`;
    throw err;
  }
  return {
    origin,
    port: Number(new URL(origin).port),
    url: workbenchUrl({ origin, folder, extensionDevelopmentPath, extensionTestsPath }),
    userDataDir,
    logTail: () => tail.join('\n'),
    stop,
  };
}

/**
 * Headless Debian Chromium through playwright-core, in a throwaway profile (also its HOME/XDG_*).
 * Returns the persistent context, its first page, and close() which also removes the profile.
 */
export async function launchChromium({ headless = true, viewport = { width: 1400, height: 900 } } = {}) {
  const root = makeTempDir('chromium');
  const context = await chromium.launchPersistentContext(path.join(root, 'profile'), {
    executablePath: chromiumPath,
    headless,
    viewport,
    env: { ...process.env, HOME: root, ...xdgEnv(root) },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}
