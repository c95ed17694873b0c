/**
 * Opening tensor files by parts: a listing for multi-tensor files, and chunked TensorSources for the formats
 * whose data can be read in ranges (.npy, .npz members, .safetensors). JSON is text: it is read whole.
 */
import { NormScopeError } from '../errors';
import { LoadOptions, TensorFormat, detectFormat } from './input';
import { TensorListing } from './listing';
import { listNpz, listNpzSource, openNpzSource } from './npz';
import { listSafetensors, listSafetensorsSource, openSafetensorsSource } from './safetensors';
import { ByteSource, TensorSource, openNpySource } from './source';

/** Formats that can hold several tensors. */
export function isMultiTensor(format: TensorFormat): boolean {
  return format === 'npz' || format === 'safetensors';
}

/** The tensors of a multi-tensor file in memory, or null for single-tensor formats (.npy, .json). */
export function listTensors(path: string, bytes: Uint8Array, opts: LoadOptions = {}): TensorListing | null {
  const format = detectFormat(path, bytes);
  if (format === 'npz') return listNpz(bytes, opts);
  if (format === 'safetensors') return listSafetensors(bytes);
  return null;
}

/** The format of a file read through a ByteSource (its first 16 bytes and its name). */
export async function detectSourceFormat(path: string, src: ByteSource): Promise<TensorFormat> {
  return detectFormat(path, await src.read(0, Math.min(16, src.size)));
}

/** The tensors of a multi-tensor file read through a ByteSource (headers only), or null for single-tensor formats. */
export async function listSource(path: string, src: ByteSource, opts: LoadOptions = {}): Promise<TensorListing | null> {
  const format = await detectSourceFormat(path, src);
  if (format === 'npz') return listNpzSource(src, opts);
  if (format === 'safetensors') return listSafetensorsSource(src);
  return null;
}

/** Opens the tensor `selector` names (or the file's only tensor) for chunked reading. */
export async function openTensorSource(path: string, src: ByteSource, selector?: string, opts: LoadOptions = {}): Promise<TensorSource> {
  const format = await detectSourceFormat(path, src);
  switch (format) {
    case 'npy':
      if (selector !== undefined) {
        throw new NormScopeError(`an .npy file holds a single array: remove "#${selector}" (selectors are JSON pointers for .json files)`);
      }
      return openNpySource(src, opts);
    case 'npz': return openNpzSource(src, selector, opts);
    case 'safetensors': return openSafetensorsSource(src, selector);
    case 'json': throw new NormScopeError('.json tensors are text and are read whole, not in chunks');
    case 'ipynb': throw new NormScopeError('.ipynb notebooks are text and are read whole, not in chunks');
    default: {
      const unreachable: never = format;
      throw new NormScopeError(`unsupported format ${String(unreachable)}`);
    }
  }
}
