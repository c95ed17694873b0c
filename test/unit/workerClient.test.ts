import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeNpy } from '../../src/engine/formats/npy';
import { tensor } from '../../src/engine/tensor';
import { CancelledError, ClientEvent, EngineError, WorkerClient } from '../../src/extension/workerClient';

const repo = path.resolve(__dirname, '../../..');
const workerJs = path.join(repo, 'dist/worker.js');
const grid = new Uint8Array(fs.readFileSync(path.join(repo, 'test/fixtures/panel/grid_2x4x3x3.npy')));

describe('worker client (dist/worker.js on a worker thread)', function () {
  this.timeout(20_000);
  let client: WorkerClient;
  beforeEach(() => { client = new WorkerClient(workerJs); });
  afterEach(() => client.dispose());

  it('loads, analyzes, checks and exports off the calling thread', async () => {
    const loaded = await client.load({ label: 'grid', name: 'grid.npy', bytes: grid });
    assert.equal(loaded.kind, 'loaded');
    const view = await client.analyze({ op: 'group', groups: 2 }, 10);
    assert.equal(view.stats.before.groups.length, 2);
    const c = await client.checks();
    assert.ok(c.checks.length > 0 && c.checks.every((k) => k.pass));
    const npy = await client.npy();
    assert.equal(npy[0], 0x93);
  });

  it('rejects bad parameters with an EngineError carrying the engine message', async () => {
    await client.load({ label: 'grid', name: 'grid.npy', bytes: grid });
    await assert.rejects(client.analyze({ op: 'batch', momentum: 2 }, 10), (e: unknown) =>
      e instanceof EngineError && /momentum must be a number in \[0, 1\]/.test(e.message));
  });

  it('cancels by terminating the worker, then restarts it with the same tensor', async () => {
    await client.load({ label: 'grid', name: 'grid.npy', bytes: grid });
    const pending = client.analyze({ op: 'instance' }, 10);
    client.cancel();
    await assert.rejects(pending, CancelledError);
    const view = await client.analyze({ op: 'instance' }, 10);
    assert.deepEqual(view.input.shape, [2, 4, 3, 3]);
  });

  it('a JSON file given by path is read whole: a cancel terminates the worker (its work never checks for an abort)', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normscope-client-json-'));
    try {
      const file = path.join(tmp, 'big.json');
      const values = Array.from({ length: 64 * 4 * 32 * 32 }, (_, i) => Math.sin(i));
      fs.writeFileSync(file, JSON.stringify({ shape: [64, 4, 32, 32], data: values }));
      const loaded = await client.load({ label: 'big.json', name: 'big.json', path: file });
      assert.ok(loaded.kind === 'loaded' && loaded.streamed === undefined, 'read whole, not streamed');
      assert.equal(client.threadsStarted, 1);
      await client.analyze({ op: 'instance' }, 10);
      const checks = client.checks();
      client.cancel();
      await assert.rejects(checks, CancelledError);
      const view = await client.analyze({ op: 'group', groups: 2 }, 10);
      assert.equal(client.threadsStarted, 2, 'the busy worker was terminated and a new one re-read the file');
      assert.deepEqual(view.input.shape, [64, 4, 32, 32]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  describe('streamed file (the worker opens the path)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normscope-client-'));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // 256 x 4 x 16 x 16 float32 (1 MiB) within 0.1 MiB: chunks of ~1,000-2,000 elements, so over 100 per pass
    const shape = [256, 4, 16, 16];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = Math.cos(i * 0.01) + (i % 7);
    const file = path.join(tmp, 'big.npy');
    fs.writeFileSync(file, writeNpy(tensor('float32', shape, data)));

    it('streams with events in order; a cancel mid-stream stops it and keeps the worker, so the next run reuses "before"', async () => {
      const loaded = await client.load({ label: 'big', name: 'big.npy', path: file, budgetMB: 0.1 });
      assert.equal(loaded.kind, 'loaded');
      assert.ok(loaded.kind === 'loaded' && loaded.streamed && loaded.streamed.chunkElements < data.length / 50);
      const seen: ClientEvent[] = [];
      let cancelledAt = -1;
      const run = client.analyze({ op: 'instance' }, 16, (e) => {
        seen.push(e);
        if (e.event === 'partial' && cancelledAt < 0) {
          cancelledAt = seen.length;
          client.cancel();
        }
      });
      await assert.rejects(run, CancelledError);
      assert.equal(seen.length, cancelledAt, 'no event after the cancel');
      assert.equal(client.threadsStarted, 1, 'the worker was kept (aborted, not terminated)');
      assert.ok(seen.every((e) => e.event !== 'partial' || e.note.stage === 'preview'));
      const stages: string[] = [];
      const fractions: number[] = [];
      const view = await client.analyze({ op: 'instance' }, 16, (e) => {
        if (e.event === 'partial') stages.push(e.note.stage);
        else fractions.push(e.fraction);
      });
      assert.deepEqual(stages, ['preview', 'moments', 'after-preview', 'after-moments']);
      assert.ok(fractions.length > 2 && fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])), 'progress grows');
      assert.equal(view.stats.before.overall.count, data.length);
      // a cancel of a streamed run keeps the worker (and the "before" statistics it holds): cancel while
      // "after" streams, and the next run with the same layout reads only for "after"
      const more = client.analyze({ op: 'batch', mode: 'train' }, 16, (e) => {
        if (e.event === 'partial' && e.note.stage === 'after-preview') client.cancel();
      });
      await assert.rejects(more, CancelledError);
      const again: string[] = [];
      const last = await client.analyze({ op: 'batch', mode: 'train' }, 16, (e) => { if (e.event === 'partial') again.push(e.note.stage); });
      assert.deepEqual(again, ['after-preview', 'after-moments']);
      assert.equal(last.running?.num_batches_tracked, 1);
      await assert.rejects(client.checks(), (e: unknown) => e instanceof EngineError && /need the whole tensor in memory/.test(e.message));
    });
  });
});
