/**
 * Just enough of the zip format (PKWARE APPNOTE) for .npz files: the central directory (zip64 included, as
 * numpy writes every member with force_zip64), stored and deflated members, CRC-32 checks. Inflation is
 * fflate's; members are read whole (`memberBytes`) or as a ByteSource read in chunks (`memberSource`).
 */
import { Inflate, inflateSync } from 'fflate';
import { NormScopeError } from '../errors';
import { ByteSource, Reads } from './source';
import { clip } from './shown';

/** One member, as the central directory describes it. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated (others are refused when read). */
  readonly method: number;
  readonly flags: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

const at = (offset: number) => `byte offset ${offset}`;
const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_MIN = 22;
/** The directory may hold at most this many members (a bound on what a hostile file can make us allocate). */
export const MAX_ZIP_ENTRIES = 65536;
/** ... and take at most this many bytes. */
export const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;

/** How messages name a member (a long name clipped). */
export function memberLabel(entry: Pick<ZipEntry, 'name'>): string {
  return `zip member '${clip(entry.name)}'`;
}

const u16 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + b[i + 3] * 2 ** 24;
const u64 = (b: Uint8Array, i: number) => u32(b, i) + u32(b, i + 4) * 2 ** 32;

/** Reads the central directory: the end record (searched in the last 64 KiB), zip64 records, every entry. */
export function* zipDirectoryReads(fileSize: number): Reads<ZipEntry[]> {
  const tailStart = Math.max(0, fileSize - (EOCD_MIN + 0xffff));
  const tail = yield { offset: tailStart, length: fileSize - tailStart };
  let eocd = -1;
  for (let i = tail.length - EOCD_MIN; i >= 0; i--) {
    if (u32(tail, i) === EOCD_SIG && i + EOCD_MIN + u16(tail, i + 20) <= tail.length) { eocd = i; break; }
  }
  if (eocd < 0) throw new NormScopeError('not a zip file: no end-of-central-directory record', at(fileSize));
  const eocdAt = tailStart + eocd;
  if (u16(tail, eocd + 4) !== 0 || u16(tail, eocd + 6) !== 0) {
    throw new NormScopeError('multi-disk zip archives are not supported', at(eocdAt));
  }
  let entries = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = yield { offset: eocdAt - 20, length: 20 };
    if (eocdAt < 20 || loc.length < 20 || u32(loc, 0) !== ZIP64_LOCATOR_SIG) {
      throw new NormScopeError('zip: the end record asks for zip64 but there is no zip64 locator', at(eocdAt));
    }
    const recAt = u64(loc, 8);
    const rec = yield { offset: recAt, length: 56 };
    if (rec.length < 56 || u32(rec, 0) !== ZIP64_EOCD_SIG) throw new NormScopeError('zip: bad zip64 end-of-central-directory record', at(recAt));
    entries = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (entries > MAX_ZIP_ENTRIES) throw new NormScopeError(`zip: ${entries} members, more than the ${MAX_ZIP_ENTRIES} supported`, at(eocdAt));
  if (cdSize > MAX_CENTRAL_DIRECTORY) throw new NormScopeError(`zip: central directory of ${cdSize} bytes, more than the ${MAX_CENTRAL_DIRECTORY} supported`, at(eocdAt));
  if (cdOffset + cdSize > fileSize) {
    throw new NormScopeError(`zip: the central directory (${cdSize} bytes at ${cdOffset}) extends beyond the file of ${fileSize} bytes`, at(eocdAt));
  }
  const cd = yield { offset: cdOffset, length: cdSize };
  const out: ZipEntry[] = [];
  let p = 0;
  for (let k = 0; k < entries; k++) {
    if (p + 46 > cd.length || u32(cd, p) !== CENTRAL_SIG) throw new NormScopeError('zip: bad central directory entry', at(cdOffset + p));
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let size = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    let localOffset = u32(cd, p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new NormScopeError('zip: bad central directory entry', at(cdOffset + p));
    const rawName = cd.subarray(p + 46, p + 46 + nameLen);
    const name = flags & 0x800 ? new TextDecoder('utf-8').decode(rawName) : String.fromCharCode(...rawName);
    // zip64 extended information: the fields that overflowed, in this order.
    for (let e = p + 46 + nameLen, end = e + extraLen; e + 4 <= end;) {
      const id = u16(cd, e), len = u16(cd, e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff && q + 8 <= e + 4 + len) { size = u64(cd, q); q += 8; }
        if (compressedSize === 0xffffffff && q + 8 <= e + 4 + len) { compressedSize = u64(cd, q); q += 8; }
        if (localOffset === 0xffffffff && q + 8 <= e + 4 + len) { localOffset = u64(cd, q); q += 8; }
      }
      e += 4 + len;
    }
    out.push({ name, method, flags, crc, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/**
 * Deflate's best ratio: a 258-byte match costs at least 2 bits, so a stream inflates to at most 1032 bytes per
 * compressed byte (plus a little for the last block). A directory that says more lies, and is refused before
 * anything is sized by it.
 */
const MAX_DEFLATE_RATIO = 1032;

/** Reads a member's local header; returns the offset of its first data byte. Refuses what cannot be read. */
export function* memberDataOffsetReads(entry: ZipEntry, fileSize: number): Reads<number> {
  const label = memberLabel(entry);
  if (entry.flags & 1) throw new NormScopeError(`${label} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) {
    const names: Record<number, string> = { 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };
    const m = names[entry.method] ? `${entry.method} (${names[entry.method]})` : String(entry.method);
    throw new NormScopeError(`${label} uses compression method ${m}: only stored (0) and deflate (8) are supported`);
  }
  if (entry.method === 8 && entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
    throw new NormScopeError(
      `${label}: the directory says it inflates to ${entry.size} bytes, more than deflate can make of its ${entry.compressedSize} compressed bytes`);
  }
  const h = yield { offset: entry.localOffset, length: 30 };
  if (h.length < 30 || u32(h, 0) !== LOCAL_SIG) throw new NormScopeError(`${label}: bad local header`, at(entry.localOffset));
  const dataOffset = entry.localOffset + 30 + u16(h, 26) + u16(h, 28);
  if (dataOffset + entry.compressedSize > fileSize) {
    throw new NormScopeError(
      `truncated: ${label} needs ${entry.compressedSize} bytes at ${dataOffset}, the file ends at ${fileSize}`, at(dataOffset));
  }
  return dataOffset;
}

let CRC_TABLE: Int32Array | null = null;

/** CRC-32 (ISO-HDLC, as zip uses) of `bytes`, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c;
    }
  }
  const t = CRC_TABLE;
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function checkCrc(entry: ZipEntry, crc: number): void {
  if (crc !== entry.crc) {
    const h = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
    throw new NormScopeError(`${memberLabel(entry)}: CRC-32 mismatch (directory says ${h(entry.crc)}, data gives ${h(crc)})`);
  }
}

function inflateError(entry: ZipEntry, e: unknown): NormScopeError {
  const what = e instanceof Error ? e.message : String(e);
  return new NormScopeError(`${memberLabel(entry)}: corrupt deflate data (${what})`);
}

function sizeMismatch(entry: ZipEntry, got: number): NormScopeError {
  return new NormScopeError(`${memberLabel(entry)}: inflates to ${got} bytes, the directory says ${entry.size}`);
}

/** A member's whole content from the whole file in memory, inflated and CRC-checked. */
export function memberBytes(file: Uint8Array, entry: ZipEntry, dataOffset: number): Uint8Array {
  const raw = file.subarray(dataOffset, dataOffset + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw sizeMismatch(entry, entry.compressedSize);
    data = raw;
  } else {
    try {
      data = inflateSync(raw);
    } catch (e) {
      throw inflateError(entry, e);
    }
    if (data.length !== entry.size) throw sizeMismatch(entry, data.length);
  }
  checkCrc(entry, crc32(data));
  return data;
}

/** How many compressed bytes a deflated member source feeds the inflater at a time. */
const INFLATE_STEP = 1 << 16;

/**
 * A member's content as a ByteSource read in chunks. Stored members are a window on the file; their CRC is
 * checked when the reads have covered them front to back. Deflated members inflate forward as reads advance
 * (a read behind the retained window starts over) and are CRC-checked at their end.
 */
export function memberSource(src: ByteSource, entry: ZipEntry, dataOffset: number): ByteSource {
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw sizeMismatch(entry, entry.compressedSize);
    let crc = 0, crcPos = 0;
    return {
      size: entry.size,
      async read(offset, length) {
        const n = Math.max(0, Math.min(length, entry.size - offset));
        const b = await src.read(dataOffset + offset, n);
        if (offset <= crcPos && offset + b.length > crcPos) {
          crc = crc32(b.subarray(crcPos - offset), crc);
          crcPos = offset + b.length;
          if (crcPos === entry.size) checkCrc(entry, crc);
        }
        return b;
      },
    };
  }
  let inflater: Inflate;
  let cpos = 0, produced = 0, crc = 0, pushedFinal = false, checked = false;
  let pieces: { at: number; bytes: Uint8Array }[] = [];
  const restart = () => {
    cpos = 0; produced = 0; crc = 0; pushedFinal = false; pieces = [];
    inflater = new Inflate((chunk) => {
      if (!chunk.length) return;
      pieces.push({ at: produced, bytes: chunk });
      produced += chunk.length;
      if (produced > entry.size) throw sizeMismatch(entry, produced);
      crc = crc32(chunk, crc);
    });
  };
  restart();
  const pump = async () => {
    const n = Math.min(INFLATE_STEP, entry.compressedSize - cpos);
    const c = n > 0 ? (await src.read(dataOffset + cpos, n)).slice() : new Uint8Array(0);
    cpos += c.length;
    pushedFinal = cpos >= entry.compressedSize || c.length === 0;
    try {
      inflater.push(c, pushedFinal);
    } catch (e) {
      if (e instanceof NormScopeError) throw e;
      throw inflateError(entry, e);
    }
    if (produced === entry.size && !checked) { checked = true; checkCrc(entry, crc); }
    if (pushedFinal && produced !== entry.size) throw sizeMismatch(entry, produced);
  };
  return {
    size: entry.size,
    async read(offset, length) {
      const end = Math.min(entry.size, offset + length);
      if (pieces.length ? offset < pieces[0].at : offset < produced) restart();
      for (;;) {
        pieces = pieces.filter((p) => p.at + p.bytes.length > offset);
        if (produced >= end || pushedFinal) break;
        await pump();
      }
      const out = new Uint8Array(Math.max(0, Math.min(end, produced) - offset));
      for (const p of pieces) {
        if (p.at >= offset + out.length) break;
        const from = Math.max(offset, p.at);
        const to = Math.min(offset + out.length, p.at + p.bytes.length);
        out.set(p.bytes.subarray(from - p.at, to - p.at), from - offset);
      }
      return out;
    },
  };
}
