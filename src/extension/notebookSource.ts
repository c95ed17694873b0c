/**
 * "Normalize tensor" with a notebook cell focused. The selection in the cell is taken before this runs (the cell
 * is the active text editor); here the tensor comes from the cell's outputs - our MIME type, a numpy/torch repr
 * in text/plain, a printed array in a stream - else from a literal in its source: the engine's cellCandidates,
 * the same rules the CLI's `nb.ipynb#cell=N` follows. Several candidates: a QuickPick.
 */
import * as vscode from 'vscode';
import { TensorCandidate, cellCandidates, notebookSelector, pickCandidate } from '../engine/formats/ipynb';
import type { PanelParams, SourceRef } from '../protocol/messages';
import { cellOf, cellsToIpynb, liveCells } from './notebookCells';
import { panelParamsOf } from './notebookOutputs';

/** What the command opens the panel on. */
export interface CellSource {
  readonly source: SourceRef;
  readonly bytes?: Uint8Array;
  readonly params?: Partial<PanelParams>;
}

/** The focused notebook editor, when the active tab is a notebook (not a text editor beside it). */
function focusedNotebook(): vscode.NotebookEditor | undefined {
  const nb = vscode.window.activeNotebookEditor;
  if (!nb) return undefined;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (tab instanceof vscode.TabInputNotebook) return tab.uri.toString() === nb.notebook.uri.toString() ? nb : undefined;
  const text = vscode.window.activeTextEditor;
  return text?.document.uri.scheme === 'vscode-notebook-cell' ? nb : undefined;
}

/**
 * Whether a text editor's selection is the person's: false for the editor of a notebook cell other than the
 * notebook's focused cell (a selection left behind there is not what "the selection in the cell" means).
 */
export function isFocusedEditor(editor: vscode.TextEditor): boolean {
  if (editor.document.uri.scheme !== 'vscode-notebook-cell') return true;
  const nb = vscode.window.visibleNotebookEditors.find((e) => e.notebook.getCells().some((c) => c.document === editor.document));
  if (!nb) return true;
  const sel = nb.selections.find((r) => !r.isEmpty);
  return !sel || nb.notebook.cellAt(sel.start).document === editor.document;
}

/** The focused cell: the notebook's selection (it follows the focus), else the cell whose editor has focus. */
function focusedCell(nb: vscode.NotebookEditor): vscode.NotebookCell | undefined {
  const sel = nb.selections.find((r) => !r.isEmpty);
  if (sel) return nb.notebook.cellAt(sel.start);
  const text = vscode.window.activeTextEditor?.document;
  return text?.uri.scheme === 'vscode-notebook-cell' ? nb.notebook.getCells().find((c) => c.document === text) : undefined;
}

function baseName(uri: vscode.Uri): string {
  return uri.path.slice(uri.path.lastIndexOf('/') + 1);
}

/** The panel source of one candidate: payloads through the notebook's bytes, text through the literal parser. */
function sourceOf(nb: vscode.NotebookEditor, index: number, c: TensorCandidate, nth: number): CellSource {
  const name = baseName(nb.notebook.uri);
  if (c.kind === 'mime' && c.output !== undefined) {
    const selector = notebookSelector(index, c.output);
    return { source: { kind: 'file', uri: nb.notebook.uri.toString(), selector }, bytes: cellsToIpynb(liveCells(nb.notebook)), params: panelParamsOf(c.norm) };
  }
  const where = c.output !== undefined ? `${name}#${notebookSelector(index, c.output)}` : `${name}#${notebookSelector(index)} (source line ${(c.line ?? 0) + 1})`;
  return { source: { kind: 'literal', label: nth > 0 ? `${where} (array ${nth + 1})` : where, text: c.text ?? '' } };
}

/**
 * The tensor of the focused notebook cell: undefined when no notebook cell is focused (the command goes on with
 * its other sources), null when the person dismissed the QuickPick. Throws, with a message for people, when the
 * cell holds no tensor or only refused ones (summarized output).
 */
export async function notebookCellSource(): Promise<CellSource | null | undefined> {
  const nb = focusedNotebook();
  if (!nb) return undefined;
  const cell = focusedCell(nb);
  if (!cell) throw new Error('select a notebook cell first: its outputs or its source hold the tensor');
  const all = cellCandidates(cellOf(cell));
  pickCandidate(all, cell.index); // throws the refusal or "holds no tensor" when nothing is usable
  const usable = all.filter((c) => c.tensor);
  /** The how-many-th usable candidate of the same output (a stream with several prints). */
  const nth = (c: TensorCandidate) => usable.filter((u) => u.output !== undefined && u.output === c.output && usable.indexOf(u) < usable.indexOf(c)).length;
  if (usable.length === 1) return sourceOf(nb, cell.index, usable[0], 0);
  const items = usable.map((c) => ({ label: c.label, description: c.kind === 'mime' ? 'NormScope payload' : c.kind === 'source' ? 'literal in the source' : c.kind === 'stream' ? 'printed' : 'result', c }));
  const pick = await vscode.window.showQuickPick(items, {
    title: `Cell ${cell.index} holds ${usable.length} tensors: which one?`,
    placeHolder: 'the tensor to normalize',
    matchOnDescription: true,
  });
  return pick ? sourceOf(nb, cell.index, pick.c, nth(pick.c)) : null;
}
