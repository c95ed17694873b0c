import { NormScopeError } from '../errors';
import { Tensor } from '../tensor';
import { readNotebookTensor } from './ipynb';
import { JsonReadOptions, decodeJsonText, readJsonTensor } from './json';
import { NpyReadOptions, readNpy } from './npy';
import { readNpz } from './npz';
import { readSafetensors } from './safetensors';

/** The tensor file formats the engine reads. */
export type TensorFormat = 'npy' | 'json' | 'npz' | 'safetensors' | 'ipynb';

/** Options for every format loadTensor dispatches to. */
export interface LoadOptions extends NpyReadOptions, JsonReadOptions {}

const SUPPORTED = '.npy, .npz, .safetensors, .json, .ipynb';
const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** Splits `file#selector` at the first `#` whose prefix `exists` (a regular file); else the whole spec is the path. */
export function splitSelector(spec: string, exists: (path: string) => boolean): { path: string; selector?: string } {
  for (let i = spec.indexOf('#'); i !== -1; i = spec.indexOf('#', i + 1)) {
    if (exists(spec.slice(0, i))) return { path: spec.slice(0, i), selector: spec.slice(i + 1) };
  }
  return { path: spec };
}

/** The format of a file from its first bytes (16 are enough): the .npy and zip magics win, then the extension. */
export function detectFormat(path: string, bytes: Uint8Array): TensorFormat {
  if (NPY_MAGIC.every((b, i) => bytes[i] === b)) return 'npy';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))) return 'npz';
  // safetensors has no magic: a little-endian u64 header length (< 2^48 here), then the JSON header's '{'
  if (bytes.length >= 9 && bytes[6] === 0 && bytes[7] === 0 && bytes[8] === 0x7b) return 'safetensors';
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  switch (ext) {
    case 'npy': return 'npy';
    case 'json': return 'json';
    case 'npz': return 'npz';
    case 'safetensors': return 'safetensors';
    case 'ipynb': return 'ipynb';
    default: throw new NormScopeError(`unsupported format: ${name || path} (supported: ${SUPPORTED})`);
  }
}

/**
 * Reads the tensor in a file's bytes. `selector` is a JSON Pointer for .json, a member name for .npz and
 * .safetensors (needed when the file holds more than one tensor), `cell=N[&output=K]` for .ipynb, and is refused
 * for .npy.
 */
export function loadTensor(path: string, bytes: Uint8Array, selector?: string, opts: LoadOptions = {}): Tensor {
  const format = detectFormat(path, bytes);
  switch (format) {
    case 'npy':
      if (selector !== undefined) {
        throw new NormScopeError(`an .npy file holds a single array: remove "#${selector}" (selectors are JSON pointers for .json files)`);
      }
      return readNpy(bytes, opts);
    case 'json':
      return readJsonTensor(decodeJsonText(bytes, opts), selector, opts);
    case 'npz':
      return readNpz(bytes, selector, opts);
    case 'safetensors':
      return readSafetensors(bytes, selector);
    case 'ipynb': // selector: cell=N or cell=N&output=K (ipynb.ts)
      return readNotebookTensor(decodeJsonText(bytes, opts), selector).chosen.tensor;
    default: {
      const unreachable: never = format;
      throw new NormScopeError(`unsupported format ${String(unreachable)}`);
    }
  }
}
