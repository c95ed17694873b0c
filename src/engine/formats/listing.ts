/** What a multi-tensor file (.npz, .safetensors) holds, and how a `#name` selector picks one tensor. */
import { DType } from '../dtype';
import { NormScopeError } from '../errors';
import { clip } from './shown';

/** One tensor of a multi-tensor file. */
export interface TensorEntry {
  /** The name a selector uses (`file.npz#name`): an .npz member without its `.npy`, a safetensors key. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Bytes of element data (uncompressed). */
  readonly bytes: number;
}

export interface TensorListing {
  readonly format: 'npz' | 'safetensors';
  readonly tensors: readonly TensorEntry[];
  /** The safetensors `__metadata__` (string to string), when present. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The error for a selector that names nothing in the file. */
export function noSuchTensor(kind: string, selector: string, names: readonly string[]): NormScopeError {
  const listed = names.slice(0, 20).map((n) => clip(n)).join(', ');
  const shown = names.length > 20 ? `${listed}, ... (${names.length} in all)` : listed;
  return new NormScopeError(names.length
    ? `no tensor '${clip(selector)}' in this ${kind} file (it holds: ${shown})`
    : `this ${kind} file holds no tensors`);
}

/** The error for a multi-tensor file opened without a selector where one tensor is needed. */
export function needSelector(kind: string, names: readonly string[]): NormScopeError {
  const listed = names.slice(0, 20).map((n) => clip(n)).join(', ');
  const shown = names.length > 20 ? `${listed}, ...` : listed;
  return new NormScopeError(`this ${kind} file holds ${names.length} tensors: pick one with FILE#name (${shown})`);
}
