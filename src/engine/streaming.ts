/**
 * Statistics and normalizations of tensors read in chunks (files larger than memory), over a TensorSource.
 *
 * - `streamStats`: per-channel/group/overall statistics and histograms in two passes (moments, then counts),
 *   memory O(chunk + channels x bins). Fortran-order files are read in storage order: the channel layout is
 *   taken on the reversed shape, which is what storage order is.
 * - `streamNormalize`: ops whose statistics live inside one sample run chunk by chunk, a whole number of samples
 *   per chunk: LayerNorm/RMSNorm over non-batch dims, GroupNorm, InstanceNorm, BatchNorm eval. BatchNorm train
 *   needs statistics over the whole batch: a first pass merges per-channel moments across chunks (Chan), a
 *   second normalizes each chunk with them. LayerNorm/RMSNorm over every dim (batch included) would need the
 *   whole tensor's statistics too; they are refused with a message saying so. The output is produced chunk by
 *   chunk for the caller to write (e.g. as .npy data after `npyHeader`); nothing is read back. Passes over
 *   the file:
 *   - BatchNorm (train or eval): the input's moments (skipped when given: `before`), then one pass that counts
 *     the input's histograms, runs the op, takes the output's moments and counts its histograms: each output
 *     channel is a monotone affine map of its input channel, so the output's extremes (hence the histogram
 *     edges) follow from the input's before the op runs (`affineEdges`). The edges are checked once the
 *     output's moments are complete; where they differ (a zero's sign at an extreme, say) a third pass counts again.
 *     2 passes, 1 given the input's statistics.
 *   - The other ops: the input's moments with the op and the output's moments, then the input's histograms with
 *     the op again for the output's histograms (their edges need the output's min and max). 2 passes, given or
 *     not (given: the input's statistics are not taken again).
 * - With `kernels` (streamKernels.ts), float32 chunks are read into the WebAssembly memory and their per-chunk
 *   statistics run on the stats kernels (the TypeScript passes otherwise): same counts, extremes, edges and
 *   histograms, moments to float64 rounding. `onRunning` gives the moments merged so far, throttled, so a
 *   picture refines chunk by chunk within a pass.
 */
import { channelAxis, groupRanges } from './analyze';
import { NormScopeError } from './errors';
import { normalize, planOf } from './ops';
import { NormOutput, NormParams, ResolvedParams, ShapeReport } from './params';
import { ChannelLayout, DEFAULT_BINS, MAX_STAT_CHANNELS, SideStats, channelLayout, histogramEdges } from './stats';
import { Moments, StreamingStats } from './streamStats';
import type { ChunkKernels } from './streamKernels';
import type { Kernels } from './kernels';
import { allocStorage } from './dtype';
import { Tensor, shapeOnly, tensor, toComputeArray } from './tensor';
import { TensorSource, computeValues } from './formats/source';

/** Progress of a streamed job: `done` of `total` element-reads over all of its passes. */
export interface StreamProgress {
  readonly pass: number;
  readonly passes: number;
  readonly done: number;
  readonly total: number;
}

export interface StreamOptions {
  /** Elements per chunk (what the memory budget allows; see `chunkElementsFor`). */
  readonly chunkElements: number;
  readonly bins?: number;
  /** Channels as the ops define them (default NCHW: axis 1). */
  readonly unbatched?: boolean;
  readonly layout?: 'nchw' | 'nhwc';
  /** Channel ranges of groups (e.g. GroupNorm's) to summarize too. */
  readonly groups?: readonly (readonly [number, number])[];
  readonly onProgress?: (p: StreamProgress) => void;
  /**
   * Called once, right after the first chunk: statistics and histograms of that chunk alone (its own edges),
   * `elements` long: a first picture of a big file within one chunk's read, refined by `onMoments` and the result.
   */
  readonly onPreview?: (s: SideStats, elements: number) => void;
  /**
   * Called once pass 1 is done with the moments (histograms still empty): a first picture to refine. In
   * `streamNormalize`: the output's moments, once every chunk has been normalized (BatchNorm's histograms may
   * be counted already).
   */
  readonly onMoments?: (s: SideStats) => void;
  /**
   * The kernels: a `Kernels` (kernels.ts) runs `streamNormalize`'s op, gets each output chunk back once used and
   * gives its `chunks`; or the per-chunk statistics kernels alone (ChunkKernels), with `normalize` and `release`
   * given below. Float32 chunks are read into the chunk kernels' memory and their per-chunk statistics run
   * there (streamKernels.ts); TypeScript otherwise. Same results either way (moments to float64 rounding).
   */
  readonly kernels?: Kernels | ChunkKernels;
  /** The op runner for `streamNormalize` (default: `kernels.normalize`, else the TypeScript `normalize`). */
  readonly normalize?: (x: Tensor, p: NormParams) => NormOutput;
  /** Called with each chunk's output once it has been used (default: `kernels.release`, when a `Kernels`). */
  readonly release?: (out: Tensor) => void;
  /**
   * Called during pass 1 (of `streamStats`; of `streamNormalize`, for the output) at most every
   * `runningEveryMs` (default 250) with the moments merged so far (histograms empty) and how many elements
   * they cover: a picture that refines chunk by chunk. Not called after the last chunk (`onMoments` is).
   */
  readonly onRunning?: (s: SideStats, elements: number) => void;
  readonly runningEveryMs?: number;
  /**
   * `streamNormalize` only: the input's statistics, already streamed (by `streamStats` with the same layout,
   * groups and bins). Its pass over the input for them is skipped; `moments` (per channel, unrounded) give
   * BatchNorm's batch statistics in train mode.
   */
  readonly before?: { readonly stats: SideStats; readonly moments: readonly Moments[] };
}

/** Pass 1 of `acc` over a chunk, on the kernels when they take it. */
export function addMoments(acc: StreamingStats, v: Float32Array | Float64Array, start: number, k?: ChunkKernels): void {
  if (!k?.addMoments(acc, v, start)) acc.addMoments(v, start);
}

/** Pass 2 of `acc` over a chunk, on the kernels when they take it. */
export function addHistogram(acc: StreamingStats, v: Float32Array | Float64Array, start: number, k?: ChunkKernels): void {
  if (!k?.addHistogram(acc, v, start)) acc.addHistogram(v, start);
}

/** The complete statistics (moments and histograms) of one chunk on its own: the first picture of a streamed side. */
export function chunkPicture(
  layout: ChannelLayout, bins: number, groups: readonly (readonly [number, number])[], v: Float32Array | Float64Array, k?: ChunkKernels,
): SideStats {
  const first = new StreamingStats(layout, bins, groups);
  addMoments(first, v, 0, k);
  addHistogram(first, v, 0, k);
  return first.result();
}

/** Calls `onRunning` with `acc`'s moments at most every `runningEveryMs`, never for the last chunk. */
function runningReporter(opts: StreamOptions, acc: StreamingStats, total: number): (done: number) => void {
  const every = opts.runningEveryMs ?? 250;
  let last = Date.now();
  return (done) => {
    if (!opts.onRunning || done >= total) return;
    const now = Date.now();
    if (now - last < every) return;
    last = now;
    opts.onRunning(acc.result(), done);
  };
}

/** What a streamed job did, for tests and benchmarks. */
export interface StreamInfo {
  /** Chunks read per pass over the input. */
  readonly chunks: number;
  readonly chunkElements: number;
  readonly passes: number;
}

/**
 * Elements per chunk for a memory budget: half the budget (at most 96 MiB of it) is left to the runtime itself;
 * the rest holds a chunk's bytes as stored plus `decodedBytes` per element of values decoded or computed from
 * them, twice over (a chunk being read while the previous one's results are still referenced). At least one.
 */
export function chunkElementsFor(itemBytes: number, budgetBytes: number, decodedBytes = 8): number {
  const reserve = Math.min(96 * 2 ** 20, budgetBytes / 2);
  return Math.max(1, Math.floor((budgetBytes - reserve) / (2 * (itemBytes + decodedBytes))));
}

/** The channel layout of a source's storage order. */
export function sourceLayout(src: Pick<TensorSource, 'shape' | 'fortranOrder'>, p: { unbatched?: boolean; layout?: 'nchw' | 'nhwc' }): ChannelLayout {
  const axis = channelAxis(src.shape, p);
  if (!src.fortranOrder || src.shape.length < 2) return channelLayout(src.shape, axis);
  const rank = src.shape.length;
  return channelLayout([...src.shape].reverse(), axis < 0 ? -1 : rank - 1 - axis);
}

/** Calls `fn` on consecutive chunks of `src` (storage order) of at most `chunk` elements; returns the count. */
export async function forEachChunk(
  src: TensorSource,
  chunk: number,
  fn: (values: Float32Array | Float64Array, start: number, raw: Tensor) => void | Promise<void>,
  kernels?: ChunkKernels,
): Promise<number> {
  if (!(chunk >= 1)) throw new RangeError(`chunk must be at least one element, got ${chunk}`);
  let chunks = 0;
  // two chunk buffers, allocated once: one being computed on, one being read into
  const size = Math.min(chunk, src.count);
  // float32 chunks are read into the stats kernels' memory, when given and it has room (read there in place)
  const shared = kernels && src.dtype === 'float32' && size > 0 ? [kernels.allocFloat32(size), src.concurrent ? kernels.allocFloat32(size) : null] : [];
  const inShared = shared.length > 0 && shared[0] !== null && (!src.concurrent || shared[1] !== null);
  if (!inShared) for (const b of shared) if (b) kernels?.release(b);
  const buffers = inShared ? shared : [allocStorage(src.dtype, size), src.concurrent ? allocStorage(src.dtype, size) : null];
  const decoded = src.dtype === 'float32' || src.dtype === 'float64' ? undefined : new Float64Array(size);
  let turn = 0;
  const read = (start: number) => {
    const into = buffers[turn] ?? buffers[0] ?? undefined;
    turn = src.concurrent ? 1 - turn : 0;
    return src.readStorage(start, Math.min(chunk, src.count - start), into);
  };
  // the next chunk is read while this one is computed on, when the source allows overlapping reads
  let next = src.count > 0 ? read(0) : null;
  try {
    for (let start = 0; next; start += chunk) {
      const raw = await next;
      next = start + chunk < src.count ? (src.concurrent ? read(start + chunk) : null) : null;
      await fn(computeValues(src.dtype, raw, decoded), start, tensor(src.dtype, [raw.length], raw));
      chunks++;
      if (!next && !src.concurrent && start + chunk < src.count) next = read(start + chunk);
    }
  } finally {
    // a read still in flight (the loop stopped early) must land before its buffer goes back
    if (next) await next.catch(() => undefined);
    if (inShared) for (const b of buffers) if (b) kernels?.release(b as Float32Array);
  }
  return chunks;
}

/** Per-channel, per-group and overall statistics of a source, as `tensorStats`/`sideStats` give in memory. */
export async function streamStats(
  src: TensorSource, opts: StreamOptions,
): Promise<{ stats: SideStats; moments: Moments[]; info: StreamInfo }> {
  const acc = new StreamingStats(sourceLayout(src, opts), opts.bins ?? DEFAULT_BINS, opts.groups ?? []);
  const total = 2 * src.count;
  const k = streamKernels(opts).chunks;
  const report = (pass: number, done: number) => opts.onProgress?.({ pass, passes: 2, done, total });
  const running = runningReporter(opts, acc, src.count);
  const chunks = await forEachChunk(src, opts.chunkElements, (v, start) => {
    if (start === 0 && opts.onPreview) opts.onPreview(chunkPicture(acc.layout, acc.bins, acc.groups, v, k), v.length);
    addMoments(acc, v, start, k);
    report(1, start + v.length);
    running(start + v.length);
  }, k);
  opts.onMoments?.(acc.result());
  await forEachChunk(src, opts.chunkElements, (v, start) => {
    addHistogram(acc, v, start, k);
    report(2, src.count + start + v.length);
  }, k);
  return { stats: acc.result(), moments: acc.channelMoments(), info: { chunks, chunkElements: opts.chunkElements, passes: 2 } };
}

/**
 * Passes over the file `streamNormalize` plans for `p`, given the input's statistics or not (see the file
 * comment; BatchNorm adds one where its predicted histogram edges do not hold).
 */
export function streamNormalizePasses(p: Pick<NormParams, 'op'>, given: boolean): number {
  return p.op === 'batch' && given ? 1 : 2;
}

/** The result of a streamed normalization (the output went to `write`). */
export interface StreamedNormalize {
  readonly resolved: ResolvedParams;
  readonly shape_report: ShapeReport;
  readonly warnings: readonly string[];
  /** Input statistics, complete (moments and histograms). */
  readonly before: SideStats;
  /** Output statistics, complete: moments as chunks were produced, histograms from running the op again. */
  readonly after: SideStats;
  readonly outDType: 'float32' | 'float64';
  readonly running_mean?: Float64Array;
  readonly running_var?: Float64Array;
  readonly num_batches_tracked?: number;
  readonly info: StreamInfo;
}

/**
 * Normalizes a source chunk by chunk (whole samples per chunk) and hands each output chunk, C-order, to
 * `write`. See the file comment for which ops stream and how.
 */
export async function streamNormalize(
  src: TensorSource,
  p: NormParams,
  write: (out: Float32Array | Float64Array) => Promise<void>,
  opts: StreamOptions,
): Promise<StreamedNormalize> {
  const plan = planOf(shapeOnly(src), p);
  const r = plan.resolved;
  if (src.fortranOrder && src.shape.length > 1) {
    throw new NormScopeError('streamed ops need C-order data: this file is in Fortran order (statistics still stream)');
  }
  if (r.unbatched || src.shape.length < 2) {
    throw new NormScopeError('streamed ops need a batch axis to split the work by samples (N, C, *): this input has none');
  }
  if ((r.op === 'layer' || r.op === 'rms') && plan.report.normalized_axes.includes(0)) {
    throw new NormScopeError(`${r.op === 'layer' ? 'LayerNorm' : 'RMSNorm'} over every dim needs statistics of the whole tensor at once: it is not streamed; normalize over the non-batch dims, or load the tensor whole`);
  }
  const N = src.shape[0];
  const sample = N ? src.count / N : 0;
  const perChunk = Math.floor(opts.chunkElements / Math.max(1, sample));
  if (perChunk < 1) {
    throw new NormScopeError(`one sample holds ${sample} elements, more than the ${opts.chunkElements} a chunk may hold within the memory budget: raise the budget`);
  }
  const layout = sourceLayout(src, r);
  const channelAt = channelAxis(src.shape, r);
  if (r.op === 'batch' && r.mode === 'train' && channelAt >= 0 && src.shape[channelAt] !== layout.channels) {
    // its batch statistics are the per-channel moments of pass 1, which a wide axis takes of the whole tensor
    throw new NormScopeError(`BatchNorm in train mode on a streamed file takes its batch statistics channel by channel, and axis ${channelAt} has ${src.shape[channelAt].toLocaleString('en-US')} channels, more than the ${MAX_STAT_CHANNELS.toLocaleString('en-US')} NormScope takes statistics of one by one: use eval mode, or load the tensor whole (raise the budget)`);
  }
  const groups = opts.groups ?? groupRanges(layout.channels, p);
  const bins = opts.bins ?? DEFAULT_BINS;
  const before = new StreamingStats(layout, bins, groups);
  const after = new StreamingStats(layout, bins, groups);
  const chunkElements = perChunk * sample;
  const train = r.op === 'batch' && r.mode === 'train';
  const { chunks: k, normalize: run, release } = streamKernels(opts);
  const given = opts.before;
  if (given && given.moments.length !== layout.channels) {
    throw new RangeError(`input statistics of ${given.moments.length} channels for a layout of ${layout.channels}`);
  }
  // BatchNorm maps each channel affinely: its output histograms' edges follow from the input's extremes, so they
  // are counted in the op's pass. The other ops run in the input's first pass (their statistics live in the
  // chunk) and again in the second for the output histograms.
  const affine = r.op === 'batch';
  const opFirst = !given && !affine;
  let passes = streamNormalizePasses(r, given !== undefined);
  let total = passes * src.count;
  const report = (pass: number, done: number) => opts.onProgress?.({ pass, passes, done, total });
  const chunkShape = (n: number) => [n / sample, ...src.shape.slice(1)];
  const runningAfter = runningReporter(opts, after, src.count);
  let stepParams: NormParams = p;
  /** Whether the output histograms are being counted over assumed edges (in the op's pass). */
  let assumed = false;
  /** The op on a chunk: the output's moments (and histograms while the assumed edges hold), then `write`. */
  const opPass = async (v: Float32Array | Float64Array, start: number, raw: Tensor): Promise<void> => {
    const out = run(tensor(src.dtype, chunkShape(v.length), raw.data), stepParams).output;
    const y = toComputeArray(out);
    addMoments(after, y, start, k);
    if (assumed) assumed = after.withinAssumedEdges();
    if (assumed) addHistogram(after, y, start, k);
    await write(y);
    release?.(out);
    runningAfter(start + v.length);
  };

  // Pass 1: input moments (for BatchNorm: its batch statistics and extremes), unless the caller has them;
  // the other ops run here too.
  let chunks = 0;
  if (given) before.seedMoments(given.moments);
  else {
    chunks = await forEachChunk(src, chunkElements, async (v, start, raw) => {
      addMoments(before, v, start, k);
      if (opFirst) await opPass(v, start, raw);
      report(1, start + v.length);
    }, k);
  }
  let pass = given ? 0 : 1;
  let running: Pick<StreamedNormalize, 'running_mean' | 'running_var' | 'num_batches_tracked'> = {};
  if (train) {
    const ch = before.channelMoments();
    if (ch.length && ch[0].count <= 1) throw new NormScopeError(`Expected more than 1 value per channel when training, got input size [${src.shape.join(', ')}]`);
    const { mean, variance, unbiased } = batchMoments(ch);
    const C = ch.length;
    const vec = (v: Float64Array) => tensor('float64', [C], v);
    const nbt = (r.num_batches_tracked ?? 0) + 1;
    const f = r.momentum === null || r.momentum === undefined ? 1 / nbt : r.momentum;
    const rm = p.running_mean ? toComputeArray(p.running_mean) : null;
    const rv = p.running_var ? toComputeArray(p.running_var) : null;
    const newMean = new Float64Array(C), newVar = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const m0 = rm ? rm[c] : 0, v0 = rv ? rv[c] : 1;
      if (ch[c].count === 0) { newMean[c] = m0; newVar[c] = v0; continue; }
      newMean[c] = (1 - f) * m0 + f * mean[c];
      newVar[c] = (1 - f) * v0 + f * unbiased[c];
    }
    running = { running_mean: newMean, running_var: newVar, num_batches_tracked: nbt };
    stepParams = { ...p, mode: 'eval', running_mean: vec(mean), running_var: vec(variance) };
  }
  if (!opFirst) {
    // The op's pass: input histograms (unless given), the op on each chunk of whole samples, the output's moments,
    // and for BatchNorm its histograms over the edges its input's extremes predict.
    const edges = affine ? affineEdges(src, r, layout, before.channelMoments(), bins, (x) => {
      const out = run(x, stepParams).output;
      const y = Float64Array.from(toComputeArray(out));
      release?.(out);
      return y;
    }) : null;
    if (edges) { after.assumeEdges(edges); assumed = true; }
    const p0 = pass++;
    const n = await forEachChunk(src, chunkElements, async (v, start, raw) => {
      if (!given) addHistogram(before, v, start, k);
      await opPass(v, start, raw);
      report(p0 + 1, p0 * src.count + start + v.length);
    }, k);
    if (!chunks) chunks = n;
  }
  opts.onMoments?.(after.result());
  const counted = affine && after.settleEdges(assumed);
  if (!counted) {
    // Last pass: the op again, for the output histograms over the edges the output's min and max fixed (and the
    // input's histograms when the op ran in pass 1).
    if (affine) { passes++; total += src.count; }
    const p0 = pass++;
    await forEachChunk(src, chunkElements, (v, start, raw) => {
      if (opFirst) addHistogram(before, v, start, k);
      const out = run(tensor(src.dtype, chunkShape(v.length), raw.data), stepParams).output;
      addHistogram(after, toComputeArray(out), start, k);
      release?.(out);
      report(p0 + 1, p0 * src.count + start + v.length);
    }, k);
  }
  return {
    resolved: r, shape_report: plan.report, warnings: plan.warnings, before: given ? given.stats : before.result(), after: after.result(),
    outDType: plan.outDType, ...running, info: { chunks, chunkElements, passes },
  };
}

/**
 * BatchNorm's output histogram edges from its input's per-channel extremes: each output channel is a monotone
 * map of its input channel (x - shift) * scale + bias, rounded, so its extremes are the images of the input's.
 * `op` runs the op (eval, with the batch statistics in train mode) on a tensor of two samples holding each
 * channel's min and max, which the op maps exactly as in the file. null when that cannot be exact: values
 * float32 cannot hold (the op would see other dtypes' values through another path), or an image that is not
 * finite (overflow, NaN parameters). The streamed pass checks the prediction all the same (`settleEdges`).
 */
function affineEdges(
  src: TensorSource, r: ResolvedParams, layout: ChannelLayout, ch: readonly Moments[], bins: number,
  op: (x: Tensor) => ArrayLike<number>,
): number[] | null {
  const C = layout.channels;
  const f64 = src.dtype === 'float64';
  const ext = f64 ? new Float64Array(2 * C) : new Float32Array(2 * C);
  for (let c = 0; c < C; c++) {
    const m = ch[c];
    ext[c] = m.finite ? m.min : 0;
    ext[C + c] = m.finite ? m.max : 0;
    if (m.finite && !f64 && (ext[c] !== m.min || ext[C + c] !== m.max)) return null;
  }
  // (2, C, 1, ...) or channels last (2, 1, ..., C): sample 0 holds the minima, sample 1 the maxima
  const channelAt = channelAxis(src.shape, r);
  if (channelAt < 0 || src.shape[channelAt] !== C) return null; // statistics of the whole tensor (a wide axis)
  const shape = src.shape.map((d, i) => (i === 0 ? 2 : i === channelAt ? d : 1));
  const y = op(tensor(f64 ? 'float64' : 'float32', shape, ext));
  let lo = Infinity, hi = -Infinity;
  for (let c = 0; c < C; c++) {
    if (!ch[c].finite) continue;
    const a = y[c], b = y[C + c];
    if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
    const [min, max] = a <= b ? [a, b] : [b, a];
    if (min < lo) lo = min;
    if (max > hi) hi = max;
  }
  return histogramEdges(lo, hi, bins);
}

/** The op runner, memory release and per-chunk statistics kernels the streamed passes use (see StreamOptions). */
function streamKernels(opts: StreamOptions): { chunks?: ChunkKernels; normalize: (x: Tensor, p: NormParams) => NormOutput; release?: (out: Tensor) => void } {
  const k = opts.kernels;
  if (k && isKernels(k)) {
    return { chunks: k.chunks, normalize: opts.normalize ?? ((x, q) => k.normalize(x, q)), release: opts.release ?? ((t) => k.release(t)) };
  }
  return { chunks: k, normalize: opts.normalize ?? normalize, release: opts.release };
}

function isKernels(k: ChunkKernels | Kernels): k is Kernels {
  return typeof (k as Kernels).normalize === 'function';
}

/** Per-channel batch mean, biased and unbiased variance; NaN for channels holding NaN or Inf, as PyTorch gives. */
function batchMoments(ch: readonly Moments[]): { mean: Float64Array; variance: Float64Array; unbiased: Float64Array } {
  const C = ch.length;
  const mean = new Float64Array(C), variance = new Float64Array(C), unbiased = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const m = ch[c];
    if (m.nan || m.inf) { mean[c] = variance[c] = unbiased[c] = NaN; continue; }
    mean[c] = m.mean;
    variance[c] = m.count ? m.m2 / m.count : 0;
    unbiased[c] = m.count > 1 ? m.m2 / (m.count - 1) : NaN;
  }
  return { mean, variance, unbiased };
}
