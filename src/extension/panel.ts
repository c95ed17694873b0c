/**
 * The histogram panel on the host side: one NormPanel per webview (a WebviewPanel from the command, or the
 * webview of a .npy custom editor). It reads the tensor (vscode.workspace.fs), runs the engine in a worker,
 * and sends the webview only statistics and histograms. Every message from the webview is validated.
 * Large local files (`file:` URIs over half of normscope.memoryBudgetMB) are not read here: the worker opens
 * the path and streams them, and the panel shows each first picture as it arrives (partial results), with a
 * progress bar and a cancellable notification; checks and flags are skipped for them (the panel says so).
 * The webview persists {source, params}; WebviewPanelSerializer re-opens the panel after a window reload.
 */
import * as vscode from 'vscode';
import type { ParamFile, ParamFiles, TensorChoice } from './workerMessages';
import {
  AnalysisView, ChecksMessage, ErrorMessage, ExportFormat, FromWebview, InitMessage, PanelParams, PARAM_FILE_EXTENSIONS,
  PARAM_TENSOR_NAMES, ParamTensorName, parseFromWebview, parsePersistedState, parseTensorRef, ProgressMessage, ResultMessage,
  SourceRef, TensorMessage, tensorRefLabel, ToWebview,
} from '../protocol/messages';
import { statsCsv, statsJson, torchSnippet } from './exportText';
import { bytesText, fieldOfError, initialParams, paramCount, paramsForOp, suggestMembers } from './panelModel';
import { readSettings, streamThresholdBytes } from './settings';
import { CancelledError, ClientEvent, EngineError, shareBytes, WorkerClient } from './workerClient';

/** The view type of the command's panel (and of its serializer). */
export const PANEL_VIEW_TYPE = 'normscope.panel';
/** Work that takes longer than this gets a progress notification. */
export const PROGRESS_AFTER_MS = 300;
/** Files read whole (every scheme but `file:`) above this are refused (a typed array holds at most 2^31 - 1 bytes). */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

type ProgressReport = { message?: string; increment?: number };

/** What a NormPanel needs from the extension. */
export interface PanelHost {
  readonly extensionUri: vscode.Uri;
  readonly log: vscode.LogOutputChannel;
  /**
   * Asks which tensor of a file that holds several to show, with a .safetensors' `__metadata__` if it has one
   * (undefined: the user dismissed the pick); `purpose` words its placeholder (default: the tensor to normalize).
   */
  pickTensor(label: string, tensors: readonly TensorChoice[], metadata?: Readonly<Record<string, string>>, purpose?: string): Promise<string | undefined>;
  /** Asks where to save (replaceable by tests). */
  saveDialog(options: vscode.SaveDialogOptions): Thenable<vscode.Uri | undefined>;
  /** Asks for a file to read a parameter tensor from (default: vscode.window.showOpenDialog). */
  openDialog?(options: vscode.OpenDialogOptions): Thenable<vscode.Uri[] | undefined>;
}

/** What tests can see of a panel (exposed through the extension's exports). */
export interface PanelProbe {
  readonly title: string;
  readonly source: SourceRef;
  readonly params: PanelParams | undefined;
  /** Messages sent to the webview, oldest first (bounded). */
  readonly sent: readonly ToWebview[];
  /** Messages received from the webview, after validation; `rejected` holds the validator's refusals. */
  readonly received: readonly FromWebview[];
  readonly rejected: readonly string[];
  /** Text or file each export produced. */
  readonly exports: readonly { format: ExportFormat | 'png'; text?: string; uri?: string }[];
  /** Resolves with the next message of `type` the panel sends or receives (or the last one, if `past`). */
  next<T extends (ToWebview | FromWebview)['type']>(type: T, options?: { past?: boolean; timeoutMs?: number }): Promise<Extract<ToWebview | FromWebview, { type: T }>>;
  /** Feeds a raw message through the same validation and handling as the webview's. */
  receive(raw: unknown): Promise<void>;
  /**
   * What "use a tensor from a file…" (`pickParamSource`) does once the open dialog returned `uri`: the member
   * pick when the file holds several, then `paramSource` to the webview (which runs with it).
   */
  chooseParamFile(field: ParamTensorName, uri: string): Promise<void>;
  readonly visible: boolean;
  dispose(): void;
}

const MAX_LOG = 200;
const LITERAL_PERSIST_LIMIT = 1024 * 1024;

type Waiter = { type: string; resolve: (m: ToWebview | FromWebview) => void };

export class NormPanel implements PanelProbe {
  /** Every open panel, oldest first. */
  static readonly all: NormPanel[] = [];

  readonly sent: ToWebview[] = [];
  readonly received: FromWebview[] = [];
  readonly rejected: string[] = [];
  readonly exports: { format: ExportFormat | 'png'; text?: string; uri?: string }[] = [];

  private readonly client: WorkerClient;
  private readonly disposables: vscode.Disposable[] = [];
  private waiters: Waiter[] = [];
  private initMsg: InitMessage;
  private tensorMsg: TensorMessage | undefined;
  private resultMsg: ResultMessage | undefined;
  /** The latest first picture of a streamed run in flight (refined by later ones, replaced by its result). */
  private partialMsg: ResultMessage | undefined;
  private progressMsg: ProgressMessage | undefined;
  /** Set when the tensor is streamed from its file by the worker (never read here). */
  private streamed: { fileBytes: number; budgetMB: number } | undefined;
  private checksMsg: ChecksMessage | undefined;
  private errorMsg: ErrorMessage | undefined;
  private currentParams: PanelParams | undefined;
  private generation = 0;
  private disposed = false;
  private busyWhat = '';
  /** Which phase of a run is in flight: a cancel during 'checks' keeps the run's statistics. */
  private phase: 'idle' | 'normalizing' | 'checks' = 'idle';
  /** The webview has said `ready` and not been hidden since (hidden webviews are torn down and reload). */
  private webviewReady = false;
  /** Parameter files of other schemes than `file:`, read here whole (shared with the worker), by URI. */
  private paramBytes = new Map<string, { key: string; bytes: Uint8Array }>();

  constructor(
    readonly panel: vscode.WebviewPanel,
    private src: SourceRef,
    private readonly host: PanelHost,
    private readonly given: { params?: Partial<PanelParams>; bytes?: Uint8Array } = {},
  ) {
    this.client = new WorkerClient(vscode.Uri.joinPath(host.extensionUri, 'dist', 'worker.js').fsPath);
    const settings = readSettings();
    this.initMsg = { type: 'init', title: labelOf(src), source: persistable(src), settings: { bins: settings.histogramBins, pageSize: settings.pageSize } };
    panel.title = `NormScope: ${labelOf(src)}`;
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'icon.png');
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(host.extensionUri, 'dist'), vscode.Uri.joinPath(host.extensionUri, 'media')],
    };
    panel.webview.html = panelHtml(panel.webview, host.extensionUri, labelOf(src));
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => void this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => { if (!panel.visible) this.webviewReady = false; }),
    );
    NormPanel.all.push(this);
    void this.load();
  }

  get source(): SourceRef {
    return this.src;
  }

  get title(): string {
    return this.panel.title;
  }

  get params(): PanelParams | undefined {
    return this.currentParams;
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.client.dispose();
    for (const d of this.disposables) d.dispose();
    const i = NormPanel.all.indexOf(this);
    if (i >= 0) NormPanel.all.splice(i, 1);
    this.panel.dispose();
  }

  next<T extends (ToWebview | FromWebview)['type']>(type: T, options: { past?: boolean; timeoutMs?: number } = {}): Promise<Extract<ToWebview | FromWebview, { type: T }>> {
    type M = Extract<ToWebview | FromWebview, { type: T }>;
    if (options.past) {
      const all: (ToWebview | FromWebview)[] = [...this.sent, ...this.received];
      const found = [...all].reverse().find((m) => m.type === type);
      if (found) return Promise.resolve(found as M);
    }
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise<M>((resolve, reject) => {
      const waiter: Waiter = { type, resolve: (m) => { clearTimeout(timer); resolve(m as M); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Validates and handles one message from the webview. */
  async receive(raw: unknown): Promise<void> {
    let msg: FromWebview;
    try {
      msg = parseFromWebview(raw);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.rejected.push(why);
      this.host.log.warn(`dropped an invalid message from the panel: ${why}`);
      return;
    }
    record(this.received, msg);
    this.notify(msg);
    switch (msg.type) {
      case 'ready':
        this.webviewReady = true;
        this.replay();
        if (msg.params && this.tensorMsg && !sameParams(msg.params, this.currentParams)) {
          this.run(msg.params, 0);
        }
        return;
      case 'setParams':
        if (this.tensorMsg) this.run(msg.params, msg.requestId);
        return;
      case 'cancel':
        this.cancel();
        return;
      case 'export':
        await this.export(msg.format);
        return;
      case 'savePng':
        await this.savePng(msg.dataUrl);
        return;
      case 'rendered':
        this.host.log.info(`panel painted ${msg.painted}/${msg.charts} charts of run ${msg.requestId} in ${msg.ms.toFixed(0)} ms`);
        return;
      case 'pickParamSource':
        await this.pickParamSource(msg.field);
        return;
      default: {
        const never: never = msg;
        this.host.log.warn(`unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Stops the work in flight and says so in the panel. */
  cancel(): void {
    if (!this.client.busy) return;
    const scope = this.phase === 'checks' ? 'checks' : 'params';
    this.generation++;
    this.client.cancel();
    this.setBusy(false, '');
    this.post({ type: 'error', scope, message: 'Cancelled. Change a parameter to run again.' });
  }

  private post(msg: ToWebview): void {
    if (this.disposed) return;
    switch (msg.type) {
      case 'init': this.initMsg = msg; break;
      case 'tensor': this.tensorMsg = msg; this.errorMsg = undefined; break;
      case 'result':
        if (msg.partial) {
          this.partialMsg = msg;
        } else {
          this.resultMsg = msg;
          this.partialMsg = undefined;
          this.checksMsg = undefined;
        }
        this.errorMsg = undefined;
        break;
      case 'progress': this.progressMsg = msg; break;
      case 'checks': this.checksMsg = msg; break;
      case 'error': if (msg.scope !== 'export') this.errorMsg = msg; break;
      case 'busy': case 'notice': case 'paramSource': break;
      default: { const never: never = msg; void never; }
    }
    record(this.sent, msg);
    this.notify(msg);
    // Before `ready` the state is kept and replayed then, so the webview never draws one result twice.
    if (this.webviewReady) void this.panel.webview.postMessage(msg);
  }

  /** Everything the webview needs to show the current state (after it loads or reloads). */
  private replay(): void {
    const msgs: (ToWebview | undefined)[] = [this.initMsg, this.tensorMsg, this.resultMsg, this.checksMsg, this.partialMsg, this.errorMsg];
    for (const m of msgs) if (m) void this.panel.webview.postMessage(m);
    if (this.busyWhat) {
      void this.panel.webview.postMessage({ type: 'busy', busy: true, what: this.busyWhat } satisfies ToWebview);
      if (this.progressMsg) void this.panel.webview.postMessage(this.progressMsg);
    }
  }

  private notify(msg: ToWebview | FromWebview): void {
    const ready = this.waiters.filter((w) => w.type === msg.type);
    this.waiters = this.waiters.filter((w) => w.type !== msg.type);
    for (const w of ready) w.resolve(msg);
  }

  private setBusy(busy: boolean, what: string): void {
    this.busyWhat = busy ? what : '';
    this.progressMsg = undefined;
    this.phase = !busy ? 'idle' : what.startsWith('equivalence') ? 'checks' : 'normalizing';
    this.post({ type: 'busy', busy, what });
  }

  private async load(): Promise<void> {
    const label = labelOf(this.src);
    try {
      const s = this.src;
      let loaded;
      if (s.kind === 'literal') {
        loaded = await this.withProgress(`reading ${label}`, () => this.client.load({ label, name: label, literal: s.text }));
      } else {
        const uri = vscode.Uri.parse(s.uri);
        const name = baseName(uri);
        const budgetMB = readSettings().memoryBudgetMB;
        // a large local file is opened by the worker and streamed; anything else is read whole here
        const size = this.given.bytes ? undefined : (await fileStat(uri)).size;
        const stream = size !== undefined && uri.scheme === 'file' && (size > streamThresholdBytes(budgetMB) || size > MAX_FILE_BYTES);
        if (!stream && size !== undefined && size > MAX_FILE_BYTES) {
          throw new LoadError(`the file is ${size.toLocaleString('en-US')} bytes, over the ${MAX_FILE_BYTES.toLocaleString('en-US')}-byte cap for files read whole: "${uri.scheme}:" files are read whole (VS Code's file system API has no ranged reads); only local (file:) files are streamed`);
        }
        const bytes = stream ? undefined : this.given.bytes ?? await vscode.workspace.fs.readFile(uri);
        const from = stream ? { path: uri.fsPath, budgetMB } : { bytes };
        loaded = await this.withProgress(`reading ${label}`, () => this.client.load({ label, name, ...from, selector: s.selector, listIfSeveral: true }));
        if (loaded.kind === 'several') {
          const pointer = await this.host.pickTensor(name, loaded.tensors, loaded.metadata);
          if (pointer === undefined || this.disposed) {
            this.dispose();
            return;
          }
          this.src = { ...s, selector: pointer };
          const title = labelOf(this.src);
          this.panel.title = `NormScope: ${title}`;
          this.post({ ...this.initMsg, title, source: persistable(this.src) });
          loaded = await this.withProgress(`reading ${title}`, () => this.client.load({ label: title, name, ...from, selector: pointer }));
        }
      }
      if (loaded.kind !== 'loaded') throw new Error('the worker listed tensors twice');
      this.streamed = loaded.info.streamed;
      if (this.streamed) this.host.log.info(`${label}: streaming ${this.streamed.fileBytes} bytes within ${this.streamed.budgetMB} MiB`);
      const settings = readSettings();
      const params = initialParams(loaded.info.shape, settings.defaultOp, settings.defaultEps, this.given.params);
      this.post({ type: 'tensor', info: loaded.info, choices: loaded.choices, params });
      this.run(params, 0);
    } catch (e) {
      if (e instanceof CancelledError) {
        this.post({ type: 'error', scope: 'load', message: `Loading ${label} was cancelled. Close the panel and run "Normalize tensor" again.` });
        return;
      }
      const message = e instanceof vscode.FileSystemError
        ? `${label}: ${describeFsError(e)}`
        : e instanceof EngineError || e instanceof LoadError
        ? `${label}: ${e.message}`
        : `${label}: internal error (${e instanceof Error ? e.message : String(e)})`;
      if (!(e instanceof EngineError || e instanceof LoadError || e instanceof vscode.FileSystemError)) this.host.log.error(e instanceof Error ? e : String(e));
      this.post({ type: 'error', scope: 'load', message });
    }
  }

  /** Runs the op with `params`: statistics first (result), then checks and flags; replaces any run in flight. */
  private run(params: PanelParams, requestId: number): void {
    const gen = ++this.generation;
    if (this.client.busy) this.client.cancel(); // a newer run replaces it: stop the old one at once
    const bins = readSettings().histogramBins;
    const shape = this.tensorMsg?.info.shape ?? [];
    // Fill op-specific defaults (e.g. groups when switching to GroupNorm) without overriding what was given.
    const full = { ...paramsForOp(params.op, shape, params), ...params };
    this.currentParams = full;
    const current = () => gen === this.generation && !this.disposed;
    const streamed = this.streamed;
    void this.withProgress(`normalizing ${labelOf(this.src)}`, async (progress) => {
      try {
        this.setBusy(true, streamed ? `streaming ${bytesText(streamed.fileBytes)}` : 'normalizing');
        const onEvent = streamed ? this.streamEvents(requestId, full, progress, current) : undefined;
        const tensors = await this.paramFiles(full);
        if (!current()) return;
        const view: AnalysisView = await this.client.analyze(full, bins, onEvent, tensors);
        if (!current()) return;
        this.post({ type: 'result', requestId, params: full, view });
        if (streamed) {
          this.setBusy(false, '');
          this.post({ type: 'error', scope: 'checks', requestId, message: streamedChecksNote(streamed) });
          return;
        }
        progress.report({ message: 'equivalence checks and health flags' });
        this.setBusy(true, 'equivalence checks');
        const c = await this.client.checks();
        if (!current()) return;
        this.post({ type: 'checks', requestId, checks: c.checks, flags: c.flags, ms: c.ms });
        this.setBusy(false, '');
      } catch (e) {
        if (!current()) return;
        this.setBusy(false, '');
        if (e instanceof CancelledError) return; // cancel() already said so
        if (e instanceof EngineError) {
          const phase = this.resultMsg?.params === full && !streamed ? 'checks' : 'params';
          // the engine says "raise the budget": name the setting that holds it
          const message = streamed && /raise the budget$/.test(e.message)
            ? `${e.message} (normscope.memoryBudgetMB, now ${streamed.budgetMB} MiB)`
            : e.message;
          this.post({ type: 'error', scope: phase, requestId, field: phase === 'params' ? fieldOfError(e.message) : undefined, message });
          return;
        }
        this.host.log.error(e instanceof Error ? e : String(e));
        this.post({ type: 'error', scope: 'params', requestId, message: `internal error: ${e instanceof Error ? e.message : String(e)}` });
      }
    }, () => this.cancel());
  }

  /**
   * The events of a streamed run: first pictures become partial results, progress moves the panel's bar and
   * the notification (which shows percentages).
   */
  private streamEvents(requestId: number, params: PanelParams, progress: vscode.Progress<ProgressReport>, current: () => boolean): (e: ClientEvent) => void {
    let reported = 0; // percent given to the notification so far
    return (e) => {
      if (!current()) return;
      if (e.event === 'partial') {
        this.post({ type: 'result', requestId, params, view: e.view, partial: e.note });
        return;
      }
      const pct = Math.floor(100 * e.fraction);
      // the notification's title already says "normalizing x.npy"
      const message = `${e.text.replace(/^normalizing: /, '')} (${pct}%)`;
      progress.report({ message, increment: pct > reported ? pct - reported : undefined });
      reported = Math.max(reported, pct);
      this.post({ type: 'progress', fraction: e.fraction, text: e.text });
    };
  }

  /**
   * Runs `work`; when it takes longer than PROGRESS_AFTER_MS a cancellable progress notification shows until
   * it settles. Cancelling it calls `onCancel` (default: terminate the worker).
   */
  private async withProgress<T>(title: string, work: (progress: vscode.Progress<ProgressReport>) => Promise<T>, onCancel = () => this.client.cancel()): Promise<T> {
    let report: vscode.Progress<ProgressReport> | undefined;
    let lastMessage: string | undefined;
    let total = 0; // increments given before the notification showed
    const progress: vscode.Progress<ProgressReport> = {
      report: (v) => {
        if (v.message !== undefined) lastMessage = v.message;
        total += v.increment ?? 0;
        report?.report(v);
      },
    };
    const promise = work(progress);
    let settled = false;
    const done = promise.then(() => undefined, () => undefined).finally(() => { settled = true; });
    const timer = setTimeout(() => {
      if (settled || this.disposed) return;
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `NormScope: ${title}`, cancellable: true },
        (p, token) => {
          report = p;
          if (lastMessage || total) p.report({ message: lastMessage, increment: total || undefined });
          token.onCancellationRequested(onCancel);
          return done;
        },
      );
    }, PROGRESS_AFTER_MS);
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
    }
  }

  private async export(format: ExportFormat): Promise<void> {
    const result = this.resultMsg;
    if (!result) {
      this.post({ type: 'error', scope: 'export', message: 'Nothing to export yet: the op has not run.' });
      return;
    }
    if (this.partialMsg) {
      // the picture on screen is a streamed run's first one; the last complete result has other parameters
      this.post({ type: 'error', scope: 'export', message: 'The statistics on screen are partial (the run is still reading the file, or was cancelled): export once it completes.' });
      return;
    }
    const label = labelOf(this.src);
    try {
      switch (format) {
        case 'npy': {
          const uri = await this.host.saveDialog({
            defaultUri: defaultSaveUri(this.src, `${result.view.op.op}norm.npy`),
            filters: { 'NumPy array': ['npy'] },
            title: 'Save the normalized tensor',
          });
          if (!uri) return;
          if (this.streamed) {
            await this.exportStreamed(uri);
            return;
          }
          const bytes = await this.client.npy();
          await vscode.workspace.fs.writeFile(uri, bytes);
          this.exports.push({ format, uri: uri.toString() });
          this.post({ type: 'notice', message: `Saved ${baseName(uri)} (${bytes.length.toLocaleString('en-US')} bytes)` });
          return;
        }
        case 'stats-json':
        case 'stats-csv':
        case 'snippet': {
          const file = this.src.kind === 'file' && baseName(vscode.Uri.parse(this.src.uri)).endsWith('.npy') ? baseName(vscode.Uri.parse(this.src.uri)) : undefined;
          const text = format === 'stats-json'
            ? statsJson(label, result.params, result.view, this.checksMsg)
            : format === 'stats-csv' ? statsCsv(result.view) : torchSnippet(result.view, result.params, file, this.paramPaths(result.params));
          await vscode.env.clipboard.writeText(text);
          this.exports.push({ format, text });
          const what = format === 'stats-json' ? 'the stats as JSON' : format === 'stats-csv' ? 'the stats as CSV' : 'a PyTorch snippet';
          this.post({ type: 'notice', message: `Copied ${what} to the clipboard` });
          return;
        }
        default: {
          const never: never = format;
          throw new Error(`unknown export ${String(never)}`);
        }
      }
    } catch (e) {
      if (e instanceof CancelledError) return;
      this.post({ type: 'error', scope: 'export', message: `Export failed: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /** A streamed tensor's output: the worker runs the op again and writes it to the file chunk by chunk. */
  private async exportStreamed(uri: vscode.Uri): Promise<void> {
    if (uri.scheme !== 'file') {
      throw new Error(`a streamed tensor is written chunk by chunk to a local file: choose a file: location, not ${uri.scheme}:`);
    }
    const params = this.resultMsg?.params;
    if (!params) throw new Error('the op has not run');
    const what = `writing ${baseName(uri)}`;
    try {
      this.setBusy(true, what);
      const tensors = await this.paramFiles(params);
      const bytes = await this.withProgress(what, (progress) =>
        this.client.npyToFile(uri.fsPath, params, (e) => {
          if (e.event !== 'progress') return;
          progress.report({ message: `${Math.floor(100 * e.fraction)}%` });
          if (this.busyWhat === what) this.post({ type: 'progress', fraction: e.fraction, text: e.text });
        }, tensors));
      this.exports.push({ format: 'npy', uri: uri.toString() });
      this.post({ type: 'notice', message: `Saved ${baseName(uri)} (${bytes.toLocaleString('en-US')} bytes, written in chunks)` });
    } catch (e) {
      if (e instanceof CancelledError) {
        await vscode.workspace.fs.delete(uri).then(undefined, () => undefined);
        this.post({ type: 'notice', message: `Saving ${baseName(uri)} was cancelled; the partial file was removed` });
      }
      throw e;
    } finally {
      if (this.busyWhat === what) this.setBusy(false, '');
    }
  }

  /**
   * The files of `params.sources` as the worker reads them: local files by path (it reads only the member),
   * others read here whole and kept while their mtime and size stay. A file that cannot be read is an
   * EngineError naming the parameter ("running_mean: bn.npz: no such file (FileNotFound)").
   */
  private async paramFiles(params: PanelParams): Promise<ParamFiles | undefined> {
    const sources = params.sources;
    if (!sources) return undefined;
    const files: Partial<Record<ParamTensorName, ParamFile>> = {};
    const kept = new Map<string, { key: string; bytes: Uint8Array }>();
    for (const name of PARAM_TENSOR_NAMES) {
      const ref = sources[name];
      if (!ref) continue;
      const uri = vscode.Uri.parse(ref.uri);
      const label = tensorRefLabel(ref);
      try {
        const stat = await fileStat(uri);
        const key = JSON.stringify([ref.uri, ref.selector ?? '', stat.mtime, stat.size]);
        const file = { key, label, name: baseName(uri), ...(ref.selector ? { selector: ref.selector } : {}) };
        if (uri.scheme === 'file') {
          files[name] = { ...file, path: uri.fsPath };
          continue;
        }
        if (stat.size > MAX_FILE_BYTES) throw new LoadError(`the file is ${stat.size.toLocaleString('en-US')} bytes, over the ${MAX_FILE_BYTES.toLocaleString('en-US')}-byte cap for files read whole`);
        let cached = kept.get(ref.uri) ?? this.paramBytes.get(ref.uri);
        const version = JSON.stringify([stat.mtime, stat.size]);
        if (!cached || cached.key !== version) cached = { key: version, bytes: shareBytes(await vscode.workspace.fs.readFile(uri)) };
        kept.set(ref.uri, cached);
        files[name] = { ...file, bytes: cached.bytes };
      } catch (e) {
        if (e instanceof vscode.FileSystemError) throw new EngineError(`${name}: ${label}: ${describeFsError(e)}`);
        if (e instanceof LoadError) throw new EngineError(`${name}: ${label}: ${e.message}`);
        throw e;
      }
    }
    this.paramBytes = kept;
    return files;
  }

  /** The folder of the tensor's file (undefined for a literal). */
  private srcFolder(): vscode.Uri | undefined {
    return this.src.kind === 'file' ? vscode.Uri.joinPath(vscode.Uri.parse(this.src.uri), '..') : undefined;
  }

  /** Where the PyTorch snippet loads each parameter file from: its name when beside the tensor's file, else its path. */
  private paramPaths(params: PanelParams): Partial<Record<ParamTensorName, string>> {
    const paths: Partial<Record<ParamTensorName, string>> = {};
    const dir = this.srcFolder()?.toString();
    for (const name of PARAM_TENSOR_NAMES) {
      const ref = params.sources?.[name];
      if (!ref) continue;
      const uri = vscode.Uri.parse(ref.uri);
      paths[name] = vscode.Uri.joinPath(uri, '..').toString() === dir ? baseName(uri) : uri.scheme === 'file' ? uri.fsPath : ref.uri;
    }
    return paths;
  }

  /** "Use a tensor from a file…": the open dialog (by the tensor's file), then chooseParamFile. */
  private async pickParamSource(field: ParamTensorName): Promise<void> {
    const near = this.srcFolder() ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    const options: vscode.OpenDialogOptions = {
      canSelectMany: false,
      openLabel: `Use as ${field}`,
      title: `${field}: a tensor from a file (.${PARAM_FILE_EXTENSIONS.join(', .')})`,
      filters: { Tensors: [...PARAM_FILE_EXTENSIONS] },
      defaultUri: near,
    };
    const picked = await (this.host.openDialog ? this.host.openDialog(options) : vscode.window.showOpenDialog(options));
    if (picked?.[0]) await this.chooseParamFile(field, picked[0].toString());
  }

  async chooseParamFile(field: ParamTensorName, uriText: string): Promise<void> {
    let label = uriText;
    try {
      const ref = parseTensorRef({ uri: uriText }, field);
      const uri = vscode.Uri.parse(ref.uri);
      const name = baseName(uri);
      label = name;
      await fileStat(uri);
      const listing = await this.client.list(uri.scheme === 'file' ? { name, path: uri.fsPath } : { name, bytes: await vscode.workspace.fs.readFile(uri) });
      if (listing.tensors.length === 0) throw new LoadError('the file holds no tensor');
      let chosen: TensorChoice | undefined = listing.tensors.length === 1 ? listing.tensors[0] : undefined;
      if (!chosen) {
        // the member pick of "Normalize tensor", the likeliest members first
        const params = this.currentParams ?? this.tensorMsg?.params;
        const count = params ? paramCount(this.tensorMsg?.info.shape ?? [], params) : 0;
        const offered = suggestMembers(field, listing.tensors, count);
        const selector = await this.host.pickTensor(`${name} (${field})`, offered, listing.metadata, `the ${field} tensor`);
        if (selector === undefined || this.disposed) return;
        chosen = offered.find((t) => t.selector === selector);
      }
      const selector = chosen?.selector;
      this.post({ type: 'paramSource', field, ref: selector ? { uri: ref.uri, selector } : { uri: ref.uri }, ...(chosen && { shape: chosen.shape }) });
    } catch (e) {
      if (e instanceof CancelledError) return;
      const why = e instanceof vscode.FileSystemError ? describeFsError(e) : e instanceof Error ? e.message : String(e);
      if (!(e instanceof EngineError || e instanceof LoadError || e instanceof vscode.FileSystemError)) this.host.log.error(e instanceof Error ? e : why);
      this.post({ type: 'error', scope: 'params', field, message: `${field}: ${label}: ${why}` });
    }
  }

  private async savePng(dataUrl: string): Promise<void> {
    try {
      const op = this.resultMsg?.view.op.op ?? 'norm';
      const uri = await this.host.saveDialog({
        defaultUri: defaultSaveUri(this.src, `${op}norm.png`),
        filters: { 'PNG image': ['png'] },
        title: 'Save the charts as PNG',
      });
      if (!uri) return;
      const bytes = new Uint8Array(Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
      await vscode.workspace.fs.writeFile(uri, bytes);
      this.exports.push({ format: 'png', uri: uri.toString() });
      this.post({ type: 'notice', message: `Saved ${baseName(uri)}` });
    } catch (e) {
      this.post({ type: 'error', scope: 'export', message: `Saving the PNG failed: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
}

/** A file-reading failure with a message for people. */
class LoadError extends Error {}

/** The file's stat; a folder is refused. */
async function fileStat(uri: vscode.Uri): Promise<vscode.FileStat> {
  const stat = await vscode.workspace.fs.stat(uri);
  if (stat.type & vscode.FileType.Directory) throw new LoadError('it is a folder, not a tensor file');
  return stat;
}

/** Why a streamed file has no checks or flags (shown where they would be). */
export function streamedChecksNote(s: { fileBytes: number; budgetMB: number }): string {
  return `Equivalence checks and health flags need the whole tensor in memory: this ${bytesText(s.fileBytes)} file is streamed in chunks within the ${s.budgetMB} MiB budget (normscope.memoryBudgetMB), so they are skipped.`;
}

/** Same parameters, whatever the key order. */
function sameParams(a: PanelParams, b: PanelParams | undefined): boolean {
  const canon = (v: unknown): unknown => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])
    : v);
  return b !== undefined && JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/** A file-system error in words (VS Code's messages carry the error class and the full URI). */
function describeFsError(e: vscode.FileSystemError): string {
  switch (e.code) {
    case 'FileNotFound': case 'EntryNotFound': return 'no such file (FileNotFound)';
    case 'NoPermissions': return 'permission denied';
    case 'FileIsADirectory': case 'EntryIsADirectory': return 'it is a folder, not a tensor file';
    case 'Unavailable': return 'the file system is unavailable';
    default: return e.message;
  }
}

function record<T>(log: T[], msg: T): void {
  log.push(msg);
  if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
}

/** The last path segment of a URI. */
export function baseName(uri: vscode.Uri): string {
  const p = uri.path;
  return p.slice(p.lastIndexOf('/') + 1) || p;
}

/** "file.json#/a/b", "x.npy" or the literal's label. */
export function labelOf(s: SourceRef): string {
  if (s.kind === 'literal') return s.label;
  const name = baseName(vscode.Uri.parse(s.uri));
  return s.selector !== undefined && s.selector !== '' ? `${name}#${s.selector}` : name;
}

/** The source as the webview may persist it (huge selections are not kept). */
function persistable(s: SourceRef): SourceRef {
  return s.kind === 'literal' && s.text.length > LITERAL_PERSIST_LIMIT ? { ...s, text: '' } : s;
}

function defaultSaveUri(s: SourceRef, suffix: string): vscode.Uri | undefined {
  if (s.kind === 'file') {
    const uri = vscode.Uri.parse(s.uri);
    const base = baseName(uri).replace(/\.[^.]*$/, '');
    return vscode.Uri.joinPath(uri, '..', `${base}.${suffix}`);
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, `selection.${suffix}`) : undefined;
}

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The panel's page: strict CSP with a nonce, the bundled script and stylesheet from the extension only. The
 * title is in the markup so the panel shows what it is loading before its script has started.
 */
export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${css}">
<title>NormScope</title>
</head>
<body>
<main id="app" aria-busy="true"><header class="head"><h1>${htmlEscape(title)}</h1><p class="meta">Loading...</p></header></main>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}

/** Re-opens panels after a window reload from what their webviews persisted. */
export function registerPanelSerializer(host: PanelHost): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
      try {
        const s = parsePersistedState(state);
        new NormPanel(panel, s.source, host, { params: s.params });
      } catch (e) {
        host.log.warn(`could not restore a NormScope panel: ${e instanceof Error ? e.message : String(e)}`);
        panel.dispose();
      }
    },
  });
}

/** Opens a new panel beside the active editor for `source`. */
export function openPanel(source: SourceRef, host: PanelHost, given: { params?: Partial<PanelParams>; bytes?: Uint8Array } = {}): NormPanel {
  const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, `NormScope: ${labelOf(source)}`, vscode.ViewColumn.Active, {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(host.extensionUri, 'dist'), vscode.Uri.joinPath(host.extensionUri, 'media')],
  });
  return new NormPanel(panel, source, host, given);
}
