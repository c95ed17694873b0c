import * as assert from 'node:assert/strict';
import { EngineSession } from '../../src/extension/engineSession';
import { pyFloat, statsCsv, statsJson, torchSnippet } from '../../src/extension/exportText';
import type { AnalysisView, PanelParams } from '../../src/protocol/messages';

function run(shape: number[], params: PanelParams): AnalysisView {
  const s = new EngineSession();
  const n = shape.reduce((a, b) => a * b, 1);
  const text = JSON.stringify({ shape, data: Array.from({ length: n }, (_, i) => Math.sin(i) * 3 + i * 0.01) });
  const loaded = s.handle({ kind: 'load', id: 1, label: 't', name: 't.json', bytes: new TextEncoder().encode(text) });
  assert.ok(loaded.ok, JSON.stringify(loaded));
  const r = s.handle({ kind: 'analyze', id: 2, params, bins: 10 });
  if (!r.ok || r.kind !== 'analyzed') throw new Error(JSON.stringify(r));
  return r.view;
}

describe('panel exports', () => {
  it('writes Python floats as torch prints them', () => {
    assert.equal(pyFloat(1e-5), '1e-05');
    assert.equal(pyFloat(0.1), '0.1');
    assert.equal(pyFloat(1), '1.0');
    assert.equal(pyFloat(1.1920928955078125e-7), '1.1920928955078125e-07');
  });

  it('gives a PyTorch snippet per op with the resolved parameters', () => {
    const shape = [2, 4, 3, 3];
    assert.match(torchSnippet(run(shape, { op: 'batch' }), { op: 'batch' }, 'x.npy'),
      /x = torch\.from_numpy\(np\.load\("x\.npy"\)\)[^\n]*\nnorm = torch\.nn\.BatchNorm2d\(4, eps=1e-05, momentum=0\.1, affine=False\)\.double\(\)\ny = norm\(x\)\n$/);
    const gn = torchSnippet(run(shape, { op: 'group', groups: 2, affine: { weight: 2, bias: 0.5 } }), { op: 'group', groups: 2, affine: { weight: 2, bias: 0.5 } });
    assert.match(gn, /norm = torch\.nn\.GroupNorm\(2, 4, eps=1e-05, affine=True\)\.double\(\)\nwith torch\.no_grad\(\):\n    norm\.weight\.fill_\(2\.0\)\n    norm\.bias\.fill_\(0\.5\)\n/);
    assert.match(torchSnippet(run(shape, { op: 'instance' }), { op: 'instance' }), /InstanceNorm2d\(4, eps=1e-05, affine=False\)/);
    assert.match(torchSnippet(run(shape, { op: 'layer', normalized_shape: [3, 3] }), { op: 'layer' }), /LayerNorm\(\(3, 3\), eps=1e-05, elementwise_affine=False\)/);
    // JSON tensors are float64: float64's machine epsilon, and a float64 module.
    assert.match(torchSnippet(run([2, 5], { op: 'rms' }), { op: 'rms' }), /RMSNorm\(\(5,\), eps=2\.220446049250313e-16, elementwise_affine=False\)\.double\(\)  # torch >= 2\.4/);
    assert.match(torchSnippet(run(shape, { op: 'batch', mode: 'eval', momentum: null }), { op: 'batch' }), /momentum=None[^\n]*\nnorm\.eval\(\)/);
    assert.match(torchSnippet(run([3, 8], { op: 'batch' }), { op: 'batch' }), /BatchNorm1d\(8,/);
  });

  it('writes one CSV row per side, overall, group and channel', () => {
    const view = run([2, 4, 3, 3], { op: 'group', groups: 2 });
    const lines = statsCsv(view).trimEnd().split('\n');
    assert.equal(lines[0], 'side,scope,index,channels,count,mean,std,min,max,nan,inf');
    assert.equal(lines.length, 1 + 2 * (1 + 2 + 4));
    assert.match(lines[2], /^before,group,0,0-1,36,/);
    assert.match(lines[lines.length - 1], /^after,channel,3,3,18,/);
  });

  it('puts the source, params, stats and checks in the JSON', () => {
    const view = run([2, 4, 3, 3], { op: 'instance' });
    const j = JSON.parse(statsJson('t.npy', { op: 'instance' }, view, { checks: [], flags: [] }));
    assert.equal(j.source, 't.npy');
    assert.deepEqual(j.input.shape, [2, 4, 3, 3]);
    assert.equal(j.stats.after.channels.length, 4);
    assert.deepEqual(j.checks, []);
    assert.equal(j.ms, undefined);
  });
});
