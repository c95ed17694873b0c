/**
 * The cells of an open notebook in the engine's model (src/engine/formats/ipynb.ts), and back to .ipynb bytes,
 * so the panel loads a cell's tensor through the same loadTensor(`nb.ipynb`, bytes, `cell=N&output=K`) path the
 * CLI uses - with the notebook's live state (unsaved edits, fresh outputs) rather than the file on disk.
 */
import * as vscode from 'vscode';
import { NotebookCell, NotebookOutput, STDERR_MIME, STDOUT_MIME } from '../engine/formats/ipynb';
import { TENSOR_MIME } from '../engine/formats/payload';

/** The output MIME types that can hold a tensor; other items (images, HTML) are left out. */
const WANTED = new Set([TENSOR_MIME, 'text/plain', STDOUT_MIME, STDERR_MIME]);
const decoder = new TextDecoder();

function outputOf(o: vscode.NotebookCellOutput): NotebookOutput {
  const items = o.items.filter((it) => WANTED.has(it.mime)).map((it) => {
    const text = decoder.decode(it.data);
    if (it.mime !== TENSOR_MIME) return { mime: it.mime, value: text };
    try {
      return { mime: it.mime, value: JSON.parse(text) as unknown };
    } catch {
      return { mime: it.mime, value: text }; // decodePayloadText reports it
    }
  });
  return { items };
}

/** One live cell in the engine's model. */
export function cellOf(cell: vscode.NotebookCell): NotebookCell {
  const kind = cell.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code';
  return { kind, source: cell.document.getText(), outputs: cell.outputs.map(outputOf) };
}

/** All cells of an open notebook, in order. */
export function liveCells(doc: vscode.NotebookDocument): NotebookCell[] {
  return doc.getCells().map(cellOf);
}

/** nbformat 4 bytes holding `cells` (only what tensors need: sources and the wanted outputs). */
export function cellsToIpynb(cells: readonly NotebookCell[]): Uint8Array {
  const nb = {
    cells: cells.map((c) => ({
      cell_type: c.kind,
      metadata: {},
      source: c.source,
      ...(c.kind === 'code' ? {
        execution_count: null,
        outputs: c.outputs.map((o) => {
          const stream = o.items.find((it) => it.mime === STDOUT_MIME || it.mime === STDERR_MIME);
          if (stream) return { output_type: 'stream', name: stream.mime === STDERR_MIME ? 'stderr' : 'stdout', text: stream.value };
          return { output_type: 'display_data', metadata: {}, data: Object.fromEntries(o.items.map((it) => [it.mime, it.value])) };
        }),
      } : {}),
    })),
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  };
  return new TextEncoder().encode(JSON.stringify(nb));
}

/** The cell and output index of the output whose id the renderer reported (VS Code gives outputs an id). */
export function findOutput(doc: vscode.NotebookDocument, outputId: string): { cell: number; output: number } | undefined {
  for (const cell of doc.getCells()) {
    const k = cell.outputs.findIndex((o) => (o as vscode.NotebookCellOutput & { id?: string }).id === outputId);
    if (k >= 0) return { cell: cell.index, output: k };
  }
  return undefined;
}
