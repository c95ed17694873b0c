// The CLI's streamed path and multi-tensor files, end to end: the built dist/cli.js on real files.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../../src/engine/formats/npy';
import { progressLine, streamFileStats } from '../../src/node/fileSource';
import { tensorStats } from '../../src/engine/analyze';
import { loadTensor } from '../../src/engine/formats/input';
import { tensor } from '../../src/engine/tensor';
import { randn } from '../support/random';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const CONTAINERS = path.join(ROOT, 'test/fixtures/containers');
const FORMATS = path.join(ROOT, 'test/fixtures/formats');

let dir: string;
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}


describe('normscope CLI: multi-tensor files and streaming', function () {
  this.timeout(30000);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'normscope-stream-'));
    writeFileSync(path.join(dir, 'x.npy'), writeNpy(tensor('float32', [8, 6, 5, 5], randn(1200, 9, 3, 2))));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the tensors of a .safetensors file without a selector, with its metadata', () => {
    const f = path.join(CONTAINERS, 'tensors.safetensors');
    const r = cli('stats', f);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `${f}: 11 tensors (safetensors)`);
    assert.match(lines[1], /^ {2}name +shape +dtype +size$/);
    assert.match(lines[5], /^ {2}model\.bf16 +\[2, 4\] +bfloat16 +16 B$/);
    assert.deepEqual(lines.slice(-4), ['metadata:', '  format: pt', '  source: make_container_fixtures.py', `pick one with ${f}#layer.f64`]);
  });

  it('lists an .npz as JSON, and reads a member with file.npz#name', () => {
    const f = path.join(CONTAINERS, 'savez_compressed.npz');
    const list = JSON.parse(cli('stats', f, '--json').stdout);
    assert.deepEqual(list.tensors.map((t: { name: string }) => t.name), ['weight', 'steps', 'mask', 'half', 'acts']);
    assert.deepEqual(list.tensors[4], { name: 'acts', shape: [4, 3, 8, 8], dtype: 'float32', bytes: 3072 });
    assert.equal(list.metadata, null);
    const s = JSON.parse(cli('stats', `${f}#steps`, '--json').stdout);
    assert.deepEqual([s.dtype, s.count, s.min, s.max], ['int64', 4, -2, 2 ** 40]);
  });

  it('streams statistics within a tiny budget, in the chunks it allows, with the in-memory numbers', () => {
    const whole = JSON.parse(cli('stats', 'x.npy', '--json').stdout);
    const r = cli('stats', 'x.npy', '--json', '--budget-mb', '0.01');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, ''); // no progress when stderr is not a terminal
    const streamed = JSON.parse(r.stdout);
    assert.deepEqual(streamed.streamed, { chunks: 6, chunk_elements: 218, passes: 2, budget_mb: 0.01 });
    delete streamed.streamed;
    assert.deepEqual(Object.keys(streamed), Object.keys(whole));
    for (const k of ['shape', 'dtype', 'count', 'min', 'max', 'nan', 'inf']) assert.deepEqual(streamed[k], whole[k], k);
    for (const k of ['mean', 'std']) assert.ok(Math.abs(streamed[k] - whole[k]) <= 1e-12 * Math.abs(whole[k]), k);
  });

  for (const op of [['--op', 'group', '--groups', '3'], ['--op', 'batch', '--mode', 'train'], ['--op', 'layer', '--normalized-shape', '6,5,5']]) {
    it(`normalize ${op.join(' ')} streamed by samples writes the same .npy as in memory`, () => {
      const a = cli('normalize', 'x.npy', ...op, '--out', 'a.npy', '--json');
      const b = cli('normalize', 'x.npy', ...op, '--out', 'b.npy', '--json', '--budget-mb', '0.03');
      assert.equal(b.code, 0, b.stderr);
      assert.deepEqual(readFileSync(path.join(dir, 'b.npy')), readFileSync(path.join(dir, 'a.npy')));
      const ja = JSON.parse(a.stdout), jb = JSON.parse(b.stdout);
      assert.deepEqual(jb.streamed, { chunks: 4, chunk_elements: 300, passes: 2, budget_mb: 0.03 });
      assert.deepEqual(jb.stats.after.overall.histogram, ja.stats.after.overall.histogram);
      assert.deepEqual(jb.checks, []);
      assert.match(jb.warnings.at(-1), /^streamed in chunks of whole samples within a 0\.03 MiB budget: equivalence checks and health flags need the whole tensor and were skipped$/);
      if (ja.running) assert.deepEqual(jb.running, ja.running);
    });
  }

  it('says what cannot stream, and leaves no partial output behind', () => {
    let r = cli('normalize', 'x.npy', '--op', 'layer', '--normalized-shape', '8,6,5,5', '--out', 'c.npy', '--budget-mb', '0.03');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'normscope: x.npy: LayerNorm over every dim needs statistics of the whole tensor at once: it is not streamed; normalize over the non-batch dims, or load the tensor whole\n');
    r = cli('normalize', 'x.npy', '--op', 'instance', '--out', 'c.npy', '--budget-mb', '0.01');
    assert.equal(r.stderr, 'normscope: x.npy: one sample holds 150 elements, more than the 131 a chunk may hold within the memory budget: raise the budget\n');
    assert.equal(existsSync(path.join(dir, 'c.npy')), false);
    r = cli('stats', 'x.npy', '--budget-mb', '0');
    assert.equal(r.stderr, "normscope: --budget-mb: expected a positive number of MiB, got '0'\n");
    r = cli('check', 'x.npy', '--op', 'group', '--groups', '3', '--budget-mb', '64');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'normscope: check runs the equivalence checks on the whole tensor in memory: --budget-mb applies to stats and normalize\n');
  });

  it('streams a .safetensors tensor and a deflated .npz member like it reads them whole', () => {
    for (const [spec, budget] of [[`${path.join(CONTAINERS, 'tensors.safetensors')}#acts`, '0.001'], [`${path.join(CONTAINERS, 'big_compressed.npz')}#big`, '0.1']]) {
      const whole = JSON.parse(cli('stats', spec, '--json').stdout);
      const streamed = JSON.parse(cli('stats', spec, '--json', '--budget-mb', budget).stdout);
      assert.ok(streamed.streamed.chunks > 1, spec);
      for (const k of ['shape', 'dtype', 'count', 'min', 'max']) assert.deepEqual(streamed[k], whole[k], k);
      for (const k of ['mean', 'std']) assert.ok(Math.abs(streamed[k] - whole[k]) <= 1e-12 * Math.abs(whole[k]), k);
    }
  });

  it('reports a damaged archive member on one line, streamed or not', () => {
    const f = path.join(CONTAINERS, 'crc_mismatch.npz');
    const msg = `normscope: ${f}: zip member 'weight.npy': CRC-32 mismatch (directory says 0x8f0c0901, data gives 0xa20ee68c)\n`;
    assert.equal(cli('stats', `${f}#weight`).stderr, msg);
    assert.equal(cli('stats', `${f}#weight`, '--budget-mb', '1').stderr, msg);
  });

  it('reads .npy <V2 as bfloat16 only when asked', () => {
    const f = path.join(FORMATS, 'bfloat16_v2.npy');
    const r = cli('stats', f);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `normscope: ${f}: '<V2' is raw 2-byte data, which is how ml_dtypes saves bfloat16: read it with --bfloat16-v2 to treat it as bfloat16 (byte offset 20)\n`);
    assert.equal(cli('stats', f, '--budget-mb', '1').stderr, r.stderr);
    const s = JSON.parse(cli('stats', f, '--bfloat16-v2', '--json').stdout);
    assert.equal(s.dtype, 'bfloat16');
  });

  it('draws progress in place on a terminal, and nothing elsewhere', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (t: string) => { written.push(t); return true; } } as unknown as NodeJS.WriteStream;
    const p = progressLine(tty, 'normscope: x.npy', 4);
    p?.update({ pass: 1, passes: 2, done: 125e6, total: 500e6 });
    p?.update({ pass: 2, passes: 2, done: 500e6, total: 500e6 });
    p?.done();
    assert.deepEqual(written, [
      '\rnormscope: x.npy: pass 1/2 0.50 of 1.00 GB, 25% ',
      '\rnormscope: x.npy: pass 2/2 1.00 of 1.00 GB, 100% ',
      '\r\x1b[K',
    ]);
    assert.equal(progressLine({ isTTY: false } as unknown as NodeJS.WriteStream, 'x', 4), undefined);
  });

  it('streamFileStats: a file member in chunks within a budget, a first picture after pass 1', async () => {
    const f = path.join(CONTAINERS, 'big_compressed.npz');
    let first = -1;
    const r = await streamFileStats(f, 'big', { budgetMB: 0.5, onMoments: (s) => { first = s.overall.count; } });
    assert.deepEqual([r.shape, r.dtype, r.info.chunks, first], [[16, 4, 32, 32], 'float32', 7, 65536]);
    const whole = tensorStats(loadTensor(f, new Uint8Array(readFileSync(f)), 'big'));
    assert.deepEqual(r.stats.channels.map((c) => c.histogram), whole.channels.map((c) => c.histogram));
  });
});
