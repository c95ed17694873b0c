// Seeded mutation fuzzing of every reader: .npy, .npz, .safetensors, JSON, tensor literals (and the hover over
// them) and .ipynb notebooks, in memory (loadTensor, listTensors) and in chunks (openTensorSource over
// bytesSource, readStorage of the whole count, listSource). Every mutated input must give EITHER a valid result
// (a tensor whose shape, dtype and storage agree) OR one NormScopeError with a message; never another error type,
// never a hang (each case has a time budget), never an allocation a lying header asked for. The inputs are the
// real fixtures plus small ones built here, mutated by rng(seed), so every run sees the same inputs. Bugs the
// fuzzer found have their own named tests with the minimal input, under 'fuzz regressions'.
import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { zipSync } from 'fflate';
import { DType, Storage, itemSize } from '../../src/engine/dtype';
import { NormScopeError } from '../../src/engine/errors';
import { hoverAt, hoverMarkdown } from '../../src/engine/hoverSummary';
import { loadTensor } from '../../src/engine/formats/input';
import { readNotebookTensor } from '../../src/engine/formats/ipynb';
import { listJsonTensors } from '../../src/engine/formats/json';
import { TensorListing } from '../../src/engine/formats/listing';
import { findLiteralAt, parseLiteral } from '../../src/engine/formats/literal';
import { listSource, listTensors, openTensorSource } from '../../src/engine/formats/open';
import { decodeNormParams, decodePayload, decodePayloadText } from '../../src/engine/formats/payload';
import { bytesSource } from '../../src/engine/formats/source';
import { Tensor, numel } from '../../src/engine/tensor';
import { rng } from '../support/random';

const FIXTURES = join(__dirname, '../../../test/fixtures');
const fixture = (rel: string) => new Uint8Array(readFileSync(join(FIXTURES, rel)));
const fixtureText = (rel: string) => readFileSync(join(FIXTURES, rel), 'utf8');
const fixturesIn = (dir: string, ext: string) =>
  readdirSync(join(FIXTURES, dir)).filter((f) => f.endsWith(ext)).sort().map((f) => `${dir}/${f}`);

/**
 * One case may take this long: the lesser of its wall time and the process's CPU time, so that neither a busy
 * machine (wall) nor a garbage collection of earlier cases on the other core (CPU) fails it. The slowest
 * legitimate cases (10^6-element literals) take ~0.3-0.5 s here; the bugs this suite found took 4 s to minutes.
 */
const CASE_BUDGET_MS = 3000;
const cpuMs = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
/** A point in time as both clocks see it, and how long since one (the lesser of the two). */
const clocks = () => ({ wall: performance.now(), cpu: cpuMs() });
const since = (t: { wall: number; cpu: number }) => Math.min(performance.now() - t.wall, cpuMs() - t.cpu);
/** A result may hold at most this many bytes per input byte (deflate's best ratio is 1032:1) plus 1 MiB. */
const MAX_EXPANSION = 1100;

// ---- the oracle -------------------------------------------------------------------------------------------------

const STORAGE: Record<DType, string> = {
  bool: 'Uint8Array', int8: 'Int8Array', int16: 'Int16Array', int32: 'Int32Array', int64: 'BigInt64Array',
  uint8: 'Uint8Array', uint16: 'Uint16Array', uint32: 'Uint32Array', uint64: 'BigUint64Array',
  float16: 'Uint16Array', bfloat16: 'Uint16Array', float32: 'Float32Array', float64: 'Float64Array',
};

function checkShapeOf(shape: readonly number[], label: string): number {
  assert.ok(Array.isArray(shape), `${label}: shape is not an array`);
  for (const d of shape) if (!(Number.isSafeInteger(d) && d >= 0)) assert.fail(`${label}: bad dimension ${d} in [${shape.join(', ')}]`);
  return numel(shape);
}

function checkStorage(dtype: DType, data: Storage, count: number, label: string): void {
  assert.ok(dtype in STORAGE, `${label}: unknown dtype ${dtype}`);
  assert.equal(data.constructor.name, STORAGE[dtype], `${label}: ${dtype} stored in a ${data.constructor.name}`);
  assert.equal(data.length, count, `${label}: ${data.length} values for ${count} elements`);
}

function checkTensor(t: Tensor, label: string, inputBytes: number): void {
  const n = checkShapeOf(t.shape, label);
  assert.equal(t.strides.length, t.shape.length, `${label}: ${t.strides.length} strides for rank ${t.shape.length}`);
  checkStorage(t.dtype, t.data, n, label);
  assert.ok(n * itemSize(t.dtype) <= MAX_EXPANSION * inputBytes + 2 ** 20, `${label}: ${n} elements from ${inputBytes} bytes`);
}

function checkListing(l: TensorListing | null, label: string): void {
  if (l === null) return;
  for (const t of l.tensors) {
    const n = checkShapeOf(t.shape, `${label} '${t.name}'`);
    assert.equal(t.bytes, n * itemSize(t.dtype), `${label} '${t.name}': ${t.bytes} bytes for ${n} x ${t.dtype}`);
  }
}

interface Tally { ok: number; refused: number; cases: number; slowest: number; slowestLabel: string }
const tallies = new Map<string, Tally>();
function tally(format: string): Tally {
  let t = tallies.get(format);
  if (!t) tallies.set(format, (t = { ok: 0, refused: 0, cases: 0, slowest: 0, slowestLabel: '' }));
  return t;
}

/** The one allowed failure: a NormScopeError with a message. Anything else fails the test, naming the case. */
function judge(format: string, label: string, e: unknown): void {
  if (e instanceof NormScopeError && e.message.trim() !== '') {
    // one line that a front end can show as it is: no line breaks, no pages of echoed input
    assert.ok(!/[\n\r]/.test(e.message) && e.message.length <= 1500, `${format} ${label}: the message is not one short line: ${JSON.stringify(e.message.slice(0, 300))}`);
    tally(format).refused++;
    return;
  }
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  assert.fail(`${format} ${label}: expected a result or a NormScopeError, got ${what.slice(0, 300)}`);
}

/** Bytes of ArrayBuffers alive (typed arrays live outside the JS heap): read before and after each case. */
const external = () => getHeapStatistics().external_memory;
/** A case may leave this much more ArrayBuffer memory than it started with (a lazily zeroed 8 GB buffer shows here). */
const MEMORY_BUDGET = 256 * 2 ** 20;

function timed(format: string, label: string, started: { wall: number; cpu: number }, externalBefore: number): void {
  const grew = external() - externalBefore;
  assert.ok(grew < MEMORY_BUDGET, `${format} ${label}: ${Math.round(grew / 2 ** 20)} MiB of ArrayBuffers allocated (a lying header was believed)`);
  const ms = since(started);
  const t = tally(format);
  t.cases++;
  if (ms > t.slowest) { t.slowest = ms; t.slowestLabel = label; }
  assert.ok(ms < CASE_BUDGET_MS, `${format} ${label}: took ${ms.toFixed(0)} ms (budget ${CASE_BUDGET_MS} ms)`);
}

/** Failures of the running test: collected so one run shows all of them (the first of each kind). */
let failures: string[] = [];

type Outcome<T> = { readonly value: T } | { readonly error: unknown };

/** Judges one case's outcome (a thrown error, or a value `check` accepts) and its time and memory since `started`. */
function settle<T>(format: string, label: string, started: ReturnType<typeof clocks>, before: number, outcome: Outcome<T>, check: (v: T) => void): void {
  try {
    if ('error' in outcome) judge(format, label, outcome.error);
    else {
      check(outcome.value);
      tally(format).ok++;
    }
    timed(format, label, started, before);
  } catch (e) {
    failures.push(e instanceof Error ? e.message : String(e));
  }
}

function expectSane<T>(format: string, label: string, run: () => T, check: (v: T) => void): void {
  const started = clocks();
  const before = external();
  let outcome: Outcome<T>;
  try {
    outcome = { value: run() };
  } catch (error) {
    outcome = { error };
  }
  settle(format, label, started, before, outcome, check);
}

async function expectSaneAsync<T>(format: string, label: string, run: () => Promise<T>, check: (v: T) => void): Promise<void> {
  const started = clocks();
  const before = external();
  let outcome: Outcome<T>;
  try {
    outcome = { value: await run() };
  } catch (error) {
    outcome = { error };
  }
  settle(format, label, started, before, outcome, check);
}

/** A test whose cases collect their failures; it fails at its end with all of them (a failing hook would skip the tests after it). */
function fuzzIt(title: string, body: () => void | Promise<void>): void {
  it(title, async () => {
    failures = [];
    await body();
    noFailures();
  });
}

/** Fails the test with every collected failure (the first 30 lines). */
function noFailures(): void {
  const found = failures;
  failures = [];
  if (found.length) assert.fail(`${found.length} failing cases:\n${found.slice(0, 30).map((f) => (f.length > 400 ? `${f.slice(0, 400)}...` : f)).join('\n')}`);
}

/** A binary file every way the engine reads it: whole, listed, and in chunks through a ByteSource. */
async function readBinaryEveryWay(format: string, name: string, bytes: Uint8Array, selector: string | undefined, label: string): Promise<void> {
  expectSane(format, `${label} loadTensor`, () => loadTensor(name, bytes, selector), (t) => checkTensor(t, label, bytes.length));
  expectSane(format, `${label} listTensors`, () => listTensors(name, bytes), (l) => checkListing(l, label));
  await expectSaneAsync(format, `${label} listSource`, () => listSource(name, bytesSource(bytes)), (l) => checkListing(l, label));
  await expectSaneAsync(format, `${label} chunked`, async () => {
    const src = await openTensorSource(name, bytesSource(bytes), selector);
    const n = checkShapeOf(src.shape, label);
    assert.equal(src.count, n, `${label}: source count ${src.count} for shape [${src.shape.join(', ')}]`);
    assert.equal(src.byteLength, n * itemSize(src.dtype), `${label}: source byteLength`);
    // a source must not promise more than the file can hold: reading it whole would allocate what the header says
    assert.ok(src.byteLength <= MAX_EXPANSION * bytes.length + 2 ** 20,
      `${label}: a source of ${src.byteLength} bytes from a file of ${bytes.length} (a lying header was believed)`);
    return { src, data: await src.readStorage(0, src.count) };
  }, ({ src, data }) => checkStorage(src.dtype, data, src.count, label));
}

// ---- mutations --------------------------------------------------------------------------------------------------

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

const JUNK_BYTES = [0x00, 0xff, 0x80, 0x7f, 0x0a, 0x27, 0x22, 0x28, 0x29, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x5c, 0x2d, 0x30, 0x39, 0x3a, 0x20];

/** Copies of `bytes` with 1-4 random bytes overwritten, within [from, to). */
function flips(bytes: Uint8Array, r: Rand, count: number, from = 0, to = bytes.length): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const b = bytes.slice();
    for (let j = 1 + int(r, 4); j > 0; j--) {
      const i = from + int(r, Math.max(1, to - from));
      if (i < b.length) b[i] = r() < 0.5 ? pick(r, JUNK_BYTES) : int(r, 256);
    }
    out.push(b);
  }
  return out;
}

/** Truncation points: every offset below `dense`, then `sparse` random ones. */
function cuts(length: number, dense: number, sparse: number, r: Rand): number[] {
  const at = new Set<number>();
  for (let i = 0; i < Math.min(length, dense); i++) at.add(i);
  for (let k = 0; k < sparse && length > 0; k++) at.add(int(r, length));
  return [...at].sort((a, b) => a - b);
}

const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const ascii = (s: string) => new TextEncoder().encode(s);
function u64le(v: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  return b;
}

/** Text mutations: cut, insert, delete or replace a character (junk includes unicode and lone surrogates). */
const JUNK_TEXT = ['[', ']', '(', ')', '{', '}', ',', ':', '"', "'", '\\', '-', '.', 'e', '1', '0', '9', 'nan', 'inf', 'NaN',
  'Infinity', '...', '\n', ' ', '#', '/*', '//', '\u0000', '\ud800', '\udfff', '\u{1f600}', '\u00e9', '\ufeff', '\u2028', 'x', '_',
  'dtype=', 'np.array(', 'tensor(', '1e999', '0x', '=', ';', '`'];
function textMutation(s: string, r: Rand): string {
  const i = int(r, s.length + 1);
  switch (int(r, 4)) {
    case 0: return s.slice(0, i);
    case 1: return s.slice(0, i) + pick(r, JUNK_TEXT) + s.slice(i);
    case 2: return s.slice(0, i) + s.slice(i + 1 + int(r, 3));
    default: return s.slice(0, i) + pick(r, JUNK_TEXT) + s.slice(i + 1);
  }
}

// ---- .npy -------------------------------------------------------------------------------------------------------

/** An .npy file with `dict` as its header text (padded as numpy pads), `data` after it. */
function npyFile(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let text = `${dict} `;
  while ((pre + text.length + 1) % 64) text += ' ';
  text += '\n';
  const header = new TextEncoder().encode(text);
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(header, pre);
  out.set(data, pre + header.length);
  return out;
}

const npyDataOffset = (b: Uint8Array) => (b[6] === 1 ? 10 + (b[8] | (b[9] << 8)) : 12 + new DataView(b.buffer, b.byteOffset).getUint32(8, true));

const LYING_SHAPES = ['()', '(3,)', '(0,)', '(2, 3)', '(-1,)', '(2**53,)', '(9007199254740992,)', '(9007199254740993,)',
  '(1000000000000,)', '(2147483647,)', '(2147483648,)', '(4294967297,)', '(1000000, 1000000)', '(65536, 65536, 65536)',
  '(0, 9007199254740991)', '(9007199254740991, 0)', '(3, -3)', '(1.5,)', "('3',)", '(nan,)', '(None,)', '[3]', '3', '(3,,)',
  '((3,),)', '(3' + ', 1'.repeat(40) + ')', '(99999999999999999999999,)', '(268435456,)', '(134217728, 2)'];
const DESCRS = ["'<f4'", "'<f8'", "'>i8'", "'|b1'", "'<f2'", "'<V2'", "'<c8'", "'|O'", "'<U3'", "'<f16'", "'<i3'", "'f4'",
  "''", "'<'", '1', 'None', "[('a', '<f4')]", "('<f4', (2,))", "'<f4" + "x".repeat(100) + "'"];

function npyCases(): { label: string; bytes: Uint8Array }[] {
  const r = rng(1001);
  const cases: { label: string; bytes: Uint8Array }[] = [];
  const originals = [...fixturesIn('formats', '.npy'), ...fixturesIn('malformed', '.npy'), 'panel/truncated.npy', 'panel/not_npy.npy'];
  for (const rel of originals) {
    const b = fixture(rel);
    cases.push({ label: rel, bytes: b });
    const head = Math.min(b.length, b.length > 10 && b[6] >= 1 && b[6] <= 3 ? npyDataOffset(b) : 64);
    for (const [k, m] of flips(b, r, 6, 0, head).entries()) cases.push({ label: `${rel} header flip #${k}`, bytes: m });
    for (const c of cuts(b.length, 0, 4, r)) cases.push({ label: `${rel} cut at ${c}`, bytes: b.subarray(0, c) });
  }
  // every truncation of one small file, header and data
  const small = fixture('formats/save_float32_2x3.npy');
  for (const c of cuts(small.length, small.length, 0, r)) cases.push({ label: `save_float32_2x3.npy cut at ${c}`, bytes: small.subarray(0, c) });
  // headers that lie: shapes, dtypes, fortran_order, in every version
  const data = new Uint8Array(48).map((_, i) => i * 7);
  for (const shape of LYING_SHAPES) {
    for (const descr of ["'<f4'", "'>i8'", "'|b1'"]) {
      cases.push({ label: `npy shape ${shape} ${descr}`, bytes: npyFile(`{'descr': ${descr}, 'fortran_order': False, 'shape': ${shape}, }`, data) });
    }
    cases.push({ label: `npy fortran shape ${shape}`, bytes: npyFile(`{'descr': '<f8', 'fortran_order': True, 'shape': ${shape}, }`, data, 2) });
  }
  for (const descr of DESCRS) {
    for (const major of [1, 2, 3]) cases.push({ label: `npy descr ${descr} v${major}`, bytes: npyFile(`{'descr': ${descr}, 'fortran_order': False, 'shape': (3,), }`, data, major) });
  }
  for (const fortran of ['True', 'False', '0', '1', "'False'", 'None', 'Tru']) {
    cases.push({ label: `npy fortran_order ${fortran}`, bytes: npyFile(`{'descr': '<f4', 'fortran_order': ${fortran}, 'shape': (2, 3), }`, data) });
  }
  const dicts = ['{}', "{'descr': '<f4'}", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
    "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
    "{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}", '{' + '['.repeat(100000), '{' + "'a': {".repeat(5000),
    "{'descr': '<f4', 'fortran_order': False, 'shape': (" + '('.repeat(50) + '3' + ')'.repeat(50) + ',)}', "{1: 2}", "{'descr' '<f4'}",
    "{'descr': '\\", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} trailing", '\u00ff\u00fe', '[1, 2]'];
  for (const d of dicts) for (const major of [1, 3]) cases.push({ label: `npy dict ${JSON.stringify(d.slice(0, 40))} v${major}`, bytes: npyFile(d, data, major) });
  // preambles that lie: header length fields, versions
  const good = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data);
  const hlen = good[8] | (good[9] << 8);
  for (const len of [0, 1, hlen - 1, hlen + 1, hlen + 48, 10000, 10001, 0xffff]) {
    const b = good.slice();
    b[8] = len & 0xff; b[9] = len >> 8;
    cases.push({ label: `npy header length ${len}`, bytes: b });
  }
  const good2 = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data, 2);
  for (const len of [0, 0xffffffff, 0x80000000, 10001, 2 ** 24]) {
    const b = good2.slice();
    new DataView(b.buffer).setUint32(8, len, true);
    cases.push({ label: `npy v2 header length ${len}`, bytes: b });
  }
  for (const [major, minor] of [[0, 0], [4, 0], [1, 1], [255, 255], [2, 0], [3, 0]]) {
    const b = good.slice();
    b[6] = major; b[7] = minor;
    cases.push({ label: `npy version ${major}.${minor}`, bytes: b });
  }
  // the header's text mutated: a character cut, added, dropped or replaced, a few times over
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  for (let k = 0; k < 300; k++) {
    let text = dict;
    for (let j = 1 + int(r, 4); j > 0; j--) text = textMutation(text, r);
    cases.push({ label: `npy header text mutation #${k} ${JSON.stringify(text)}`, bytes: npyFile(text, data, pick(r, [1, 2, 3])) });
  }
  // an invalid UTF-8 header in version 3, latin-1 in version 1
  const bad8 = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data, 3);
  bad8[20] = 0xff;
  cases.push({ label: 'npy v3 invalid utf-8 header', bytes: bad8 });
  return cases;
}

// ---- .npz -------------------------------------------------------------------------------------------------------

interface ZipLayout {
  eocd: number;
  zip64?: number;
  cdOffset: number;
  /** Offsets of each central directory record and its local header. */
  central: { at: number; local: number; length: number; name: string }[];
}

/** Where the records of a well-formed zip are (the test's own reading, to aim mutations at fields). */
function zipLayout(b: Uint8Array): ZipLayout {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let eocd = b.length - 22;
  while (eocd >= 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  let zip64: number | undefined;
  if (eocd >= 20 && dv.getUint32(eocd - 20, true) === 0x07064b50) {
    zip64 = Number(dv.getBigUint64(eocd - 20 + 8, true));
    count = Number(dv.getBigUint64(zip64 + 32, true));
    cdOffset = Number(dv.getBigUint64(zip64 + 48, true));
  }
  const central: ZipLayout['central'] = [];
  for (let p = cdOffset, k = 0; k < count; k++) {
    const nameLen = dv.getUint16(p + 28, true), extraLen = dv.getUint16(p + 30, true), commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    if (local === 0xffffffff) { // zip64 extra: the overflowed fields in order
      const q = p + 46 + nameLen;
      let f = q + 4;
      if (dv.getUint32(p + 24, true) === 0xffffffff) f += 8;
      if (dv.getUint32(p + 20, true) === 0xffffffff) f += 8;
      local = Number(dv.getBigUint64(f, true));
    }
    const length = 46 + nameLen + extraLen + commentLen;
    central.push({ at: p, local, length, name: String.fromCharCode(...b.subarray(p + 46, p + 46 + nameLen)) });
    p += length;
  }
  return { eocd, zip64, cdOffset, central };
}

/** The zip with its central directory replaced by `records` (end records updated to match). */
function withDirectory(b: Uint8Array, lay: ZipLayout, records: Uint8Array[]): Uint8Array {
  const cd = cat(...records);
  const tail = b.slice(lay.zip64 ?? lay.eocd);
  const shift = cd.length - (((lay.zip64 ?? lay.eocd)) - lay.cdOffset);
  const out = cat(b.subarray(0, lay.cdOffset), cd, tail);
  const dv = new DataView(out.buffer);
  const eocd = lay.eocd + shift;
  dv.setUint16(eocd + 8, Math.min(records.length, 0xffff), true);
  dv.setUint16(eocd + 10, Math.min(records.length, 0xffff), true);
  if (dv.getUint32(eocd + 12, true) !== 0xffffffff) dv.setUint32(eocd + 12, cd.length, true);
  if (lay.zip64 !== undefined) {
    const z = lay.zip64 + shift;
    dv.setBigUint64(z + 24, BigInt(records.length), true);
    dv.setBigUint64(z + 32, BigInt(records.length), true);
    dv.setBigUint64(z + 40, BigInt(cd.length), true);
    dv.setBigUint64(eocd - 20 + 8, BigInt(z), true);
  }
  return out;
}

const setU16 = (b: Uint8Array, at: number, v: number) => { const c = b.slice(); new DataView(c.buffer).setUint16(at, v & 0xffff, true); return c; };
const setU32 = (b: Uint8Array, at: number, v: number) => { const c = b.slice(); new DataView(c.buffer).setUint32(at, v >>> 0, true); return c; };
const setU64 = (b: Uint8Array, at: number, v: bigint) => { const c = b.slice(); new DataView(c.buffer).setBigUint64(at, BigInt.asUintN(64, v), true); return c; };

const LIES32 = [0, 1, 2, 7, 63, 64, 128, 1000, 4096, 65535, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const LIES64 = [0n, 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];

/** Small archives built here (fflate): stored and deflated, with members holding lying npy headers. */
function builtNpz(): { label: string; bytes: Uint8Array; selector?: string }[] {
  const ok = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new Uint8Array(24).fill(0x3f));
  const out: { label: string; bytes: Uint8Array; selector?: string }[] = [];
  for (const level of [0, 6] as const) {
    const kind = level ? 'deflated' : 'stored';
    out.push({ label: `built ${kind} a+b`, bytes: zipSync({ 'a.npy': ok, 'b.npy': ok }, { level }), selector: 'b' });
    out.push({ label: `built ${kind} empty`, bytes: zipSync({}, { level }) });
    const longNames = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${'m'.repeat(5000)}${i}.npy`, ok]));
    out.push({ label: `built ${kind} long names`, bytes: zipSync(longNames, { level }), selector: 'missing' });
    out.push({ label: `built ${kind} long names, no selector`, bytes: zipSync(longNames, { level }) });
    out.push({ label: `built ${kind} long name, bzip2`, bytes: setU16(zipSync({ [`${'m'.repeat(5000)}.npy`]: ok }, { level }), 8, 12) });
    out.push({ label: `built ${kind} no npy`, bytes: zipSync({ 'x.txt': ascii('hi') }, { level }) });
    out.push({ label: `built ${kind} empty member`, bytes: zipSync({ 'a.npy': new Uint8Array(0) }, { level }) });
    for (const shape of LYING_SHAPES.slice(0, 18)) {
      const lying = npyFile(`{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`, new Uint8Array(64));
      out.push({ label: `built ${kind} member shape ${shape}`, bytes: zipSync({ 'a.npy': lying }, { level }) });
    }
    // a member whose header claims 1 GiB, in a directory that claims 4 GiB for it (the member's 96 KiB of noise
    // deflate to more than the first read of a chunked source, so its header is read before the stream ends)
    const noise = new Uint8Array(96 * 1024);
    const noiseR = rng(level + 9);
    for (let i = 0; i < noise.length; i++) noise[i] = int(noiseR, 256);
    const claims = npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (134217728,), }", noise);
    const big = zipSync({ 'a.npy': claims }, { level });
    const lay = zipLayout(big);
    out.push({ label: `built ${kind} member claims 1 GiB, directory 4 GiB`, bytes: setU32(setU32(big, lay.central[0].at + 24, 0xfffffff0), lay.central[0].local + 22, 0xfffffff0) });
    // a well-compressible member: deflate expands it far beyond its compressed size (legitimately)
    const zeros = npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (65536,), }", new Uint8Array(8 * 65536));
    out.push({ label: `built ${kind} zeros`, bytes: zipSync({ 'z.npy': zeros }, { level }) });
  }
  return out;
}

function npzMutations(rel: string, b: Uint8Array, r: Rand): { label: string; bytes: Uint8Array }[] {
  const out: { label: string; bytes: Uint8Array }[] = [];
  const add = (label: string, bytes: Uint8Array) => out.push({ label: `${rel} ${label}`, bytes });
  let lay: ZipLayout;
  try {
    lay = zipLayout(b);
  } catch {
    return out; // not a well-formed zip to start with: the byte-level mutations cover it
  }
  // truncation: around every local header, in the directory, and at random
  const at = new Set<number>();
  for (const e of lay.central) for (let i = e.local; i < e.local + 140 && i < b.length; i += 3) at.add(i);
  for (let i = Math.max(0, lay.cdOffset - 8); i < b.length; i += Math.max(1, Math.floor((b.length - lay.cdOffset) / 60))) at.add(i);
  for (let k = 0; k < 10; k++) at.add(int(r, b.length));
  for (const c of at) add(`cut at ${c}`, b.subarray(0, c));
  // the end record's fields
  for (const [field, off] of [['entries', 10], ['total', 8], ['disk', 4]] as const) for (const v of [0, 1, 2, 0xffff]) add(`eocd ${field}=${v}`, setU16(b, lay.eocd + off, v));
  for (const [field, off] of [['cd size', 12], ['cd offset', 16]] as const) for (const v of LIES32) add(`eocd ${field}=${v}`, setU32(b, lay.eocd + off, v));
  add('eocd comment length 0xffff', setU16(b, lay.eocd + 20, 0xffff));
  if (lay.zip64 !== undefined) {
    for (const [field, off] of [['entries', 32], ['cd size', 40], ['cd offset', 48]] as const) for (const v of LIES64) add(`zip64 ${field}=${v}`, setU64(b, lay.zip64 + off, v));
    for (const v of LIES64) add(`zip64 locator=${v}`, setU64(b, lay.eocd - 12, v));
  }
  // every central record's fields, and its local header's
  for (const [k, e] of lay.central.entries()) {
    const fields = [['flags', 8, 16], ['method', 10, 16], ['crc', 16, 32], ['compressed', 20, 32], ['size', 24, 32], ['name length', 28, 16],
      ['extra length', 30, 16], ['comment length', 32, 16], ['local offset', 42, 32]] as const;
    for (const [field, off, bits] of fields) {
      const values = bits === 16 ? [0, 1, 8, 12, 0x800, 0xffff] : r() < 0.5 ? LIES32 : LIES32.filter((_, i) => i % 2 === k % 2);
      for (const v of values) add(`entry ${k} ${field}=${v}`, bits === 16 ? setU16(b, e.at + off, v) : setU32(b, e.at + off, v));
    }
    // zip64 extra values
    const nameLen = b[e.at + 28] | (b[e.at + 29] << 8), extraLen = b[e.at + 30] | (b[e.at + 31] << 8);
    for (let q = e.at + 46 + nameLen + 4; q + 8 <= e.at + 46 + nameLen + extraLen; q += 8) for (const v of LIES64) add(`entry ${k} zip64 field @${q}=${v}`, setU64(b, q, v));
    for (const [field, off] of [['sig', 0], ['name length', 26], ['extra length', 28]] as const) for (const v of [0, 0xffff, 1]) add(`local ${k} ${field}=${v}`, setU16(b, e.local + off, v));
    // the member's data (a bad deflate stream, or data that no longer matches the CRC)
    const dataAt = e.local + 30 + (b[e.local + 26] | (b[e.local + 27] << 8)) + (b[e.local + 28] | (b[e.local + 29] << 8));
    for (const [j, m] of flips(b, r, 6, dataAt, Math.min(b.length, dataAt + 400)).entries()) add(`member ${k} data flip #${j}`, m);
  }
  // duplicated and dropped directory entries
  const records = lay.central.map((e) => b.slice(e.at, e.at + e.length));
  if (records.length) {
    add('first entry duplicated', withDirectory(b, lay, [records[0], ...records]));
    add('last entry duplicated', withDirectory(b, lay, [...records, records[records.length - 1]]));
    add('first entry dropped', withDirectory(b, lay, records.slice(1)));
    add('all entries dropped', withDirectory(b, lay, []));
    add('entries reversed', withDirectory(b, lay, [...records].reverse()));
  }
  // random bytes anywhere, and in the directory
  for (const [j, m] of flips(b, r, 12).entries()) add(`flip #${j}`, m);
  for (const [j, m] of flips(b, r, 12, lay.cdOffset).entries()) add(`directory flip #${j}`, m);
  return out;
}

// ---- .safetensors -----------------------------------------------------------------------------------------------

const ones = (n: number) => Array<number>(n).fill(1);

function safetensorsFile(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = ascii(typeof header === 'string' ? header : JSON.stringify(header));
  return cat(u64le(lengthOverride ?? BigInt(json.length)), json, data);
}

function safetensorsCases(): { label: string; bytes: Uint8Array; selector?: string }[] {
  const r = rng(3003);
  const cases: { label: string; bytes: Uint8Array; selector?: string }[] = [];
  for (const rel of ['containers/single.safetensors', 'containers/tensors.safetensors', 'panel/bn_checkpoint.safetensors']) {
    const b = fixture(rel);
    const n = Number(new DataView(b.buffer).getBigUint64(0, true));
    const names = Object.keys(JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)))).filter((k) => k !== '__metadata__');
    const selector = names.length > 1 ? names[names.length - 1] : undefined;
    cases.push({ label: rel, bytes: b, selector });
    for (const c of cuts(b.length, Math.min(b.length, 8 + n + 4), 12, r)) cases.push({ label: `${rel} cut at ${c}`, bytes: b.subarray(0, c), selector });
    for (const [k, m] of flips(b, r, 30, 0, 8 + n).entries()) cases.push({ label: `${rel} header flip #${k}`, bytes: m, selector });
    for (const v of [0n, 1n, BigInt(n - 1), BigInt(n + 1), BigInt(b.length), 100_000_001n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]) {
      cases.push({ label: `${rel} header length ${v}`, bytes: cat(u64le(v), b.subarray(8)), selector });
    }
  }
  // headers that lie about one tensor next to an honest one
  const data = new Uint8Array(64).map((_, i) => i);
  const honest = { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] };
  const shapes: unknown[] = [[4], [], [0], [-1], [1.5], ['4'], [null], [2 ** 53], [2 ** 53 + 2], [1e12], [2 ** 31, 2 ** 31], [0, 2 ** 53],
    [2 ** 53, 0], [1e308, 0], {}, 'x', null, Array(40).fill(1), [4, 1e-300]];
  const offsets: unknown[] = [[16, 32], [0, 16], [8, 24], [32, 16], [16], [16, 32, 48], [-16, 0], [16.5, 32.5], ['16', '32'], [null, 32],
    [16, 2 ** 53], [2 ** 53, 2 ** 53 + 16], [16, 1e300], [1e300, 1e300 + 16], [48, 64], [48, 80], [0, 0], [64, 64], {}, null, 'x'];
  const dtypes: unknown[] = ['F32', 'F64', 'BF16', 'BOOL', 'U8', 'F8_E4M3', 'C64', 'f32', '', 7, null, ['F32']];
  for (const shape of shapes) cases.push({ label: `st shape ${JSON.stringify(shape)}`, bytes: safetensorsFile({ a: honest, b: { dtype: 'F32', shape, data_offsets: [16, 32] } }, data), selector: 'b' });
  for (const off of offsets) cases.push({ label: `st offsets ${JSON.stringify(off)}`, bytes: safetensorsFile({ a: honest, b: { dtype: 'F32', shape: [4], data_offsets: off } }, data), selector: 'b' });
  for (const dtype of dtypes) cases.push({ label: `st dtype ${JSON.stringify(dtype)}`, bytes: safetensorsFile({ a: honest, b: { dtype, shape: [4], data_offsets: [16, 32] } }, data), selector: 'b' });
  // out-of-order and overlapping offsets, gaps, duplicate keys, metadata
  const many: Record<string, unknown> = {};
  for (let i = 0; i < 8; i++) many[`t${i}`] = { dtype: 'U8', shape: [8], data_offsets: [56 - 8 * i, 64 - 8 * i] };
  cases.push({ label: 'st out of order', bytes: safetensorsFile(many, data), selector: 't3' });
  cases.push({ label: 'st overlap', bytes: safetensorsFile({ a: { dtype: 'U8', shape: [10], data_offsets: [0, 10] }, b: { dtype: 'U8', shape: [10], data_offsets: [5, 15] } }, data), selector: 'a' });
  cases.push({ label: 'st same range', bytes: safetensorsFile({ a: { dtype: 'U8', shape: [0], data_offsets: [5, 5] }, b: { dtype: 'U8', shape: [0], data_offsets: [5, 5] } }, data), selector: 'a' });
  cases.push({ label: 'st duplicate key', bytes: safetensorsFile('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [1e12], "data_offsets": [0, 8]}}', data) });
  for (const meta of [{}, { a: 'b' }, { a: 1 }, null, [], 'x', { a: null }]) cases.push({ label: `st metadata ${JSON.stringify(meta)}`, bytes: safetensorsFile({ __metadata__: meta, a: honest }, data) });
  // long things a message might echo: names, dtypes, shapes, offsets
  const long = 'n'.repeat(10000);
  cases.push({ label: 'st long dtype', bytes: safetensorsFile({ a: { dtype: long, shape: [4], data_offsets: [0, 16] } }, data) });
  cases.push({ label: 'st long shape', bytes: safetensorsFile({ a: { dtype: 'F32', shape: [...ones(50000), -1], data_offsets: [0, 16] } }, data) });
  cases.push({ label: 'st long offsets', bytes: safetensorsFile({ a: { dtype: 'F32', shape: [4], data_offsets: ones(50000) } }, data) });
  cases.push({ label: 'st long shape of ones', bytes: safetensorsFile({ a: { dtype: 'F32', shape: ones(50000), data_offsets: [0, 8] } }, data) });
  cases.push({ label: 'st long names', bytes: safetensorsFile(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${long}${i}`, { dtype: 'U8', shape: [1], data_offsets: [i, i + 1] }])), data), selector: 'missing' });
  cases.push({ label: 'st long names, no selector', bytes: safetensorsFile(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${long}${i}`, { dtype: 'U8', shape: [1], data_offsets: [i, i + 1] }])), data) });
  cases.push({ label: 'st long overlapping names', bytes: safetensorsFile({ [long + 'a']: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, [long + 'b']: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }, data) });
  cases.push({ label: 'st metadata long', bytes: safetensorsFile({ __metadata__: { [long]: 1 }, a: honest }, data) });
  cases.push({ label: 'st only metadata', bytes: safetensorsFile({ __metadata__: {} }, data) });
  // headers that are not a JSON object
  const texts = ['', '{', '[]', 'null', '1', '"x"', '{"a": 1}', '{"a": []}', '{"a": {}}', '{"a"', '{"\\ud800": ' + JSON.stringify(honest) + '}',
    '['.repeat(100000) + ']'.repeat(100000), '{"a":'.repeat(100000) + '1' + '}'.repeat(100000), '{"a": ' + JSON.stringify(honest) + '}   ',
    ' {"a": ' + JSON.stringify(honest) + '}', '{"a": ' + JSON.stringify(honest) + '}\u0000'];
  for (const t of texts) cases.push({ label: `st header ${JSON.stringify(t.slice(0, 30))}`, bytes: safetensorsFile(t, data) });
  const badUtf8 = safetensorsFile({ a: honest }, data);
  badUtf8[12] = 0xff;
  cases.push({ label: 'st invalid utf-8', bytes: badUtf8 });
  for (let k = 0; k < 60; k++) {
    const text = textMutation(JSON.stringify({ a: honest, b: { dtype: 'BF16', shape: [2, 4], data_offsets: [16, 32] } }), r);
    cases.push({ label: `st text mutation #${k}`, bytes: safetensorsFile(text, data), selector: 'b' });
  }
  return cases;
}

// ---- JSON -------------------------------------------------------------------------------------------------------

function jsonCases(): { label: string; text: string; selector?: string }[] {
  const r = rng(4004);
  const cases: { label: string; text: string; selector?: string }[] = [];
  const originals = [...fixturesIn('malformed', '.json'), 'formats/python.json', 'panel/two_tensors.json', 'panel/broken.json', 'hover/sample.json'];
  const own = ['[[1, 2], [3, 4]]', '{"shape": [2, 2], "data": [1, 2, 3, 4], "dtype": "int8"}', '[NaN, Infinity, -Infinity, -0, 1e-320]',
    '{"x": {"w": [[true, false]]}, "y": [1.5]}', '[]', '[[]]', '3', 'true', '{"shape": [], "data": 7, "dtype": "uint64"}'];
  const texts = [...originals.map((rel) => ({ label: rel, text: fixtureText(rel) })), ...own.map((t) => ({ label: t, text: t }))];
  for (const { label, text } of texts) {
    cases.push({ label, text });
    const dense = text.length <= 80 ? text.length + 1 : 0;
    for (const c of cuts(text.length + 1, dense, 6, r)) cases.push({ label: `${label} cut at ${c}`, text: text.slice(0, c) });
    for (let k = 0; k < 14; k++) cases.push({ label: `${label} mutation #${k}`, text: textMutation(textMutation(text, r), r) });
  }
  // shapes that lie in {shape, data}
  for (const shape of ['[1e12]', '[2147483648]', '[9007199254740993]', '[-1]', '[1.5]', '[NaN]', '[Infinity]', '["2"]', '[null]', '{}', '[]',
    '[1000000, 1000000]', '[0, 1e300]', '[268435456]', '[4]']) {
    for (const data of ['[]', '[1, 2, 3, 4]', '[[1, 2], [3, 4]]', '5', '"x"']) {
      cases.push({ label: `json shape ${shape} data ${data}`, text: `{"shape": ${shape}, "data": ${data}, "dtype": "float32"}` });
    }
  }
  for (const dtype of ['"int8"', '"uint64"', '"bfloat16"', '"bool"', '"float128"', '1', 'null', '"__proto__"', '"constructor"']) {
    cases.push({ label: `json dtype ${dtype}`, text: `{"shape": [3], "data": [1, 300, -1e300], "dtype": ${dtype}}` });
  }
  // ragged, deep, unterminated, huge
  cases.push({ label: 'json 100k levels of arrays', text: '['.repeat(100000) + ']'.repeat(100000) });
  cases.push({ label: 'json 100k unclosed arrays', text: '['.repeat(100000) });
  cases.push({ label: 'json 100k levels of objects', text: '{"a":'.repeat(100000) + '1' + '}'.repeat(100000) });
  cases.push({ label: 'json 65 levels', text: '['.repeat(65) + '1' + ']'.repeat(65) });
  cases.push({ label: 'json unterminated string', text: '{"a": "' + 'x'.repeat(100000) });
  cases.push({ label: 'json unterminated escape', text: '["\\' });
  cases.push({ label: 'json bad unicode escape', text: '["\\u12"]' });
  cases.push({ label: 'json lone surrogates', text: '{"\ud800": [1, 2], "\udfff": [3]}', selector: '/\ud800' });
  cases.push({ label: 'json 10^6 elements', text: '[' + Array.from({ length: 1_000_000 }, (_, i) => i % 10).join(',') + ']' });
  cases.push({ label: 'json ragged deep', text: '[[[1, 2], [3, 4]], [[5, 6], [7]]]' });
  cases.push({ label: 'json ragged 10^5 rows', text: '[' + Array.from({ length: 100000 }, (_, i) => (i === 99999 ? '[1]' : '[1, 2]')).join(',') + ']' });
  cases.push({ label: 'json long number', text: '[' + '9'.repeat(100000) + ']' });
  cases.push({ label: 'json long exponent', text: '[1e' + '9'.repeat(1000) + ']' });
  cases.push({ label: 'json mixed', text: '[1, true, null, "x", {}, []]' });
  const longKey = 'k'.repeat(10000);
  cases.push({ label: 'json long keys, missing', text: JSON.stringify(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`${longKey}${i}`, [1]]))), selector: '/missing' });
  cases.push({ label: 'json long key, object', text: JSON.stringify({ [longKey]: { [longKey]: [1, 2] } }) });
  cases.push({ label: 'json long dtype', text: JSON.stringify({ shape: [1], data: [1], dtype: longKey }) });
  cases.push({ label: 'json long pointer', text: '[1]', selector: `/${longKey}` });
  cases.push({ label: 'json long shape', text: JSON.stringify({ shape: [...ones(50000), 2], data: [1] }) });
  cases.push({ label: 'json 40,000-dimension shape', text: JSON.stringify({ shape: Array(40000).fill(2), data: [1] }) });
  cases.push({ label: 'json 40,000-dimension shape, last negative', text: JSON.stringify({ shape: [...ones(40000), -1], data: [1] }) });
  cases.push({ label: 'json long token', text: `[${'x'.repeat(10000)}]` });
  cases.push({ label: 'json long number', text: `[1.${'5'.repeat(10000)}x]` });
  for (const sel of ['/0', '/x', '/0/0/0', '/-1', '/99999999999999999999', 'x', '/~2', '/__proto__', '/constructor']) {
    cases.push({ label: `json selector ${sel}`, text: '{"x": [[1, 2]], "y": {"shape": [1], "data": [1]}}', selector: sel });
  }
  return cases;
}

// ---- literals and the hover ---------------------------------------------------------------------------------------

function literalCases(): { label: string; text: string }[] {
  const r = rng(5005);
  const cases: { label: string; text: string }[] = [];
  const reprs = JSON.parse(fixtureText('literals/reprs.json')) as { name: string; repr: string; str: string }[];
  const own = ['np.array([[1, 2], [3, 4]], dtype=np.float32)', 'torch.tensor([1., 2.], device="cuda:0", requires_grad=True)',
    'x = [1_000, 0x1f, 1.e-03, nan, -inf, True]', 'tensor([], size=(0, 3))', 'array([1, 2], dtype=int8)', '[[0. 1.]\n [2. 3.]]',
    "np.array([1, 2], dtype='>u8')", 'np.float32(1.5)', '[float("nan"), math.inf]', 'tf.constant([[1]], tf.int32)'];
  const texts = [...reprs.flatMap((e) => [{ label: `${e.name} repr`, text: e.repr }, { label: `${e.name} str`, text: e.str }]),
    ...own.map((t) => ({ label: t, text: t }))];
  for (const { label, text } of texts) {
    cases.push({ label, text });
    for (let k = 0; k < 6; k++) cases.push({ label: `${label} mutation #${k}`, text: textMutation(textMutation(text, r), r) });
  }
  // every truncation of a few
  for (const text of own.slice(0, 4)) for (let c = 0; c <= text.length; c++) cases.push({ label: `${text} cut at ${c}`, text: text.slice(0, c) });
  cases.push({ label: 'literal 10^5 levels', text: '['.repeat(100000) + '1' + ']'.repeat(100000) });
  cases.push({ label: 'literal 10^5 unclosed', text: '['.repeat(100000) });
  cases.push({ label: 'literal 10^5 calls', text: 'np.array('.repeat(100000) });
  cases.push({ label: 'literal 10^6 elements', text: '[' + Array.from({ length: 1_000_000 }, (_, i) => i % 7).join(', ') + ']' });
  cases.push({ label: 'literal 10^6 bools', text: 'np.array([' + 'True, '.repeat(1_000_000) + '])' });
  cases.push({ label: 'literal ragged 10^5', text: '[' + '[1, 2], '.repeat(100000) + '[1]]' });
  cases.push({ label: 'literal huge ints', text: '[' + '9'.repeat(10000) + ', -' + '9'.repeat(10000) + ']' });
  cases.push({ label: 'literal int64 overflow', text: 'np.array([9223372036854775808], dtype=np.int64)' });
  cases.push({ label: 'literal nan to int', text: 'np.array([nan], dtype=np.int32)' });
  cases.push({ label: 'literal unicode junk', text: '[\u{1f600}, \ud800, \u00e9]' });
  cases.push({ label: 'literal unterminated string dtype', text: 'np.array([1], dtype="float32' });
  for (const size of ['(0, 10**12)', '(0, 1000000000000)', '(0, 2147483647, 3)', '(5, 0, 1000000)', '(1000000000,)', '(-1,)', '(0, 2**53)']) {
    cases.push({ label: `literal empty of size ${size}`, text: `tensor([], size=${size})` });
    cases.push({ label: `literal empty of shape ${size}`, text: `array([], shape=${size}, dtype=float64)` });
  }
  cases.push({ label: 'literal long dtype', text: `np.array([1, 2], dtype=${'x'.repeat(10000)})` });
  cases.push({ label: 'literal long quoted dtype', text: `np.array([1, 2], dtype='${'x'.repeat(10000)}')` });
  cases.push({ label: 'literal long name', text: `[1, ${'x'.repeat(10000)}]` });
  cases.push({ label: 'literal long keyword', text: `np.array([1, 2], ${'x'.repeat(10000)}=1)` });
  cases.push({ label: 'literal long device', text: `tensor([1.], device='${'x'.repeat(10000)}')` });
  cases.push({ label: 'literal long string element', text: `[1, '${'x'.repeat(10000)}']` });
  cases.push({ label: 'literal long number', text: `[1.${'5'.repeat(10000)}e]` });
  cases.push({ label: 'literal long size', text: `tensor([], size=(${'1, '.repeat(10000)}0))` });
  cases.push({ label: 'literal 10^5 char comment', text: '[1, # ' + 'x'.repeat(100000) + '\n 2]' });
  cases.push({ label: 'literal unterminated block comment', text: '[1, /* ' + 'x'.repeat(100000) });
  return cases;
}

function hoverTexts(): { label: string; text: string; language?: string }[] {
  const r = rng(6006);
  const out: { label: string; text: string; language?: string }[] = [];
  const samples: [string, string | undefined][] = [['hover/sample.py', 'python'], ['hover/sample.ts', 'typescript'], ['hover/sample.md', 'markdown'],
    ['hover/sample.json', 'json'], ['hover/sample.py', undefined]];
  for (const [rel, language] of samples) {
    const text = fixtureText(rel);
    out.push({ label: `${rel} (${language})`, text, language });
    for (let k = 0; k < 12; k++) {
      let t = text;
      for (let j = 1 + int(r, 3); j > 0; j--) t = textMutation(t, r);
      out.push({ label: `${rel} (${language}) mutation #${k}`, text: t, language });
    }
  }
  out.push({ label: 'hover 10^5 brackets', text: 'x = ' + '['.repeat(100000) + '1' + ']'.repeat(100000), language: 'python' });
  out.push({ label: 'hover 10^5 unclosed', text: 'x = ' + '['.repeat(100000), language: 'python' });
  out.push({ label: 'hover 10^5 docstring quotes', text: '"""'.repeat(33333) + '[1, 2, 3]', language: 'python' });
  out.push({ label: 'hover 10^6 elements', text: 'x = [' + '1, '.repeat(1_000_000) + ']', language: 'python' });
  for (const size of ['(0, 1000000000000)', '(0, 2147483647, 3)', '(3, 0, 10000000)', '(0, 300, 2)']) {
    out.push({ label: `hover empty of size ${size}`, text: `x = tensor([], size=${size})`, language: 'python' });
  }
  out.push({ label: 'hover fences', text: '```python\n'.repeat(10000) + '[1, 2, 3, 4]', language: 'markdown' });
  return out;
}

// ---- notebooks ----------------------------------------------------------------------------------------------------

function notebookCases(): { label: string; text: string; selector?: string }[] {
  const r = rng(7007);
  const cases: { label: string; text: string; selector?: string }[] = [];
  const nb = (cells: unknown) => JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 });
  const payloadCell = (payload: unknown) => nb([{ cell_type: 'code', source: [], outputs: [{ output_type: 'display_data', data: { 'application/vnd.normscope.tensor+json': payload } }] }]);
  for (const rel of [...fixturesIn('notebooks', '.ipynb'), 'hover/sample.ipynb']) {
    const text = fixtureText(rel);
    cases.push({ label: rel, text, selector: 'cell=0' });
    for (const c of cuts(text.length + 1, 0, 8, r)) cases.push({ label: `${rel} cut at ${c}`, text: text.slice(0, c), selector: 'cell=1' });
    for (let k = 0; k < 16; k++) cases.push({ label: `${rel} mutation #${k}`, text: textMutation(textMutation(text, r), r), selector: pick(r, [undefined, 'cell=0', 'cell=1', 'cell=2&output=0']) });
  }
  for (const shape of [[1e9], [2 ** 31 - 1], [2 ** 27], [2 ** 20, 2 ** 10], [65536, 65536], [-1], [1.5], [2 ** 53], Array(33).fill(1), [3]]) {
    for (const data of [[], [1, 2, 3], 'AAAA', '', 'nan', [[1, 2, 3]], 1]) {
      cases.push({ label: `payload shape ${JSON.stringify(shape).slice(0, 30)} data ${JSON.stringify(data)}`, text: payloadCell({ shape, dtype: 'float32', data }) });
    }
  }
  // a long first row and short rows after it: the nested list as a whole holds far fewer values than the shape says
  cases.push({ label: 'payload first row long', text: payloadCell({ shape: [65536, 4096], dtype: 'float64', data: [Array(4096).fill(0), ...Array(65535).fill(1)] }) });
  for (const dtype of ['float32', 'int64', 'uint8', 'bool', 'bfloat16', 'complex64', 7, null]) {
    cases.push({ label: `payload dtype ${dtype}`, text: payloadCell({ shape: [2], dtype, data: [1, 300] }) });
  }
  for (const data of ['A', 'AAA=', '====', '\u00e9\u00e9\u00e9\u00e9', 'AAAAAAAA!', [['nan', 'inf']], [true, false], ['x', 1], [[1], 2]]) {
    cases.push({ label: `payload data ${JSON.stringify(data)}`, text: payloadCell({ shape: [2], dtype: 'float32', data }) });
  }
  cases.push({ label: 'payload norm junk', text: payloadCell({ shape: [1, 2], dtype: 'float32', data: [[1, 2]], norm: { op: 'group', groups: 1e300, weight: [[[1]]] } }) });
  cases.push({ label: 'payload norm weight 4 levels of 1000', text: payloadCell({ shape: [1], dtype: 'float32', data: [1], norm: { op: 'layer', weight: [[[Array(1000).fill(1), ...Array(999).fill(1)], ...Array(999).fill(1)], ...Array(999).fill(1)] } }) });
  cases.push({ label: 'payload norm weight first row long', text: payloadCell({ shape: [1], dtype: 'float32', data: [1], norm: { op: 'layer', weight: [Array(4096).fill(0), ...Array(65535).fill(1)] } }) });
  cases.push({ label: 'notebook 100k levels', text: '{"cells": ' + '['.repeat(100000) + ']'.repeat(100000) + '}' });
  cases.push({ label: 'payload long dtype', text: payloadCell({ shape: [1], dtype: 'x'.repeat(10000), data: [1] }) });
  cases.push({ label: 'payload long key', text: payloadCell({ shape: [1], dtype: 'float32', data: [1], ['k'.repeat(10000)]: 1 }) });
  cases.push({ label: 'payload long shape', text: payloadCell({ shape: [...Array(20).fill(1), 1.5], dtype: 'float32', data: [1] }) });
  cases.push({ label: 'payload long base64', text: payloadCell({ shape: [1], dtype: 'float32', data: 'A'.repeat(10000) + '!' }) });
  cases.push({ label: 'payload long name', text: payloadCell({ shape: [1], dtype: 'float32', data: [1], name: 7, norm: { op: 'x'.repeat(10000) } }) });
  cases.push({ label: 'notebook long selector', text: nb([]), selector: `cell=${'9'.repeat(10000)}` });
  cases.push({ label: 'notebook nbformat 3', text: '{"worksheets": []}' });
  cases.push({ label: 'notebook cells not a list', text: '{"cells": {}}' });
  cases.push({ label: 'notebook cell junk', text: nb([1, null, 'x', { cell_type: 'code', source: 7, outputs: 'x' }]), selector: 'cell=3' });
  cases.push({ label: 'notebook outputs junk', text: nb([{ cell_type: 'code', source: 'x = [1, 2]', outputs: [null, 1, { output_type: 'stream', text: 5 }, { output_type: 'execute_result', data: [] }] }]) });
  cases.push({ label: 'notebook NaN tokens', text: '{"cells": [{"cell_type": "code", "source": "[1, 2]", "outputs": [], "x": NaN, "y": -Infinity}]}', selector: 'cell=0' });
  cases.push({ label: 'notebook 350 KB of comments with brackets', text: nb([{ cell_type: 'code', source: '# x[0] = y[1]\n'.repeat(25000), outputs: [] }]), selector: 'cell=0' });
  cases.push({ label: 'notebook 36 KB of index expressions', text: nb([{ cell_type: 'code', source: 'y = x[0]\n'.repeat(4000), outputs: [] }]), selector: 'cell=0' });
  cases.push({ label: 'notebook 10^5 literals', text: nb([{ cell_type: 'code', source: '[1, 2]\n'.repeat(100000), outputs: [] }]), selector: 'cell=0' });
  for (const sel of ['cell=', 'cell=99999999', 'cell=0&output=99', 'cell=-1', 'cell=1e3', '']) cases.push({ label: `notebook selector ${sel}`, text: nb([{ cell_type: 'code', source: '[1, 2]', outputs: [] }]), selector: sel });
  return cases;
}

// ---- the suite --------------------------------------------------------------------------------------------------

describe('fuzz: every reader refuses bad input with one NormScopeError, or reads it', function () {
  this.timeout(20000);

  after(() => {
    const rows = [...tallies].map(([f, t]) => `  ${f.padEnd(12)} ${String(t.cases).padStart(6)} cases: ${t.ok} read, ${t.refused} refused; slowest ${t.slowest.toFixed(0)} ms (${t.slowestLabel.slice(0, 60)})`);
    if (process.env.NORMSCOPE_FUZZ_REPORT) console.log(rows.join('\n'));
  });

  fuzzIt('.npy: truncations, header flips, lying shapes, dtypes, lengths and versions', async () => {
    for (const { label, bytes } of npyCases()) await readBinaryEveryWay('npy', 'x.npy', bytes, undefined, label);
  });

  fuzzIt('.npz: numpy archives with lying directories, bad deflate, bad CRCs, duplicated and dropped entries', async () => {
    const r = rng(2002);
    const rels = ['containers/savez.npz', 'containers/savez_compressed.npz', 'containers/zip64.npz', 'containers/positional.npz',
      'containers/bad_member.npz', 'containers/bad_zip.npz', 'containers/bzip2.npz', 'containers/corrupt_deflate.npz',
      'containers/crc_mismatch.npz', 'containers/cut.npz', 'containers/truncated_member.npz', 'panel/bn_checkpoint.npz'];
    for (const rel of rels) {
      const b = fixture(rel);
      let selector: string | undefined;
      try {
        const names = zipLayout(b).central.map((e) => e.name.replace(/\.npy$/, ''));
        selector = names.length > 1 ? names[names.length - 1] : undefined;
      } catch { /* not a zip */ }
      await readBinaryEveryWay('npz', rel, b, selector, rel);
      for (const m of npzMutations(rel, b, r)) await readBinaryEveryWay('npz', rel, m.bytes, selector, m.label);
    }
    for (const built of builtNpz()) {
      await readBinaryEveryWay('npz', 'x.npz', built.bytes, built.selector, built.label);
      if (built.label.includes('long name')) continue; // 30 members: their mutations are many and add nothing
    for (const m of npzMutations(built.label, built.bytes, r).filter((_, i) => i % 4 === 0)) await readBinaryEveryWay('npz', 'x.npz', m.bytes, built.selector, m.label);
    }
    // the big deflated archive: only a few mutations (each inflates 240 KB)
    const big = fixture('containers/big_compressed.npz');
    for (const m of npzMutations('big_compressed.npz', big, r).filter((_, i) => i % 25 === 0)) await readBinaryEveryWay('npz', 'x.npz', m.bytes, undefined, m.label);
  });

  fuzzIt('.safetensors: lying header lengths, shapes, dtypes and data_offsets; overlaps; non-object headers', async () => {
    for (const { label, bytes, selector } of safetensorsCases()) await readBinaryEveryWay('safetensors', 'x.safetensors', bytes, selector, label);
  });

  fuzzIt('JSON: truncations, mutations, lying {shape, data}, ragged arrays, 100k levels, 10^6 elements', () => {
    for (const { label, text, selector } of jsonCases()) {
      const bytes = new TextEncoder().encode(text);
      expectSane('json', `${label} loadTensor`, () => loadTensor('x.json', bytes, selector), (t) => checkTensor(t, label, bytes.length + 8));
      expectSane('json', `${label} list`, () => listJsonTensors(text), (list) => {
        for (const t of list) checkShapeOf(t.shape, `${label} ${t.pointer}`);
      });
    }
  });

  fuzzIt('literals: reprs and lists mutated, truncated, 10^5 levels, 10^6 elements; findLiteralAt at random offsets', () => {
    const r = rng(5050);
    for (const { label, text } of literalCases()) {
      expectSane('literal', `${label} parse`, () => parseLiteral(text), (lit) => {
        checkTensor(lit.tensor, label, 8 * text.length + 8);
        assert.equal(lit.dtype, lit.tensor.dtype, `${label}: dtype ${lit.dtype} for a ${lit.tensor.dtype} tensor`);
      });
      const at = int(r, text.length + 1);
      expectSane('literal', `${label} find at ${at}`, () => findLiteralAt(text, at, { language: pick(r, ['python', 'typescript', undefined]) }), (span) => {
        if (span?.literal) checkTensor(span.literal.tensor, label, 8 * text.length + 8);
        if (span) assert.ok(span.start <= span.end && span.end <= text.length, `${label}: span ${span.start}..${span.end}`);
      });
    }
  });

  fuzzIt('the hover: mutated samples in every language, hovered at random offsets and rendered', () => {
    const r = rng(6060);
    for (const { label, text, language } of hoverTexts()) {
      for (let k = 0; k < 4; k++) {
        const at = k === 0 ? Math.min(text.length, Math.max(0, text.lastIndexOf('[') + 1)) : int(r, text.length + 2) - 1;
        expectSane('hover', `${label} at ${at}`, () => {
          const f = hoverAt(text, at, { language });
          return { f, md: f && hoverMarkdown(f, { normalize: 'command:n', copyStats: 'command:c' }) };
        }, ({ f, md }) => {
          if (!f) return;
          assert.ok(f.start <= f.end, `${label}: span ${f.start}..${f.end}`);
          assert.ok(typeof md === 'string' && md.length > 0, `${label}: empty markdown`);
          if (f.kind === 'stats') checkShapeOf(f.stats.shape, label);
        });
      }
    }
  });

  fuzzIt('.ipynb: mutated notebooks, lying payload shapes and data, junk cells and selectors', () => {
    for (const { label, text, selector } of notebookCases()) {
      const bytes = new TextEncoder().encode(text);
      expectSane('ipynb', `${label} loadTensor`, () => loadTensor('x.ipynb', bytes, selector), (t) => checkTensor(t, label, bytes.length + 8));
      expectSane('ipynb', `${label} read`, () => readNotebookTensor(text, selector), (p) => {
        for (const c of p.candidates) if (c.tensor) checkTensor(c.tensor, `${label} ${c.label}`, bytes.length + 8);
      });
    }
  });
});

describe('fuzz regressions', () => {
  /** `fn` throws a NormScopeError whose message is `message`, and leaves less than 64 MiB of new ArrayBuffers. */
  const refusesWithoutAllocating = async (fn: () => unknown, message: string) => {
    const before = external();
    await assert.rejects(async () => fn(), (e: unknown) => {
      assert.ok(e instanceof NormScopeError, `a NormScopeError, got ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    });
    const grew = external() - before;
    assert.ok(grew < 64 * 2 ** 20, `${Math.round(grew / 2 ** 20)} MiB allocated before the refusal`);
  };
  it('payload: shape [1e9] over an empty list is refused before 8 GB are allocated for it', async () => {
    // was: the same message, after a Float64Array of 10^9 values (lazily zeroed, so it did not show until touched)
    await refusesWithoutAllocating(() => decodePayload({ shape: [1e9], dtype: 'float32', data: [] }),
      'payload.data: a list of 0, but dimension 0 of shape [1000000000] is 1000000000');
    await refusesWithoutAllocating(() => decodePayloadText('{"shape": [134217728], "dtype": "float64", "data": 1}'),
      'payload.data: expected a list of 134217728 (shape [134217728] has 1 dimensions), got 1');
  });

  it('payload: a nested-list norm parameter whose first rows are long and the others short is refused before allocating', async () => {
    // was: RangeError "Invalid typed array length: 1000000000000" (the shape is taken from the first row at each level)
    await refusesWithoutAllocating(() => decodeNormParams({ op: 'layer', weight: [[[ones(1000), ...ones(999)], ...ones(999)], ...ones(999)] }),
      'norm.weight[0][0][1]: expected a list of 1000 (shape [1000, 1000, 1000, 1000] has 4 dimensions), got 1');
    // was: the same message after 2 GiB were allocated
    await refusesWithoutAllocating(() => decodeNormParams({ op: 'layer', weight: [ones(4096), ...ones(65535)] }),
      'norm.weight[1]: expected a list of 4096 (shape [65536, 4096] has 2 dimensions), got 1');
  });

  it('.npz: a deflated member the directory says inflates beyond deflate\'s 1032:1 is refused before its header is believed', async () => {
    // was: the chunked source was opened for the member header's 1 GiB, and readStorage allocated it before the
    // inflater ran dry ("inflates to N bytes, the directory says 4294967280")
    const noise = new Uint8Array(96 * 1024);
    const r = rng(11);
    for (let i = 0; i < noise.length; i++) noise[i] = int(r, 256);
    const member = npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (134217728,), }", noise);
    const zip = zipSync({ 'a.npy': member }, { level: 6 });
    const e = zipLayout(zip).central[0];
    const compressed = new DataView(zip.buffer).getUint32(e.at + 20, true);
    const lying = setU32(setU32(zip, e.at + 24, 0xfffffff0), e.local + 22, 0xfffffff0);
    const message = `zip member 'a.npy': the directory says it inflates to 4294967280 bytes, more than deflate can make of its ${compressed} compressed bytes`;
    await refusesWithoutAllocating(async () => (await openTensorSource('x.npz', bytesSource(lying))).readStorage(0, 134217728), message);
    await refusesWithoutAllocating(() => loadTensor('x.npz', lying), message);
    await refusesWithoutAllocating(() => listSource('x.npz', bytesSource(lying)), message);
    // the largest honest ratio still reads: 8 MiB of zeros deflate to ~8 KiB
    const zeros = npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1048576,), }", new Uint8Array(8 * 2 ** 20));
    assert.deepEqual(loadTensor('z.npz', zipSync({ 'z.npy': zeros }, { level: 9 })).shape, [1048576]);
  });

  it('notebook: a cell of 1 MB of comments holding brackets is searched without re-reading the comments for every bracket', () => {
    // was: 12 s of CPU: each of the 4,096 '[' tried read the rest of the comment block (up to 1 MiB) to its end
    const source = '# x[0] = y[1]\n'.repeat(75000);
    const text = JSON.stringify({ cells: [{ cell_type: 'code', source, outputs: [] }] });
    const started = clocks();
    assert.throws(() => readNotebookTensor(text, 'cell=0'), /^NormScopeError: cell 0 holds no tensor/);
    assert.ok(since(started) < 2000, `${since(started).toFixed(0)} ms`);
    // a literal after the comments, and one whose list a comment interrupts, are still found
    assert.deepEqual(findLiteralAt(`${source}x = [1, 2]\n`, source.length + 5, { language: 'python' })?.literal?.tensor.shape, [2]);
    const broken = 'x = [1, 2,  # [9]\n     3]';
    assert.deepEqual(findLiteralAt(broken, broken.indexOf('9'), { language: 'python' })?.literal?.tensor.shape, [3]);
  });

  it('notebook: a 36 KB cell of index expressions (y = x[0]) is searched without a try per bracket', () => {
    // was: 4.7 s of CPU: each x[0] was tried as a literal, and each try read the cell up to it
    const text = JSON.stringify({ cells: [{ cell_type: 'code', source: `${'y = x[0]\n'.repeat(4000)}z = [1, 2, 3]\n`, outputs: [] }] });
    const started = clocks();
    assert.deepEqual(readNotebookTensor(text, 'cell=0').chosen.tensor.shape, [3]);
    assert.ok(since(started) < 1000, `${since(started).toFixed(0)} ms`);
  });

  it('notebook, safetensors, payload: invalid JSON is one line, and a notebook says the line and column', () => {
    // was: JSON.parse's message, which quotes the text around the error with its line breaks and, for most
    // errors, says no position: 'not a notebook: invalid JSON (Unexpected token \'N\', ...\"\n   \"id\": NaNc04\",\n \"... is not valid JSON)'
    const refusesWith = (fn: () => unknown, message: string) => assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof NormScopeError, `a NormScopeError, got ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    });
    refusesWith(() => readNotebookTensor('{\n "cells": [\n  {"id": NaNc04}\n ]\n}'),
      'not a notebook: invalid JSON (expected \',\' or \'}\' after an object member, found "c04") (at /cells/0, line 3, column 13)');
    refusesWith(() => loadTensor('x.ipynb', ascii('{"cells": [')), 'not a notebook: invalid JSON (expected a value, found the end of the text) (at /cells/0, line 1, column 12)');
    refusesWith(() => loadTensor('x.safetensors', safetensorsFile('{"a":\n x}', new Uint8Array(0))),
      'safetensors header is not valid JSON: Unexpected token \'x\', "{"a": x}" is not valid JSON (byte offset 8)');
    refusesWith(() => decodePayloadText('{"shape":\n x}'), 'payload: not valid JSON (Unexpected token \'x\', "{"shape": x}" is not valid JSON)');
  });

  it('JSON: text that is not UTF-8 is refused at the byte offset of the first bad sequence', () => {
    // was: 'JSON text is not valid UTF-8', with no place; TextDecoder's fatal mode decides what is bad, this says where
    const cases: [number[], number][] = [[[0x5b, 0xff], 1], [[0x5b, 0x31, 0xc0, 0x80], 2], [[0xe2, 0x82, 0xac, 0xed, 0xa0, 0x80], 3],
      [[0x22, 0xf4, 0x90, 0x80, 0x80], 1], [[0x5b, 0x31, 0xe2, 0x82], 2], [[0xf0, 0x9f, 0x98, 0x80, 0x80], 4]];
    for (const [bytes, at] of cases) {
      assert.throws(() => loadTensor('x.json', new Uint8Array(bytes)), (e: unknown) => {
        assert.ok(e instanceof NormScopeError);
        assert.equal(e.message, `JSON text is not valid UTF-8 (byte offset ${at})`, JSON.stringify(bytes));
        return true;
      });
    }
  });

  it('messages clip the names, dtypes, shapes, keys and selectors they echo (a 10,000-character name made a 200 KB message)', () => {
    const refusesWith = (fn: () => unknown, message: string) => assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof NormScopeError, `a NormScopeError, got ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    });
    const n = (k: number) => 'n'.repeat(k);
    const clipped = `${n(40)}... (10000 characters)`;
    const ok = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4));
    // was: every name in full, 20 of them
    refusesWith(() => loadTensor('x.npz', zipSync({ [`${n(10000)}.npy`]: ok, [`${n(9996)}.npy`]: ok }), 'missing'),
      `no tensor 'missing' in this .npz file (it holds: ${clipped}, ${n(40)}... (9996 characters))`);
    refusesWith(() => loadTensor('x.npz', setU16(zipSync({ [`${n(9996)}.npy`]: ok }), zipLayout(zipSync({ [`${n(9996)}.npy`]: ok })).central[0].at + 10, 12)),
      `zip member '${n(40)}... (10000 characters)' uses compression method 12 (bzip2): only stored (0) and deflate (8) are supported`);
    refusesWith(() => loadTensor('x.safetensors', safetensorsFile({ a: { dtype: n(10000), shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1))),
      `safetensors tensor 'a': unknown dtype '${clipped}'`);
    refusesWith(() => loadTensor('x.safetensors', safetensorsFile({ a: { dtype: 'U8', shape: [...ones(30000), -1], data_offsets: [0, 1] } }, new Uint8Array(1))),
      `safetensors tensor 'a': "shape" must be a list of non-negative integers, got [${'1,'.repeat(29)}1... (60004 characters)`);
    refusesWith(() => loadTensor('x.json', ascii(JSON.stringify({ [n(10000)]: [1] })), '/missing'),
      `JSON pointer "/missing" leads nowhere: no key "missing" (keys: "${n(39)}... (10002 characters)) (at the root, line 1, column 1)`);
    refusesWith(() => loadTensor('x.json', ascii(JSON.stringify({ shape: [...ones(40000), -1], data: [1] }))),
      `invalid dimension -1 at axis 40000 of shape [${'1, '.repeat(51)}1,... (120048 characters) (at /shape, line 1, column 10)`);
    refusesWith(() => loadTensor('x.ipynb', ascii('{"cells": []}'), `cell=${'9'.repeat(10000)}`),
      `notebook selector must be cell=N or cell=N&output=K (0-based indexes), got "cell=${'9'.repeat(35)}... (10005 characters)"`);
    refusesWith(() => parseLiteral(`np.array([1], dtype=${n(10000)})`), `unsupported dtype ${clipped} (offset 20 (line 1, column 21))`);
  });

  it('hover: an empty tensor that declares 10^12 channels is summarized without a statistic per channel', () => {
    // was: tensorStats built one channel per declared channel and the process ran out of heap (30 s, then abort)
    const f = hoverAt('x = tensor([], size=(0, 1000000000000))', 6, { language: 'python' });
    assert.equal(f?.kind, 'stats');
    assert.deepEqual(f.kind === 'stats' && [f.stats.shape, f.stats.count, f.stats.mean, f.stats.channels], [[0, 1e12], 0, null, undefined]);
    const g = hoverAt('y = tensor([], size=(0, 2147483647, 3))', 6, { language: 'python' });
    assert.ok(g?.kind === 'stats');
    assert.equal(g.stats.channels, 2147483647);
    assert.equal(g.stats.channel_means?.length, 256);
    assert.ok(g.stats.channel_means.every((m) => m === null));
    // a small empty tensor's summary is what it was
    const h = hoverAt('z = tensor([], size=(2, 3, 0))', 6, { language: 'python' });
    assert.ok(h?.kind === 'stats');
    assert.deepEqual([h.stats.channels, h.stats.channel_means], [3, [null, null, null]]);
  });
});
