// Notebooks executed by a real Jupyter kernel (test/fixtures/notebooks/make_notebooks.py: nbconvert --execute
// with numpy and torch): every tensor read from the committed cells equals the array the same run saved - exactly
// what Python reads back from the output text, and within the printing precision of the array itself.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadTensor } from '../../src/engine/formats/input';
import { cellCandidates, parseNotebook, readNotebookTensor } from '../../src/engine/formats/ipynb';
import { SUMMARIZED_MESSAGE } from '../../src/engine/formats/literal';
import { readNpy } from '../../src/engine/formats/npy';
import { Tensor, toFloat64 } from '../../src/engine/tensor';

const ROOT = path.resolve(__dirname, '../../..');
const DIR = path.join(ROOT, 'test/fixtures/notebooks');

interface Expect {
  cell: number;
  output: number | null;
  kind: 'repr' | 'stream' | 'mime' | 'source' | 'summarized';
  name?: string;
  file?: string;
  readback?: string;
  shape?: number[];
  dtype?: string;
  atol?: number;
  rtol?: number;
}

const manifest = JSON.parse(readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Expect[];
const text = readFileSync(path.join(DIR, 'cells.ipynb'), 'utf8');
const npy = (file: string): Tensor => readNpy(new Uint8Array(readFileSync(path.join(DIR, file))));
const values = (t: Tensor) => Array.from(toFloat64(t));

function close(actual: number[], expected: number[], atol: number, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: element count`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], b = expected[i];
    if (Number.isNaN(b)) { assert.ok(Number.isNaN(a), `${what}[${i}]: ${a}, expected NaN`); continue; }
    if (!Number.isFinite(b)) { assert.equal(a, b, `${what}[${i}]`); continue; }
    assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${what}[${i}]: ${a}, expected ${b} within ${atol} + ${rtol}·|b|`);
  }
}

describe('notebooks executed by a real kernel (committed fixture)', () => {
  it('has every kind of candidate the issue lists', () => {
    assert.deepEqual([...new Set(manifest.map((e) => e.kind))].sort(), ['mime', 'repr', 'source', 'stream', 'summarized']);
    assert.equal(parseNotebook(text).length, 16);
  });

  for (const e of manifest) {
    const selector = e.output === null ? `cell=${e.cell}` : `cell=${e.cell}&output=${e.output}`;
    if (e.kind === 'summarized') {
      it(`${selector}: refuses the summarized repr, saying how to get the full data`, () => {
        assert.throws(() => readNotebookTensor(text, selector), { message: `cell ${e.cell} output ${e.output}: ${SUMMARIZED_MESSAGE}` });
      });
      continue;
    }
    it(`${selector}: ${e.kind} ${e.name} reads as the array the kernel saved (${e.dtype} [${e.shape}])`, () => {
      const pick = readNotebookTensor(text, selector);
      assert.equal(pick.chosen.kind, e.kind);
      const t = pick.chosen.tensor;
      assert.deepEqual(t.shape, e.shape);
      assert.equal(t.dtype, e.dtype);
      const saved = npy(e.file!);
      if (e.readback) assert.deepEqual(values(t), values(npy(e.readback)), 'exactly what Python reads back from the text');
      close(values(t), values(saved), e.atol!, e.rtol!, `${e.name}`);
    });
  }

  it('orders a cell\'s candidates: our MIME type, reprs, prints; by output index within a kind', () => {
    const cells = parseNotebook(text);
    assert.deepEqual(cellCandidates(cells[5]).map((c) => [c.kind, c.output, c.dtype]), [['repr', 1, 'float64'], ['stream', 0, 'float16']]);
    assert.deepEqual(cellCandidates(cells[11]).map((c) => [c.kind, c.output]), [['repr', 1], ['stream', 0]]);
    assert.deepEqual(cellCandidates(cells[13]).map((c) => c.kind), ['mime']);
    assert.equal(cellCandidates(cells[13])[0].norm?.op, 'group');
    assert.equal(cellCandidates(cells[13])[0].norm?.groups, 2);
    assert.equal(cellCandidates(cells[1]).length, 0, 'the prelude defines functions, holds no tensor');
  });

  it('the render notebook stores our MIME type and a numpy repr', () => {
    const render = readFileSync(path.join(DIR, 'render.ipynb'), 'utf8');
    const bytes = new TextEncoder().encode(render);
    const act = readNotebookTensor(render, 'cell=2').chosen;
    assert.equal(act.kind, 'mime');
    assert.equal(act.name, 'conv2 activations');
    assert.deepEqual(act.shape, [8, 6, 5, 5]);
    assert.equal(act.norm?.groups, 3);
    assert.deepEqual(loadTensor('render.ipynb', bytes, 'cell=4').shape, [2, 3, 4]);
  });

  it('the CLI reads the same tensors (stats --json)', function () {
    this.timeout(20000);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'stats', path.join(DIR, 'cells.ipynb#cell=13'), '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const act = values(npy('arrays/act.npy'));
    const mean = act.reduce((a, b) => a + b, 0) / act.length;
    assert.deepEqual([j.shape, j.dtype, j.source.kind, j.source.selector], [[2, 4, 3, 3], 'float32', 'mime', 'cell=13&output=0']);
    assert.ok(Math.abs(j.mean - mean) < 1e-12, `mean ${j.mean} vs ${mean}`);
  });
});
