import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze } from '../../src/engine/analyze';
import { readNpy, writeNpy } from '../../src/engine/formats/npy';
import { EngineSession } from '../../src/extension/engineSession';
import { checkView, toNormParams } from '../../src/extension/panelModel';
import type { ParamFile, WorkerEvent, WorkerReply } from '../../src/extension/workerMessages';
import type { SideStats, Summary } from '../../src/engine/stats';
import { tensor } from '../../src/engine/tensor';
import type { AnalysisView, PanelParams } from '../../src/protocol/messages';

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

  it('takes statistics of the whole tensor past 65,536 channels, and the panel\'s warnings say so', () => {
    const s = new EngineSession();
    const x = tensor('float32', [2, 70_000], Float32Array.from({ length: 140_000 }, (_, i) => (i % 9) - 4));
    ok(s.handle({ kind: 'load', id: 1, label: 'wide', name: 'wide.npy', bytes: writeNpy(x) }), 'loaded');
    const view = ok(s.handle({ kind: 'analyze', id: 2, params: { op: 'batch', mode: 'eval' }, bins: 10 }), 'analyzed').view;
    assert.equal(view.stats.before.channels.length, 1);
    assert.equal(view.stats.before.overall.count, 140_000);
    assert.ok(view.warnings.includes('statistics are of the whole tensor, not per channel: axis 1 has 70,000 channels, more than the 65,536 NormScope takes one by one'), view.warnings.join('\n'));
    const ref = analyze(x, toNormParams(x, { op: 'batch', mode: 'eval' }), { bins: 10 });
    assert.deepEqual(view.stats, ref.stats);
    assert.deepEqual(view.warnings, ref.warnings);
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
    const st = ok(s.handle({ kind: 'load', id: 4, label: 's', name: 'tensors.safetensors', bytes: file('tensors.safetensors'), listIfSeveral: true }), 'several');
    assert.deepEqual(st.metadata, { format: 'pt', source: 'make_container_fixtures.py' }, "the file's __metadata__ comes with the list");
    assert.equal(npz.metadata, undefined);
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

describe('engine session: parameter tensors from files (PanelParams.sources)', () => {
  // bn_checkpoint.* and the expected values come from PyTorch (make_bn_checkpoint.py): F.batch_norm in eval mode
  const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'bn_checkpoint_expected.json'), 'utf8'));
  const input = bytes('bn_input_2x4x3x3.npy');
  const ckpt = path.join(fixtures, 'bn_checkpoint.safetensors');
  const ref = (selector: string, file = 'bn_checkpoint.safetensors') => ({ uri: `file:///f/${file}`, selector });
  const byPath = (selector: string, key = selector): ParamFile => ({ key, label: `bn_checkpoint.safetensors#${selector}`, name: 'bn_checkpoint.safetensors', selector, path: ckpt });
  const byBytes = (selector: string, file = 'bn_checkpoint.npz'): ParamFile => ({ key: `${file}#${selector}`, label: `${file}#${selector}`, name: file, selector, bytes: bytes(file) });
  const running: PanelParams = { op: 'batch', mode: 'eval', sources: { running_mean: ref('bn1.running_mean'), running_var: ref('bn1.running_var') } };
  const affine: PanelParams = { ...running, sources: { ...running.sources, weight: ref('bn1.weight'), bias: ref('bn1.bias') } };

  /** The output equals torch's within the parity tests' atol = rtol = 1e-5, and so do the "after" statistics. */
  function matchesTorch(s: EngineSession, view: AnalysisView, want: { output: number[]; overall: Record<string, number>; channels: { mean: number; std: number }[] }): void {
    const y = readNpy(ok(s.handle({ kind: 'npy', id: 9 }), 'npy').bytes).data as Float32Array;
    assert.equal(y.length, want.output.length);
    want.output.forEach((v, i) => assert.ok(Math.abs(y[i] - v) <= 1e-5 + 1e-5 * Math.abs(v), `output[${i}]: ${y[i]} vs torch ${v}`));
    const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) <= 1e-5 + 1e-5 * Math.abs(b), `${what}: ${a} vs torch ${b}`);
    const o = view.stats.after.overall;
    for (const k of ['mean', 'std', 'min', 'max'] as const) close(o[k], want.overall[k], `after ${k}`);
    want.channels.forEach((c, i) => {
      close(view.stats.after.channels[i].mean, c.mean, `channel ${i} mean`);
      close(view.stats.after.channels[i].std, c.std, `channel ${i} std`);
    });
  }

  it('runs BatchNorm eval on a checkpoint\'s running statistics read by path, as F.batch_norm does', async () => {
    const s = new EngineSession();
    ok(s.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes: input }), 'loaded');
    const tensors = { running_mean: byPath('bn1.running_mean'), running_var: byPath('bn1.running_var') };
    const view = ok(await s.handleAsync({ kind: 'analyze', id: 2, params: running, bins: 10, tensors }), 'analyzed').view;
    matchesTorch(s, view, expected.eval_running);
    assert.deepEqual(view.warnings, [], 'no "fresh module" warning: the running statistics are given');
    const rm = view.sources?.running_mean;
    assert.deepEqual([rm?.label, rm?.shape, rm?.dtype, rm?.count], ['bn_checkpoint.safetensors#bn1.running_mean', [4], 'float32', 4]);
    assert.ok(Math.abs(rm!.mean! - (-0.9 + 0.1 + 2.8 + 9.5) / 4) < 1e-6 && Math.abs(rm!.max! - 9.5) < 1e-6);
  });

  it('takes weight and bias from an .npz given as bytes (the host read it) and replaces the scalar affine', () => {
    const s = new EngineSession();
    ok(s.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes: input }), 'loaded');
    const tensors = { running_mean: byBytes('bn1.running_mean'), running_var: byBytes('bn1.running_var'), weight: byBytes('bn1.weight'), bias: byBytes('bn1.bias') };
    // the scalar γ = 7 is replaced by the file's weight (and β by its bias)
    const view = ok(s.handle({ kind: 'analyze', id: 2, params: { ...affine, affine: { weight: 7, bias: 7 } }, bins: 10, tensors }), 'analyzed').view;
    matchesTorch(s, view, expected.eval_affine);
    assert.equal(view.op.affine, true);
    assert.deepEqual(Object.keys(view.sources ?? {}), ['weight', 'bias', 'running_mean', 'running_var']);
  });

  it('refuses a wrong shape in the engine\'s words before reading the member, and a missing member naming the parameter', async () => {
    const s = new EngineSession();
    ok(s.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes: input }), 'loaded');
    const wrong = await s.handleAsync({ kind: 'analyze', id: 2, params: { op: 'batch', sources: { weight: ref('head.weight') } }, bins: 10, tensors: { weight: byPath('head.weight') } });
    assert.deepEqual(wrong, { id: 2, ok: false, user: true, message: 'weight has shape [8], expected [4] (one per channel, C=4)' });
    const conv = s.handle({ kind: 'analyze', id: 3, params: { op: 'group', groups: 2, sources: { bias: ref('conv1.weight', 'bn_checkpoint.npz') } }, bins: 10, tensors: { bias: byBytes('conv1.weight') } });
    assert.deepEqual(conv, { id: 3, ok: false, user: true, message: 'bias has shape [4, 4, 3, 3], expected [4] (one per channel, C=4)' });
    const missing = await s.handleAsync({ kind: 'analyze', id: 4, params: running, bins: 10, tensors: { running_mean: byPath('bn2.running_mean'), running_var: byPath('bn1.running_var') } });
    assert.ok(!missing.ok && missing.user && /^running_mean: bn_checkpoint\.safetensors#bn2\.running_mean: .*bn2\.running_mean/.test(missing.message), JSON.stringify(missing));
    const gone = await s.handleAsync({ kind: 'analyze', id: 5, params: running, bins: 10, tensors: { running_mean: { ...byPath('x'), key: 'gone', path: path.join(fixtures, 'gone.safetensors') } } });
    assert.ok(!gone.ok && gone.user && /^running_mean: bn_checkpoint\.safetensors#x: no such file \(FileNotFound\)$/.test(gone.message), JSON.stringify(gone));
    // the session still runs afterwards
    ok(await s.handleAsync({ kind: 'analyze', id: 6, params: running, bins: 10, tensors: { running_mean: byPath('bn1.running_mean'), running_var: byPath('bn1.running_var') } }), 'analyzed');
  });

  it('lists a file\'s tensors for the member pick, from headers by path or from bytes', async () => {
    const s = new EngineSession();
    const listed = ok(await s.handleAsync({ kind: 'list', id: 1, name: 'bn_checkpoint.safetensors', path: ckpt }), 'listed');
    assert.deepEqual(listed.tensors.map((t) => [t.selector, t.shape]), [
      ['conv1.weight', [4, 4, 3, 3]], ['bn1.weight', [4]], ['bn1.bias', [4]], ['bn1.running_mean', [4]], ['bn1.running_var', [4]],
      ['bn1.num_batches_tracked', []], ['head.weight', [8]]]);
    assert.deepEqual(listed.metadata, { format: 'pt' });
    const npz = ok(s.handle({ kind: 'list', id: 2, name: 'bn_checkpoint.npz', bytes: bytes('bn_checkpoint.npz') }), 'listed');
    assert.equal(npz.tensors.length, 7);
    const one = ok(await s.handleAsync({ kind: 'list', id: 3, name: 'bn_input_2x4x3x3.npy', path: path.join(fixtures, 'bn_input_2x4x3x3.npy') }), 'listed');
    assert.deepEqual(one.tensors, [{ selector: '', shape: [2, 4, 3, 3], dtype: 'float32' }]);
  });

  it('gives a streamed tensor the same parameter tensors', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normscope-params-'));
    try {
      const file = path.join(tmp, 'x.npy');
      fs.writeFileSync(file, input);
      const s = new EngineSession();
      const loaded = ok(await s.handleAsync({ kind: 'load', id: 1, label: 'x', name: 'x.npy', path: file, budgetMB: 0.004 }), 'loaded');
      assert.ok(loaded.info.streamed);
      const tensors = { running_mean: byPath('bn1.running_mean'), running_var: byPath('bn1.running_var'), weight: byPath('bn1.weight'), bias: byPath('bn1.bias') };
      const view = ok(await s.handleAsync({ kind: 'analyze', id: 2, params: affine, bins: 10, tensors }), 'analyzed').view;
      const out = path.join(tmp, 'y.npy');
      ok(await s.handleAsync({ kind: 'npy', id: 3, path: out, params: affine, tensors }), 'npyWritten');
      const y = readNpy(new Uint8Array(fs.readFileSync(out))).data as Float32Array;
      const want = expected.eval_affine;
      want.output.forEach((v: number, i: number) => assert.ok(Math.abs(y[i] - v) <= 1e-5 + 1e-5 * Math.abs(v), `output[${i}]`));
      assert.ok(Math.abs(view.stats.after.overall.mean! - want.overall.mean) <= 1e-5 + 1e-5 * Math.abs(want.overall.mean));
      assert.equal(view.sources?.weight?.label, 'bn_checkpoint.safetensors#bn1.weight');
      await s.closeStream();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('engine session: streamed files (worker opens the path, chunks within the budget)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'normscope-stream-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  // 32 samples x 2 channels x 4 x 4, float32: 4 KiB of data; a 0.006 MiB budget streams it in ~80-element chunks
  const shape = [32, 2, 4, 4];
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37) * 3 + (i % 32 < 16 ? 1.5 : -0.5) + (i * 7919 % 13) / 13;
  const npyBytes = writeNpy(tensor('float32', shape, data));
  const file = path.join(tmp, 'x.npy');
  fs.writeFileSync(file, npyBytes);
  const BUDGET = 0.006;

  type Ev = { event: string; stage?: string; view?: AnalysisView; afterPending?: boolean };
  const collect = () => {
    const events: Ev[] = [];
    const emit = (e: WorkerEvent) => events.push(e.event === 'partial'
      ? { event: 'partial', stage: e.note.stage, view: e.view, afterPending: e.note.afterPending }
      : { event: 'progress' });
    return { events, emit, stages: () => events.filter((e) => e.event === 'partial').map((e) => e.stage) };
  };
  async function streamed(): Promise<EngineSession> {
    const s = new EngineSession();
    const loaded = ok(await s.handleAsync({ kind: 'load', id: 1, label: 'x', name: 'x.npy', path: file, budgetMB: BUDGET, listIfSeveral: true }), 'loaded');
    assert.deepEqual(loaded.info.shape, shape);
    assert.deepEqual(loaded.info.streamed, { fileBytes: npyBytes.length, budgetMB: BUDGET });
    assert.ok(loaded.streamed && loaded.streamed.chunkElements < n / 4, `chunks of ${loaded.streamed?.chunkElements} elements`);
    assert.ok(s.isStreamed);
    return s;
  }
  const inMemory = (params: PanelParams, bins: number) => {
    const m = new EngineSession();
    ok(m.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes: npyBytes }), 'loaded');
    return ok(m.handle({ kind: 'analyze', id: 2, params, bins }), 'analyzed').view;
  };

  it('sends the first chunk, the moments, then the output\'s two first pictures, in order; the final result is the in-memory one', async () => {
    const s = await streamed();
    const { events, emit, stages } = collect();
    const params: PanelParams = { op: 'group', groups: 2 };
    const view = ok(await s.handleAsync({ kind: 'analyze', id: 2, params, bins: 20 }, emit), 'analyzed').view;
    assert.deepEqual(stages(), ['preview', 'moments', 'after-preview', 'after-moments']);
    const partials = events.filter((e) => e.event === 'partial');
    // the preview covers one chunk only; "after" is pending until the input is read
    const preview = partials[0].view!.stats.before.overall;
    assert.ok(preview.count > 0 && preview.count < n, `preview of ${preview.count} of ${n}`);
    assert.deepEqual([partials[0].afterPending, partials[1].afterPending, partials[2].afterPending], [true, true, false]);
    assert.equal(partials[1].view!.stats.before.overall.count, n, 'moments cover the whole file');
    assert.ok(events.filter((e) => e.event === 'progress').length >= 2);
    const want = inMemory(params, 20);
    sameStats(view.stats.before, want.stats.before, 'before');
    sameStats(view.stats.after, want.stats.after, 'after');
    assert.deepEqual(view.shape_report, want.shape_report);
    assert.deepEqual(view.op, want.op);
    // what crosses to the webview is JSON-safe (pending "after" is nulls, not NaN)
    for (const p of partials) assert.deepEqual(JSON.parse(JSON.stringify(p.view)), p.view);
    await s.closeStream();
  });

  it('re-streams only "after" when the layout, groups and bins are unchanged; BatchNorm train gives running stats', async () => {
    const s = await streamed();
    ok(await s.handleAsync({ kind: 'analyze', id: 2, params: { op: 'instance' }, bins: 20 }), 'analyzed');
    const c = collect();
    const view = ok(await s.handleAsync({ kind: 'analyze', id: 3, params: { op: 'batch' }, bins: 20 }, c.emit), 'analyzed').view;
    assert.deepEqual(c.stages(), ['after-preview', 'after-moments']);
    const want = inMemory({ op: 'batch' }, 20);
    sameStats(view.stats.before, want.stats.before, 'before');
    assert.equal(view.running?.num_batches_tracked, 1);
    view.running!.mean.forEach((m, i) => assert.ok(Math.abs(m - want.running!.mean[i]) < 1e-6, `running mean ${i}`));
    const bins = collect();
    ok(await s.handleAsync({ kind: 'analyze', id: 4, params: { op: 'batch' }, bins: 10 }, bins.emit), 'analyzed');
    assert.deepEqual(bins.stages(), ['preview', 'moments', 'after-preview', 'after-moments'], 'new bins: the input is read again');
    await s.closeStream();
  });

  it('refuses what needs the whole tensor with one clear message, after the input statistics', async () => {
    const s = await streamed();
    const c = collect();
    const r = await s.handleAsync({ kind: 'analyze', id: 2, params: { op: 'layer', normalized_shape: [32, 2, 4, 4] }, bins: 20 }, c.emit);
    assert.ok(!r.ok && r.user && /LayerNorm over every dim needs statistics of the whole tensor at once/.test(r.message), JSON.stringify(r));
    assert.deepEqual(c.stages(), ['preview', 'moments', 'input-only']);
    const checks = await s.handleAsync({ kind: 'checks', id: 3 });
    assert.ok(!checks.ok && checks.user && /need the whole tensor in memory/.test(checks.message));
    const bad = await s.handleAsync({ kind: 'analyze', id: 4, params: { op: 'layer', eps: -1 }, bins: 5 });
    assert.deepEqual(bad, { id: 4, ok: false, user: true, message: 'eps must be a finite number >= 0, got -1' });
    await s.closeStream();
  });

  it('writes a streamed result to a file chunk by chunk, equal to the in-memory .npy', async () => {
    const s = await streamed();
    const params: PanelParams = { op: 'group', groups: 2, eps: 0.01 };
    ok(await s.handleAsync({ kind: 'analyze', id: 2, params, bins: 20 }), 'analyzed');
    const out = path.join(tmp, 'out.npy');
    const written = ok(await s.handleAsync({ kind: 'npy', id: 3, path: out, params }), 'npyWritten');
    const m = new EngineSession();
    ok(m.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes: npyBytes }), 'loaded');
    ok(m.handle({ kind: 'analyze', id: 2, params, bins: 20 }), 'analyzed');
    const want = ok(m.handle({ kind: 'npy', id: 3 }), 'npy').bytes;
    assert.deepEqual(new Uint8Array(fs.readFileSync(out)), want);
    assert.equal(written.bytes, want.length);
    const noPath = await s.handleAsync({ kind: 'npy', id: 4 });
    assert.ok(!noPath.ok && noPath.user && /give a path/.test(noPath.message));
    await s.closeStream();
  });

  it('a truncated file and a lying header give one clear message each, before any data is read', async () => {
    const truncated = path.join(tmp, 'truncated.npy');
    fs.writeFileSync(truncated, npyBytes.subarray(0, npyBytes.length - 100));
    const lying = path.join(tmp, 'lying.npy');
    // the same 128-byte header claiming 10^12 elements, then 128 bytes of data
    const header = new TextDecoder().decode(npyBytes.subarray(10, 128)).replace('(32, 2, 4, 4)', '(1000000000000,)');
    const lyingBytes = new Uint8Array(256);
    lyingBytes.set(npyBytes.subarray(0, 10));
    lyingBytes.set(new TextEncoder().encode(`${header.slice(0, 117).trimEnd().padEnd(117, ' ')}\n`), 10);
    lyingBytes.set(npyBytes.subarray(128, 256), 128);
    fs.writeFileSync(lying, lyingBytes);
    const s = new EngineSession();
    const cases: [string, RegExp][] = [
      [truncated, /^truncated: header says 4096 bytes of data, file has 3996 after the header/],
      [lying, /^truncated: header says 4000000000000 bytes of data, file has 128 after the header/],
      [path.join(tmp, 'missing.npy'), /^no such file \(FileNotFound\)$/],
    ];
    for (const [p, message] of cases) {
      const r = await s.handleAsync({ kind: 'load', id: 1, label: 'x', name: path.basename(p), path: p, budgetMB: BUDGET });
      assert.ok(!r.ok && r.user && message.test(r.message), `${path.basename(p)}: ${JSON.stringify(r)}`);
      assert.ok(!s.isStreamed);
    }
  });

  it('lists .npz and .safetensors members from their headers, then streams the one picked', async () => {
    const containers = path.resolve(__dirname, '../../../test/fixtures/containers');
    const s = new EngineSession();
    const npz = path.join(containers, 'savez_compressed.npz');
    const listed = ok(await s.handleAsync({ kind: 'load', id: 1, label: 'n', name: 'savez_compressed.npz', path: npz, budgetMB: BUDGET, listIfSeveral: true }), 'several');
    const m = new EngineSession();
    const mem = ok(m.handle({ kind: 'load', id: 1, label: 'n', name: 'savez_compressed.npz', bytes: new Uint8Array(fs.readFileSync(npz)), listIfSeveral: true }), 'several');
    assert.deepEqual(listed.tensors, mem.tensors);
    const picked = ok(await s.handleAsync({ kind: 'load', id: 2, label: 'n', name: 'savez_compressed.npz', path: npz, budgetMB: BUDGET, selector: listed.tensors[0].selector }), 'loaded');
    assert.deepEqual(picked.info.shape, listed.tensors[0].shape);
    ok(await s.handleAsync({ kind: 'load', id: 3, label: 's', name: 'single.safetensors', path: path.join(containers, 'single.safetensors'), budgetMB: BUDGET, listIfSeveral: true }), 'loaded');
    const st = ok(await s.handleAsync({ kind: 'load', id: 4, label: 's', name: 'tensors.safetensors', path: path.join(containers, 'tensors.safetensors'), budgetMB: BUDGET, listIfSeveral: true }), 'several');
    assert.deepEqual(st.metadata, { format: 'pt', source: 'make_container_fixtures.py' });
    await s.closeStream();
  });
});

/** Streamed statistics equal the in-memory ones: exact counts, histograms, edges and extremes; moments to 1e-12. */
function sameStats(a: SideStats, b: SideStats, what: string): void {
  const summary = (x: Summary, y: Summary, w: string) => {
    assert.deepEqual([x.count, x.nan, x.inf, x.min, x.max], [y.count, y.nan, y.inf, y.min, y.max], `${what} ${w}`);
    const tol = 1e-12 * Math.max(Math.abs(y.mean ?? 0), y.std ?? 0, 1e-300);
    assert.ok(Math.abs((x.mean ?? NaN) - (y.mean ?? NaN)) <= tol, `${what} ${w} mean ${x.mean} vs ${y.mean}`);
    assert.ok(Math.abs((x.std ?? NaN) - (y.std ?? NaN)) <= 1e-12 * Math.max(y.std ?? 0, 1e-300), `${what} ${w} std ${x.std} vs ${y.std}`);
  };
  summary(a.overall, b.overall, 'overall');
  assert.deepEqual(a.edges, b.edges, `${what} edges`);
  assert.deepEqual(a.overall.histogram, b.overall.histogram, `${what} histogram`);
  assert.equal(a.channels.length, b.channels.length);
  a.channels.forEach((c, i) => { summary(c, b.channels[i], `channel ${i}`); assert.deepEqual(c.histogram, b.channels[i].histogram); });
  assert.equal(a.groups.length, b.groups.length);
  a.groups.forEach((g, i) => { summary(g, b.groups[i], `group ${i}`); assert.deepEqual(g.histogram, b.groups[i].histogram); });
}

describe('engine session on the fast kernels', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createFastKernels } = require('../../src/node/pool') as typeof import('../../src/node/pool');
  const fast = createFastKernels(fs.readFileSync(path.resolve(__dirname, '../../../dist/kernels.wasm')));
  if (!fast) throw new Error('the kernels did not load');

  /** Same statistics: exact counts, extremes, edges and histograms; mean and std to 1e-12 of the spread. */
  function sameSide(a: SideStats, b: SideStats, what: string): void {
    const sum = (x: Summary, y: Summary, w: string) => {
      for (const f of ['count', 'nan', 'inf', 'min', 'max'] as const) assert.ok(Object.is(x[f], y[f]), `${w} ${f}: ${x[f]} vs ${y[f]}`);
      const scale = Math.max(Math.abs(y.mean ?? 0), y.std ?? 0, 1e-300);
      assert.ok(Math.abs((x.mean ?? 0) - (y.mean ?? 0)) <= 1e-12 * scale, `${w} mean ${x.mean} vs ${y.mean}`);
      assert.ok(Math.abs((x.std ?? 0) - (y.std ?? 0)) <= 1e-12 * scale, `${w} std ${x.std} vs ${y.std}`);
    };
    sum(a.overall, b.overall, `${what} overall`);
    assert.deepEqual(a.edges, b.edges, `${what} edges`);
    assert.deepEqual(a.overall.histogram, b.overall.histogram);
    a.channels.forEach((c, i) => { sum(c, b.channels[i], `${what} channel ${i}`); assert.deepEqual(c.histogram, b.channels[i].histogram); });
    a.groups.forEach((g, i) => { sum(g, b.groups[i], `${what} group ${i}`); assert.deepEqual(g.histogram, b.groups[i].histogram); });
  }

  it('gives the TypeScript session\'s statistics, checks and flags on the same tensor', () => {
    const n = 4 * 6 * 9 * 7;
    const data = new Float32Array(n);
    let s0 = 7;
    for (let i = 0; i < n; i++) { s0 = (Math.imul(s0, 1664525) + 1013904223) >>> 0; data[i] = 3 + 2 * ((s0 / 2 ** 32) - 0.5); }
    data[5] = NaN; data[100] = -0;
    const npy = writeNpy(tensor('float32', [4, 6, 9, 7], data));
    const ts = new EngineSession();
    const fk = new EngineSession(fast);
    for (const s of [ts, fk]) ok(s.handle({ kind: 'load', id: 1, label: 'x', name: 'x.npy', bytes: npy }), 'loaded');
    const paramsList: PanelParams[] = [{ op: 'batch' }, { op: 'group', groups: 3 }, { op: 'instance' }, { op: 'layer', normalized_shape: [9, 7] }, { op: 'rms' }, { op: 'batch', layout: 'nhwc' }] as PanelParams[];
    for (const params of paramsList) {
      for (const bins of [20, 20, 7]) { // the second run takes "before" from the cache
        const a = ok(ts.handle({ kind: 'analyze', id: 2, params, bins }), 'analyzed').view;
        const b = ok(fk.handle({ kind: 'analyze', id: 2, params, bins }), 'analyzed').view;
        sameSide(b.stats.before, a.stats.before, `${params.op} before`);
        sameSide(b.stats.after, a.stats.after, `${params.op} after`);
        const ca = ok(ts.handle({ kind: 'checks', id: 3 }), 'checked');
        const cb = ok(fk.handle({ kind: 'checks', id: 3 }), 'checked');
        assert.deepEqual(cb.flags.map((f) => f.kind), ca.flags.map((f) => f.kind), `${params.op} flags`);
        assert.deepEqual(cb.checks.map((c) => c.pass), ca.checks.map((c) => c.pass), `${params.op} checks`);
      }
    }
  });
});
