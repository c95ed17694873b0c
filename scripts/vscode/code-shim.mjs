// A stand-in for the desktop `code` executable, for @vscode/test-electron's runTests({ vscodeExecutablePath }):
// accepts the desktop arguments runTests passes, runs the suite in code-server's extension host inside
// headless Chromium, forwards the extension host's console to stdout and exits with the suite's exit code.
// Executable wrapper: scripts/vscode/code-shim. Env NORMSCOPE_TEST_TIMEOUT_MS (default 300000) bounds a run;
// NORMSCOPE_VSCODE_VERBOSE=1 also shows the workbench's connection chatter.
import path from 'node:path';
import { format } from 'node:util';
import { ensureInstalled } from './install.mjs';
import { launchChromium, startCodeServer, testSettings } from './server.mjs';

const TIMEOUT_MS = Number(process.env.NORMSCOPE_TEST_TIMEOUT_MS || 300_000);
const VERBOSE = Boolean(process.env.NORMSCOPE_VSCODE_VERBOSE);
// codeAutomationLog carries the workbench's own log too; these lines of it say nothing about the tests.
const WORKBENCH_CHATTER = /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin|Updating additional builtin|\[Service Worker\]|ChatSessionStore:)/;
const VALUE_FLAGS = ['extensionDevelopmentPath', 'extensionTestsPath', 'user-data-dir', 'extensions-dir'];
// Desktop-only flags runTests always passes; nothing to do with them in a browser.
const IGNORED_FLAGS = ['no-sandbox', 'disable-gpu-sandbox', 'disable-updates', 'skip-welcome', 'skip-release-notes',
  'disable-workspace-trust', 'disable-extensions', 'new-window', 'wait'];

function parseArgs(argv) {
  const opts = { extensionDevelopmentPath: [], folder: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      if (opts.folder) throw new Error(`more than one folder given: ${opts.folder}, ${arg}`);
      opts.folder = path.resolve(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (VALUE_FLAGS.includes(name)) {
      const value = path.resolve(eq < 0 ? argv[++i] : arg.slice(eq + 1));
      if (name === 'extensionDevelopmentPath') opts.extensionDevelopmentPath.push(value);
      else opts[name] = value;
    } else if (!IGNORED_FLAGS.includes(name)) {
      console.error(`[code-shim] ignoring unsupported flag ${arg}`);
    }
  }
  if (!opts.extensionTestsPath) throw new Error('--extensionTestsPath is required (this shim only runs test suites)');
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    ensureInstalled();
  } catch (err) {
    console.error(`[code-shim] ${err.message}`);
    return 1;
  }
  let server;
  let browser;
  let timer;
  const cleanup = async () => {
    clearTimeout(timer);
    await browser?.close();
    await server?.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => cleanup().finally(() => process.exit(130)));
  }
  try {
    server = await startCodeServer({
      folder: opts.folder,
      extensionDevelopmentPath: opts.extensionDevelopmentPath,
      extensionTestsPath: opts.extensionTestsPath,
      userDataDir: opts['user-data-dir'],
      extensionsDir: opts['extensions-dir'],
      settings: testSettings,
    });
    browser = await launchChromium();
    const browserErrors = [];
    browser.page.on('pageerror', (err) => browserErrors.push(String(err)));
    browser.page.on('console', (msg) => {
      if (msg.type() === 'error') browserErrors.push(msg.text());
    });
    let finish;
    const exitCode = new Promise((resolve, reject) => {
      finish = resolve;
      timer = setTimeout(() => reject(new Error(
        `the test run did not finish within ${TIMEOUT_MS / 1000} s (NORMSCOPE_TEST_TIMEOUT_MS). ` +
        'VS Code may have failed to start the extension host or load the suite.\n' +
        `--- last browser errors ---\n${browserErrors.slice(-20).join('\n')}\n` +
        `--- last code-server output ---\n${server.logTail()}`)), TIMEOUT_MS);
    });
    exitCode.catch(() => {}); // awaited below; an early timeout must not crash the process unhandled
    // Both must exist before the workbench loads: in test mode it reports through them.
    await browser.page.exposeFunction('codeAutomationExit', (code) => finish(Number(code)));
    await browser.page.exposeFunction('codeAutomationLog', (level, message) => {
      const text = Array.isArray(message) ? format(...message) : String(message);
      if (!VERBOSE && WORKBENCH_CHATTER.test(text)) return;
      (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${text}\n`);
    });
    // The timeout counts from here on, even while the page is still loading.
    const code = await Promise.race([exitCode, browser.page.goto(server.url).then(() => exitCode)]);
    await cleanup();
    return code;
  } catch (err) {
    await cleanup();
    console.error(`[code-shim] ${err.message}`);
    return 1;
  }
}

process.exit(await main());
