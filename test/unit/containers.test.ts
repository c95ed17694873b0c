import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensorStats } from '../../src/engine/analyze';
import { detectFormat, loadTensor } from '../../src/engine/formats/input';
import { listTensors, listSource, openTensorSource } from '../../src/engine/formats/open';
import { ByteSource, bytesSource, computeValues } from '../../src/engine/formats/source';
import { MAX_SAFETENSORS_HEADER } from '../../src/engine/formats/safetensors';
import { crc32 } from '../../src/engine/formats/zip';
import { streamStats } from '../../src/engine/streaming';
import { toFloat64 } from '../../src/engine/tensor';

const DIR = join(__dirname, '../../../test/fixtures/containers');
const file = (name: string) => new Uint8Array(readFileSync(join(DIR, name)));
const decode = (v: number | string) => (typeof v === 'number' ? v : Number(v.replace('inf', 'Infinity').replace('nan', 'NaN')));

interface Member { name: string; dtype: string; shape: number[]; values?: (number | string)[] }
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as {
  npz: { file: string; compressed: boolean; members: Member[] }[];
  safetensors: { file: string; metadata: Record<string, string> | null; tensors: (Member & { st_dtype: string })[] }[];
};

/** Reads every tensor both ways: whole in memory (loadTensor) and in chunks through a ByteSource. */
async function bothWays(name: string, bytes: Uint8Array, selector: string | undefined) {
  const whole = loadTensor(name, bytes, selector);
  const src = await openTensorSource(name, bytesSource(bytes), selector);
  const raw = await src.readStorage(0, src.count);
  return { whole, chunked: Array.from(computeValues(src.dtype, raw)), src };
}

describe('.npz: numpy-written archives', () => {
  for (const entry of manifest.npz.filter((e) => e.members.every((m) => m.values))) {
    it(`reads every member of ${entry.file} (${entry.compressed ? 'deflated' : 'stored'}) whole and in chunks`, async () => {
      const bytes = file(entry.file);
      assert.equal(detectFormat(entry.file, bytes), 'npz');
      for (const m of entry.members) {
        const { whole, chunked, src } = await bothWays(entry.file, bytes, m.name);
        assert.equal(whole.dtype, m.dtype);
        assert.deepEqual(whole.shape, m.shape);
        assert.deepEqual(Array.from(toFloat64(whole)), m.values!.map(decode));
        assert.deepEqual([src.dtype, [...src.shape]], [m.dtype, m.shape]);
        assert.deepEqual(chunked, m.values!.map(decode));
      }
    });

    it(`lists ${entry.file}: names, shapes, dtypes and sizes from the member headers`, async () => {
      const want = entry.members.map((m) => ({
        name: m.name, shape: m.shape, dtype: m.dtype,
        bytes: m.shape.reduce((a, b) => a * b, 1) * ({ float32: 4, int64: 8, bool: 1, float16: 2, float64: 8 } as Record<string, number>)[m.dtype],
      }));
      const bytes = file(entry.file);
      assert.deepEqual(listTensors(entry.file, bytes), { format: 'npz', tensors: want });
      assert.deepEqual(await listSource(entry.file, bytesSource(bytes)), { format: 'npz', tensors: want });
    });
  }

  it('reads a stored member from a Node Buffer (a view into a shared pool, whose slice() is no copy)', () => {
    // numpy stores members at offsets that leave float data unaligned, so the reader copies them; a Buffer's
    // slice() is a view of the pool, and read from offset 0 of its ArrayBuffer it gave other bytes
    const entry = manifest.npz.find((e) => !e.compressed && e.members.some((m) => m.values && m.dtype === 'float32'))!;
    const m = entry.members.find((x) => x.values && x.dtype === 'float32')!;
    const pooled = readFileSync(join(DIR, entry.file));
    const unaligned = Buffer.alloc(pooled.length + 3).subarray(3); // at another offset of its buffer
    unaligned.set(pooled);
    for (const buf of [pooled, unaligned]) {
      assert.ok(buf instanceof Buffer);
      assert.deepEqual(Array.from(toFloat64(loadTensor(entry.file, buf as unknown as Uint8Array, m.name))), m.values!.map(decode));
    }
  });

  it('selects members with or without .npy, takes the only member without a selector, refuses otherwise', async () => {
    const bytes = file('savez.npz');
    assert.deepEqual(loadTensor('a.npz', bytes, 'weight.npy').shape, [2, 3]);
    const pos = file('positional.npz');
    assert.deepEqual(Array.from(toFloat64(loadTensor('p.npz', pos))), [0, 1, 2, 3, 4, 5]);
    assert.throws(() => loadTensor('a.npz', bytes), { message: 'this .npz file holds 5 tensors: pick one with FILE#name (weight, steps, mask, half, acts)' });
    assert.throws(() => loadTensor('a.npz', bytes, 'nope'), { message: "no tensor 'nope' in this .npz file (it holds: weight, steps, mask, half, acts)" });
    await assert.rejects(openTensorSource('a.npz', bytesSource(bytes), 'nope'), { message: "no tensor 'nope' in this .npz file (it holds: weight, steps, mask, half, acts)" });
  });

  it('streams a deflated member in chunks (inflating forward, starting over for the second pass)', async () => {
    const bytes = file('big_compressed.npz');
    let reads = 0;
    const counted: ByteSource = { size: bytes.length, read: (o, n) => { reads++; return bytesSource(bytes).read(o, n); } };
    const src = await openTensorSource('big.npz', counted, 'big');
    const { stats, info } = await streamStats(src, { chunkElements: 10000 });
    assert.equal(info.chunks, 7); // 65536 elements
    assert.ok(reads > 2 * Math.ceil(bytes.length / 65536), `compressed data read in 64 KiB steps, twice (${reads} reads)`);
    const whole = tensorStats(loadTensor('big.npz', bytes, 'big'));
    assert.deepEqual(stats.overall.histogram.counts, whole.overall.histogram.counts);
    assert.deepEqual(stats.channels.map((c) => c.count), whole.channels.map((c) => c.count));
    assert.ok(Math.abs((stats.overall.std as number) - (whole.overall.std as number)) < 1e-12);
  });

  it('computes CRC-32 as zip does', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });
});

describe('.npz: malformed archives', () => {
  const cases: [string, string | undefined, string][] = [
    ['bad_zip.npz', 'weight', 'not a zip file: no end-of-central-directory record (byte offset 64)'],
    ['cut.npz', 'weight', 'not a zip file: no end-of-central-directory record (byte offset 2185)'],
    ['truncated_member.npz', 'acts', "truncated: zip member 'acts.npy' needs 2147483632 bytes at 875, the file ends at 4370 (byte offset 875)"],
    ['crc_mismatch.npz', 'weight', "zip member 'weight.npy': CRC-32 mismatch (directory says 0x8f0c0901, data gives 0xa20ee68c)"],
    ['corrupt_deflate.npz', 'acts', "zip member 'acts.npy': corrupt deflate data (invalid block type)"],
    ['bzip2.npz', 'weight', "zip member 'weight.npy' uses compression method 12 (bzip2): only stored (0) and deflate (8) are supported"],
    ['bad_member.npz', 'x', "zip member 'x.npy': not an .npy file: expected the magic \\x93NUMPY (93 4e 55 4d 50 59), found 68 65 6c 6c 6f 2c (byte offset 0)"],
  ];
  for (const [name, selector, message] of cases) {
    it(`${name}: ${message}`, async () => {
      const bytes = file(name);
      assert.throws(() => loadTensor(name, bytes, selector), { message });
      await assert.rejects(async () => {
        const src = await openTensorSource(name, bytesSource(bytes), selector);
        await src.readStorage(0, src.count); // a stored member's CRC is checked once the reads have covered it
      }, { message });
    });
  }

  it('still lists an archive whose damage is in the data (the headers are intact)', () => {
    assert.equal(listTensors('c.npz', file('crc_mismatch.npz'))?.tensors.length, 5);
  });
});

// ---- .safetensors ------------------------------------------------------------------------------------------

/** A .safetensors file with `header` as its JSON (not padded) and `data` after it. */
function st(header: unknown, data = new Uint8Array(0), lengthOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthOverride ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('.safetensors: files written from the format definition', () => {
  for (const entry of manifest.safetensors) {
    it(`reads every tensor of ${entry.file} whole and in chunks (BF16 exactly)`, async () => {
      const bytes = file(entry.file);
      assert.equal(detectFormat(entry.file, bytes), 'safetensors');
      for (const t of entry.tensors) {
        const { whole, chunked } = await bothWays(entry.file, bytes, t.name);
        assert.equal(whole.dtype, t.dtype, t.name);
        assert.deepEqual(whole.shape, t.shape);
        assert.deepEqual(Array.from(toFloat64(whole)), t.values!.map(decode), t.name);
        assert.deepEqual(chunked, t.values!.map(decode), t.name);
      }
    });

    it(`lists ${entry.file} with its __metadata__`, async () => {
      const bytes = file(entry.file);
      const listing = listTensors(entry.file, bytes);
      assert.equal(listing?.format, 'safetensors');
      assert.deepEqual(listing?.tensors.map((t) => [t.name, t.dtype, [...t.shape]]), entry.tensors.map((t) => [t.name, t.dtype, t.shape]));
      assert.deepEqual(listing?.metadata, entry.metadata ?? undefined);
      assert.deepEqual(await listSource(entry.file, bytesSource(bytes)), listing);
    });
  }

  it('detects .safetensors by extension and by its header shape', () => {
    const bytes = st({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
    assert.equal(detectFormat('w.safetensors', bytes), 'safetensors');
    assert.equal(detectFormat('noext', bytes), 'safetensors');
  });

  it('streams a tensor in chunks with the in-memory statistics', async () => {
    const bytes = file('tensors.safetensors');
    const { stats, info } = await streamStats(await openTensorSource('t.safetensors', bytesSource(bytes), 'acts'), { chunkElements: 7 });
    assert.equal(info.chunks, 9);
    const whole = tensorStats(loadTensor('t.safetensors', bytes, 'acts'));
    assert.deepEqual(stats.edges, whole.edges);
    assert.deepEqual(stats.channels.map((c) => c.histogram), whole.channels.map((c) => c.histogram));
  });
});

describe('.safetensors: malformed headers', () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const cases: [string, Uint8Array, string][] = [
    ['shorter than the length field', new Uint8Array(5), 'truncated: a .safetensors file starts with an 8-byte header length, the file has 5 bytes (byte offset 0)'],
    ['header length beyond the file', st({}, new Uint8Array(0), 4096), 'truncated: safetensors header length 4096 goes beyond the end of the file (2 bytes after the length) (byte offset 0)'],
    ['header too large', st({}, new Uint8Array(0), MAX_SAFETENSORS_HEADER + 1), 'safetensors header length 100000001 exceeds the limit of 100000000 bytes (byte offset 0)'],
    ['header length of 2^63', st({}, new Uint8Array(0), 2 ** 63), 'safetensors header length 2^63 exceeds the limit of 100000000 bytes (byte offset 0)'],
    ['not JSON', st('{"a": '), 'safetensors header is not valid JSON: Unexpected end of JSON input (byte offset 8)'],
    ['not an object', st([1, 2]), 'safetensors header must be a JSON object (byte offset 8)'],
    ['unknown dtype', st({ w: { dtype: 'Q7', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), "safetensors tensor 'w': unknown dtype 'Q7'"],
    ['unsupported dtype', st({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      "safetensors tensor 'w': dtype F8_E4M3 is not supported (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL)"],
    ['bad shape', st({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), `safetensors tensor 'w': "shape" must be a list of non-negative integers, got [-1]`],
    ['bad data_offsets', st({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32(1)), `safetensors tensor 'w': "data_offsets" must be [begin, end], got [0]`],
    ['offsets beyond the data', st({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(2)), "safetensors tensor 'w': data_offsets [0, 16] go beyond the 8 bytes of data"],
    ['offsets reversed', st({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32(2)), "safetensors tensor 'w': data_offsets [4, 0] end before they begin"],
    ['size not matching the shape', st({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(3)), "safetensors tensor 'w': data_offsets [0, 8] hold 8 bytes, shape [3] of F32 needs 12"],
    ['overlapping tensors', st({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3)),
      "safetensors tensors 'a' [0, 8] and 'b' [4, 12] overlap"],
    ['metadata not strings', st({ __metadata__: { step: 3 } }), 'safetensors __metadata__ must map strings to strings'],
  ];
  for (const [what, bytes, message] of cases) {
    it(`${what}: ${message}`, async () => {
      assert.throws(() => loadTensor('bad.safetensors', bytes, 'w'), { message });
      await assert.rejects(listSource('bad.safetensors', bytesSource(bytes)), { message });
    });
  }
});
