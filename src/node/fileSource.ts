/**
 * Node file access for streamed tensors: a ByteSource over a file handle (ranged reads straight into the
 * caller's buffers), an .npy writer that appends chunks, the memory budget and a progress line.
 * The engine stays pure; this is what the CLI (and the extension host, for `file:` URIs) hand it.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { DType, itemSize } from '../engine/dtype';
import { openTensorSource } from '../engine/formats/open';
import { ByteSource } from '../engine/formats/source';
import { npyHeader } from '../engine/formats/npy';
import type { SideStats } from '../engine/stats';
import { StreamInfo, StreamOptions, StreamProgress, chunkElementsFor, streamStats } from '../engine/streaming';

/** The default memory budget for streamed files, in MiB. */
export const DEFAULT_BUDGET_MB = 512;
/** Files above this many bytes are streamed rather than read whole (half the default budget). */
export const STREAM_THRESHOLD = (DEFAULT_BUDGET_MB / 2) * 2 ** 20;

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

/** Opens `path` for ranged reads. */
export async function openFileSource(path: string): Promise<FileByteSource> {
  const fh: FileHandle = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const readInto = async (offset: number, dst: Uint8Array): Promise<number> => {
      let got = 0;
      while (got < dst.length && offset + got < size) {
        const { bytesRead } = await fh.read(dst, got, dst.length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got;
    };
    return {
      size,
      readInto,
      async read(offset, length) {
        const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
        const n = await readInto(offset, buf);
        return n === buf.length ? buf : buf.subarray(0, n);
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Writes an .npy file chunk by chunk: the header first, then the data in C order as it arrives. */
export class NpyFileWriter {
  private position: number;
  private written = 0;

  private constructor(private readonly fh: FileHandle, private readonly expected: number, header: number) {
    this.position = header;
  }

  /** Creates `path` with the header for `shape` of `dtype` (float32 or float64 output). */
  static async create(path: string, dtype: DType, shape: readonly number[]): Promise<NpyFileWriter> {
    const fh = await open(path, 'w');
    const header = npyHeader(dtype, shape);
    await fh.write(header, 0, header.length, 0);
    const count = shape.reduce((a, b) => a * b, 1);
    return new NpyFileWriter(fh, count, header.length);
  }

  async write(values: Float32Array | Float64Array): Promise<void> {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.length;
    this.written += values.length;
  }

  /** Closes the file; throws if fewer or more elements were written than the header promised. */
  async close(): Promise<void> {
    await this.fh.close();
    if (this.written !== this.expected) throw new Error(`npy writer: ${this.written} elements written, header says ${this.expected}`);
  }
}

/** A progress line on `stream` (redrawn in place, at most ~10 times a second), or undefined when it is not a TTY. */
export function progressLine(stream: NodeJS.WriteStream, label: string, bytesPerElement: number):
  { update: (p: StreamProgress) => void; done: () => void } | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  const gb = (elements: number) => ((elements * bytesPerElement) / 1e9).toFixed(2);
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
      const perPass = p.total / p.passes;
      const inPass = p.done - (p.pass - 1) * perPass;
      stream.write(`\r${label}: pass ${p.pass}/${p.passes} ${gb(inPass)} of ${gb(perPass)} GB, ${pct}% `);
    },
    done() {
      stream.write('\r\x1b[K');
    },
  };
}

/** Peak resident set size of this process so far, in bytes. */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Options of `streamFileStats`: the stream's, with a budget instead of a chunk size. */
export interface FileStatsOptions extends Omit<StreamOptions, 'chunkElements'> {
  /** Memory budget in MiB (default DEFAULT_BUDGET_MB). */
  readonly budgetMB?: number;
  /** Read .npy '<V2' as bfloat16. */
  readonly bfloat16V2?: boolean;
}

/**
 * Per-channel statistics and histograms of the tensor `selector` names in the file at `path` (.npy, .npz,
 * .safetensors), read in chunks within the budget: for the extension host's `file:` URIs and the CLI.
 * `onMoments` gives a first picture after the first pass; `onProgress` reports both passes.
 */
export async function streamFileStats(path: string, selector: string | undefined, opts: FileStatsOptions = {}):
  Promise<{ shape: readonly number[]; dtype: DType; stats: SideStats; info: StreamInfo }> {
  const file = await openFileSource(path);
  try {
    const src = await openTensorSource(path, file, selector, { bfloat16V2: opts.bfloat16V2 });
    const chunkElements = chunkElementsFor(itemSize(src.dtype), (opts.budgetMB ?? DEFAULT_BUDGET_MB) * 2 ** 20);
    const { stats, info } = await streamStats(src, { ...opts, chunkElements });
    return { shape: src.shape, dtype: src.dtype, stats, info };
  } finally {
    await file.close();
  }
}
