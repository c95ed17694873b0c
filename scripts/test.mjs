// `npm test`: type-checks every layer, compiles, then runs the suites in order:
//   unit         plain mocha in Node (engine, formats, CLI)
//   integration  mocha inside a real VS Code extension host (when test/integration exists)
//   e2e          a real browser driving the real workbench (when test/e2e exists)
// Usage: node scripts/test.mjs [unit|integration|e2e ...]
// Ends with one line "N passed, N failed" summing all suites, and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';

const wanted = process.argv.slice(2);
const suites = ['unit', 'integration', 'e2e'].filter((s) => wanted.length === 0 || wanted.includes(s));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function step(name, cmd, args) {
  console.log(`\n> ${name}`);
  const code = run(cmd, args);
  if (code !== 0) {
    console.error(`${name} failed (exit ${code})`);
    console.log('0 passed, 1 failed');
    process.exit(code);
  }
}

// Two `npm test` runs in one checkout would delete each other's out/: the second waits for the first.
const LOCK = '.test.lock';
function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
for (;;) {
  try {
    const fd = openSync(LOCK, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    break;
  } catch {
    const holder = Number(readFileSync(LOCK, 'utf8') || 0);
    if (!holder || !alive(holder)) { rmSync(LOCK, { force: true }); continue; }
    console.log(`waiting for another npm test (pid ${holder}) in this checkout...`);
    await new Promise((r) => setTimeout(r, 5000));
  }
}
process.on('exit', () => rmSync(LOCK, { force: true }));

step('type-check the engine alone (no vscode, DOM or Node types)', 'npx', ['tsc', '-p', 'src/engine']);
rmSync('out', { recursive: true, force: true });
step('compile', 'npx', ['tsc', '-p', '.']);
step('bundle', 'node', ['scripts/build.mjs']);

let passed = 0;
let failed = 0;
let exitCode = 0;
for (const suite of suites) {
  const runner = `test/${suite}/run.mjs`;
  if (suite !== 'unit' && !existsSync(runner)) continue;
  console.log(`\n> ${suite} tests`);
  const resultFile = `out/${suite}-results.json`;
  const code = suite === 'unit'
    ? run('npx', ['mocha', '--timeout', '30000', '--reporter', 'test/support/countingReporter.cjs', '--reporter-option', `out=${resultFile}`,
      'out/test/unit/**/*.test.js'])
    : run('node', [runner, resultFile]);
  let counts = { passed: 0, failed: code === 0 ? 0 : 1 };
  if (existsSync(resultFile)) counts = JSON.parse(readFileSync(resultFile, 'utf8'));
  if (code !== 0 && counts.failed === 0) counts.failed = 1; // a crash before any test ran still fails
  passed += counts.passed;
  failed += counts.failed;
  if (code !== 0) exitCode = code;
  console.log(`${suite}: ${counts.passed} passed, ${counts.failed} failed`);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(exitCode);
