// The notebook renderer's model (no DOM): what an output shows for a payload - statistics, the op's before/after
// with shape report, flags and checks - and the one-line error a bad payload gets instead of a blank output.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseNotebook } from '../../src/engine/formats/ipynb';
import { TENSOR_MIME } from '../../src/engine/formats/payload';
import { RENDERER_ID, parseFromRenderer } from '../../src/protocol/rendererMessages';
import { checksPhase, firstPhase } from '../../src/renderer/outputModel';

const ROOT = path.resolve(__dirname, '../../..');

describe('notebook renderer model', () => {
  it('shows statistics and one histogram without norm', () => {
    const m = firstPhase({ shape: [2, 2], dtype: 'float32', data: [[1, 2], [3, 'nan']], name: 'x' });
    assert.equal(m.kind, 'stats');
    if (m.kind !== 'stats') return;
    assert.deepEqual([m.title, m.shape, m.dtype, m.numel], ['x', [2, 2], 'float32', 4]);
    assert.deepEqual([m.stats.overall.mean, m.stats.overall.nan, m.stats.overall.count], [2, 1, 4]);
    assert.equal(m.stats.overall.histogram.counts.reduce((a, b) => a + b, 0), 3);
  });

  it('with norm: the op before/after per channel and per group, shape report, flags; checks in phase 2', () => {
    const data = Array.from({ length: 2 }, (_, n) => Array.from({ length: 4 }, (_, c) => [[n + c, 2 * c], [c * c, 1 + n]]));
    const m = firstPhase({ shape: [2, 4, 2, 2], dtype: 'float64', data, norm: { op: 'group', groups: 2 } });
    assert.equal(m.kind, 'norm');
    if (m.kind !== 'norm') return;
    assert.equal(m.title, 'tensor');
    assert.equal(m.view.op.op, 'group');
    assert.equal(m.view.stats.before.groups.length, 2);
    assert.equal(m.view.stats.before.channels.length, 4);
    assert.equal(m.view.shape_report.num_stat_groups, 4);
    assert.ok(Math.abs(m.view.stats.after.overall.mean!) < 1e-12);
    const checks = checksPhase(m);
    assert.equal(checks.type, 'checks');
    assert.ok(checks.checks.length > 0);
    assert.ok(checks.checks.every((c) => c.pass), JSON.stringify(checks.checks));
  });

  it('renders the stored outputs of the committed render notebook', () => {
    const cells = parseNotebook(readFileSync(path.join(ROOT, 'test/fixtures/notebooks/render.ipynb'), 'utf8'));
    const value = (i: number) => cells[i].outputs[0].items.find((it) => it.mime === TENSOR_MIME)!.value;
    const a = firstPhase(value(2));
    assert.equal(a.kind, 'norm');
    assert.equal(a.kind === 'norm' && a.title, 'conv2 activations');
    const b = firstPhase(value(3));
    assert.equal(b.kind, 'stats');
  });

  it('gives a bad payload one line, never a blank output', () => {
    const cases: [unknown, string][] = [
      [{ shape: [2, 3], dtype: 'float32', data: 'AACAPwAAAEA=' },
        'NormScope: payload.data: 8 bytes of base64 data, but shape [2, 3] of float32 needs 24 (6 elements x 4 bytes)'],
      [{ shape: [2], dtype: 'float128', data: '' },
        'NormScope: payload.dtype: unknown dtype "float128" (expected one of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, bfloat16, float32, float64)'],
      [{ shape: [1], dtype: 'float32', data: '@@@@' }, 'NormScope: payload.data: invalid base64: unexpected character "@" at index 0'],
      ['not an object', 'NormScope: payload: expected an object {shape, dtype, data}, got "not an object"'],
      [{ shape: [2, 3], dtype: 'float32', data: [[1, 2, 3], [4, 5, 6]], norm: { op: 'group', groups: 4 } },
        'NormScope: Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 3] and num_groups=4'],
    ];
    for (const [payload, message] of cases) {
      const m = firstPhase(payload);
      assert.equal(m.kind, 'error');
      if (m.kind !== 'error') continue;
      assert.equal(m.message, message);
      assert.ok(!m.message.includes('\n'));
    }
  });

  it('messages from the renderer are validated', () => {
    assert.equal(RENDERER_ID, 'normscope.tensor');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.contributes.notebookRenderer, [{
      id: RENDERER_ID, displayName: 'NormScope tensor (histograms, normalization before/after)', entrypoint: './dist/renderer.js',
      mimeTypes: [TENSOR_MIME], requiresMessaging: 'optional',
    }]);
    assert.deepEqual(parseFromRenderer({ type: 'openInPanel', outputId: 'abc' }), { type: 'openInPanel', outputId: 'abc' });
    assert.equal(parseFromRenderer({ type: 'openInPanel', outputId: 3 }), undefined);
    assert.equal(parseFromRenderer({ type: 'rm -rf' }), undefined);
    assert.equal(parseFromRenderer(null), undefined);
  });
});
