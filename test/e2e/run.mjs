// e2e tests: mocha in Node driving ONE real VS Code workbench (code-server + headless Chromium) on a copy of
// test/fixtures/workspace with this repository loaded as the extension under development.
// Tests import their helpers from test/e2e/workbench.ts (workbench(), runCommand(), webviewFrame(), ...).
// Usage: node test/e2e/run.mjs [resultFile]   (writes {"passed":n,"failed":n}; exit 0 only if all pass)
// Env: NORMSCOPE_E2E_GREP runs the tests whose title matches (a regular expression); NORMSCOPE_E2E_OUT names the
// tsc output folder (default out/; e.g. out-me after `npx tsc -p . --outDir out-me`, for a private run).
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Mocha from 'mocha';
import { ensureInstalled, repoRoot } from '../../scripts/vscode/install.mjs';
import { launchChromium, makeTempDir, startCodeServer, testSettings } from '../../scripts/vscode/server.mjs';

const require = createRequire(import.meta.url);
const resultFile = path.resolve(process.argv[2] ?? 'out/e2e-results.json');
const testsDir = path.join(repoRoot, process.env.NORMSCOPE_E2E_OUT || 'out', 'test/e2e');
// The run's own copy of the workspace: tests may write into it (setWorkspaceSettings writes .vscode/settings.json)
// without touching the repository or another run in this checkout, and nothing a crashed run wrote stays.
const workspaceRoot = makeTempDir('e2e');
const workspace = path.join(workspaceRoot, 'workspace');
cpSync(path.join(repoRoot, 'test/fixtures/workspace'), workspace, { recursive: true });

let server;
let browser;
async function cleanup() {
  await browser?.close();
  await server?.stop();
  rmSync(workspaceRoot, { recursive: true, force: true });
}
process.once('SIGINT', () => cleanup().finally(() => process.exit(130)));

function fail(message) {
  console.error(`e2e tests failed: ${message}`);
  mkdirSync(path.dirname(resultFile), { recursive: true });
  writeFileSync(resultFile, JSON.stringify({ passed: 0, failed: 1 }));
}

let exitCode = 1;
try {
  if (!existsSync(path.join(testsDir, 'workbench.js'))) throw new Error(`${testsDir} is missing: compile first (npx tsc -p .)`);
  const helpers = require(path.join(testsDir, 'workbench.js'));
  ensureInstalled();
  server = await startCodeServer({ folder: workspace, extensionDevelopmentPath: repoRoot, settings: testSettings });
  browser = await launchChromium();
  const { page } = browser;
  await page.goto(server.url);
  try {
    await helpers.waitForWorkbench(page);
  } catch (err) {
    const shot = await helpers.screenshot(page, 'workbench-did-not-start').catch(() => 'none');
    throw new Error(`the workbench did not show the explorer (${err.message.split('\n')[0]}); screenshot: ${shot}\n` +
      `--- last code-server output ---\n${server.logTail()}`);
  }
  helpers.setWorkbench({ page, origin: server.origin, workspace });

  const mocha = new Mocha({
    ui: 'bdd',
    timeout: 60_000,
    reporter: require(path.join(repoRoot, 'test/support/countingReporter.cjs')),
    reporterOptions: { out: resultFile },
    grep: process.env.NORMSCOPE_E2E_GREP || undefined, // e.g. scripts/panel-screenshots.mjs runs the screenshot tests
    rootHooks: {
      // After each test (and its own afterEach hooks): a screenshot if it failed, then no editors open.
      async afterEach() {
        if (this.currentTest?.state === 'failed') {
          const shot = await helpers.screenshot(page, this.currentTest.fullTitle()).catch(() => undefined);
          if (shot) console.log(`      screenshot: ${path.relative(repoRoot, shot)}`);
        }
        await helpers.resetWorkbench(page);
      },
    },
  });
  const files = readdirSync(testsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.js')).sort();
  if (files.length === 0) throw new Error(`no *.test.js files under ${testsDir}`);
  for (const file of files) mocha.addFile(path.join(testsDir, file));
  const failures = await new Promise((resolve) => mocha.run(resolve));
  exitCode = failures > 0 ? 1 : 0;
} catch (err) {
  fail(err.message);
} finally {
  await cleanup();
}
process.exit(exitCode);
