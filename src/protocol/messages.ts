/**
 * The one message protocol between the extension host and the NormScope webview (and later the notebook
 * renderer). Every message is a readonly interface with a string-literal `type`; ToWebview and FromWebview are
 * the two unions. The host runs `parseFromWebview` on every message it receives: a webview is a web page and
 * its messages are untrusted input. Messages travel as JSON: no NaN/Infinity (null stands for them), no
 * tensors - only statistics and histograms cross, never the data itself.
 *
 * Types only, plus the hand-written validators; imports the engine's types, never vscode or the DOM.
 */
import type { DType } from '../engine/dtype';
import type { OpName, ResolvedParams, ShapeReport } from '../engine/params';
import type { SideStats, Summary } from '../engine/stats';
import type { FlagKind } from '../engine/checks';

// -------------------------------------------------------------------------------------------------------------
// Shared shapes

/** The op's tensor-valued parameters that can come from a file. */
export type ParamTensorName = 'weight' | 'bias' | 'running_mean' | 'running_var';
export const PARAM_TENSOR_NAMES: readonly ParamTensorName[] = ['weight', 'bias', 'running_mean', 'running_var'];
/** The parameter tensors each op uses: BatchNorm all four, RMSNorm a weight (no bias), the others weight and bias. */
export const PARAM_TENSORS_OF: Readonly<Record<OpName, readonly ParamTensorName[]>> = {
  batch: PARAM_TENSOR_NAMES, layer: ['weight', 'bias'], group: ['weight', 'bias'], instance: ['weight', 'bias'], rms: ['weight'],
};

/**
 * A parameter tensor in a file: the file's URI and, for files that hold several, its JSON Pointer or member
 * name (the CLI's `file#selector`). Only the reference travels and is persisted, never the values.
 */
export interface TensorRef {
  readonly uri: string;
  readonly selector?: string;
}

/** "model.safetensors#bn1.weight": the file's name and the selector, as the panel labels a parameter's source. */
export function tensorRefLabel(ref: TensorRef): string {
  const path = ref.uri.replace(/[?#].*$/, '');
  let name = path.slice(path.lastIndexOf('/') + 1);
  try {
    name = decodeURIComponent(name);
  } catch {
    // not percent-encoded: keep it as it is
  }
  return ref.selector ? `${name}#${ref.selector}` : name;
}

/** The files a parameter tensor may come from (by extension; the format is then detected as for any input). */
export const PARAM_FILE_EXTENSIONS: readonly string[] = ['npy', 'npz', 'safetensors', 'json'];

/**
 * The op parameters as the panel, the command arguments and the persisted state carry them: the engine's
 * vocabulary (src/engine/params.ts) in its JSON-safe part. `affine` stands for PyTorch's affine=True with a
 * constant weight and bias (PyTorch initialises them to 1 and 0); `sources` name files for tensor-valued
 * parameters, which replace the constant ones (weight/bias) or PyTorch's initial running statistics (0 and 1).
 */
export interface PanelParams {
  readonly op: OpName;
  readonly mode?: 'train' | 'eval';
  readonly groups?: number;
  readonly normalized_shape?: readonly number[];
  readonly eps?: number;
  /** null: momentum=None (cumulative moving average). */
  readonly momentum?: number | null;
  readonly unbatched?: boolean;
  readonly layout?: 'nchw' | 'nhwc';
  readonly affine?: { readonly weight: number; readonly bias: number };
  readonly sources?: Readonly<Partial<Record<ParamTensorName, TensorRef>>>;
}

/** A parameter tensor the run used: where it came from ("file#member"), its shape, dtype and summary. */
export interface ParamSourceView extends Summary {
  readonly label: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Where the panel's tensor comes from; persisted so a window reload can re-open it. */
export type SourceRef =
  | { readonly kind: 'file'; readonly uri: string; readonly selector?: string }
  | { readonly kind: 'literal'; readonly label: string; readonly text: string };

/** What the panel shows about the input before any op runs. */
export interface TensorInfo {
  /** File name (with #selector) or "selection in x.py". */
  readonly label: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly numel: number;
  /** The file is read in chunks within a memory budget (too large to hold): no equivalence checks or flags. */
  readonly streamed?: { readonly fileBytes: number; readonly budgetMB: number };
}

/** The choices the controls offer for this tensor (computed by the host, so they are always valid). */
export interface ParamChoices {
  /** Channel count as the channel-based ops see it (axis 1; 1 for rank < 2). */
  readonly channels: number;
  /** Divisors of `channels`: the only GroupNorm group counts offered. */
  readonly groups: readonly number[];
  /** Trailing sub-shapes, shortest first: LayerNorm/RMSNorm normalized_shape candidates. */
  readonly normalized_shapes: readonly (readonly number[])[];
  /** The same with channels on the last axis (layout 'nhwc'; e.g. features of (batch, tokens, features)). */
  readonly channels_last: { readonly channels: number; readonly groups: readonly number[] };
  /**
   * Present when PyTorch takes this rank unbatched (InstanceNorm on (C, L), (C, H, W), (C, D, H, W)): the
   * channel count then (axis 0).
   */
  readonly unbatched_channels?: number;
}

/** An equivalence check as it travels (infinite differences become null). */
export interface CheckView {
  readonly name: string;
  readonly routes: readonly [string, string];
  readonly max_abs: number | null;
  readonly max_rel: number | null;
  readonly tolerance: string;
  readonly pass: boolean;
}

/** A health flag as it travels. */
export interface FlagView {
  readonly kind: FlagKind;
  readonly channel?: number;
  readonly group?: number;
  readonly sample?: number;
  readonly message: string;
}

/** Everything the panel draws for one op run, except the slow checks and flags (see ChecksMessage). */
export interface AnalysisView {
  readonly input: { readonly shape: readonly number[]; readonly dtype: DType };
  readonly op: ResolvedParams;
  readonly shape_report: ShapeReport;
  readonly stats: { readonly before: SideStats; readonly after: SideStats };
  readonly warnings: readonly string[];
  /** BatchNorm train: the updated running statistics. */
  readonly running?: { readonly mean: readonly number[]; readonly var: readonly number[]; readonly num_batches_tracked: number | null };
  /** The parameter tensors read from files (PanelParams.sources) for this run. */
  readonly sources?: Readonly<Partial<Record<ParamTensorName, ParamSourceView>>>;
  /** Time the engine took (normalize + statistics), ms. */
  readonly ms: number;
}

/** Panel-side settings (VS Code settings normscope.*). */
export interface PanelSettings {
  readonly bins: number;
  /** Small multiples per page. */
  readonly pageSize: number;
}

/** What the webview persists with vscode.setState; a window reload hands it to the panel serializer. */
export interface PersistedState {
  readonly version: 1;
  readonly source: SourceRef;
  readonly params?: PanelParams;
}

export type ExportFormat = 'npy' | 'stats-json' | 'stats-csv' | 'snippet';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['npy', 'stats-json', 'stats-csv', 'snippet'];

// -------------------------------------------------------------------------------------------------------------
// Host -> webview

/** First message after the webview says `ready`: what it shows while the tensor loads. */
export interface InitMessage {
  readonly type: 'init';
  readonly title: string;
  readonly source: SourceRef;
  readonly settings: PanelSettings;
}

/** The tensor loaded: its description, the valid choices, and the parameters about to run. */
export interface TensorMessage {
  readonly type: 'tensor';
  readonly info: TensorInfo;
  readonly choices: ParamChoices;
  readonly params: PanelParams;
}

/** The host started (or finished) work; the webview shows a quiet busy state. */
export interface BusyMessage {
  readonly type: 'busy';
  readonly busy: boolean;
  /** What is running, e.g. "normalizing" or "equivalence checks". */
  readonly what: string;
}

/**
 * What a partial result (a streamed file's first pictures) covers. Stages in order: 'preview' (statistics and
 * histograms of the first chunk), 'moments' (exact statistics, histograms still of the first chunk), then the
 * same two for "after" ('after-preview', 'after-moments') with "before" complete; 'input-only' when the op
 * could not run on the streamed file (the error says why) and only "before" is complete.
 */
export interface PartialNote {
  readonly stage: 'preview' | 'moments' | 'after-preview' | 'after-moments' | 'input-only';
  /** "after" is not known yet: its statistics are placeholders (count 0, nulls). */
  readonly afterPending: boolean;
  /** What the picture covers, for people, e.g. "First 8% of 1.07 GB" (the webview adds "refining..."). */
  readonly text: string;
}

/**
 * One op run's statistics (phase 1). `requestId` is the webview's, or 0 for runs the host started. With
 * `partial`: a first picture of a streamed file that later results of the same run refine (never exported).
 */
export interface ResultMessage {
  readonly type: 'result';
  readonly requestId: number;
  readonly params: PanelParams;
  readonly view: AnalysisView;
  readonly partial?: PartialNote;
}

/** How far long work (a streamed file's passes) has come: a progress bar under the controls. */
export interface ProgressMessage {
  readonly type: 'progress';
  /** 0..1 over every pass of the work. */
  readonly fraction: number;
  readonly text: string;
}

/** The equivalence checks and health flags of the run `requestId` (phase 2: slower, arrives later). */
export interface ChecksMessage {
  readonly type: 'checks';
  readonly requestId: number;
  readonly checks: readonly CheckView[];
  readonly flags: readonly FlagView[];
  readonly ms: number;
}

/**
 * Something failed. scope 'load': the tensor could not be read (the panel shows only this); 'params': the
 * combination is invalid (shown in place by the controls, `field` names the control); 'checks': phase 2
 * failed or was cancelled; 'export': an export failed.
 */
export interface ErrorMessage {
  readonly type: 'error';
  readonly scope: 'load' | 'params' | 'checks' | 'export';
  readonly requestId?: number;
  readonly field?: ParamField;
  readonly message: string;
}

/** A short confirmation (e.g. "Copied stats as CSV"). */
export interface NoticeMessage {
  readonly type: 'notice';
  readonly message: string;
}

/**
 * The person picked a file (and member) for a parameter tensor (answering PickParamSourceMessage): the
 * controls take it and run. `shape` when the member pick listed it.
 */
export interface ParamSourceMessage {
  readonly type: 'paramSource';
  readonly field: ParamTensorName;
  readonly ref: TensorRef;
  readonly shape?: readonly number[];
}

export type ToWebview = InitMessage | TensorMessage | BusyMessage | ResultMessage | ProgressMessage | ChecksMessage | ErrorMessage | NoticeMessage | ParamSourceMessage;

/** The fields of PanelParams a control edits (a parameter tensor's name: its file source). */
export type ParamField = 'op' | 'layout' | 'unbatched' | 'mode' | 'groups' | 'normalized_shape' | 'eps' | 'momentum' | 'affine' | ParamTensorName;
export const PARAM_FIELDS: readonly ParamField[] = ['op', 'layout', 'unbatched', 'mode', 'groups', 'normalized_shape', 'eps', 'momentum', 'affine', ...PARAM_TENSOR_NAMES];

// -------------------------------------------------------------------------------------------------------------
// Webview -> host

/**
 * The webview's script has loaded; the host (re)sends everything it knows. `params`: what the webview had
 * persisted (a restored editor after a reload), which the host re-runs when they differ from its own.
 */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly params?: PanelParams;
}

/** Run the op with these parameters (replaces any run in flight). */
export interface SetParamsMessage {
  readonly type: 'setParams';
  readonly requestId: number;
  readonly params: PanelParams;
}

/** Stop the work in flight (the host terminates the worker). */
export interface CancelMessage {
  readonly type: 'cancel';
}

/** Save the normalized tensor (.npy) or copy the stats (JSON/CSV) or a PyTorch snippet. */
export interface ExportMessage {
  readonly type: 'export';
  readonly format: ExportFormat;
}

/** Save the charts as a PNG the webview composed (a data: URL). */
export interface SavePngMessage {
  readonly type: 'savePng';
  readonly dataUrl: string;
}

/** The webview drew the result `requestId`: how many chart canvases, how many have painted pixels. */
export interface RenderedMessage {
  readonly type: 'rendered';
  readonly requestId: number;
  readonly charts: number;
  readonly painted: number;
  readonly ms: number;
}

/** "Use a tensor from a file…": the host asks for the file (and member) and answers with ParamSourceMessage. */
export interface PickParamSourceMessage {
  readonly type: 'pickParamSource';
  readonly field: ParamTensorName;
}

export type FromWebview = ReadyMessage | SetParamsMessage | CancelMessage | ExportMessage | SavePngMessage | RenderedMessage | PickParamSourceMessage;

// -------------------------------------------------------------------------------------------------------------
// Validation (host side; hand-written, no library)

const OPS: readonly OpName[] = ['batch', 'layer', 'group', 'instance', 'rms'];
/** Upper bound on a PNG data URL the host accepts (the charts of one page are a few MB at most). */
export const MAX_DATA_URL = 64 * 2 ** 20;
const MAX_RANK = 32;

/** Thrown by the validators; `message` says what is wrong and where. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, what: string, v: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? String(v);
  } catch {
    shown = String(v);
  }
  throw new ProtocolError(`${where}: expected ${what}, got ${shown.length > 60 ? `${shown.slice(0, 60)}...` : shown}`);
}

function only(o: Obj, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ProtocolError(`${where}: unexpected field "${k}"`);
}

function finite(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, 'a finite number', v);
  return v;
}

function count(v: unknown, where: string, max = 2 ** 31 - 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) fail(where, `an integer in 0..${max}`, v);
  return v;
}

function oneOf<T extends string>(v: unknown, where: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(where, `one of ${values.join(', ')}`, v);
  return v as T;
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'true or false', v);
  return v;
}

function str(v: unknown, where: string, max: number): string {
  if (typeof v !== 'string' || v.length > max) fail(where, `a string of at most ${max} characters`, v);
  return v;
}

/**
 * Checks that `v` is a PanelParams and returns a clean copy (unknown fields refused). Only the types are
 * checked here: whether the combination is valid for a tensor is the engine's call (its message is shown).
 */
export function parsePanelParams(v: unknown, where = 'params'): PanelParams {
  if (!isObj(v)) fail(where, 'an object', v);
  only(v, where, ['op', 'mode', 'groups', 'normalized_shape', 'eps', 'momentum', 'unbatched', 'layout', 'affine', 'sources']);
  const out: { -readonly [K in keyof PanelParams]: PanelParams[K] } = { op: oneOf(v.op, `${where}.op`, OPS) };
  if (v.mode !== undefined) out.mode = oneOf(v.mode, `${where}.mode`, ['train', 'eval'] as const);
  if (v.groups !== undefined) out.groups = count(v.groups, `${where}.groups`);
  if (v.normalized_shape !== undefined) {
    const ns = v.normalized_shape;
    if (!Array.isArray(ns) || ns.length > MAX_RANK) fail(`${where}.normalized_shape`, `an array of at most ${MAX_RANK} sizes`, ns);
    out.normalized_shape = ns.map((d, i) => count(d, `${where}.normalized_shape[${i}]`));
  }
  if (v.eps !== undefined) out.eps = finite(v.eps, `${where}.eps`);
  if (v.momentum !== undefined) out.momentum = v.momentum === null ? null : finite(v.momentum, `${where}.momentum`);
  if (v.unbatched !== undefined) out.unbatched = bool(v.unbatched, `${where}.unbatched`);
  if (v.layout !== undefined) out.layout = oneOf(v.layout, `${where}.layout`, ['nchw', 'nhwc'] as const);
  if (v.affine !== undefined) {
    const a = v.affine;
    if (!isObj(a)) fail(`${where}.affine`, 'an object {weight, bias}', a);
    only(a, `${where}.affine`, ['weight', 'bias']);
    out.affine = { weight: finite(a.weight, `${where}.affine.weight`), bias: finite(a.bias, `${where}.affine.bias`) };
  }
  if (v.sources !== undefined) {
    const s = v.sources;
    if (!isObj(s)) fail(`${where}.sources`, `an object with some of ${PARAM_TENSOR_NAMES.join(', ')}`, s);
    only(s, `${where}.sources`, PARAM_TENSOR_NAMES);
    const sources: Partial<Record<ParamTensorName, TensorRef>> = {};
    for (const name of PARAM_TENSOR_NAMES) if (s[name] !== undefined) sources[name] = parseTensorRef(s[name], `${where}.sources.${name}`);
    out.sources = sources;
  }
  return out;
}

const MAX_URI = 32768;

/** A URI with a scheme (no length or character tricks: at most MAX_URI characters). */
function uriOf(v: unknown, where: string): string {
  const uri = str(v, where, MAX_URI);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(uri)) fail(where, 'a URI with a scheme', uri);
  return uri;
}

/**
 * Checks a TensorRef: a URI whose path ends in one of PARAM_FILE_EXTENSIONS (so a message cannot point the
 * host at any other file), and an optional selector.
 */
export function parseTensorRef(v: unknown, where = 'ref'): TensorRef {
  if (!isObj(v)) fail(where, 'an object {uri, selector?}', v);
  only(v, where, ['uri', 'selector']);
  const uri = uriOf(v.uri, `${where}.uri`);
  const path = uri.replace(/[?#].*$/, '');
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  if (!PARAM_FILE_EXTENSIONS.includes(ext)) fail(`${where}.uri`, `a .${PARAM_FILE_EXTENSIONS.join(', .')} file`, uri);
  return v.selector === undefined ? { uri } : { uri, selector: str(v.selector, `${where}.selector`, MAX_URI) };
}

/** Checks a SourceRef (persisted state and command arguments). */
export function parseSourceRef(v: unknown, where = 'source'): SourceRef {
  if (!isObj(v)) fail(where, 'an object', v);
  switch (v.kind) {
    case 'file': {
      only(v, where, ['kind', 'uri', 'selector']);
      const uri = uriOf(v.uri, `${where}.uri`);
      return v.selector === undefined ? { kind: 'file', uri } : { kind: 'file', uri, selector: str(v.selector, `${where}.selector`, MAX_URI) };
    }
    case 'literal':
      only(v, where, ['kind', 'label', 'text']);
      return { kind: 'literal', label: str(v.label, `${where}.label`, 1024), text: str(v.text, `${where}.text`, 16 * 2 ** 20) };
    default:
      return fail(`${where}.kind`, 'file or literal', v.kind);
  }
}

/** Checks what a webview persisted (handed back by VS Code after a reload). */
export function parsePersistedState(v: unknown): PersistedState {
  if (!isObj(v)) fail('state', 'an object', v);
  only(v, 'state', ['version', 'source', 'params']);
  if (v.version !== 1) fail('state.version', '1', v.version);
  const source = parseSourceRef(v.source, 'state.source');
  return v.params === undefined ? { version: 1, source } : { version: 1, source, params: parsePanelParams(v.params, 'state.params') };
}

/** Validates one message from the webview; throws ProtocolError saying what is wrong. */
export function parseFromWebview(v: unknown): FromWebview {
  if (!isObj(v)) fail('message', 'an object', v);
  const type = oneOf(v.type, 'message.type', ['ready', 'setParams', 'cancel', 'export', 'savePng', 'rendered', 'pickParamSource'] as const);
  switch (type) {
    case 'ready':
      only(v, type, ['type', 'params']);
      return v.params === undefined ? { type } : { type, params: parsePanelParams(v.params, `${type}.params`) };
    case 'setParams':
      only(v, type, ['type', 'requestId', 'params']);
      return { type, requestId: count(v.requestId, `${type}.requestId`), params: parsePanelParams(v.params, `${type}.params`) };
    case 'cancel':
      only(v, type, ['type']);
      return { type };
    case 'export':
      only(v, type, ['type', 'format']);
      return { type, format: oneOf(v.format, `${type}.format`, EXPORT_FORMATS) };
    case 'savePng': {
      only(v, type, ['type', 'dataUrl']);
      const dataUrl = str(v.dataUrl, `${type}.dataUrl`, MAX_DATA_URL);
      if (!dataUrl.startsWith('data:image/png;base64,')) fail(`${type}.dataUrl`, 'a data:image/png;base64 URL', dataUrl);
      return { type, dataUrl };
    }
    case 'rendered':
      only(v, type, ['type', 'requestId', 'charts', 'painted', 'ms']);
      return {
        type,
        requestId: count(v.requestId, `${type}.requestId`),
        charts: count(v.charts, `${type}.charts`),
        painted: count(v.painted, `${type}.painted`),
        ms: finite(v.ms, `${type}.ms`),
      };
    case 'pickParamSource':
      only(v, type, ['type', 'field']);
      return { type, field: oneOf(v.field, `${type}.field`, PARAM_TENSOR_NAMES) };
    default: {
      const never: never = type;
      return fail('message.type', 'a known type', never);
    }
  }
}
