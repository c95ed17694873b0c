// `npm run demo`: the CLI's main job on the bundled samples. Builds, then normalizes each sample with the ops
// that suit it, prints the summaries and writes one self-contained HTML report per run into reports/.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli.js');
const reports = path.join(root, 'reports');

const RUNS = [
  ['conv_activations.npy', 'batch', ['--weight', 'samples/conv_params.json#/weight', '--bias', 'samples/conv_params.json#/bias']],
  ['conv_activations.npy', 'batch', ['--mode', 'eval', '--running-mean', 'samples/conv_params.json#/running_mean', '--running-var', 'samples/conv_params.json#/running_var']],
  ['conv_activations.npy', 'group', ['--groups', '4']],
  ['conv_activations.npy', 'instance', []],
  ['transformer_activations.npy', 'layer', ['--weight', 'samples/transformer_params.json#/weight', '--bias', 'samples/transformer_params.json#/bias']],
  ['transformer_activations.npy', 'rms', ['--weight', 'samples/transformer_params.json#/weight']],
  ['constant_channel.npy', 'batch', []],
  ['tiny_2x3.json', 'layer', []],
];

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.status;
}

if (run([path.join(root, 'scripts/build.mjs')]) !== 0) process.exit(1);
mkdirSync(reports, { recursive: true });
let failed = 0;
for (const [sample, op, flags] of RUNS) {
  const name = `${path.parse(sample).name}-${op}${flags.includes('eval') ? '-eval' : ''}`;
  const report = path.join('reports', `${name}.html`);
  console.log(`\n$ normscope normalize samples/${sample} --op ${op} ${flags.join(' ')} --report ${report}`);
  const code = run([cli, 'normalize', `samples/${sample}`, '--op', op, ...flags, '--report', report]);
  if (code !== 0) failed++;
}
console.log(`\nReports written to ${reports}/ (open them in any browser; they work offline).`);
process.exit(failed ? 1 : 0);
