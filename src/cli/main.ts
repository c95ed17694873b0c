/**
 * `normscope`: the command-line front end over the engine.
 *   normscope stats INPUT [--json]
 *   normscope normalize INPUT --op OP [op flags] [--out OUT.npy] [--json] [--report REPORT.html]
 *   normscope check INPUT [op flags] [--json]
 * Exit codes: 0 success, 2 bad input/usage/unwritable output (one `normscope: ` line on stderr),
 * 3 when `check` finds a failing equivalence, 1 only for a bug.
 */
import { parseArgs } from 'node:util';
import { isNormScopeError, NormScopeError } from '../engine/errors';
import { analyze, tensorStats, wideAxisWarning } from '../engine/analyze';
import { equivalenceChecks, healthFlags } from '../engine/checks';
import { writeNpy } from '../engine/formats/npy';
import { defaultThreads } from '../node/pool';
import { cliKernels } from './kernels';
import { FLAG_OPTIONS, FlagValues, paramsFromFlags, parseCount, threadsFromFlags } from './args';
import { readInput, readListing, readParam, writeOutput } from './io';
import { formatListing, listingJson } from './listing';
import { notebookSource } from './notebook';
import { runStreamed } from './stream';
import { renderReport } from './report';
import { formatAnalysis, formatStats } from './text';
import { statsJson, toJson } from './json';

const USAGE = `usage:
  normscope stats INPUT [--json] [--unbatched] [--layout nchw|nhwc] [--bins B] [--budget-mb N]
  normscope normalize INPUT --op batch|layer|group|instance|rms [--groups G] [--normalized-shape 4,5]
      [--eps E] [--momentum M|none] [--num-batches-tracked K] [--mode train|eval] [--weight W] [--bias B]
      [--running-mean RM] [--running-var RV] [--running-mean-out F.npy] [--running-var-out F.npy]
      [--unbatched] [--layout nchw|nhwc] [--out OUT.npy] [--json] [--report REPORT.html] [--bins B]
  normscope check INPUT [op flags] [--json]
  (stats, normalize and check: --threads N splits the work across N threads, 1-64; default: the CPUs, at most 4)
INPUT is a file (.npy, .npz, .safetensors, .json, .ipynb) with an optional #selector: a JSON Pointer for .json
(data.json#/layer1/weight), a tensor name for .npz and .safetensors (model.safetensors#conv1.weight), a cell
and optionally an output for .ipynb (nb.ipynb#cell=3&output=0, 0-based);
stats on an .npz or .safetensors without a selector lists its tensors. --bfloat16-v2 reads .npy '<V2' as bfloat16.
Files over 256 MiB, or any file with --budget-mb N, are read in chunks within N MiB (default 512) by stats and
normalize (normalize then needs a batch axis); progress shows on a terminal.
Tensor-valued flags (--weight, --bias, --running-mean, --running-var) take the same INPUT syntax.`;

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  try {
    return run(argv, out);
  } catch (e) {
    if (isNormScopeError(e)) {
      err(`normscope: ${e.message.replace(/\s*\n\s*/g, ' ')}`);
      return 2;
    }
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`normscope: ${e.message.replace(/\s*\n\s*/g, ' ')} (see normscope --help)`);
      return 2;
    }
    err(`normscope: internal error (a bug, please report it): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  }
}

function run(argv: readonly string[], out: (s: string) => void): number {
  const { values, positionals } = parseArgs({ args: [...argv], options: FLAG_OPTIONS, allowPositionals: true, strict: true });
  const f = values as FlagValues;
  if (f.help) { out(USAGE); return 0; }
  if (f.version) { out(VERSION); return 0; }
  const [command, input, ...extra] = positionals;
  if (command === undefined) throw new NormScopeError(`missing command\n${USAGE}`);
  if (!['stats', 'normalize', 'check'].includes(command)) {
    throw new NormScopeError(`unknown command '${command}': expected stats, normalize or check`);
  }
  if (input === undefined) throw new NormScopeError(`${command}: missing INPUT (a .npy or .json file)`);
  if (extra.length) throw new NormScopeError(`${command}: unexpected argument '${extra[0]}'`);
  const bins = f.bins === undefined ? undefined : parseCount('bins', f.bins);
  if (bins !== undefined && (bins < 1 || bins > 10000)) throw new NormScopeError(`--bins: expected 1..10000, got ${bins}`);
  const threads = threadsFromFlags(f, defaultThreads());
  // the kernel threads start now, while the input is read
  const kernels = cliKernels(threads);

  const load = { bfloat16V2: f['bfloat16-v2'] };
  if (command === 'stats') {
    const listing = readListing(input, load);
    if (listing) { out(f.json ? JSON.stringify(listingJson(listing)) : formatListing(input, listing)); return 0; }
  }
  const x = readInput(input, load);
  if (command === 'stats') {
    const axes = { unbatched: f.unbatched, layout: f.layout as 'nchw' | 'nhwc' | undefined };
    const stats = tensorStats(x, axes, bins, kernels);
    const o = stats.overall;
    const nb = notebookSource(input); // .ipynb: which candidate of the cell, and the others
    if (f.json) {
      out(JSON.stringify({ ...statsJson(x.shape, x.dtype, o), ...nb }));
    } else {
      out(formatStats(input, x, stats, wideAxisWarning(x.shape, axes)) + (nb ? `\nfrom ${nb.source.label}${nb.others.length ? ` (${nb.others.length} more: --json lists them)` : ''}` : ''));
    }
    return 0;
  }

  if (command === 'check') {
    const p = paramsFromFlags(f, readParam, x.shape.length >= 2 && x.shape.length <= 5 ? 'batch' : 'layer');
    const run = (y: typeof x, q: typeof p) => kernels.normalize(y, q);
    const result = run(x, p);
    const checks = equivalenceChecks(x, p, run);
    const before = tensorStats(x, p, 1, kernels);
    const after = tensorStats(result.output, p, 1, kernels);
    const flags = healthFlags(x, p, result, before, after, run, (v, l, b, g) => kernels.sideStats(v, l, b, g));
    const report = { input: { shape: x.shape, dtype: x.dtype }, op: result.resolved, shape_report: result.shapeReport, checks, flags, warnings: result.warnings };
    out(f.json ? JSON.stringify(report) : formatAnalysis(input, { ...report, stats: undefined }));
    return checks.every((c) => c.pass) ? 0 : 3;
  }

  // normalize
  if (f.op === undefined) throw new NormScopeError('normalize: --op is required: one of batch, layer, group, instance, rms');
  const p = paramsFromFlags(f, readParam);
  const a = analyze(x, p, { bins, kernels });
  if (f.out) writeOutput(f.out, writeNpy(a.result.output));
  if (f['running-mean-out']) {
    if (!a.result.running_mean) throw new NormScopeError('--running-mean-out: only BatchNorm in train mode updates running statistics');
    writeOutput(f['running-mean-out'], writeNpy(a.result.running_mean));
  }
  if (f['running-var-out']) {
    if (!a.result.running_var) throw new NormScopeError('--running-var-out: only BatchNorm in train mode updates running statistics');
    writeOutput(f['running-var-out'], writeNpy(a.result.running_var));
  }
  if (f.report) writeOutput(f.report, new TextEncoder().encode(renderReport(input, a)));
  out(f.json ? JSON.stringify(toJson(a)) : formatAnalysis(input, a));
  return 0;
}

declare const NORMSCOPE_VERSION: string;
const VERSION = typeof NORMSCOPE_VERSION === 'string' ? NORMSCOPE_VERSION : 'dev';

if (require.main === module) {
  const argv = process.argv.slice(2);
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  void runStreamed(argv, out, err, process.stderr).then((code) => { process.exitCode = code ?? main(argv, out, err); });
}
