// Integration tests: mocha inside a real VS Code extension host, through stock @vscode/test-electron
// runTests. There is no desktop VS Code here, so vscodeExecutablePath is our shim, which runs the suite in
// code-server + headless Chromium (scripts/vscode/code-shim.mjs).
// Usage: node test/integration/run.mjs [resultFile]   (writes {"passed":n,"failed":n}; exit 0 only if all pass)
import { runTests } from '@vscode/test-electron';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureInstalled, repoRoot } from '../../scripts/vscode/install.mjs';

const resultFile = path.resolve(process.argv[2] ?? 'out/integration-results.json');
const suite = path.join(repoRoot, 'out/test/integration/index.js');
rmSync(resultFile, { force: true });
// A fresh profile per run: no state leaks from run to run, and two runs at once do not share one.
const profile = mkdtempSync(path.join(os.tmpdir(), 'normscope-integration-'));

try {
  if (!existsSync(suite)) throw new Error(`${suite} is missing: compile first (npx tsc -p .)`);
  ensureInstalled();
  await runTests({
    vscodeExecutablePath: path.join(repoRoot, 'scripts/vscode/code-shim'),
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: suite,
    launchArgs: [
      path.join(repoRoot, 'test/fixtures/workspace'),
      `--user-data-dir=${path.join(profile, 'user-data')}`,
      `--extensions-dir=${path.join(profile, 'extensions')}`,
    ],
    extensionTestsEnv: { NORMSCOPE_TEST_RESULT_FILE: resultFile },
  });
  if (!existsSync(resultFile)) throw new Error(`the suite passed but wrote no counts to ${resultFile}`);
} catch (err) {
  console.error(`integration tests failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(profile, { recursive: true, force: true });
}
