import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { NormScopeApi } from '../../src/extension/api';

const fixtures = path.resolve(__dirname, '../../../test/fixtures/hover');

/** The Markdown of NormScope's hovers at the first occurrence of `needle` (+ `delta` characters) in the document. */
async function hoverText(document: vscode.TextDocument, needle: string, delta = 0): Promise<string> {
  const at = document.getText().indexOf(needle);
  assert.ok(at >= 0, `"${needle}" is not in ${document.uri.path}`);
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri,
    document.positionAt(at + delta));
  return hovers
    .flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value)))
    .filter((v) => v.startsWith('**NormScope**'))
    .join('\n---\n');
}

function open(name: string): Thenable<vscode.TextDocument> {
  return vscode.workspace.openTextDocument(vscode.Uri.file(path.join(fixtures, name)));
}

/** The argument of the first `command:<id>?...` link in the Markdown. */
function linkArgument(markdown: string, command: string): unknown {
  const m = new RegExp(`\\(command:${command.replace('.', '\\.')}\\?([^ )]+)`).exec(markdown);
  assert.ok(m, `no ${command} link in:\n${markdown}`);
  return (JSON.parse(decodeURIComponent(m[1])) as unknown[])[0];
}

describe('hover over tensor literals (real extension host)', () => {
  before(async () => {
    await vscode.extensions.getExtension('normscope.normscope')!.activate();
  });

  it('summarizes np.array with its explicit dtype, exact statistics and both links', async () => {
    const doc = await open('sample.py');
    const md = await hoverText(doc, '[3, 4]', 1);
    assert.ok(md.startsWith('**NormScope** · `np.array` · **float32** (explicit)\n\nshape **(2, 2)** · 4 elements'), md);
    assert.ok(md.includes('mean **2.5** · std **1.11803** (population) · min **1** · max **4**'), md);
    assert.ok(md.includes('`█    █    █    █` histogram of 16 bins, 1 to 4'), md);
    const normalize = linkArgument(md, 'normscope.normalizeTensor') as { uri: string; text: string; range: unknown };
    assert.equal(normalize.uri, doc.uri.toString());
    assert.equal(normalize.text, 'np.array([[1, 2], [3, 4]], dtype=np.float32)');
    assert.deepEqual(normalize.range, { start: { line: 6, character: 10 }, end: { line: 6, character: 54 } });
    // the Copy stats link's argument, run as the link would
    const json = await vscode.commands.executeCommand<string>('normscope.copyStats', linkArgument(md, 'normscope.copyStats'));
    const stats = JSON.parse(json);
    assert.deepEqual([stats.shape, stats.dtype, stats.mean, stats.std_kind, stats.min, stats.max], [[2, 2], 'float32', 2.5, 'population', 1, 4]);
    assert.equal(await vscode.env.clipboard.readText(), json);
  });

  it('opens the panel on the literal when its Normalize tensor link runs (with its text, and by range alone)', async () => {
    const api = (await vscode.extensions.getExtension<NormScopeApi>('normscope.normscope')!.activate());
    const doc = await open('sample.py');
    const md = await hoverText(doc, '[3, 4]', 1);
    const arg = linkArgument(md, 'normscope.normalizeTensor') as { uri: string; text: string; range: unknown };
    for (const a of [arg, { uri: arg.uri, range: arg.range }]) {
      const before = api.panels().length;
      await vscode.commands.executeCommand('normscope.normalizeTensor', a);
      assert.equal(api.panels().length, before + 1, 'the link opened no panel');
      const r = await api.panels()[before].next('result', { past: true });
      assert.deepEqual([r.view.input.shape, r.view.input.dtype], [[2, 2], 'float32']);
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('copies the statistics of the literal at the cursor from the command palette', async () => {
    const doc = await open('sample.py');
    const editor = await vscode.window.showTextDocument(doc);
    const at = doc.positionAt(doc.getText().indexOf('6.5'));
    editor.selection = new vscode.Selection(at, at);
    const stats = JSON.parse(await vscode.commands.executeCommand<string>('normscope.copyStats'));
    assert.deepEqual([stats.shape, stats.syntax, stats.mean, stats.channel_means], [[2, 2, 2], 'torch.tensor', 4, [3, 5]]);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('answers on the variable name and inside a multi-line torch.tensor, with channel means', async () => {
    const doc = await open('sample.py');
    const onName = await hoverText(doc, 'activations');
    const inside = await hoverText(doc, '6.5');
    assert.equal(onName, inside);
    assert.ok(inside.startsWith('**NormScope** · `torch.tensor` · **float32** (inferred)\n\nshape **(2, 2, 2)** · 8 elements'), inside);
    assert.ok(inside.includes('mean **4** · std **2.29129** (population) · min **0.5** · max **7.5**'), inside);
    assert.ok(inside.includes('channel means (axis 1 of 2): c0 3 · c1 5'), inside);
  });

  it('counts NaN and Inf and names the first ragged row', async () => {
    const doc = await open('sample.py');
    const gaps = await hoverText(doc, '3.0, math');
    assert.ok(gaps.includes('**float64** (inferred)\n\nshape **(4,)** · 4 elements · $(warning) NaN **1** · Inf **1**'), gaps);
    assert.ok(gaps.includes('mean **2** · std **1** (population) · min **1** · max **3**'), gaps);
    assert.equal(await hoverText(doc, '[4, 5]', 1),
      '**NormScope** · $(warning) ragged list, not a tensor: row at \\[1\\] has 2 elements, expected 3');
  });

  it('reads numpy output pasted into a docstring', async () => {
    const doc = await open('sample.py');
    const md = await hoverText(doc, '4., 6.');
    assert.ok(md.startsWith('**NormScope** · `numpy output` · **float64** (inferred)\n\nshape **(2, 2)** · 4 elements'), md);
    assert.ok(md.includes('mean **3** · std **2.23607** (population) · min **0** · max **6**'), md);
    assert.equal(await hoverText(doc, "numpy's own"), '');
  });

  it('stays quiet for non-tensors', async () => {
    const doc = await open('sample.py');
    for (const [needle, delta] of [['"a"', 1], ['i * i', 0], ['[0][1]', 4], ['range(10)\n', 6], ['0.5\n', 1], ['import math', 8]] as const) {
      assert.equal(await hoverText(doc, needle, delta), '', `hover at ${needle}`);
    }
  });

  it('keeps the noisy-language rule in TypeScript and JSON', async () => {
    const ts = await open('sample.ts');
    assert.ok((await hoverText(ts, '2, 0, -2')).includes('shape **(3, 3)** · 9 elements'));
    assert.ok((await hoverText(ts, '5, 7')).includes('mean **6** · std **2.23607** (population) · min **3** · max **9**'));
    assert.equal(await hoverText(ts, '[1, 2]', 1), '');
    const json = await open('sample.json');
    const weight = await hoverText(json, '1.25');
    assert.ok(weight.includes('`list` · **float64** (inferred)\n\nshape **(2, 2)**'), weight);
    assert.ok(weight.includes('mean **1** · std **0.559017** (population) · min **0.25** · max **1.75**'), weight);
    assert.equal(await hoverText(json, '[2, 3]', 1), '');
  });

  it('looks inside Markdown code blocks only', async () => {
    const doc = await open('sample.md');
    assert.equal(await hoverText(doc, '[1, 2, 3]', 1), '');
    assert.ok((await hoverText(doc, '6, 8')).includes('mean **5** · std **2.23607** (population) · min **2** · max **8**'));
  });

  it('works in notebook cells', async () => {
    const notebook = await vscode.workspace.openNotebookDocument(vscode.Uri.file(path.join(fixtures, 'sample.ipynb')));
    const cell = notebook.cellAt(0).document;
    assert.equal(cell.languageId, 'python');
    const md = await hoverText(cell, '3.5');
    assert.ok(md.includes('shape **(2, 2)** · 4 elements'), md);
    assert.ok(md.includes('mean **3** · std **1.11803** (population) · min **1.5** · max **4.5**'), md);
  });

  it('gives a short "too large" hover beyond normscope.hover.maxChars', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'python', content: `big = [${'0.5, '.repeat(60_000)}1.5]\n` });
    const md = await hoverText(doc, '0.5');
    assert.ok(md.startsWith('**NormScope** · $(warning) tensor literal too large to summarize here (300,005 characters, ' +
      'limit 200,000: normscope.hover.maxChars) - use Normalize tensor'), md.slice(0, 300));
    // too long to carry in the link: the range says where it is
    assert.deepEqual(linkArgument(md, 'normscope.normalizeTensor'),
      { uri: doc.uri.toString(), range: { start: { line: 0, character: 6 }, end: { line: 0, character: 300_011 } } });
    assert.ok(!md.includes('normscope.copyStats'));
  });

  it('answers quickly in the extension host (latency logged, no speed assert)', async () => {
    const timings: Record<string, number> = {};
    for (const n of [10, 1_000, 100_000]) {
      const values = Array.from({ length: n }, (_, i) => ((i * 7919) % 1000 / 250 - 2).toFixed(3)).join(', ');
      const doc = await vscode.workspace.openTextDocument({ language: 'python', content: `x = np.array([${values}], dtype=np.float32)\n` });
      const position = doc.positionAt(Math.floor(doc.getText().length / 2));
      const runs: number[] = [];
      let markdown = '';
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, position);
        runs.push(performance.now() - t0);
        markdown = hovers.map((h) => (h.contents[0] as vscode.MarkdownString).value).join('');
      }
      assert.ok(markdown.startsWith('**NormScope**'));
      const kind = markdown.includes('too large') ? 'too_large' : 'stats';
      // the first request parses; the provider caches the finding per document version for the next ones
      timings[`${n}_${kind}_first_ms`] = Math.round(runs[0] * 10) / 10;
      timings[`${n}_${kind}_cached_ms`] = Math.round(runs.slice(1).sort((a, b) => a - b)[2] * 10) / 10;
    }
    console.log(`      hover timings (executeHoverProvider round trip): ${JSON.stringify(timings)}`);
  });

  it('follows normscope.hover.enabled and normscope.hover.minElements', async () => {
    const config = vscode.workspace.getConfiguration('normscope.hover');
    const ts = await open('sample.ts');
    try {
      await config.update('minElements', 2, vscode.ConfigurationTarget.Global);
      assert.ok((await hoverText(ts, '[1, 2]', 1)).includes('shape **(2,)**'));
      await config.update('enabled', false, vscode.ConfigurationTarget.Global);
      assert.equal(await hoverText(await open('sample.py'), '[3, 4]', 1), '');
    } finally {
      await config.update('minElements', undefined, vscode.ConfigurationTarget.Global);
      await config.update('enabled', undefined, vscode.ConfigurationTarget.Global);
    }
    assert.notEqual(await hoverText(await open('sample.py'), '[3, 4]', 1), '');
  });
});
