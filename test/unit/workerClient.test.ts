import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, EngineError, WorkerClient } from '../../src/extension/workerClient';

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
});
