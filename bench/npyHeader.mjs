// The .npy v1.0 header of a little-endian float32 array of `shape`, C order, and `writeTensorFile`, which writes
// the bench's large files with it, then the data in blocks.
import { closeSync, openSync, writeSync } from 'node:fs';

export function npyHeader(shape) {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = Buffer.alloc(total);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(out);
  out.writeUInt16LE(dict.length, 8);
  out.write(dict, 10, 'latin1');
  return out;
}

/** Writes a float32 .npy of `shape`: N(1, 2) values, one 64 MiB block of them repeated. */
export function writeTensorFile(file, shape) {
  const block = new Float32Array(16 * 2 ** 20);
  let s = 12345;
  const u = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  for (let i = 0; i < block.length; i++) block[i] = 1 + 2 * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const bytes = new Uint8Array(block.buffer);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, npyHeader(shape));
    let left = shape.reduce((a, b) => a * b, 1) * 4;
    while (left > 0) {
      const n = Math.min(left, bytes.length);
      writeSync(fd, bytes, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}
