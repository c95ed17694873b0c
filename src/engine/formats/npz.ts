/**
 * .npz files (numpy.savez / savez_compressed): a zip of .npy members, stored or deflated. A member is selected
 * by its name with or without `.npy` (`weights.npz#conv1` reads the member `conv1.npy`).
 */
import { Inflate } from 'fflate';
import { itemSize } from '../dtype';
import { NormScopeError } from '../errors';
import { Tensor, numel } from '../tensor';
import { TensorEntry, TensorListing, needSelector, noSuchTensor } from './listing';
import { NpyReadOptions, readNpy } from './npy';
import { ByteSource, TensorSource, npyHeaderReads, openNpySource, runAsync, runSync } from './source';
import { ZipEntry, memberBytes, memberLabel, memberDataOffsetReads, memberSource, zipDirectoryReads } from './zip';

const KIND = '.npz';

/** The selector name of a member: without its `.npy`. */
export function npzName(member: string): string {
  return member.endsWith('.npy') ? member.slice(0, -4) : member;
}

function arrays(entries: readonly ZipEntry[]): ZipEntry[] {
  return entries.filter((e) => e.name.endsWith('.npy'));
}

function pick(entries: readonly ZipEntry[], selector: string | undefined): ZipEntry {
  const members = arrays(entries);
  if (selector === undefined) {
    if (members.length === 1) return members[0];
    if (members.length === 0) throw noSuchTensor(KIND, '', []);
    throw needSelector(KIND, members.map((e) => npzName(e.name)));
  }
  const found = members.find((e) => e.name === selector || npzName(e.name) === selector);
  if (!found) throw noSuchTensor(KIND, selector, members.map((e) => npzName(e.name)));
  return found;
}

const inMember = (e: ZipEntry, err: unknown): unknown =>
  err instanceof NormScopeError && !err.message.includes(memberLabel(e)) ? new NormScopeError(`${memberLabel(e)}: ${err.message}`) : err;

/** Reads one array of an .npz in memory (the only one when `selector` is absent). */
export function readNpz(bytes: Uint8Array, selector?: string, opts: NpyReadOptions = {}): Tensor {
  const entry = pick(runSync(zipDirectoryReads(bytes.length), bytes), selector);
  const dataOffset = runSync(memberDataOffsetReads(entry, bytes.length), bytes);
  const data = memberBytes(bytes, entry, dataOffset);
  try {
    return readNpy(data, opts);
  } catch (e) {
    throw inMember(entry, e);
  }
}

/** The first `n` bytes of a member of a file in memory (inflating only as far as needed). */
function memberPrefix(bytes: Uint8Array, entry: ZipEntry, dataOffset: number, n: number): Uint8Array {
  const raw = bytes.subarray(dataOffset, dataOffset + entry.compressedSize);
  if (entry.method === 0) return raw.subarray(0, n);
  const parts: Uint8Array[] = [];
  let got = 0;
  const inf = new Inflate((c) => { parts.push(c); got += c.length; });
  try {
    for (let p = 0; p < raw.length && got < n; p += 1 << 14) inf.push(raw.slice(p, p + (1 << 14)), p + (1 << 14) >= raw.length);
  } catch (e) {
    throw new NormScopeError(`${memberLabel(entry)}: corrupt deflate data (${e instanceof Error ? e.message : String(e)})`);
  }
  const out = new Uint8Array(Math.min(n, got));
  let o = 0;
  for (const c of parts) { if (o >= out.length) break; out.set(c.subarray(0, out.length - o), o); o += c.length; }
  return out;
}

function entryOf(e: ZipEntry, h: { shape: readonly number[]; dtype: TensorEntry['dtype'] }): TensorEntry {
  return { name: npzName(e.name), shape: h.shape, dtype: h.dtype, bytes: numel(h.shape) * itemSize(h.dtype) };
}

/** The arrays of an .npz in memory: names, shapes and dtypes from each member's header. */
export function listNpz(bytes: Uint8Array, opts: NpyReadOptions = {}): TensorListing {
  const tensors = arrays(runSync(zipDirectoryReads(bytes.length), bytes)).map((e) => {
    const dataOffset = runSync(memberDataOffsetReads(e, bytes.length), bytes);
    try {
      const prefix = memberPrefix(bytes, e, dataOffset, 12 + 65536);
      return entryOf(e, runSync(npyHeaderReads(opts), prefix));
    } catch (err) {
      throw inMember(e, err);
    }
  });
  return { format: 'npz', tensors };
}

/** Opens one array of an .npz for chunked reading (stored members are ranged reads; deflated ones inflate forward). */
export async function openNpzSource(src: ByteSource, selector?: string, opts: NpyReadOptions = {}): Promise<TensorSource> {
  const entry = pick(await runAsync(zipDirectoryReads(src.size), src), selector);
  const dataOffset = await runAsync(memberDataOffsetReads(entry, src.size), src);
  try {
    return await openNpySource(memberSource(src, entry, dataOffset), opts);
  } catch (e) {
    throw inMember(entry, e);
  }
}

/** The arrays of an .npz read through a ByteSource (headers only). */
export async function listNpzSource(src: ByteSource, opts: NpyReadOptions = {}): Promise<TensorListing> {
  const tensors: TensorEntry[] = [];
  for (const e of arrays(await runAsync(zipDirectoryReads(src.size), src))) {
    const dataOffset = await runAsync(memberDataOffsetReads(e, src.size), src);
    try {
      tensors.push(entryOf(e, await runAsync(npyHeaderReads(opts), memberSource(src, e, dataOffset))));
    } catch (err) {
      throw inMember(e, err);
    }
  }
  return { format: 'npz', tensors };
}
