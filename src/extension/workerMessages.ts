/**
 * Messages between the extension host (workerClient.ts) and the engine worker (worker.ts). Private to the
 * host: the webview never sees these. Each request carries an id; the worker answers it exactly once.
 */
import type { DType } from '../engine/dtype';
import type { AnalysisView, CheckView, FlagView, PanelParams, ParamChoices, TensorInfo } from '../protocol/messages';

/** Read a tensor from a file's bytes (shared, not copied) or from a literal's text. */
export interface LoadRequest {
  readonly kind: 'load';
  readonly id: number;
  readonly label: string;
  /** The file name the format is detected from (magic first, then extension). */
  readonly name: string;
  readonly bytes?: Uint8Array;
  readonly selector?: string;
  readonly literal?: string;
  /** Without a selector: answer with the list when the file (.json, .npz, .safetensors) holds several tensors. */
  readonly listIfSeveral?: boolean;
}

/** Phase 1: normalize and take statistics. */
export interface AnalyzeRequest {
  readonly kind: 'analyze';
  readonly id: number;
  readonly params: PanelParams;
  readonly bins: number;
}

/** Phase 2 for the last analyzed parameters: equivalence checks and health flags. */
export interface ChecksRequest {
  readonly kind: 'checks';
  readonly id: number;
}

/** The last normalized tensor as .npy bytes. */
export interface NpyRequest {
  readonly kind: 'npy';
  readonly id: number;
}

/** One tensor of a file that holds several: its selector (JSON Pointer or member name), shape and dtype. */
export interface TensorChoice {
  readonly selector: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type WorkerRequest = LoadRequest | AnalyzeRequest | ChecksRequest | NpyRequest;

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly kind: 'loaded'; readonly info: TensorInfo; readonly choices: ParamChoices }
  | { readonly id: number; readonly ok: true; readonly kind: 'several'; readonly tensors: readonly TensorChoice[] }
  | { readonly id: number; readonly ok: true; readonly kind: 'analyzed'; readonly view: AnalysisView }
  | { readonly id: number; readonly ok: true; readonly kind: 'checked'; readonly checks: readonly CheckView[]; readonly flags: readonly FlagView[]; readonly ms: number }
  | { readonly id: number; readonly ok: true; readonly kind: 'npy'; readonly bytes: Uint8Array }
  /** `user`: a NormScopeError (bad file, bad params) whose message is for people; otherwise a bug. */
  | { readonly id: number; readonly ok: false; readonly user: boolean; readonly message: string };
