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

  it('loads parameter tensors from their files in the snippet, and records them in the CSV and JSON', () => {
    const sources = {
      running_mean: { uri: 'file:///w/bn.safetensors', selector: 'bn1.running_mean' },
      weight: { uri: 'file:///w/p.json', selector: '/bn1/weight' },
      bias: { uri: 'file:///w/b.npz', selector: 'bn1.bias' },
    };
    const params: PanelParams = { op: 'batch', mode: 'eval', affine: { weight: 2, bias: 0.5 }, sources };
    const view: AnalysisView = {
      ...run([2, 4, 3, 3], { op: 'batch', mode: 'eval', affine: { weight: 2, bias: 0.5 } }),
      sources: {
        running_mean: { label: 'bn.safetensors#bn1.running_mean', shape: [4], dtype: 'float32', count: 4, mean: 0.5, std: 0.25, min: 0, max: 1, nan: 0, inf: 0 },
        weight: { label: 'p.json#/bn1/weight', shape: [4], dtype: 'float64', count: 4, mean: 1, std: 0, min: 1, max: 1, nan: 0, inf: 0 },
        bias: { label: 'b.npz#bn1.bias', shape: [1, 4, 1, 1], dtype: 'float32', count: 4, mean: 0, std: 0, min: 0, max: 0, nan: 1, inf: 0 },
      },
    };
    const py = torchSnippet(view, params, 'x.npy', { running_mean: 'bn.safetensors', weight: 'p.json', bias: '/data/b.npz' });
    assert.match(py, /^import json\nimport numpy as np\nimport torch\nimport safetensors\.numpy\n\ndef from_json\(path, pointer\):/);
    assert.match(py, /BatchNorm2d\(4, eps=1e-05, momentum=0\.1, affine=True\)\.double\(\)\nwith torch\.no_grad\(\):\n/);
    assert.ok(!/fill_/.test(py), 'the files replace the scalar γ and β');
    assert.match(py, /\n    norm\.weight\.copy_\(torch\.as_tensor\(from_json\("p\.json", "\/bn1\/weight"\)\)\.reshape\(norm\.weight\.shape\)\)  # p\.json#\/bn1\/weight\n/);
    assert.match(py, /\n    norm\.bias\.copy_\(torch\.as_tensor\(np\.load\("\/data\/b\.npz"\)\["bn1\.bias"\]\)\.reshape\(norm\.bias\.shape\)\)/);
    assert.match(py, /\n    norm\.running_mean\.copy_\(torch\.as_tensor\(safetensors\.numpy\.load_file\("bn\.safetensors"\)\["bn1\.running_mean"\]\)\.reshape\(norm\.running_mean\.shape\)\)/);
    assert.match(py, /\nnorm\.eval\(\)[^\n]*\ny = norm\(x\)\n$/);
    // a file for the weight only: γ from the file, β still the scalar
    const half = torchSnippet(view, { ...params, sources: { weight: sources.weight } }, 'x.npy', { weight: 'p.json' });
    assert.match(half, /with torch\.no_grad\(\):\n    norm\.bias\.fill_\(0\.5\)\n    norm\.weight\.copy_/);
    const csv = statsCsv(view).trimEnd().split('\n');
    assert.deepEqual(csv.slice(-3), [
      'param,weight,,p.json#/bn1/weight,4,1,0,1,1,0,0',
      'param,bias,,b.npz#bn1.bias,4,0,0,0,0,1,0',
      'param,running_mean,,bn.safetensors#bn1.running_mean,4,0.5,0.25,0,1,0,0',
    ]);
    const j = JSON.parse(statsJson('x.npy', params, view));
    assert.deepEqual(j.params.sources, sources);
    assert.deepEqual(j.sources.bias.shape, [1, 4, 1, 1]);
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
