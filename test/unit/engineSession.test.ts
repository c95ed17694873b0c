import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze } from '../../src/engine/analyze';
import { readNpy, writeNpy } from '../../src/engine/formats/npy';
import { EngineSession } from '../../src/extension/engineSession';
import { checkView, toNormParams } from '../../src/extension/panelModel';
import type { WorkerReply } from '../../src/extension/workerMessages';

const fixtures = path.resolve(__dirname, '../../../test/fixtures/panel');
const bytes = (name: string) => new Uint8Array(fs.readFileSync(path.join(fixtures, name)));

function ok<K extends string>(r: WorkerReply, kind: K): Extract<WorkerReply, { ok: true; kind: K }> {
  if (!r.ok) throw new Error(`not ok: ${r.message}`);
  assert.equal(r.kind, kind);
  return r as Extract<WorkerReply, { ok: true; kind: K }>;
}

describe('engine session (what the worker runs)', () => {
  it('gives analyze()\'s statistics, checks and flags in two phases', () => {
    const s = new EngineSession();
    const loaded = ok(s.handle({ kind: 'load', id: 1, label: 'grid', name: 'grid_2x4x3x3.npy', bytes: bytes('grid_2x4x3x3.npy') }), 'loaded');
    assert.deepEqual(loaded.info, { label: 'grid', shape: [2, 4, 3, 3], dtype: 'float32', numel: 72 });
    assert.deepEqual(loaded.choices.groups, [1, 2, 4]);
    const x = readNpy(bytes('grid_2x4x3x3.npy'));
    for (const params of [{ op: 'batch' as const }, { op: 'group' as const, groups: 2 }, { op: 'layer' as const, normalized_shape: [3, 3] },
      { op: 'instance' as const, eps: 0.5 }, { op: 'rms' as const, affine: { weight: 2, bias: 0 } }]) {
      const view = ok(s.handle({ kind: 'analyze', id: 2, params, bins: 20 }), 'analyzed').view;
      const checked = ok(s.handle({ kind: 'checks', id: 3 }), 'checked');
      const ref = analyze(x, toNormParams(x, params), { bins: 20 });
      assert.deepEqual(view.stats, ref.stats, `${params.op}: stats`);
      assert.deepEqual(view.shape_report, ref.shape_report);
      assert.deepEqual(view.op, ref.op);
      assert.deepEqual(checked.checks, ref.checks.map(checkView), `${params.op}: checks`);
      assert.deepEqual(checked.flags, ref.flags, `${params.op}: flags`);
      const npy = ok(s.handle({ kind: 'npy', id: 4 }), 'npy');
      assert.deepEqual(npy.bytes, writeNpy(ref.result.output));
    }
  });

  it('reports BatchNorm train running statistics', () => {
    const s = new EngineSession();
    ok(s.handle({ kind: 'load', id: 1, label: 'g', name: 'g.npy', bytes: bytes('grid_2x4x3x3.npy') }), 'loaded');
    const view = ok(s.handle({ kind: 'analyze', id: 2, params: { op: 'batch' }, bins: 5 }), 'analyzed').view;
    assert.equal(view.running?.mean.length, 4);
    assert.equal(view.running?.num_batches_tracked, 1);
  });

  it('lists the tensors of a JSON document that holds several, and loads one by pointer', () => {
    const s = new EngineSession();
    const listed = ok(s.handle({ kind: 'load', id: 1, label: 't', name: 'two_tensors.json', bytes: bytes('two_tensors.json'), listIfSeveral: true }), 'several');
    assert.deepEqual(listed.tensors.map((t) => [t.selector, t.shape]), [['/a', [2, 3]], ['/nested/b', [4]]]);
    const loaded = ok(s.handle({ kind: 'load', id: 2, label: 't', name: 'two_tensors.json', bytes: bytes('two_tensors.json'), selector: '/nested/b', listIfSeveral: true }), 'loaded');
    assert.deepEqual(loaded.info.shape, [4]);
  });

  it('lists the members of .npz and .safetensors files, and loads a single-member file directly', () => {
    const s = new EngineSession();
    const containers = path.resolve(__dirname, '../../../test/fixtures/containers');
    const file = (name: string) => new Uint8Array(fs.readFileSync(path.join(containers, name)));
    const npz = ok(s.handle({ kind: 'load', id: 1, label: 'n', name: 'savez_compressed.npz', bytes: file('savez_compressed.npz'), listIfSeveral: true }), 'several');
    assert.ok(npz.tensors.length > 1 && npz.tensors.every((t) => t.selector !== '' && !t.selector.endsWith('.npy')));
    const picked = ok(s.handle({ kind: 'load', id: 2, label: 'n', name: 'savez_compressed.npz', bytes: file('savez_compressed.npz'), selector: npz.tensors[0].selector }), 'loaded');
    assert.deepEqual(picked.info.shape, npz.tensors[0].shape);
    ok(s.handle({ kind: 'load', id: 3, label: 's', name: 'single.safetensors', bytes: file('single.safetensors'), listIfSeveral: true }), 'loaded');
  });

  it('loads a literal', () => {
    const s = new EngineSession();
    const loaded = ok(s.handle({ kind: 'load', id: 1, label: 'sel', name: 'sel', literal: 'torch.tensor([[1., 2.], [3., 5.]])' }), 'loaded');
    assert.deepEqual(loaded.info.shape, [2, 2]);
  });

  it('answers bad files and bad parameters with the engine\'s message, flagged as for people', () => {
    const s = new EngineSession();
    const cases: [string, RegExp][] = [
      ['truncated.npy', /^truncated: header says 96 bytes of data, file has 8 after the header/],
      ['not_npy.npy', /not an \.npy file/],
      ['broken.json', /invalid JSON: expected a value, found "\]" \(at \/a\/2, line 3, column 3\)/],
    ];
    for (const [name, message] of cases) {
      const r = s.handle({ kind: 'load', id: 1, label: name, name, bytes: bytes(name) });
      assert.ok(!r.ok && r.user && message.test(r.message), `${name}: ${JSON.stringify(r)}`);
    }
    ok(s.handle({ kind: 'load', id: 1, label: 'g', name: 'g.npy', bytes: bytes('grid_2x4x3x3.npy') }), 'loaded');
    const bad = s.handle({ kind: 'analyze', id: 2, params: { op: 'layer', eps: -1 }, bins: 5 });
    assert.deepEqual(bad, { id: 2, ok: false, user: true, message: 'eps must be a finite number >= 0, got -1' });
    const noRun = s.handle({ kind: 'npy', id: 3 });
    assert.ok(!noRun.ok && noRun.user, 'export before a successful run is refused');
  });
});
