/** File access for the CLI: reading an INPUT spec (path#selector) and writing outputs, with one-line errors. */
import * as fs from 'node:fs';
import { NormScopeError } from '../engine/errors';
import { LoadOptions, detectFormat, loadTensor, splitSelector } from '../engine/formats/input';
import { TensorListing } from '../engine/formats/listing';
import { isMultiTensor, listTensors } from '../engine/formats/open';
import { Tensor } from '../engine/tensor';

/** Files above this are not read whole (a typed array holds at most 2^31 - 1 bytes here); see stream.ts. */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

function isFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Reads `spec` (a path with an optional #selector) as a tensor. */
export function readInput(spec: string, opts: LoadOptions = {}): Tensor {
  const { path, selector } = splitSelector(spec, isFile);
  const bytes = readWhole(path);
  try {
    return loadTensor(path, bytes, selector, opts);
  } catch (e) {
    if (e instanceof NormScopeError) throw new NormScopeError(`${path}: ${cliWording(e.message)}`);
    throw e;
  }
}

/** What a multi-tensor file (.npz, .safetensors) named without a #selector holds; null otherwise. */
export function readListing(spec: string, opts: LoadOptions = {}): TensorListing | null {
  const { path, selector } = splitSelector(spec, isFile);
  if (selector !== undefined || !isFile(path)) return null;
  const head = new Uint8Array(16);
  const fd = fs.openSync(path, 'r');
  try {
    fs.readSync(fd, head, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  try {
    if (!isMultiTensor(detectFormat(path, head))) return null;
  } catch {
    return null; // loadTensor words the refusal
  }
  const bytes = readWhole(path);
  try {
    return listTensors(path, bytes, opts);
  } catch (e) {
    if (e instanceof NormScopeError) throw new NormScopeError(`${path}: ${cliWording(e.message)}`);
    throw e;
  }
}

/** Engine messages in the CLI's terms (option names as flags). */
export function cliWording(message: string): string {
  return message.replace('read it with the bfloat16V2 option', 'read it with --bfloat16-v2');
}

function readWhole(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    const size = fs.statSync(path).size;
    if (size > MAX_FILE_BYTES) {
      throw new NormScopeError(`${path}: the file is ${size} bytes, more than the ${MAX_FILE_BYTES} that can be read whole (stats and normalize read .npy, .npz and .safetensors files in chunks; check needs the whole tensor)`);
    }
    const buf = fs.readFileSync(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof NormScopeError) throw e;
    throw new NormScopeError(`cannot read ${path}: ${describeFsError(e)}`);
  }
  return bytes;
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

/** Reads a tensor-valued flag (--weight, --bias, ...): the same INPUT syntax, errors prefixed with the flag. */
export function readParam(flag: string, spec: string): Tensor {
  try {
    return readInput(spec);
  } catch (e) {
    if (e instanceof NormScopeError) throw new NormScopeError(`--${flag}: ${e.message}`);
    throw e;
  }
}
