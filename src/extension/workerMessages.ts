/**
 * Messages between the extension host (workerClient.ts) and the engine worker (worker.ts). Private to the
 * host: the webview never sees these. Each request carries an id; the worker answers it exactly once.
 */
import type { DType } from '../engine/dtype';
import type { AnalysisView, CheckView, FlagView, PanelParams, ParamChoices, ParamTensorName, PartialNote, TensorInfo } from '../protocol/messages';

/**
 * Where the worker reads a parameter tensor (PanelParams.sources): a local file it opens itself (`path`: only
 * the headers and the member's bytes are read) or a file's bytes the host read (shared, not copied).
 */
export interface ParamFile {
  /** Identifies the tensor and the file's version (URI, selector, mtime, size): the worker caches by it. */
  readonly key: string;
  /** "file.safetensors#bn1.weight", for messages and the panel. */
  readonly label: string;
  /** The file name the format is detected from. */
  readonly name: string;
  readonly selector?: string;
  readonly path?: string;
  readonly bytes?: Uint8Array;
}

/** The parameter tensors of a run, by name. */
export type ParamFiles = Readonly<Partial<Record<ParamTensorName, ParamFile>>>;

/**
 * Read a tensor from a file's bytes (shared, not copied), from a literal's text, or - `path` - from a local
 * file the worker opens itself and streams in chunks within `budgetMB` (the host never holds its bytes).
 */
export interface LoadRequest {
  readonly kind: 'load';
  readonly id: number;
  readonly label: string;
  /** The file name the format is detected from (magic first, then extension). */
  readonly name: string;
  readonly bytes?: Uint8Array;
  readonly selector?: string;
  readonly literal?: string;
  /** A local file to stream (Node file handle in the worker): .npy, .npz and .safetensors members. */
  readonly path?: string;
  /** The memory budget of a streamed file, MiB. */
  readonly budgetMB?: number;
  /** Without a selector: answer with the list when the file (.json, .npz, .safetensors) holds several tensors. */
  readonly listIfSeveral?: boolean;
}

/** Phase 1: normalize and take statistics. */
export interface AnalyzeRequest {
  readonly kind: 'analyze';
  readonly id: number;
  readonly params: PanelParams;
  readonly bins: number;
  /** The files of `params.sources`. */
  readonly tensors?: ParamFiles;
}

/** The tensors of a file (headers only where the format allows), whatever their number: the member pick of a parameter. */
export interface ListRequest {
  readonly kind: 'list';
  readonly id: number;
  readonly name: string;
  readonly path?: string;
  readonly bytes?: Uint8Array;
}

/** Phase 2 for the last analyzed parameters: equivalence checks and health flags. */
export interface ChecksRequest {
  readonly kind: 'checks';
  readonly id: number;
}

/**
 * The last normalized tensor as .npy bytes; for a streamed tensor `path` is required: the op runs again chunk
 * by chunk and the output is written there (never held whole).
 */
export interface NpyRequest {
  readonly kind: 'npy';
  readonly id: number;
  readonly path?: string;
  /** Streamed: the parameters to run (default: the last completed run's). */
  readonly params?: PanelParams;
  /** The files of `params.sources`. */
  readonly tensors?: ParamFiles;
}

/**
 * Stop streamed work with ids up to `upTo` at its next chunk (the worker and its open file stay, and so does
 * what it has cached). Not answered; the stopped requests answer with a refusal the client no longer awaits.
 */
export interface AbortRequest {
  readonly kind: 'abort';
  readonly id: number;
  readonly upTo: number;
}

/** One tensor of a file that holds several: its selector (JSON Pointer or member name), shape and dtype. */
export interface TensorChoice {
  readonly selector: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type WorkerRequest = LoadRequest | AnalyzeRequest | ChecksRequest | NpyRequest | AbortRequest | ListRequest;

/** A streamed tensor as the worker opened it. */
export interface StreamedInfo {
  /** Bytes of the file. */
  readonly fileBytes: number;
  readonly budgetMB: number;
  /** Elements per chunk of the statistics passes. */
  readonly chunkElements: number;
}

/**
 * What the worker says about a request before answering it (streamed work only): progress over all of its
 * passes, and first pictures to show while it refines (`partial`, the view as known so far).
 */
export type WorkerEvent =
  | { readonly id: number; readonly event: 'progress'; readonly fraction: number; readonly text: string }
  | { readonly id: number; readonly event: 'partial'; readonly view: AnalysisView; readonly note: PartialNote };

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly kind: 'loaded'; readonly info: TensorInfo; readonly choices: ParamChoices; readonly streamed?: StreamedInfo }
  /** `metadata`: a .safetensors file's `__metadata__` (string to string), when it has one. */
  | { readonly id: number; readonly ok: true; readonly kind: 'several'; readonly tensors: readonly TensorChoice[]; readonly metadata?: Readonly<Record<string, string>> }
  | { readonly id: number; readonly ok: true; readonly kind: 'analyzed'; readonly view: AnalysisView }
  | { readonly id: number; readonly ok: true; readonly kind: 'listed'; readonly tensors: readonly TensorChoice[]; readonly metadata?: Readonly<Record<string, string>> }
  | { readonly id: number; readonly ok: true; readonly kind: 'checked'; readonly checks: readonly CheckView[]; readonly flags: readonly FlagView[]; readonly ms: number }
  | { readonly id: number; readonly ok: true; readonly kind: 'npy'; readonly bytes: Uint8Array }
  | { readonly id: number; readonly ok: true; readonly kind: 'npyWritten'; readonly path: string; readonly bytes: number }
  /** `user`: a NormScopeError (bad file, bad params) whose message is for people; otherwise a bug. */
  | { readonly id: number; readonly ok: false; readonly user: boolean; readonly message: string };
