/**
 * What the engine worker does, without the thread: holds one tensor and answers load/analyze/checks/npy
 * requests. Engine plus Node file handles, so unit tests drive it directly; worker.ts wires it to a thread.
 *
 * Phase 1 (`analyze`) is analyze() minus the checks and flags: normalize, then statistics before and after.
 * The "before" statistics depend only on the channel layout, groups and bins, so parameter changes reuse them.
 * Phase 2 (`checks`) adds what analyze() computes last: the equivalence checks and the health flags.
 *
 * Streamed tensors (`load` with a `path`: files too large to hold, opened here with a Node file handle) are
 * never held: `analyze` reads them in chunks within the memory budget - "before" with streamStats (a preview
 * of the first chunk, the moments after pass 1, then exact histograms), "after" with streamNormalize (its
 * output chunks give the same two first pictures) - and reports each stage as a `partial` event through
 * `handleAsync`'s `emit`. Checks and flags need the whole tensor and are refused; `npy` writes to a path.
 */
import { rm } from 'node:fs/promises';
import { channelAxis, groupRanges, withWideAxisNote } from '../engine/analyze';
import { DType, itemSize } from '../engine/dtype';
import { equivalenceChecks, healthFlags } from '../engine/checks';
import { isNormScopeError, NormScopeError } from '../engine/errors';
import { listJsonTensors, decodeJsonText } from '../engine/formats/json';
import { loadTensor, detectFormat } from '../engine/formats/input';
import { detectSourceFormat, isMultiTensor, listSource, listTensors, openTensorSource } from '../engine/formats/open';
import type { TensorSource } from '../engine/formats/source';
import { parseLiteral } from '../engine/formats/literal';
import { npyHeader, writeNpy } from '../engine/formats/npy';
import { planOf } from '../engine/ops';
import type { NormOutput, NormParams } from '../engine/params';
import { channelLayout, SideStats } from '../engine/stats';
import { Kernels, tsKernels } from '../engine/kernels';
import type { Moments } from '../engine/streamStats';
import { chunkElementsFor, chunkPicture, sourceLayout, StreamProgress, streamNormalize, streamNormalizePasses, streamStats } from '../engine/streaming';
import { isContiguous, numel, shapeOnly, storageTensor, tensor, Tensor, toComputeArray } from '../engine/tensor';
import { DEFAULT_BUDGET_MB, FileByteSource, NpyFileWriter, openFileSource } from '../node/fileSource';
import { PARAM_TENSOR_NAMES } from '../protocol/messages';
import type { AnalysisView, PanelParams, ParamSourceView, ParamTensorName, PartialNote } from '../protocol/messages';
import { bytesText, checkView, flagView, paramChoices, paramSourceView, runningView, toNormParams } from './panelModel';
import type {
  ListRequest, LoadRequest, NpyRequest, ParamFile, ParamFiles, TensorChoice, WorkerEvent, WorkerReply, WorkerRequest,
} from './workerMessages';

/** Text files (.json, .ipynb) given by path are read whole up to this many bytes (a typed array's limit). */
const MAX_WHOLE_BYTES = 2 ** 31 - 1;
/**
 * Elements per chunk of the statistics passes at most (16 MiB of float32), whatever the budget: the first
 * picture comes after one chunk, so a smaller first chunk shows sooner; larger chunks are no faster.
 */
const STATS_CHUNK_MAX = 2 ** 22;
/** Progress events at most this often (ms), besides the first and the last. */
const PROGRESS_EVERY_MS = 100;

/** A tensor read in chunks from a file this session has open. */
interface Streamed {
  readonly file: FileByteSource;
  readonly src: TensorSource;
  readonly budgetMB: number;
}

/**
 * The kernels a session runs on (engine/kernels.ts): the TypeScript kernels by default; the worker passes its
 * ParallelKernels (the WebAssembly kernels across threads).
 */
export type SessionKernels = Kernels;

/** Parameter tensors by name (read from PanelParams.sources). */
type ParamTensors = Partial<Record<ParamTensorName, Tensor>>;

/** A parameter tensor opened: its shape and dtype are known, its values are read on demand. */
interface OpenedParam {
  readonly name: ParamTensorName;
  readonly file: ParamFile;
  readonly shape: readonly number[];
  readonly dtype: DType;
  read(): Tensor | Promise<Tensor>;
}

interface Last {
  readonly params: NormParams;
  readonly out: NormOutput;
  readonly before: SideStats;
  readonly after: SideStats;
}

export class EngineSession {
  private x: Tensor | undefined;
  private last: Last | undefined;
  /** The input's statistics per layout/groups/bins (streamed: with the channels' unrounded moments). */
  private beforeCache: { key: string; stats: SideStats; moments?: Moments[]; layoutKey?: string } | undefined;
  private streamed: Streamed | undefined;
  /** The last streamed run that completed (what `npy` writes). */
  private streamedLast: { params: NormParams; outDType: 'float32' | 'float64' } | undefined;
  /** The parameter tensors of the last run, by ParamFile.key (a file read again only when it changed). */
  private paramCache = new Map<string, Tensor>();

  private readonly runOp: (x: Tensor, p: NormParams) => NormOutput;

  /** `kernels` run the ops and statistics: the TypeScript kernels by default; the worker passes its ParallelKernels. */
  constructor(private readonly kernels: SessionKernels = tsKernels) {
    this.runOp = (x, p) => kernels.normalize(x, p);
  }

  /** Streamed work with an id up to this stops at its next chunk (see `abort`). */
  private abortedUpTo = 0;

  /** Stops streamed work with ids up to `upTo` at its next chunk; called as the message arrives, not queued. */
  abort(upTo: number): void {
    this.abortedUpTo = Math.max(this.abortedUpTo, upTo);
  }

  /** True while the loaded tensor is streamed from a file (not held). */
  get isStreamed(): boolean {
    return this.streamed !== undefined;
  }

  /** Answers one request held in memory; never throws (errors become `ok: false` replies). */
  handle(req: WorkerRequest): WorkerReply {
    try {
      if (req.kind === 'list') return this.listed(req.id, this.list(req.name, req.bytes ?? new Uint8Array(0)));
      if (req.kind === 'analyze' && req.tensors) {
        const opened = this.openParams(req.tensors, (f) => {
          throw new Error(`${f.label} is read by path: use handleAsync`);
        });
        return this.run(req, this.readParamsSync(this.tensor(), req.params, opened));
      }
      return this.run(req);
    } catch (e) {
      return failure(req.id, e);
    }
  }

  /**
   * Answers any request, streamed ones included: `emit` receives the progress and first pictures of streamed
   * work before the reply. Never throws.
   */
  async handleAsync(req: WorkerRequest, emit: (e: WorkerEvent) => void = () => undefined): Promise<WorkerReply> {
    try {
      if (req.kind === 'load') {
        await this.closeStream();
        if (req.path !== undefined) return await this.loadStreamed(req);
        return this.run(req);
      }
      if (req.kind === 'abort') {
        this.abort(req.upTo);
        return { id: req.id, ok: false, user: true, message: 'aborted' };
      }
      if (req.kind === 'list') return await this.listFile(req);
      const st = this.streamed;
      if (!st) {
        if (req.kind === 'analyze' && req.tensors) return this.run(req, await this.paramTensors(req.tensors, this.tensor(), req.params));
        return this.run(req);
      }
      // queued behind work that was aborted with it (e.g. quick parameter changes): not a chunk read for it
      if (req.id <= this.abortedUpTo) return { id: req.id, ok: false, user: true, message: 'aborted' };
      switch (req.kind) {
        case 'analyze': {
          const tensors = req.tensors ? await this.paramTensors(req.tensors, shapeOnly(st.src), req.params) : {};
          return { id: req.id, ok: true, kind: 'analyzed', view: await this.analyzeStreamed(st, req.params, req.bins, req.id, emit, tensors, sourceViews(req.tensors, tensors)) };
        }
        case 'checks': throw new NormScopeError('equivalence checks and health flags need the whole tensor in memory: this file is streamed in chunks');
        case 'npy': return await this.npyStreamed(st, req, emit);
        default: {
          const never: never = req;
          throw new Error(`unknown worker request ${JSON.stringify(never)}`);
        }
      }
    } catch (e) {
      return failure(req.id, e);
    }
  }

  /** Closes the streamed file, if any. */
  async closeStream(): Promise<void> {
    const st = this.streamed;
    this.streamed = undefined;
    this.streamedLast = undefined;
    this.beforeCache = undefined;
    if (st) await st.file.close().catch(() => undefined);
  }

  private run(req: WorkerRequest, tensors: ParamTensors = {}): WorkerReply {
    switch (req.kind) {
      case 'load': {
        if (this.streamed) void this.closeStream();
        if (this.x) this.kernels.release(this.x);
        this.x = undefined;
        this.last = undefined;
        this.beforeCache = undefined;
        let x: Tensor;
        if (req.literal !== undefined) {
          x = parseLiteral(req.literal).tensor;
        } else {
          const bytes = req.bytes ?? new Uint8Array(0);
          let selector = req.selector;
          if (req.listIfSeveral && selector === undefined) {
            const { tensors, metadata } = this.list(req.name, bytes);
            if (tensors.length > 1) return { id: req.id, ok: true, kind: 'several', tensors, ...(metadata && { metadata }) };
            if (tensors.length === 1 && tensors[0].selector !== '') selector = tensors[0].selector;
          }
          x = loadTensor(req.name, bytes, selector);
        }
        this.x = this.shared(x);
        return {
          id: req.id, ok: true, kind: 'loaded',
          info: { label: req.label, shape: [...x.shape], dtype: x.dtype, numel: numel(x.shape) },
          choices: paramChoices(x.shape),
        };
      }
      case 'analyze': {
        const x = this.tensor();
        const t0 = Date.now();
        const p = toNormParams(x, req.params, tensors);
        const layout = channelLayout(x.shape, channelAxis(x.shape, p));
        const groups = groupRanges(layout.channels, p);
        const key = JSON.stringify([layout, groups, req.bins]);
        const hit = this.beforeCache?.key === key;
        // the op with the output's statistics (and the input's when not cached) from the fused kernels
        const out = this.kernels.normalizeWithStats(x, p, { layout, bins: req.bins, groups, before: !hit });
        const after = out.stats.after;
        if (!hit) this.beforeCache = { key, stats: out.stats.before ?? this.kernels.sideStats(toComputeArray(x), layout, req.bins, groups) };
        const before = this.beforeCache!.stats;
        this.last = { params: p, out, before, after };
        const view: AnalysisView = {
          input: { shape: [...x.shape], dtype: x.dtype },
          op: out.resolved,
          shape_report: out.shapeReport,
          stats: { before, after },
          warnings: withWideAxisNote(out.warnings, x.shape, p),
          running: runningView(out),
          ...(req.tensors && { sources: sourceViews(req.tensors, tensors) }),
          ms: Date.now() - t0,
        };
        return { id: req.id, ok: true, kind: 'analyzed', view };
      }
      case 'checks': {
        const x = this.tensor();
        const last = this.lastRun();
        const t0 = Date.now();
        const checks = equivalenceChecks(x, last.params, this.runOp).map(checkView);
        const flags = healthFlags(x, last.params, last.out, last.before, last.after, this.runOp,
          (v, l, b, g) => this.kernels.sideStats(v, l, b, g)).map(flagView);
        return { id: req.id, ok: true, kind: 'checked', checks, flags, ms: Date.now() - t0 };
      }
      case 'npy':
        return { id: req.id, ok: true, kind: 'npy', bytes: writeNpy(this.lastRun().out.output) };
      case 'abort':
        this.abort(req.upTo);
        return { id: req.id, ok: false, user: true, message: 'aborted' };
      case 'list':
        return this.listed(req.id, this.list(req.name, req.bytes ?? new Uint8Array(0)));
      default: {
        const never: never = req;
        throw new Error(`unknown worker request ${JSON.stringify(never)}`);
      }
    }
  }

  /** Opens the file at `req.path` for chunked reads (text formats are read whole: they cannot stream). */
  private async loadStreamed(req: LoadRequest): Promise<WorkerReply> {
    const path = req.path as string;
    const file = await openFileSource(path);
    let keep = false;
    try {
      const format = await detectSourceFormat(req.name, file);
      if (format === 'json' || format === 'ipynb') {
        if (file.size > MAX_WHOLE_BYTES) {
          throw new NormScopeError(`${format === 'json' ? 'JSON' : 'notebook'} files are text and are read whole: this one is ${file.size} bytes, over the ${MAX_WHOLE_BYTES}-byte cap`);
        }
        const bytes = await file.read(0, file.size);
        return this.run({ ...req, path: undefined, bytes });
      }
      let selector = req.selector;
      if (req.listIfSeveral && selector === undefined && isMultiTensor(format)) {
        const listing = await listSource(req.name, file);
        const tensors: TensorChoice[] = listing ? listing.tensors.map((t) => ({ selector: t.name, shape: t.shape, dtype: t.dtype })) : [];
        const metadata = listing?.metadata;
        if (tensors.length > 1) return { id: req.id, ok: true, kind: 'several', tensors, ...(metadata && { metadata }) };
        if (tensors.length === 1 && tensors[0].selector !== '') selector = tensors[0].selector;
      }
      const src = await openTensorSource(req.name, file, selector);
      const budgetMB = req.budgetMB ?? DEFAULT_BUDGET_MB;
      if (!(budgetMB > 0)) throw new NormScopeError(`the memory budget must be a positive number of MiB, got ${budgetMB}`);
      this.x = undefined;
      this.last = undefined;
      this.streamed = { file, src, budgetMB };
      keep = true;
      return {
        id: req.id, ok: true, kind: 'loaded',
        info: { label: req.label, shape: [...src.shape], dtype: src.dtype, numel: src.count, streamed: { fileBytes: file.size, budgetMB } },
        choices: paramChoices(src.shape),
        streamed: { fileBytes: file.size, budgetMB, chunkElements: statsChunk(src, budgetMB * 2 ** 20) },
      };
    } finally {
      if (!keep) await file.close().catch(() => undefined);
    }
  }

  /** Phase 1 of a streamed tensor: "before" (cached per layout/groups/bins), then "after", each refined in stages. */
  private async analyzeStreamed(
    st: Streamed, params: AnalyzeParams, bins: number, id: number, emit: (e: WorkerEvent) => void,
    tensors: ParamTensors, sources: AnalysisView['sources'],
  ): Promise<AnalysisView> {
    const { src, file } = st;
    const t0 = Date.now();
    const shaped = shapeOnly(src);
    const p = toNormParams(shaped, params, tensors);
    const plan = planOf(shaped, p); // refuses bad parameters before anything is read
    const r = plan.resolved;
    const layout = sourceLayout(src, r);
    const groups = groupRanges(layout.channels, p);
    const key = JSON.stringify([layout, groups, bins, 'streamed']);
    const budget = st.budgetMB * 2 ** 20;
    const size = bytesText(file.size);
    const cachedEntry = this.beforeCache?.key === key ? this.beforeCache : undefined;
    const cached = cachedEntry?.stats;
    // input statistics: 2 passes unless cached; then the op's (fewer when the input's moments are at hand)
    const given = !cached || cachedEntry?.moments !== undefined;
    const progress = progressReporter(id, emit, (cached ? 0 : 2) + streamNormalizePasses(r, given), () => this.abortedUpTo >= id);
    const view = (before: SideStats, after: SideStats | undefined): AnalysisView => ({
      input: { shape: [...src.shape], dtype: src.dtype },
      op: r,
      shape_report: plan.report,
      stats: { before, after: after ?? pendingSide(before) },
      warnings: withWideAxisNote(plan.warnings, src.shape, r),
      ...(sources && { sources }),
      ms: Date.now() - t0,
    });
    const partial = (stage: PartialNote['stage'], before: SideStats, after: SideStats | undefined, text: string) =>
      emit({ id, event: 'partial', view: view(before, after), note: { stage, afterPending: after === undefined, text } });

    let before = cached;
    if (!before) {
      let preview: SideStats | undefined;
      let previewShare = '';
      const res = await streamStats(src, {
        chunkElements: statsChunk(src, budget), bins, groups, unbatched: r.unbatched, layout: r.layout,
        onPreview: (s, n) => {
          preview = s;
          previewShare = percentText(n / Math.max(1, src.count));
          partial('preview', s, undefined, `First ${previewShare} of ${size}`);
        },
        onRunning: (s, n) => partial('moments', withHistograms(s, preview), undefined, `Statistics of the first ${percentText(n / Math.max(1, src.count))} of ${size}; histograms of the first ${previewShare}`),
        onMoments: (s) => partial('moments', withHistograms(s, preview), undefined, `Statistics of all ${size}; histograms of the first ${previewShare}`),
        onProgress: (q) => progress.pass('input statistics', q),
        kernels: this.kernels,
      });
      before = res.stats;
      this.beforeCache = { key, stats: before, moments: res.moments, layoutKey: JSON.stringify(layout) };
    }
    const done = before;
    const beforeMoments = this.beforeCache?.key === key ? this.beforeCache.moments : undefined;

    // "after": streamNormalize's output chunks, as they are produced, give a preview and the moments.
    let afterPreview: SideStats | undefined;
    let afterShare = '';
    let written = 0;
    const write = async (y: Float32Array | Float64Array) => {
      if (written === 0) {
        afterPreview = chunkPicture(layout, bins, groups, y, this.kernels.chunks);
        afterShare = percentText(y.length / Math.max(1, src.count));
        partial('after-preview', done, afterPreview, `Input complete; output of the first ${afterShare} of ${size}`);
      }
      written += y.length;
    };
    let res;
    try {
      res = await streamNormalize(src, p, write, {
        chunkElements: chunkElementsFor(itemSize(src.dtype), budget, 16), bins, groups,
        onProgress: (q) => progress.pass('normalizing', q),
        kernels: this.kernels,
        // the input's statistics streamed above: no pass over the input for them
        before: beforeMoments ? { stats: done, moments: beforeMoments } : undefined,
        onRunning: (s, n) => partial('after-moments', done, withHistograms(s, afterPreview), `Input complete; output statistics of the first ${percentText(n / Math.max(1, src.count))} of ${size}; its histograms of the first ${afterShare}`),
        onMoments: (s) => partial('after-moments', done, withHistograms(s, afterPreview), `Output statistics of all ${size}; its histograms of the first ${afterShare}`),
      });
    } catch (e) {
      if (isNormScopeError(e)) partial('input-only', done, undefined, `Input statistics of all ${size}; the op did not run on the streamed file`);
      throw e;
    }
    this.streamedLast = { params: p, outDType: res.outDType };
    const plain = (v: Float64Array) => Array.from(v, (x) => (Number.isFinite(x) ? x : 0));
    return {
      ...view(done, res.after),
      warnings: withWideAxisNote(res.warnings, src.shape, r),
      running: res.running_mean && res.running_var
        ? { mean: plain(res.running_mean), var: plain(res.running_var), num_batches_tracked: res.num_batches_tracked ?? null }
        : undefined,
    };
  }

  /** The last streamed run's output written to `req.path` chunk by chunk (the op runs again). */
  private async npyStreamed(st: Streamed, req: NpyRequest, emit: (e: WorkerEvent) => void): Promise<WorkerReply> {
    const shaped = shapeOnly(st.src);
    let last = this.streamedLast;
    if (req.params) {
      const params = toNormParams(shaped, req.params, req.tensors ? await this.paramTensors(req.tensors, shaped, req.params) : {});
      last = { params, outDType: planOf(shaped, params).outDType };
    }
    if (!last) throw new NormScopeError('nothing normalized yet');
    if (req.path === undefined) throw new NormScopeError('a streamed tensor is exported to a file, not held in memory: give a path');
    const path = req.path;
    let writer: NpyFileWriter;
    try {
      writer = await NpyFileWriter.create(path, last.outDType, st.src.shape);
    } catch (e) {
      throw new NormScopeError(`cannot write ${path}: ${(e as Error).message}`);
    }
    // the input's channel moments, when streamed for this layout: no pass over the input for them
    const cache = this.beforeCache;
    const r = planOf(shaped, last.params).resolved;
    const layout = sourceLayout(st.src, r);
    const moments = cache?.moments && cache.layoutKey === JSON.stringify(layout) ? cache.moments : undefined;
    const progress = progressReporter(req.id, emit, streamNormalizePasses(r, moments !== undefined), () => this.abortedUpTo >= req.id);
    try {
      await streamNormalize(st.src, last.params, (y) => writer.write(y), {
        chunkElements: chunkElementsFor(itemSize(st.src.dtype), st.budgetMB * 2 ** 20, 16), bins: 1,
        groups: cache && moments ? cache.stats.groups.map((g) => g.channels) : undefined,
        onProgress: (q) => progress.pass('writing the output', q),
        kernels: this.kernels,
        before: moments && cache ? { stats: cache.stats, moments } : undefined,
      });
      await writer.close();
    } catch (e) {
      await writer.close().catch(() => undefined);
      await rm(path, { force: true });
      throw e;
    }
    const bytes = st.src.count * itemSize(last.outDType) + npyHeaderLength(last.outDType, st.src.shape);
    return { id: req.id, ok: true, kind: 'npyWritten', path, bytes };
  }

  private listed(id: number, l: { tensors: TensorChoice[]; metadata?: Readonly<Record<string, string>> }): WorkerReply {
    return { id, ok: true, kind: 'listed', tensors: l.tensors, ...(l.metadata && { metadata: l.metadata }) };
  }

  /** The tensors of a file for a member pick: its members, or its one tensor (selector ''), headers only by path. */
  private async listFile(req: ListRequest): Promise<WorkerReply> {
    if (req.path === undefined) {
      const l = this.list(req.name, req.bytes ?? new Uint8Array(0));
      if (l.tensors.length > 0) return this.listed(req.id, l);
      const t = loadTensor(req.name, req.bytes ?? new Uint8Array(0));
      return this.listed(req.id, { tensors: [{ selector: '', shape: [...t.shape], dtype: t.dtype }] });
    }
    const file = await openFileSource(req.path);
    try {
      const format = await detectSourceFormat(req.name, file);
      if (format === 'json' || format === 'ipynb') {
        return await this.listFile({ ...req, path: undefined, bytes: await readWholeText(file) });
      }
      const listing = await listSource(req.name, file);
      if (listing) {
        return this.listed(req.id, { tensors: listing.tensors.map((t) => ({ selector: t.name, shape: t.shape, dtype: t.dtype })), metadata: listing.metadata });
      }
      const src = await openTensorSource(req.name, file);
      return this.listed(req.id, { tensors: [{ selector: '', shape: [...src.shape], dtype: src.dtype }] });
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  /**
   * Opens the parameter files (cached tensors first): shapes and dtypes are known, values not read yet.
   * `byPath` opens a file the worker reads itself.
   */
  private openParams<R extends OpenedParam | Promise<OpenedParam>>(files: ParamFiles, byPath: (f: ParamFile, name: ParamTensorName) => R): (OpenedParam | R)[] {
    const out: (OpenedParam | R)[] = [];
    for (const name of PARAM_TENSOR_NAMES) {
      const f = files[name];
      if (!f) continue;
      const cached = this.paramCache.get(f.key);
      if (cached) {
        out.push({ name, file: f, shape: cached.shape, dtype: cached.dtype, read: () => cached });
      } else if (f.bytes) {
        const t = paramError(name, f, () => loadTensor(f.name, f.bytes as Uint8Array, f.selector || undefined));
        out.push({ name, file: f, shape: t.shape, dtype: t.dtype, read: () => t });
      } else {
        out.push(byPath(f, name));
      }
    }
    return out;
  }

  /**
   * The parameter tensors of `files` for `params` on `x` (its shape is enough): the engine validates their
   * shapes before any value is read, so a wrong member is refused in the engine's words ("running_var has
   * shape [32], expected [64] ...") without reading it; then they are read (local files: headers and the
   * member's bytes only) and cached for the next run.
   */
  private async paramTensors(files: ParamFiles, x: Tensor, params: PanelParams): Promise<ParamTensors> {
    const closers: (() => Promise<void>)[] = [];
    try {
      const opened = await Promise.all(this.openParams(files, (f, name) => this.openParamFile(name, f, closers)));
      this.checkParamShapes(x, params, opened);
      const out: ParamTensors = {};
      for (const o of opened) out[o.name] = await paramErrorAsync(o.name, o.file, async () => o.read());
      this.cacheParams(opened, out);
      return out;
    } finally {
      for (const close of closers) await close().catch(() => undefined);
    }
  }

  /** paramTensors for files given as bytes (or cached): no file to open, so no waiting. */
  private readParamsSync(x: Tensor, params: PanelParams, opened: OpenedParam[]): ParamTensors {
    this.checkParamShapes(x, params, opened);
    const out: ParamTensors = {};
    for (const o of opened) out[o.name] = o.read() as Tensor;
    this.cacheParams(opened, out);
    return out;
  }

  private checkParamShapes(x: Tensor, params: PanelParams, opened: readonly OpenedParam[]): void {
    const shapes: ParamTensors = {};
    for (const o of opened) shapes[o.name] = shapeOnly(o);
    planOf(x, toNormParams(x, params, shapes));
  }

  private cacheParams(opened: readonly OpenedParam[], tensors: ParamTensors): void {
    this.paramCache = new Map(opened.map((o) => [o.file.key, tensors[o.name] as Tensor]));
  }

  /** Opens a local parameter file: .npy, .npz and .safetensors read their header now and the member on `read`. */
  private async openParamFile(name: ParamTensorName, f: ParamFile, closers: (() => Promise<void>)[]): Promise<OpenedParam> {
    return paramErrorAsync(name, f, async () => {
      const file = await openFileSource(f.path as string);
      closers.push(() => file.close());
      const format = await detectSourceFormat(f.name, file);
      if (format === 'json' || format === 'ipynb') {
        const t = loadTensor(f.name, await readWholeText(file), f.selector || undefined);
        return { name, file: f, shape: t.shape, dtype: t.dtype, read: () => t };
      }
      const src = await openTensorSource(f.name, file, f.selector || undefined);
      return {
        name, file: f, shape: src.shape, dtype: src.dtype,
        read: async () => storageTensor(src.dtype, src.shape, await src.readStorage(0, src.count), src.fortranOrder),
      };
    });
  }

  /** The tensors of a .json/.npz/.safetensors file (empty for .npy: it holds one), and a .safetensors' metadata. */
  private list(name: string, bytes: Uint8Array): { tensors: TensorChoice[]; metadata?: Readonly<Record<string, string>> } {
    if (detectFormat(name, bytes) === 'json') {
      const tensors = listJsonTensors(decodeJsonText(bytes));
      if (tensors.length === 0) throw new NormScopeError('no tensor (array of numbers or {shape, data} object) in this JSON document');
      return { tensors: tensors.map((t) => ({ selector: t.pointer, shape: t.shape, dtype: t.dtype })) };
    }
    const listing = listTensors(name, bytes);
    return {
      tensors: listing ? listing.tensors.map((t) => ({ selector: t.name, shape: t.shape, dtype: t.dtype })) : [],
      metadata: listing?.metadata,
    };
  }

  /**
   * A float32 tensor copied once into the kernels' memory (C order), so every run reads it in place; else `x`
   * (other dtypes, no kernels, or a memory that cannot hold it).
   */
  private shared(x: Tensor): Tensor {
    if (x.dtype !== 'float32') return x;
    const n = numel(x.shape);
    if (n === 0) return x;
    const data = this.kernels.allocFloat32(n);
    if (!data) return x;
    if (isContiguous(x) && x.data instanceof Float32Array) data.set(x.data.subarray(x.offset, x.offset + n));
    else data.set(toComputeArray(x));
    return tensor('float32', x.shape, data);
  }

  private tensor(): Tensor {
    if (this.streamed) throw new NormScopeError('this tensor is streamed from its file: it is not held in memory');
    if (!this.x) throw new Error('no tensor loaded');
    return this.x;
  }

  private lastRun(): Last {
    if (!this.last) throw new NormScopeError('nothing normalized yet');
    return this.last;
  }
}

type AnalyzeParams = Extract<WorkerRequest, { kind: 'analyze' }>['params'];

/** A failure as a reply: the engine's refusals (and file errors) are for people, the rest are bugs. */
function failure(id: number, e: unknown): WorkerReply {
  if (isNormScopeError(e)) return { id, ok: false, user: true, message: e.message };
  if (e instanceof RangeError && /allocation|Array buffer|Invalid typed array length/i.test(e.message)) {
    return { id, ok: false, user: true, message: `out of memory: ${e.message}` };
  }
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return { id, ok: false, user: true, message: 'no such file (FileNotFound)' };
  if (code === 'EACCES' || code === 'EPERM') return { id, ok: false, user: true, message: 'permission denied' };
  if (code === 'EISDIR') return { id, ok: false, user: true, message: 'it is a folder, not a tensor file' };
  return { id, ok: false, user: false, message: e instanceof Error ? e.stack ?? e.message : String(e) };
}

/** Elements per chunk of the statistics passes within `budget` bytes. */
function statsChunk(src: TensorSource, budget: number): number {
  return Math.min(chunkElementsFor(itemSize(src.dtype), budget), STATS_CHUNK_MAX);
}

/** A text file (.json, .ipynb) opened by path, read whole: they do not stream. */
async function readWholeText(file: FileByteSource): Promise<Uint8Array> {
  if (file.size > MAX_WHOLE_BYTES) throw new NormScopeError(`text files are read whole: this one is ${file.size} bytes, over the ${MAX_WHOLE_BYTES}-byte cap`);
  return file.read(0, file.size);
}

/** What the panel shows of the parameter tensors a run read. */
function sourceViews(files: ParamFiles | undefined, tensors: ParamTensors): AnalysisView['sources'] {
  if (!files) return undefined;
  const views: Partial<Record<ParamTensorName, ParamSourceView>> = {};
  for (const name of PARAM_TENSOR_NAMES) {
    const f = files[name];
    const t = tensors[name];
    if (f && t) views[name] = paramSourceView(f.label, t);
  }
  return views;
}

/** A parameter file's refusal, for people: "running_mean: bn.npz#x: no member ...". */
function paramMessage(name: ParamTensorName, f: ParamFile, e: unknown): NormScopeError | undefined {
  const failed = failure(0, e);
  return !failed.ok && failed.user ? new NormScopeError(`${name}: ${f.label}: ${failed.message}`) : undefined;
}

function paramError<T>(name: ParamTensorName, f: ParamFile, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw paramMessage(name, f, e) ?? e;
  }
}

async function paramErrorAsync<T>(name: ParamTensorName, f: ParamFile, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw paramMessage(name, f, e) ?? e;
  }
}

/** The .npy header length for `shape` (what NpyFileWriter wrote). */
function npyHeaderLength(dtype: 'float32' | 'float64', shape: readonly number[]): number {
  return npyHeader(dtype, shape).length;
}

/** Statistics of `stats` with the histograms of `preview` (the first chunk's), while pass 2 runs. */
function withHistograms(stats: SideStats, preview: SideStats | undefined): SideStats {
  if (!preview) return stats;
  return {
    overall: { ...stats.overall, histogram: preview.overall.histogram },
    edges: preview.edges,
    channels: stats.channels.map((c, i) => ({ ...c, histogram: preview.channels[i].histogram })),
    groups: stats.groups.map((g, i) => ({ ...g, histogram: preview.groups[i].histogram })),
  };
}

/** "after" while it is not known: the shape of `before` with no values (count 0, null statistics). */
function pendingSide(before: SideStats): SideStats {
  const none = { count: 0, mean: null, std: null, min: null, max: null, nan: 0, inf: 0 };
  const zeros = () => new Array<number>(before.overall.histogram.counts.length).fill(0);
  return {
    overall: { ...none, histogram: { edges: before.overall.histogram.edges, counts: zeros() } },
    edges: before.edges,
    channels: before.channels.map((c) => ({ ...none, channel: c.channel, histogram: zeros() })),
    groups: before.groups.map((g) => ({ ...none, group: g.group, channels: g.channels, histogram: zeros() })),
  };
}

/** "8%", "0.4%" */
function percentText(f: number): string {
  const pct = 100 * f;
  return pct >= 10 || pct === 0 ? `${Math.round(pct)}%` : pct >= 1 ? `${pct.toFixed(0)}%` : `${pct.toPrecision(1)}%`;
}


/**
 * Progress over a job of `passes` passes made of streamed steps (each StreamProgress covers its own passes):
 * events at most every PROGRESS_EVERY_MS, the last of each step always; throws once `aborted()` says so.
 */
function progressReporter(id: number, emit: (e: WorkerEvent) => void, passes: number, aborted: () => boolean) {
  let base = 0; // passes of earlier steps
  let stepPasses = 0;
  let last = 0;
  let what = '';
  return {
    pass(label: string, q: StreamProgress) {
      // called after every chunk: where a stream stops when the host aborted it
      if (aborted()) throw new NormScopeError('cancelled');
      if (label !== what) {
        base += stepPasses;
        what = label;
        stepPasses = q.passes;
      }
      const now = Date.now();
      const end = q.done >= q.total;
      if (!end && now - last < PROGRESS_EVERY_MS) return;
      last = now;
      const fraction = Math.min(1, (base + (q.total ? (q.done / q.total) * q.passes : q.passes)) / passes);
      emit({ id, event: 'progress', fraction, text: `${label}: pass ${q.pass} of ${q.passes}` });
    },
  };
}
