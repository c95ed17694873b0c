// Runs inside the VS Code extension host (the @vscode/test-electron contract): mocha over every
// out/test/integration/**/*.test.js. The counts go to $NORMSCOPE_TEST_RESULT_FILE as {"passed":n,"failed":n}
// (written by the same counting reporter the unit tests use); run() rejects when a test fails.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

const repoRoot = path.resolve(__dirname, '../../..');

export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    timeout: 30_000,
    color: false, // the output travels through the workbench's log, not a terminal
    reporter: require(path.join(repoRoot, 'test/support/countingReporter.cjs')),
    reporterOptions: { out: process.env.NORMSCOPE_TEST_RESULT_FILE },
  });
  const files = fs.readdirSync(__dirname, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  if (files.length === 0) throw new Error(`no *.test.js files under ${__dirname}`);
  for (const file of files) mocha.addFile(path.join(__dirname, file));

  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}
