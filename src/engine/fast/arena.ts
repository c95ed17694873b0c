/**
 * A first-fit allocator over one shared WebAssembly memory: the tensors the fast kernels read and write live
 * here, so worker threads see them without copying. Blocks are 64-byte aligned; the memory grows on demand up
 * to its maximum. Growing a shared memory never detaches earlier views, so every Float32Array handed out stays
 * valid. The first `reserved` bytes are never handed out (address 0 means "absent" to the kernels).
 */

/** The part of WebAssembly.Memory the arena uses (the engine declares no DOM or Node types). */
export interface SharedMemoryLike {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}

const PAGE = 65536;
const ALIGN = 64;

export class Arena {
  /** Free blocks [start, end), sorted by start and never adjacent (they are merged). */
  private readonly free: { start: number; end: number }[] = [];
  private readonly used = new Map<number, number>();
  /** Every SharedArrayBuffer the memory has exposed (each grow gives a new, longer one over the same bytes). */
  private readonly buffers = new WeakSet<object>();
  private top: number;

  constructor(readonly memory: SharedMemoryLike, readonly maxBytes: number, reserved = ALIGN) {
    this.top = this.memory.buffer.byteLength;
    this.buffers.add(this.memory.buffer);
    if (this.top > reserved) this.free.push({ start: align(reserved), end: this.top });
  }

  /** Bytes currently handed out. */
  get usedBytes(): number {
    let n = 0;
    for (const s of this.used.values()) n += s;
    return n;
  }

  /** Start of a fresh block of `bytes` bytes, or -1 when the memory cannot grow that far. */
  alloc(bytes: number): number {
    const size = align(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i];
      if (f.end - f.start < size) continue;
      const start = f.start;
      f.start += size;
      if (f.start === f.end) this.free.splice(i, 1);
      this.used.set(start, size);
      return start;
    }
    const last = this.free[this.free.length - 1];
    const tail = last && last.end === this.top ? last.end - last.start : 0;
    const pages = Math.ceil((size - tail) / PAGE);
    if (this.top + pages * PAGE > this.maxBytes) return -1;
    try {
      this.memory.grow(pages);
    } catch {
      return -1;
    }
    const end = this.top + pages * PAGE;
    if (tail > 0) last.end = end;
    else this.free.push({ start: this.top, end });
    this.top = end;
    this.buffers.add(this.memory.buffer);
    return this.alloc(bytes);
  }

  /** Returns a block from `alloc` (unknown addresses are ignored). */
  release(start: number): void {
    const size = this.used.get(start);
    if (size === undefined) return;
    this.used.delete(start);
    const end = start + size;
    let i = 0;
    while (i < this.free.length && this.free[i].start < start) i++;
    const prev = this.free[i - 1];
    const next = this.free[i];
    if (prev && prev.end === start) {
      prev.end = end;
      if (next && next.start === end) { prev.end = next.end; this.free.splice(i, 1); }
    } else if (next && next.start === end) {
      next.start = start;
    } else {
      this.free.splice(i, 0, { start, end });
    }
  }

  /** Byte address of a view's first element when the view lies in this memory, else -1. */
  addressOf(view: ArrayBufferView): number {
    return this.buffers.has(view.buffer) ? view.byteOffset : -1;
  }

  f32(start: number, n: number): Float32Array {
    return new Float32Array(this.buffer(), start, n);
  }

  f64(start: number, n: number): Float64Array {
    return new Float64Array(this.buffer(), start, n);
  }

  /** The memory's current buffer, remembered so that views on it are recognized. */
  private buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
