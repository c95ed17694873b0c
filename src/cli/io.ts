/** File access for the CLI: reading an INPUT spec (path#selector) and writing outputs, with one-line errors. */
import * as fs from 'node:fs';
import { NormScopeError } from '../engine/errors';
import { loadTensor, splitSelector } from '../engine/formats/input';
import { Tensor } from '../engine/tensor';

/** Files above this are refused until streaming exists (a typed array holds at most 2^31 - 1 bytes here). */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

function isFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Reads `spec` (a path with an optional #selector) as a tensor. */
export function readInput(spec: string): Tensor {
  const { path, selector } = splitSelector(spec, isFile);
  let bytes: Uint8Array;
  try {
    const size = fs.statSync(path).size;
    if (size > MAX_FILE_BYTES) {
      throw new NormScopeError(`${path}: the file is ${size} bytes; files over ${MAX_FILE_BYTES} bytes are not supported yet`);
    }
    const buf = fs.readFileSync(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof NormScopeError) throw e;
    throw new NormScopeError(`cannot read ${path}: ${describeFsError(e)}`);
  }
  try {
    return loadTensor(path, bytes, selector);
  } catch (e) {
    if (e instanceof NormScopeError) throw new NormScopeError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Writes `bytes` to `path`, turning a file-system failure into a NormScopeError. */
export function writeOutput(path: string, bytes: Uint8Array): void {
  try {
    fs.writeFileSync(path, bytes);
  } catch (e) {
    throw new NormScopeError(`cannot write ${path}: ${describeFsError(e)}`);
  }
}

function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    default: return err.message ?? String(e);
  }
}
