import * as assert from 'node:assert/strict';
import { SUMMARIZED_MESSAGE } from '../../src/engine/formats/literal';
import {
  HoverFinding, HoverOptions, docstringAt, fencedBlockAt, formatNumber, hoverAt, hoverMarkdown, shapeText, sparkline,
} from '../../src/engine/hoverSummary';

/** hoverAt at the position of '|' (removed from the text). */
function at(marked: string, opts: HoverOptions = {}): HoverFinding | undefined {
  const offset = marked.indexOf('|');
  return hoverAt(marked.slice(0, offset) + marked.slice(offset + 1), offset, opts);
}

function stats(marked: string, opts: HoverOptions = {}) {
  const f = at(marked, opts);
  assert.equal(f?.kind, 'stats', `expected statistics, got ${JSON.stringify(f)}`);
  return f.stats;
}

describe('hover summary: statistics of the literal under the cursor', () => {
  it('gives shape, explicit dtype, count, mean, population std, min, max and NaN/Inf counts', () => {
    const s = stats('w = np.array([[1, 2], [|3, 4]], dtype=np.float32)');
    assert.deepEqual(s.shape, [2, 2]);
    assert.equal(s.dtype, 'float32');
    assert.equal(s.dtype_source, 'explicit');
    assert.equal(s.syntax, 'np.array');
    assert.deepEqual([s.count, s.mean, s.std, s.min, s.max, s.nan, s.inf], [4, 2.5, Math.sqrt(1.25), 1, 4, 0, 0]);
    assert.equal(s.std_kind, 'population');
    // 16 bins over [1, 4]: 1, 2, 3, 4 fall in bins 0, 5, 10 and 15
    assert.deepEqual(s.histogram.counts, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    assert.equal(s.histogram.edges.length, 17);
    assert.equal(s.channel_means, undefined);
  });

  it('infers the dtype as numpy and torch would, and applies an explicit one', () => {
    assert.deepEqual(pick(stats('x = [1.0, 2.|0, 3.0]')), ['float64', 'inferred', 3, 2]);
    assert.deepEqual(pick(stats('x = np.array([1, |2, 3])')), ['int64', 'inferred', 3, 2]);
    assert.deepEqual(pick(stats('t = torch.tensor([0.5, 1|.5])')), ['float32', 'inferred', 2, 1]);
    assert.deepEqual(pick(stats('t = torch.tensor([1, |2])')), ['int64', 'inferred', 2, 1.5]);
    // int32 truncates toward zero, as numpy's astype does: 1.7 -> 1, -2.9 -> -2
    const s = stats('y = np.array([1.7, -|2.9], dtype=np.int32)');
    assert.deepEqual([s.dtype, s.dtype_source, s.mean, s.min, s.max], ['int32', 'explicit', -0.5, -2, 1]);
  });

  it('counts NaN and Inf and takes the statistics over the finite values', () => {
    const s = stats("v = [1.0, float('nan'), |math.inf, 3.0, -np.inf, np.nan]");
    assert.deepEqual([s.count, s.mean, s.std, s.min, s.max, s.nan, s.inf], [6, 2, 1, 1, 3, 2, 2]);
  });

  it('lists channel means (axis 1) for rank >= 3', () => {
    // channel 0 holds 1, 2, 5, 6 and channel 1 holds 3, 4, 7, 8
    const s = stats('x = [[[1, 2], [3, 4]], [[5, 6], [7, |8]]]');
    assert.deepEqual(s.shape, [2, 2, 2]);
    assert.deepEqual(s.channel_means, [3.5, 5.5]);
    assert.equal(s.channels, 2);
    assert.equal(s.mean, 4.5);
  });

  it('answers on the variable name and anywhere inside a multi-line literal with comments', () => {
    const text = 'im|port numpy as np\nweights = np.array([\n    [0.5, -1.0],  # first row\n    [2.0, 3.5],\n])\n';
    assert.equal(at(text), undefined);
    const onName = hoverAt(text.replace('|', ''), text.indexOf('weights'));
    assert.equal(onName?.kind, 'stats');
    const inside = hoverAt(text.replace('|', ''), text.indexOf('3.5'));
    assert.deepEqual(inside, onName);
    assert.equal(inside?.kind === 'stats' && inside.stats.mean, 1.25);
    assert.equal(text.replace('|', '').slice(inside!.start, inside!.end), 'np.array([\n    [0.5, -1.0],  # first row\n    [2.0, 3.5],\n])');
  });
});

function pick(s: { dtype: string; dtype_source: string; count: number; mean: number | null }) {
  return [s.dtype, s.dtype_source, s.count, s.mean];
}

describe('hover summary: numpy/torch output pasted into docstrings', () => {
  const text = 'def f(x):\n    """Doesn\'t copy.\n\n    >>> f(np.ones((2, 2)))\n    array([[1., 2.],\n           [3., 4.]])\n' +
    '    >>> g()\n    tensor([[0.5000, 1.5000]])\n    """\n    s = "[1.0, 2.0, 3.0]"  # a string, not a tensor\n    return x\n';

  it('reads a repr inside a triple-quoted string', () => {
    const f = hoverAt(text, text.indexOf('3., 4.'), { language: 'python' });
    assert.equal(f?.kind, 'stats');
    assert.equal(text.slice(f.start, f.end), 'array([[1., 2.],\n           [3., 4.]])');
    assert.deepEqual([f.stats.syntax, f.stats.dtype, f.stats.mean], ['numpy-repr', 'float64', 2.5]);
    const g = hoverAt(text, text.indexOf('1.5000'), { language: 'python' });
    assert.deepEqual(g?.kind === 'stats' && [g.stats.syntax, g.stats.dtype, g.stats.shape, g.stats.mean], ['torch-repr', 'float32', [1, 2], 1]);
  });

  it('stays quiet in other strings and on docstring prose', () => {
    assert.equal(hoverAt(text, text.indexOf('2.0, 3'), { language: 'python' }), undefined);
    assert.equal(hoverAt(text, text.indexOf('ones((2'), { language: 'python' }), undefined);
    assert.equal(hoverAt(text, text.indexOf('copy'), { language: 'python' }), undefined);
    assert.equal(hoverAt(text, text.indexOf('3., 4.'), { language: 'typescript' }), undefined);
  });

  it('finds the triple-quoted string around an offset', () => {
    const start = text.indexOf('Doesn');
    assert.deepEqual(docstringAt(text, text.indexOf('3., 4.')), { start, end: text.indexOf('"""\n    s =') });
    assert.equal(docstringAt(text, text.indexOf('2.0, 3')), undefined);
    assert.equal(docstringAt(text, 2), undefined);
    assert.equal(docstringAt("x = '''\n[1, 2]", 9), undefined); // never closed
  });
});

describe('hover summary: what stays quiet, and what is not statistics', () => {
  it('is quiet for non-tensors', () => {
    for (const text of ['y = [1, "|a"]', 'y = [x for |x in xs]', 'y = x[0][|1]', 'y = list(range(|10))', 'y = 3.|5',
      'shape = (2, |3)', 'y = [|]', 'print(|"[1, 2]")', 'y = {"a": |1}']) {
      assert.equal(at(text), undefined, text);
    }
  });

  it('names the first ragged row', () => {
    const f = at('x = [[1, 2, 3], [4, |5]]');
    assert.equal(f?.kind, 'ragged');
    assert.equal(f.message, 'row at [1] has 2 elements, expected 3');
    assert.equal(f.text, '[[1, 2, 3], [4, 5]]');
    const g = at('x = np.array([[1, 2], [3, 4], [|5]])');
    assert.equal(g?.kind === 'ragged' && g.message, 'row at [2] has 1 elements, expected 2');
    assert.equal(hoverMarkdown(f), '**NormScope** · $(warning) ragged list, not a tensor: row at \\[1\\] has 2 elements, expected 3');
  });

  it('gives a short "too large" finding beyond maxChars, without parsing', () => {
    const text = 'x = [' + '1.5, '.repeat(50_000) + '2.5]';
    const f = hoverAt(text, 10);
    assert.equal(f?.kind, 'too-large');
    assert.deepEqual([f.start, f.end, f.chars, f.maxChars], [4, text.length, text.length - 4, 200_000]);
    assert.equal(hoverAt(text, 10, { maxChars: 300_000 })?.kind, 'stats');
    assert.equal(hoverMarkdown(f, { normalize: 'command:n' }),
      '**NormScope** · $(warning) tensor literal too large to summarize here (250,005 characters, limit 200,000: ' +
      'normscope.hover.maxChars) - use Normalize tensor\n\n[$(play) Normalize tensor](command:n "Open the NormScope panel with this tensor")');
  });

  it('passes on the parser\'s refusals (summarized output, values a dtype cannot hold)', () => {
    const f = at('array([0, 1, 2, ..., 7, |8, 9])');
    assert.equal(f?.kind, 'unreadable');
    assert.equal(f.message, SUMMARIZED_MESSAGE);
    const g = at('x = np.array([1, |300], dtype=np.int8)');
    assert.equal(g?.kind === 'unreadable' && g.message, 'value 300 at [1] does not fit in int8');
  });
});

describe('hover summary: the noisy-language policy (JS/TS/JSON)', () => {
  it('needs two dimensions or minElements elements for a plain array', () => {
    const ts = { language: 'typescript' };
    assert.equal(at('const a = [1, 2, |3];', ts), undefined);
    assert.equal(at('const a = [1, 2, |3];', { language: 'python' })?.kind, 'stats');
    assert.equal(at('const a = [1, 2, |3, 4];', ts)?.kind, 'stats');
    assert.equal(at('const a = [1, 2, |3];', { language: 'typescript', minElements: 3 })?.kind, 'stats');
    assert.equal(at('const a = [[1], [|2]];', ts)?.kind, 'stats');
    assert.equal(at('{"xs": [1, |2]}', { language: 'json' }), undefined);
    assert.equal(at('{"xs": [[1, 2], [|3, 4]]}', { language: 'jsonc' })?.kind, 'stats');
  });

  it('does not call ragged arrays of arrays out there', () => {
    assert.equal(at('{"edges": [[0, 1], [1, |2, 3]]}', { language: 'json' }), undefined);
    assert.equal(at('const e = [[0, 1], [1, |2, 3]];', { language: 'javascript' }), undefined);
    assert.equal(at('e = [[0, 1], [1, |2, 3]]', { language: 'python' })?.kind, 'ragged');
  });
});

describe('hover summary: Markdown documents', () => {
  const md = 'Weights [1, 2, 3] in prose.\n\n```python\nw = np.array([[1, 2], [3, 4]])\n```\n\n```json\n{"xs": [1, 2]}\n```\n';

  it('looks only inside fenced code blocks, in the fence\'s language', () => {
    assert.equal(hoverAt(md, md.indexOf('2, 3]'), { language: 'markdown' }), undefined);
    const f = hoverAt(md, md.indexOf('3, 4'), { language: 'markdown' });
    assert.equal(f?.kind, 'stats');
    assert.equal(md.slice(f.start, f.end), 'np.array([[1, 2], [3, 4]])');
    assert.equal(f.stats.mean, 2.5);
    assert.equal(hoverAt(md, md.indexOf('1, 2]}'), { language: 'markdown' }), undefined); // json: noisy
  });

  it('finds the block around an offset', () => {
    const start = md.indexOf('w = ');
    assert.deepEqual(fencedBlockAt(md, md.indexOf('3, 4')), { start, end: md.indexOf('```\n\n```json'), language: 'python' });
    assert.equal(fencedBlockAt(md, 3), undefined);
    assert.equal(fencedBlockAt(md, md.indexOf('```python')), undefined); // on the fence itself
    const unclosed = '~~~\n[1, 2]\n';
    assert.deepEqual(fencedBlockAt(unclosed, 5), { start: 4, end: unclosed.length, language: undefined });
  });
});

describe('hover summary: Markdown rendering', () => {
  it('renders the statistics, a sparkline and both links', () => {
    const f = at('w = np.array([[1, 2], [|3, 4]], dtype=np.float32)')!;
    assert.equal(hoverMarkdown(f, { normalize: 'command:n', copyStats: 'command:c' }), [
      '**NormScope** · `np.array` · **float32** (explicit)',
      'shape **(2, 2)** · 4 elements · NaN 0 · Inf 0',
      'mean **2.5** · std **1.11803** (population) · min **1** · max **4**',
      '`█    █    █    █` histogram of 16 bins, 1 to 4',
      '[$(play) Normalize tensor](command:n "Open the NormScope panel with this tensor") &nbsp;·&nbsp; ' +
        '[$(copy) Copy stats](command:c "Copy these statistics as JSON")',
    ].join('\n\n'));
  });

  it('lists the first 8 channel means and how many more there are', () => {
    const rows = Array.from({ length: 10 }, (_, c) => `[${c}, ${c}]`).join(', ');
    const f = hoverAt(`x = [[${rows}]]`, 7)!; // shape (1, 10, 2)
    assert.equal(f.kind, 'stats');
    const md = hoverMarkdown(f);
    assert.match(md, /\nchannel means \(axis 1 of 10\): c0 0 · c1 1 · c2 2 · c3 3 · c4 4 · c5 5 · c6 6 · c7 7 · … 2 more$/);
    assert.ok(!md.includes('command:'));
  });

  it('shows no histogram when nothing is finite, and the device when given', () => {
    const f = at("t = torch.tensor([float('nan'), |math.inf], device='cuda:0')")!;
    assert.equal(f.kind, 'stats');
    const md = hoverMarkdown(f);
    assert.ok(md.startsWith('**NormScope** · `torch.tensor` · **float32** (inferred) · device cuda:0\n\n' +
      'shape **(2,)** · 2 elements · $(warning) NaN **1** · Inf **1**\n\nno finite values'), md);
    assert.ok(!md.includes('histogram'));
  });

  it('formats numbers, shapes and sparklines', () => {
    assert.deepEqual([0, -3, 2.5, 1 / 3, 123456.789, 1e-5, -25_000_000, -25_000_000.25, 1e20, null, NaN, -Infinity].map(formatNumber),
      ['0', '-3', '2.5', '0.333333', '123457', '1e-5', '-25000000', '-2.5e+7', '1e+20', '-', 'nan', '-inf']);
    assert.deepEqual([[], [4], [2, 3, 4]].map(shapeText), ['()', '(4,)', '(2, 3, 4)']);
    assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 0, 8]), '▁▂▃▄▅▆▇█ █');
    assert.equal(sparkline([1, 100]), '▁█');
  });
});
