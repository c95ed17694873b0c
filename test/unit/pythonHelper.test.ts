// python/normscope.py under Debian's /usr/bin/python3 (python3-numpy, python3-ipython; .ci/run installs them):
// show() inside a real IPython shell displays our MIME bundle, and the payload's bytes decode to the same array
// numpy saved - every dtype, 0-d, empty, NaN/Inf, big-endian and non-contiguous input, norm parameters - plus the
// text/plain fallback, the 16 MB cap and sample=.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readNpy } from '../../src/engine/formats/npy';
import { TENSOR_MIME, decodePayload } from '../../src/engine/formats/payload';
import { Tensor, toFloat64 } from '../../src/engine/tensor';

const ROOT = path.resolve(__dirname, '../../..');
const PYTHON = '/usr/bin/python3';
const values = (t: Tensor) => Array.from(toFloat64(t));

const DRIVER = String.raw`
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import normscope
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
InteractiveShell.instance()
out = sys.argv[2]
rng = np.random.default_rng(7)
cases = {}
for dt in ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]:
    if dt == "bool":
        a = rng.random((2, 3, 4)) > 0.5
    elif dt.startswith("float"):
        a = (rng.standard_normal((2, 3, 4)) * 3).astype(dt)
        a[0, 0, :3] = [np.nan, np.inf, -np.inf]
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=(2, 3, 4), dtype=dt, endpoint=True)
    cases[dt] = a
cases["scalar"] = np.array(2.5, dtype=np.float64)
cases["empty"] = np.zeros((0, 3), dtype=np.float32)
cases["big_endian"] = np.arange(6, dtype=">f4").reshape(2, 3)
cases["transposed"] = np.arange(12, dtype=np.float32).reshape(3, 4).T
result = {}
for key, a in cases.items():
    np.save(f"{out}/{key}.npy", a)
    with capture_output() as cap:
        normscope.show(a, name=key)
    assert len(cap.outputs) == 1, cap.outputs
    result[key] = cap.outputs[0].data
x = np.arange(16, dtype=np.float32).reshape(1, 4, 2, 2)
with capture_output() as cap:
    normscope.show(x, "group", groups=2, eps=1e-3, weight=np.array([1, 2, 3, 4], np.float32), bias=[0.0, 0.0, 1.0, 1.0])
result["norm"] = cap.outputs[0].data
big = np.zeros((64, 3, 128, 128), np.float32)
try:
    normscope.payload(big)
    result["cap"] = None
except ValueError as e:
    result["cap"] = str(e)
result["raised"] = normscope.payload(big, max_bytes=17_000_000)["shape"]
sampled = normscope.payload(big, sample=8)
result["sample"] = {"shape": sampled["shape"], "name": sampled["name"]}
for bad in [dict(op="bn"), dict(op="group", group=2), dict(groups=2)]:
    try:
        normscope.payload(x, **bad)
    except (TypeError, ValueError) as e:
        result.setdefault("errors", []).append(str(e))
try:
    import torch
    t = torch.tensor([[1.0, -2.5], [3.25, float("nan")]], dtype=torch.bfloat16)
    result["torch_bf16"] = normscope.bundle(t)
    result["torch_f32"] = normscope.bundle(torch.arange(6.0).reshape(2, 3).t())
except ImportError:
    pass
json.dump(result, sys.stdout)
`;

describe('python/normscope.py (the notebook helper)', function () {
  this.timeout(60000);
  let dir: string;
  let r: Record<string, any>;

  before(function () {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: apt-get install python3-numpy python3-ipython (.ci/run does)`);
    dir = mkdtempSync(path.join(tmpdir(), 'normscope-py-'));
    const run = spawnSync(PYTHON, ['-c', DRIVER, path.join(ROOT, 'python'), dir], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (run.status !== 0) {
      throw new Error(`the helper's driver failed (exit ${run.status}; needs Debian's python3-numpy and python3-ipython):\n${run.stderr}`);
    }
    r = JSON.parse(run.stdout);
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const cases = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16', 'float32', 'float64',
    'scalar', 'empty', 'big_endian', 'transposed'];
  for (const key of cases) {
    it(`show() of ${key}: the payload decodes to the array numpy saved, bit for bit`, () => {
      const bundle = r[key];
      assert.deepEqual(Object.keys(bundle).sort(), [TENSOR_MIME, 'text/plain'].sort());
      const p = decodePayload(bundle[TENSOR_MIME]);
      assert.equal(p.name, key);
      const saved = readNpy(new Uint8Array(readFileSync(path.join(dir, `${key}.npy`))));
      assert.equal(p.tensor.dtype, saved.dtype);
      assert.deepEqual(p.tensor.shape, saved.shape);
      assert.deepEqual(values(p.tensor), values(saved));
      if (saved.dtype === 'float16' || saved.dtype === 'int64' || saved.dtype === 'uint64') {
        const a = p.tensor.data, b = saved.data;
        assert.deepEqual(Array.from(a as ArrayLike<number | bigint>), Array.from(b as ArrayLike<number | bigint>));
      }
    });
  }

  it('writes a concise text/plain fallback: shape, dtype, mean, std, min, max (and NaN/Inf counts)', () => {
    assert.equal(r.scalar['text/plain'], "NormScope tensor 'scalar': shape () float64 · mean 2.5 std 0 min 2.5 max 2.5");
    assert.equal(r.empty['text/plain'], "NormScope tensor 'empty': shape (0, 3) float32 · no finite values");
    assert.match(r.float32['text/plain'], /^NormScope tensor 'float32': shape \(2, 3, 4\) float32 · mean -?[\d.e-]+ std [\d.e-]+ min -[\d.e-]+ max [\d.e-]+ NaN 1 Inf 2$/);
    assert.equal(r.transposed['text/plain'], "NormScope tensor 'transposed': shape (4, 3) float32 · mean 5.5 std 3.45205 min 0 max 11");
  });

  it('carries the op and its parameters in the engine vocabulary', () => {
    const p = decodePayload(r.norm[TENSOR_MIME]);
    assert.deepEqual(p.tensor.shape, [1, 4, 2, 2]);
    assert.equal(p.norm?.op, 'group');
    assert.equal(p.norm?.groups, 2);
    assert.equal(p.norm?.eps, 1e-3);
    assert.equal(p.norm?.weight?.dtype, 'float32');
    assert.deepEqual(values(p.norm!.weight!), [1, 2, 3, 4]);
    assert.deepEqual(values(p.norm!.bias!), [0, 0, 1, 1]);
    assert.match(r.norm['text/plain'], / · group norm$/);
  });

  it('caps the payload at 16 MB, says so, and offers max_bytes= and sample= (never sampling silently)', () => {
    assert.equal(r.cap, 'normscope: the payload would be 16.8 MB, over the 16.0 MB cap (outputs are saved in the notebook): ' +
      'pass max_bytes=16777216 to store it all, or sample=N to store N of the 64 entries along axis 0 (N <= 61 fits)');
    assert.deepEqual(r.raised, [64, 3, 128, 128]);
    assert.deepEqual(r.sample, { shape: [8, 3, 128, 128], name: 'sample of 8 of 64 entries along axis 0' });
  });

  it('refuses an unknown op, a misspelt parameter, and parameters without an op', () => {
    assert.deepEqual(r.errors, [
      "normscope: op must be one of batch, layer, group, instance, rms (or None), got 'bn'",
      "normscope: unknown parameter 'group' (NormScope parameters: groups, normalized_shape, eps, momentum, num_batches_tracked, mode, unbatched, layout, weight, bias, running_mean, running_var)",
      'normscope: parameters (groups) need an op: one of batch, layer, group, instance, rms',
    ]);
  });

  // torch is too heavy for CI (#5), so the bundles the helper made from torch tensors are committed
  // (test/fixtures/python/make_torch_bundles.py, torch 1.13); where torch is installed the driver makes them live
  // and they must equal the committed ones.
  it('accepts torch tensors, bfloat16 included (committed bundles; equal to the live ones where torch is installed)', () => {
    const fixture = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/python/torch_bundles.json'), 'utf8'));
    const bf = decodePayload(fixture.torch_bf16[TENSOR_MIME]).tensor;
    assert.equal(bf.dtype, 'bfloat16');
    assert.deepEqual(values(bf), [1, -2.5, 3.25, NaN]);
    assert.match(fixture.torch_bf16['text/plain'], /^NormScope tensor: shape \(2, 2\) bfloat16 · mean 0\.583333 std 2\.36584 min -2\.5 max 3\.25 NaN 1 Inf 0$/);
    const f = decodePayload(fixture.torch_f32[TENSOR_MIME]).tensor;
    assert.deepEqual(f.shape, [3, 2]);
    assert.deepEqual(values(f), [0, 3, 1, 4, 2, 5]);
    if (r.torch_bf16) {
      assert.deepEqual(r.torch_bf16, fixture.torch_bf16);
      assert.deepEqual(r.torch_f32, fixture.torch_f32);
    }
  });
});
