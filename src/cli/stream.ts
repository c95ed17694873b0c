/**
 * The CLI's file-handle path, tried before the in-memory one:
 * - `stats FILE` on a multi-tensor file (.npz, .safetensors) without `#name` lists its tensors (headers only);
 * - `stats` and `normalize` stream the input in chunks when `--budget-mb N` is given or the file is over
 *   STREAM_THRESHOLD: peak memory stays within the budget (default 512 MiB), whatever the file's size.
 * Everything else (JSON, `check`, small files) returns null and the in-memory path in main.ts runs as before.
 * Progress goes to stderr only when it is a terminal.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { type Analysis, wideAxisWarning } from '../engine/analyze';
import { itemSize } from '../engine/dtype';
import { NormScopeError, isNormScopeError } from '../engine/errors';
import { splitSelector } from '../engine/formats/input';
import { detectSourceFormat, isMultiTensor, listSource, openTensorSource } from '../engine/formats/open';
import { writeNpy } from '../engine/formats/npy';
import { TensorSource } from '../engine/formats/source';
import { StreamProgress, chunkElementsFor, streamNormalize, streamStats } from '../engine/streaming';
import { shapeOnly, tensor } from '../engine/tensor';
import { DEFAULT_BUDGET_MB, NpyFileWriter, STREAM_THRESHOLD, openFileSource, progressLine } from '../node/fileSource';
import { defaultThreads } from '../node/pool';
import { cliKernels } from './kernels';
import { FLAG_OPTIONS, FlagValues, paramsFromFlags, parseCount, parseNumber, threadsFromFlags } from './args';
import { cliWording, readParam, writeOutput } from './io';
import { formatListing, listingJson } from './listing';
import { renderReport } from './report';
import { formatAnalysis, formatStats } from './text';
import { statsJson, toJson } from './json';

function isFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Runs the command on the streamed path when it applies; returns the exit code, or null to let the
 * in-memory path handle it (unparsable flags, JSON files, small files, `check`).
 */
export async function runStreamed(
  argv: readonly string[], out: (s: string) => void, err: (s: string) => void, stderr?: NodeJS.WriteStream,
): Promise<number | null> {
  let f: FlagValues;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: [...argv], options: FLAG_OPTIONS, allowPositionals: true, strict: true });
    f = parsed.values as FlagValues;
    positionals = parsed.positionals;
  } catch {
    return null;
  }
  const [command, input, ...extra] = positionals;
  if (command === 'check' && f['budget-mb'] !== undefined && !f.help && !f.version) {
    err('normscope: check runs the equivalence checks on the whole tensor in memory: --budget-mb applies to stats and normalize');
    return 2;
  }
  if (f.help || f.version || (command !== 'stats' && command !== 'normalize') || input === undefined || extra.length) return null;
  const { path, selector } = splitSelector(input, isFile);
  if (!isFile(path)) return null;
  try {
    const budgetMB = f['budget-mb'] === undefined ? undefined : parseNumber('budget-mb', f['budget-mb']);
    if (budgetMB !== undefined && !(budgetMB > 0)) throw new NormScopeError(`--budget-mb: expected a positive number of MiB, got '${f['budget-mb']}'`);
    const bins = f.bins === undefined ? undefined : parseCount('bins', f.bins);
    if (bins !== undefined && (bins < 1 || bins > 10000)) throw new NormScopeError(`--bins: expected 1..10000, got ${bins}`);
    threadsFromFlags(f, defaultThreads()); // (validated before the file is opened)
    const file = await openFileSource(path);
    try {
      const inFile = async <T>(p: Promise<T>): Promise<T> => {
        try {
          return await p;
        } catch (e) {
          if (isNormScopeError(e)) throw new NormScopeError(`${path}: ${cliWording(e.message)}`);
          throw e;
        }
      };
      let format;
      try {
        format = await detectSourceFormat(path, file);
      } catch {
        return null; // the in-memory path words the refusal
      }
      if (format === 'json' || format === 'ipynb') return null; // text: read whole by main.ts
      if (command === 'stats' && isMultiTensor(format) && selector === undefined) {
        const listing = await inFile(listSource(path, file, { bfloat16V2: f['bfloat16-v2'] }));
        if (listing) {
          out(f.json ? JSON.stringify(listingJson(listing)) : formatListing(input, listing));
          return 0;
        }
      }
      if (budgetMB === undefined && file.size <= STREAM_THRESHOLD) return null;
      const budget = (budgetMB ?? DEFAULT_BUDGET_MB) * 2 ** 20;
      const src = await inFile(openTensorSource(path, file, selector, { bfloat16V2: f['bfloat16-v2'] }));
      const progress = stderr ? progressLine(stderr, `normscope: ${input}`, itemSize(src.dtype)) : undefined;
      const onProgress = progress ? (p: StreamProgress) => progress.update(p) : undefined;
      const layout = f.layout as 'nchw' | 'nhwc' | undefined;
      const streamed = (chunks: number, chunkElements: number, passes: number) =>
        ({ chunks, chunk_elements: chunkElements, passes, budget_mb: budget / 2 ** 20 });
      try {
        if (command === 'stats') {
          const chunkElements = chunkElementsFor(itemSize(src.dtype), budget);
          const kernels = cliKernels(threadsFromFlags(f, defaultThreads()));
          const { stats, info } = await inFile(streamStats(src, { chunkElements, bins, unbatched: f.unbatched, layout, onProgress, kernels }));
          progress?.done();
          const o = stats.overall;
          if (f.json) {
            out(JSON.stringify({ ...statsJson(src.shape, src.dtype, o), streamed: streamed(info.chunks, info.chunkElements, info.passes) }));
          } else {
            out(`${formatStats(input, shapeOnly(src), stats, wideAxisWarning(src.shape, { unbatched: f.unbatched, layout }))}\n  streamed in ${info.chunks} chunks of up to ${info.chunkElements} elements, ${info.passes} passes (budget ${budget / 2 ** 20} MiB)`);
          }
          return 0;
        }
        return await normalizeStreamed(input, src, f, budget, bins, onProgress, out, () => progress?.done(), streamed, inFile);
      } finally {
        progress?.done();
      }
    } finally {
      await file.close();
    }
  } catch (e) {
    if (isNormScopeError(e)) {
      err(`normscope: ${e.message.replace(/\s*\n\s*/g, ' ')}`);
      return 2;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      err(`normscope: cannot read ${path}: ${(e as Error).message}`);
      return 2;
    }
    err(`normscope: internal error (a bug, please report it): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  }
}

async function normalizeStreamed(
  input: string, src: TensorSource, f: FlagValues, budget: number, bins: number | undefined,
  onProgress: ((p: StreamProgress) => void) | undefined, out: (s: string) => void, clearProgress: () => void,
  streamed: (chunks: number, chunkElements: number, passes: number) => object,
  inFile: <T>(p: Promise<T>) => Promise<T>,
): Promise<number> {
  if (f.op === undefined) throw new NormScopeError('normalize: --op is required: one of batch, layer, group, instance, rms');
  const p = paramsFromFlags(f, readParam);
  for (const flag of ['running-mean-out', 'running-var-out'] as const) {
    if (f[flag] && !(p.op === 'batch' && (p.mode ?? 'train') === 'train')) {
      throw new NormScopeError(`--${flag}: only BatchNorm in train mode updates running statistics`);
    }
  }
  const outDType = src.dtype === 'float64' ? 'float64' : 'float32';
  // statistics, op output and its float64 view: about 16 bytes per element beyond the stored chunk
  const chunkElements = chunkElementsFor(itemSize(src.dtype), budget, 16);
  // The output file is created when the first chunk is ready (after every check), and removed on failure.
  let writer: NpyFileWriter | undefined;
  const write = async (y: Float32Array | Float64Array) => {
    if (!f.out) return;
    if (!writer) {
      try {
        writer = await NpyFileWriter.create(f.out, outDType, src.shape);
      } catch (e) {
        throw new NormScopeError(`cannot write ${f.out}: ${(e as Error).message}`);
      }
    }
    await writer.write(y);
  };
  let r;
  try {
    r = await inFile(streamNormalize(src, p, write, { chunkElements, bins, onProgress, kernels: cliKernels(threadsFromFlags(f, defaultThreads())) }));
    await writer?.close();
  } catch (e) {
    if (writer) {
      await writer.close().catch(() => undefined);
      await fs.promises.rm(f.out as string, { force: true });
    }
    throw e;
  }
  clearProgress();
  const C = r.running_mean?.length ?? 0;
  const vec = (v: Float64Array) => tensor(outDType, [C], outDType === 'float64' ? v : Float32Array.from(v));
  if (f['running-mean-out']) {
    if (!r.running_mean) throw new NormScopeError('--running-mean-out: only BatchNorm in train mode updates running statistics');
    writeOutput(f['running-mean-out'], writeNpy(vec(r.running_mean)));
  }
  if (f['running-var-out']) {
    if (!r.running_var) throw new NormScopeError('--running-var-out: only BatchNorm in train mode updates running statistics');
    writeOutput(f['running-var-out'], writeNpy(vec(r.running_var)));
  }
  const note = `streamed in chunks of whole samples within a ${budget / 2 ** 20} MiB budget: equivalence checks and health flags need the whole tensor and were skipped`;
  const analysis: Analysis = {
    input: { shape: [...src.shape], dtype: src.dtype },
    op: r.resolved,
    shape_report: r.shape_report,
    stats: { before: r.before, after: r.after },
    checks: [],
    flags: [],
    warnings: [...r.warnings, note],
    result: {
      output: shapeOnly(src), resolved: r.resolved, warnings: r.warnings, shapeReport: r.shape_report,
      running_mean: r.running_mean ? vec(r.running_mean) : undefined,
      running_var: r.running_var ? vec(r.running_var) : undefined,
      num_batches_tracked: r.num_batches_tracked,
    },
  };
  if (f.report) writeOutput(f.report, new TextEncoder().encode(renderReport(input, analysis)));
  out(f.json ? JSON.stringify({ ...toJson(analysis), streamed: streamed(r.info.chunks, r.info.chunkElements, r.info.passes) }) : formatAnalysis(input, analysis));
  return 0;
}
