import * as assert from 'node:assert/strict';
import { parseFromWebview, parsePanelParams, parsePersistedState, ProtocolError, tensorRefLabel } from '../../src/protocol/messages';

describe('panel protocol validation', () => {
  it('accepts every webview message and returns a clean copy', () => {
    assert.deepEqual(parseFromWebview({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseFromWebview({ type: 'ready', params: { op: 'rms' } }), { type: 'ready', params: { op: 'rms' } });
    const set = { type: 'setParams', requestId: 3, params: { op: 'group', groups: 4, eps: 1e-3, affine: { weight: 2, bias: -1 } } };
    assert.deepEqual(parseFromWebview(set), set);
    assert.deepEqual(parseFromWebview({ type: 'cancel' }), { type: 'cancel' });
    assert.deepEqual(parseFromWebview({ type: 'export', format: 'stats-csv' }), { type: 'export', format: 'stats-csv' });
    assert.deepEqual(parseFromWebview({ type: 'savePng', dataUrl: 'data:image/png;base64,AAAA' }), { type: 'savePng', dataUrl: 'data:image/png;base64,AAAA' });
    assert.deepEqual(parseFromWebview({ type: 'rendered', requestId: 0, charts: 35, painted: 35, ms: 12.5 }),
      { type: 'rendered', requestId: 0, charts: 35, painted: 35, ms: 12.5 });
  });

  it('carries parameter tensors as file references (uri + selector), and the member pick request', () => {
    const params = {
      op: 'batch', mode: 'eval', unbatched: true,
      sources: { running_mean: { uri: 'file:///w/model.safetensors', selector: 'bn1.running_mean' }, weight: { uri: 'vscode-remote://ssh/w/w.NPY' } },
    };
    assert.deepEqual(parseFromWebview({ type: 'setParams', requestId: 2, params }), { type: 'setParams', requestId: 2, params });
    assert.deepEqual(parseFromWebview({ type: 'pickParamSource', field: 'running_var' }), { type: 'pickParamSource', field: 'running_var' });
    assert.equal(tensorRefLabel({ uri: 'file:///w/my%20model.safetensors', selector: 'bn1.weight' }), 'my model.safetensors#bn1.weight');
    assert.equal(tensorRefLabel({ uri: 'file:///w/p.json', selector: '' }), 'p.json');
  });

  it('keeps momentum null (momentum=None) and BatchNorm fields', () => {
    assert.deepEqual(parsePanelParams({ op: 'batch', mode: 'eval', momentum: null }), { op: 'batch', mode: 'eval', momentum: null });
  });

  const refusals: [unknown, RegExp][] = [
    [null, /message: expected an object/],
    [[1], /message: expected an object/],
    [{ type: 'hello' }, /message\.type: expected one of ready, setParams/],
    [{ type: 'ready', extra: 1 }, /ready: unexpected field "extra"/],
    [{ type: 'setParams', requestId: -1, params: { op: 'layer' } }, /setParams\.requestId: expected an integer/],
    [{ type: 'setParams', requestId: 1.5, params: { op: 'layer' } }, /requestId/],
    [{ type: 'setParams', requestId: 1, params: { op: 'softmax' } }, /setParams\.params\.op: expected one of batch, layer, group, instance, rms, got "softmax"/],
    [{ type: 'setParams', requestId: 1, params: { op: 'group', groups: '4' } }, /params\.groups: expected an integer/],
    [{ type: 'setParams', requestId: 1, params: { op: 'layer', eps: 'tiny' } }, /params\.eps: expected a finite number/],
    [{ type: 'setParams', requestId: 1, params: { op: 'layer', eps: NaN } }, /params\.eps: expected a finite number/],
    [{ type: 'setParams', requestId: 1, params: { op: 'layer', normalized_shape: [3, -1] } }, /normalized_shape\[1\]/],
    [{ type: 'setParams', requestId: 1, params: { op: 'layer', weight: [1, 2] } }, /unexpected field "weight"/],
    [{ type: 'setParams', requestId: 1, params: { op: 'batch', affine: { weight: 1 } } }, /affine\.bias: expected a finite number/],
    [{ type: 'setParams', requestId: 1, params: { op: 'batch', sources: { gamma: { uri: 'file:///a.npy' } } } }, /setParams\.params\.sources: unexpected field "gamma"/],
    [{ type: 'setParams', requestId: 1, params: { op: 'batch', sources: [] } }, /params\.sources: expected an object with some of weight, bias, running_mean, running_var/],
    [{ type: 'setParams', requestId: 1, params: { op: 'batch', sources: { weight: { uri: '/etc/w.npy' } } } }, /params\.sources\.weight\.uri: expected a URI with a scheme/],
    [{ type: 'setParams', requestId: 1, params: { op: 'batch', sources: { weight: { uri: 'file:///home/u/.ssh/id_rsa' } } } }, /params\.sources\.weight\.uri: expected a \.npy, \.npz, \.safetensors, \.json file/],
    [{ type: 'setParams', requestId: 1, params: { op: 'batch', sources: { weight: { uri: 'file:///w.npz', selector: 3 } } } }, /sources\.weight\.selector: expected a string/],
    [{ type: 'setParams', requestId: 1, params: { op: 'batch', sources: { bias: { uri: 'file:///w.npz', data: [1, 2] } } } }, /sources\.bias: unexpected field "data"/],
    [{ type: 'setParams', requestId: 1, params: { op: 'instance', unbatched: 'yes' } }, /params\.unbatched: expected true or false/],
    [{ type: 'pickParamSource', field: 'eps' }, /pickParamSource\.field: expected one of weight, bias, running_mean, running_var/],
    [{ type: 'pickParamSource', field: 'weight', uri: 'file:///x.npy' }, /pickParamSource: unexpected field "uri"/],
    [{ type: 'export', format: 'pdf' }, /export\.format: expected one of npy, stats-json, stats-csv, snippet/],
    [{ type: 'savePng', dataUrl: 'javascript:alert(1)' }, /savePng\.dataUrl: expected a data:image\/png;base64 URL/],
    [{ type: 'rendered', requestId: 1, charts: 2, painted: 2, ms: Infinity }, /rendered\.ms/],
  ];
  for (const [msg, why] of refusals) {
    it(`refuses ${JSON.stringify(msg)?.slice(0, 70)}`, () => {
      assert.throws(() => parseFromWebview(msg), (e: unknown) => e instanceof ProtocolError && why.test(e.message));
    });
  }

  it('round-trips persisted state through JSON', () => {
    const state = { version: 1, source: { kind: 'file', uri: 'file:///w/x.json', selector: '/a' }, params: { op: 'layer', normalized_shape: [3] } };
    assert.deepEqual(parsePersistedState(JSON.parse(JSON.stringify(state))), state);
    const withFiles = { ...state, params: { op: 'batch', sources: { running_var: { uri: 'file:///w/bn.npz', selector: 'bn1.running_var' } } } };
    assert.deepEqual(parsePersistedState(JSON.parse(JSON.stringify(withFiles))), withFiles);
    const literal = { version: 1, source: { kind: 'literal', label: 'selection in a.py', text: '[[1, 2], [3, 4]]' } };
    assert.deepEqual(parsePersistedState(literal), literal);
  });

  it('refuses persisted state of another version or with a scheme-less URI', () => {
    assert.throws(() => parsePersistedState({ version: 2, source: { kind: 'literal', label: '', text: '' } }), /state\.version: expected 1/);
    assert.throws(() => parsePersistedState({ version: 1, source: { kind: 'file', uri: '/tmp/x.npy' } }), /state\.source\.uri: expected a URI with a scheme/);
  });
});
