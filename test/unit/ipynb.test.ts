// Tensors in notebooks: candidates of a cell in the order, reprs and printed arrays with numpy's and
// torch's formatting quirks, the summarized refusal, selectors and their errors, and loadTensor's dispatch.
import * as assert from 'node:assert/strict';
import { NormScopeError } from '../../src/engine/errors';
import { loadTensor } from '../../src/engine/formats/input';
import {
  NotebookCell, STDOUT_MIME, cellCandidates, parseNotebook, parseNotebookSelector, pickFromCells, readNotebookTensor,
} from '../../src/engine/formats/ipynb';
import { SUMMARIZED_MESSAGE } from '../../src/engine/formats/literal';
import { TENSOR_MIME } from '../../src/engine/formats/payload';
import { Tensor, toFloat64 } from '../../src/engine/tensor';

const values = (t: Tensor | undefined) => Array.from(toFloat64(t!));

function throwsExactly(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NormScopeError, `a NormScopeError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

const plain = (text: string) => ({ items: [{ mime: 'text/plain', value: text }] });
const printed = (text: string) => ({ items: [{ mime: STDOUT_MIME, value: text }] });
const code = (source: string, ...outputs: NotebookCell['outputs'][number][]): NotebookCell => ({ kind: 'code', source, outputs });

/** An nbformat 4 notebook as Jupyter writes it (multi-line strings as lists of lines). */
function ipynb(cells: object[]): string {
  return JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }, null, 1);
}
const lines = (s: string) => s.split(/(?<=\n)/);

describe('ipynb: tensors in notebook cells', () => {
  describe('text/plain reprs', () => {
    const one = (text: string) => {
      const c = cellCandidates(code('x', plain(text)));
      assert.equal(c.length, 1, `one candidate for ${text}`);
      assert.equal(c[0].kind, 'repr');
      return c[0];
    };

    it('reads numpy reprs: dtype suffix, float precision, e notation, nested brackets', () => {
      let c = one('array([[1., 2.],\n       [3., 4.]], dtype=float32)');
      assert.deepEqual(c.shape, [2, 2]);
      assert.equal(c.dtype, 'float32');
      assert.deepEqual(values(c.tensor), [1, 2, 3, 4]);
      c = one('array([0.33333333, 0.66666667, 1.        ])');
      assert.equal(c.dtype, 'float64');
      assert.deepEqual(values(c.tensor), [0.33333333, 0.66666667, 1]);
      c = one('array([1.0e-08, 2.5e+03, 3.0e+00])');
      assert.deepEqual(values(c.tensor), [1e-8, 2500, 3]);
      c = one('array([[[ 0,  1],\n        [ 2,  3]],\n\n       [[ 4,  5],\n        [ 6,  7]]])');
      assert.deepEqual(c.shape, [2, 2, 2]);
      assert.equal(c.dtype, 'int64');
      c = one('array([ nan,  inf, -inf,  1.5])');
      assert.deepEqual(values(c.tensor), [NaN, Infinity, -Infinity, 1.5]);
      c = one('array(3.5, dtype=float16)');
      assert.deepEqual(c.shape, []);
      assert.equal(c.dtype, 'float16');
      c = one('array([], shape=(0, 3), dtype=float32)');
      assert.deepEqual(c.shape, [0, 3]);
    });

    it("reads torch reprs: tensor(..., dtype=...), device, requires_grad and grad_fn", () => {
      let c = one('tensor([[0.1000, 0.2000],\n        [0.3000, 0.4000]])');
      assert.equal(c.dtype, 'float32');
      assert.deepEqual(values(c.tensor), [0.1, 0.2, 0.3, 0.4].map(Math.fround));
      c = one('tensor([1, 2, 3], dtype=torch.int32)');
      assert.equal(c.dtype, 'int32');
      c = one('tensor([1.0000e-08, 1.0000e+04], dtype=torch.float64)');
      assert.equal(c.dtype, 'float64');
      assert.deepEqual(values(c.tensor), [1e-8, 1e4]);
      c = one("tensor([[1., 2.]], device='cuda:0', requires_grad=True)");
      assert.deepEqual(c.shape, [1, 2]);
      c = one('tensor([0.5000, 1.5000], grad_fn=<AddBackward0>)');
      assert.deepEqual(values(c.tensor), [0.5, 1.5]);
      c = one('tensor([1.0000, 2.0000], dtype=torch.bfloat16)');
      assert.equal(c.dtype, 'bfloat16');
      c = one('Parameter containing:\ntensor([1., 1.], requires_grad=True)');
      assert.deepEqual(c.shape, [2]);
    });

    it('finds the arrays inside a tuple result; ignores results that are no tensor', () => {
      const c = cellCandidates(code('a, b', plain('(array([1, 2]), array([3., 4.], dtype=float32))')));
      assert.deepEqual(c.map((k) => k.shape), [[2], [2]]);
      assert.deepEqual(c.map((k) => k.dtype), ['int64', 'float32']);
      assert.deepEqual(cellCandidates(code('x.shape', plain('(2, 3)'))), []);
      assert.deepEqual(cellCandidates(code('len(x)', plain('5'))), []);
      assert.deepEqual(cellCandidates(code('s', plain("'hello [1, 2]'"))), []);
    });

    it('refuses a summarized repr with the message that says how to get the data', () => {
      const c = cellCandidates(code('np.arange(2000)', plain('array([   0,    1,    2, ..., 1997, 1998, 1999])')));
      assert.equal(c.length, 1);
      assert.equal(c[0].error?.message, SUMMARIZED_MESSAGE);
      throwsExactly(() => pickFromCells([code('np.arange(2000)', plain('array([   0,    1,    2, ..., 1997, 1998, 1999])'))], 'cell=0'),
        `cell 0 output 0: ${SUMMARIZED_MESSAGE}`);
      assert.match(SUMMARIZED_MESSAGE, /np\.set_printoptions\(threshold=sys\.maxsize\)/);
      assert.match(SUMMARIZED_MESSAGE, /normscope\.show\(x\)/);
    });
  });

  describe('stream outputs', () => {
    it('finds printed numpy arrays (str form, no commas), blank lines between blocks included', () => {
      const c = cellCandidates(code('print(x)', printed('x =\n[[[0. 1.]\n  [2. 3.]]\n\n [[4. 5.]\n  [6. 7.]]]\ndone\n')));
      assert.equal(c.length, 1);
      assert.equal(c[0].kind, 'stream');
      assert.deepEqual(c[0].shape, [2, 2, 2]);
      assert.deepEqual(values(c[0].tensor), [0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it('finds several prints in one stream, reprs and torch tensors too', () => {
      const c = cellCandidates(code('...', printed('[1 2 3]\narray([0.5, 1.5])\ntensor([[1., 2.]])\n')));
      assert.deepEqual(c.map((k) => k.shape), [[3], [2], [1, 2]]);
      assert.deepEqual(c.map((k) => k.label), [
        'output 0: printed (stdout): [3] int64', 'output 0: printed (stdout): [2] float64', 'output 0: printed (stdout): [1, 2] float32']);
    });

    it('refuses a summarized print', () => {
      const c = cellCandidates(code('print(x)', printed('[   0    1    2 ... 1997 1998 1999]\n')));
      assert.equal(c.length, 1);
      assert.equal(c[0].error?.message, SUMMARIZED_MESSAGE);
    });
  });

  describe('order and selection', () => {
    const payload = { shape: [2], dtype: 'float32', data: 'AACAPwAAAEA=', name: 'p' };
    const cell = code('x = [[9, 9]]\nprint(x)',
      printed('[[0. 1.]\n [2. 3.]]\n'),
      plain('array([5, 6, 7])'),
      { items: [{ mime: TENSOR_MIME, value: payload }, { mime: 'text/plain', value: 'NormScope tensor (2,) float32 mean 1.5' }] });

    it('takes our MIME type first, then text/plain reprs, then prints; the source only when outputs give none', () => {
      const c = cellCandidates(cell);
      assert.deepEqual(c.map((k) => [k.kind, k.output]), [['mime', 2], ['repr', 1], ['stream', 0]]);
      assert.equal(c[0].label, 'output 2: NormScope payload "p": [2] float32');
      assert.deepEqual(values(c[0].tensor), [1, 2]);
      const src = cellCandidates(code('w = np.array([[1.5, 2.5]], dtype=np.float32)\nb = [0.5]\nprint(w.shape)', printed('(1, 2)\n')));
      assert.deepEqual(src.map((k) => [k.kind, k.line, k.shape, k.dtype]), [['source', 0, [1, 2], 'float32'], ['source', 1, [1], 'float64']]);
      assert.equal(src[0].label, 'source line 1: np.array: [1, 2] float32');
    });

    it('picks by cell and output (0-based over all cells and all outputs)', () => {
      const cells = [{ kind: 'markdown', source: '# [1, 2]', outputs: [] } as NotebookCell, cell];
      assert.equal(pickFromCells(cells, 'cell=1').chosen.kind, 'mime');
      assert.deepEqual(values(pickFromCells(cells, 'cell=1&output=1').chosen.tensor), [5, 6, 7]);
      assert.deepEqual(values(pickFromCells(cells, 'cell=1&output=0').chosen.tensor), [0, 1, 2, 3]);
      assert.equal(pickFromCells(cells, 'cell=1').candidates.length, 3);
    });

    it('says exactly what is wrong with a selector', () => {
      const cells = [cell, code('pass')];
      throwsExactly(() => pickFromCells(cells, 'cell=2'), 'no cell 2: the notebook has 2 cells (0-1)');
      throwsExactly(() => pickFromCells(cells, 'cell=0&output=3'), 'no output 3 in cell 0: it has 3 outputs (0-2)');
      throwsExactly(() => pickFromCells(cells, 'cell=1'),
        `cell 1 holds no tensor: no ${TENSOR_MIME} output, no numpy/torch repr, no printed array and no literal in its source`);
      throwsExactly(() => pickFromCells([code('x', printed('hello\n'))], 'cell=0&output=0'),
        `cell 0 output 0 holds no tensor: not a ${TENSOR_MIME} payload, a numpy/torch repr or a printed array`);
      throwsExactly(() => parseNotebookSelector('cell=-1'), 'notebook selector must be cell=N or cell=N&output=K (0-based indexes), got "cell=-1"');
      throwsExactly(() => parseNotebookSelector('/cells/0'), 'notebook selector must be cell=N or cell=N&output=K (0-based indexes), got "/cells/0"');
      throwsExactly(() => pickFromCells([cell, cell], undefined),
        'a notebook holds many cells: pick one with FILE#cell=N or FILE#cell=N&output=K (0-based; cells with tensors: 0, 1)');
      assert.equal(pickFromCells([code('pass'), cell], undefined).cell, 1, 'the one cell holding tensors');
    });

    it('keeps a bad payload as a refusal and reports it when nothing else is there', () => {
      const bad = code('show(x)', { items: [{ mime: TENSOR_MIME, value: { shape: [3], dtype: 'float32', data: 'AACAPwAAAEA=' } }] });
      throwsExactly(() => pickFromCells([bad], 'cell=0'),
        'cell 0 output 0: payload.data: 8 bytes of base64 data, but shape [3] of float32 needs 12 (3 elements x 4 bytes)');
      const withRepr = code('x', bad.outputs[0], plain('array([1., 2.])'));
      assert.equal(pickFromCells([withRepr], 'cell=0').chosen.kind, 'repr');
    });
  });

  describe('.ipynb files', () => {
    const text = ipynb([
      { cell_type: 'markdown', id: 'm', metadata: {}, source: ['# Activations'] },
      {
        cell_type: 'code', execution_count: 1, id: 'a', metadata: {}, source: lines('x = np.arange(6, dtype=np.float32).reshape(2, 3)\nx'),
        outputs: [{ output_type: 'execute_result', execution_count: 1, metadata: {},
          data: { 'text/plain': lines('array([[0., 1., 2.],\n       [3., 4., 5.]], dtype=float32)') } }],
      },
      {
        cell_type: 'code', execution_count: 2, id: 'b', metadata: {}, source: ['print(x)'],
        outputs: [{ output_type: 'stream', name: 'stdout', text: lines('[[0. 1. 2.]\n [3. 4. 5.]]\n') },
          { output_type: 'error', ename: 'E', evalue: 'e', traceback: [] },
          { output_type: 'display_data', metadata: {}, data: { [TENSOR_MIME]: { shape: [2], dtype: 'float64', data: [1, 'nan'] }, 'text/plain': ['x'] } }],
      },
    ]);

    it('reads cells as stored, joining multi-line strings', () => {
      const cells = parseNotebook(text);
      assert.deepEqual(cells.map((c) => c.kind), ['markdown', 'code', 'code']);
      assert.equal(cells[1].source, 'x = np.arange(6, dtype=np.float32).reshape(2, 3)\nx');
      assert.equal(cells[2].outputs.length, 3);
      assert.deepEqual(cells[2].outputs[1].items, []);
    });

    it('loads through loadTensor with #cell=N&output=K', () => {
      const bytes = new TextEncoder().encode(text);
      const t = loadTensor('nb.ipynb', bytes, 'cell=1');
      assert.deepEqual(t.shape, [2, 3]);
      assert.equal(t.dtype, 'float32');
      assert.deepEqual(values(loadTensor('nb.ipynb', bytes, 'cell=2&output=0')), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(values(loadTensor('nb.ipynb', bytes, 'cell=2')), [1, NaN], 'our MIME type first');
      assert.deepEqual(readNotebookTensor(text, 'cell=2').candidates.map((c) => c.kind), ['mime', 'stream']);
    });

    it('reads the bare NaN and Infinity Python json writes, and refuses what is no notebook', () => {
      const nan = text.replace('"nan"', 'NaN');
      assert.ok(nan.includes('NaN') && !nan.includes('"nan"'));
      assert.deepEqual(values(readNotebookTensor(nan, 'cell=2').chosen.tensor), [1, NaN]);
      assert.deepEqual(values(readNotebookTensor(text.replace('"nan"', '-Infinity'), 'cell=2').chosen.tensor), [1, -Infinity]);
      throwsExactly(() => parseNotebook('{"worksheets": [], "nbformat": 3}'),
        'nbformat 3 notebooks are not supported: open and save it in Jupyter to convert it to nbformat 4');
      throwsExactly(() => parseNotebook('[]'), 'not a notebook: the JSON is not an object');
      throwsExactly(() => parseNotebook('{"nbformat": 4}'), 'not a notebook: no "cells" list');
      assert.throws(() => parseNotebook('{"cells": ['), /^NormScopeError: not a notebook: invalid JSON \(/);
    });
  });
});
