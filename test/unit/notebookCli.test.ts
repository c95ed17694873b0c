// `normscope stats|normalize nb.ipynb#cell=N[&output=K]`: the built dist/cli.js as a child process.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SUMMARIZED_MESSAGE } from '../../src/engine/formats/literal';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/cli.js');
let dir: string;

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const NB = {
  cells: [
    { cell_type: 'markdown', metadata: {}, source: ['# notes'] },
    {
      cell_type: 'code', execution_count: 1, metadata: {}, source: ['print(x)\n', 'x'],
      outputs: [
        { output_type: 'stream', name: 'stdout', text: ['[[0. 1.]\n', ' [2. 3.]]\n'] },
        { output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': ['array([[1., 2.],\n', '       [3., 4.]], dtype=float32)'] } },
      ],
    },
    {
      cell_type: 'code', execution_count: 2, metadata: {}, source: ['np.arange(2000)'],
      outputs: [{ output_type: 'execute_result', execution_count: 2, metadata: {}, data: { 'text/plain': ['array([   0,    1,    2, ..., 1997, 1998, 1999])'] } }],
    },
  ],
  metadata: {}, nbformat: 4, nbformat_minor: 5,
};

describe('normscope CLI on notebooks', function () {
  this.timeout(20000);
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'normscope-nbcli-'));
    writeFileSync(path.join(dir, 'nb.ipynb'), JSON.stringify(NB, null, 1));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stats takes the first candidate of the cell and lists the others in --json', () => {
    const r = cli('stats', 'nb.ipynb#cell=1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual([j.shape, j.dtype, j.mean, j.min, j.max], [[2, 2], 'float32', 2.5, 1, 4]);
    assert.deepEqual(j.source, { selector: 'cell=1&output=1', kind: 'repr', label: 'output 1: numpy repr (text/plain): [2, 2] float32', shape: [2, 2], dtype: 'float32' });
    assert.deepEqual(j.others, [{ selector: 'cell=1&output=0', kind: 'stream', label: 'output 0: printed (stdout): [2, 2] float64', shape: [2, 2], dtype: 'float64' }]);
  });

  it('&output=K picks that output', () => {
    const r = cli('stats', 'nb.ipynb#cell=1&output=0', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual([j.dtype, j.mean, j.source.kind, j.others], ['float64', 1.5, 'stream', []]);
  });

  it('says where the tensor came from in text output, and normalize works the same way', () => {
    const r = cli('stats', 'nb.ipynb#cell=1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^nb\.ipynb#cell=1: shape \[2, 2\] float32, 4 elements$/m);
    assert.match(r.stdout, /^from output 1: numpy repr \(text\/plain\): \[2, 2\] float32 \(1 more: --json lists them\)$/m);
    const n = cli('normalize', 'nb.ipynb#cell=1&output=0', '--op', 'layer', '--json');
    assert.equal(n.code, 0, n.stderr);
    assert.deepEqual(JSON.parse(n.stdout).input, { shape: [2, 2], dtype: 'float64' });
  });

  it('refuses with one line: summarized output, bad cells, outputs and selectors', () => {
    const oneLine = (r: { code: number; stderr: string; stdout: string }, expected: string) => {
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `${expected}\n`);
      assert.equal(r.stdout, '');
    };
    oneLine(cli('stats', 'nb.ipynb#cell=2'), `normscope: nb.ipynb: cell 2 output 0: ${SUMMARIZED_MESSAGE}`);
    oneLine(cli('stats', 'nb.ipynb#cell=3'), 'normscope: nb.ipynb: no cell 3: the notebook has 3 cells (0-2)');
    oneLine(cli('stats', 'nb.ipynb#cell=1&output=2'), 'normscope: nb.ipynb: no output 2 in cell 1: it has 2 outputs (0-1)');
    oneLine(cli('stats', 'nb.ipynb#cell=0'),
      'normscope: nb.ipynb: cell 0 holds no tensor: no application/vnd.normscope.tensor+json output, no numpy/torch repr, no printed array and no literal in its source');
    oneLine(cli('stats', 'nb.ipynb#output=1'), 'normscope: nb.ipynb: notebook selector must be cell=N or cell=N&output=K (0-based indexes), got "output=1"');
    const only = cli('stats', 'nb.ipynb', '--json');
    assert.equal(only.code, 0, only.stderr);
    assert.equal(JSON.parse(only.stdout).source.selector, 'cell=1&output=1', 'without a selector: the one cell holding a tensor');
  });
});
