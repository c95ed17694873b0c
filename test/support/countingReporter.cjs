// Mocha's spec reporter, plus a JSON file with the pass/fail counts so scripts/test.mjs can sum the suites.
const Mocha = require('mocha');
const fs = require('node:fs');
const path = require('node:path');

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const out = options.reporterOptions && options.reporterOptions.out;
    let passed = 0;
    let failed = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => passed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => failed++);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (out) {
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, JSON.stringify({ passed, failed }));
      }
    });
  }
}
module.exports = CountingReporter;
