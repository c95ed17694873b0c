/**
 * `normscope stats nb.ipynb#cell=N[&output=K]`: which of the cell's candidates the tensor came from, and the
 * others (the engine's loadTensor already took the first usable one, see src/engine/formats/ipynb.ts).
 */
import * as fs from 'node:fs';
import { splitSelector } from '../engine/formats/input';
import { TensorCandidate, notebookSelector, readNotebookTensor } from '../engine/formats/ipynb';

/** One candidate as `--json` lists it: the selector that picks it, what it is, and its shape or refusal. */
export interface CandidateJson {
  readonly selector: string;
  readonly kind: TensorCandidate['kind'];
  readonly label: string;
  readonly shape?: readonly number[];
  readonly dtype?: string;
  readonly error?: string;
}

export interface NotebookSourceJson {
  /** The candidate the statistics are of. */
  readonly source: CandidateJson;
  /** The cell's other candidates, in order. */
  readonly others: readonly CandidateJson[];
}

function isFile(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

function toJson(cell: number, c: TensorCandidate): CandidateJson {
  return {
    selector: c.output !== undefined ? notebookSelector(cell, c.output) : notebookSelector(cell),
    kind: c.kind,
    label: c.label,
    ...(c.shape ? { shape: c.shape, dtype: c.dtype } : {}),
    ...(c.error ? { error: c.error.message } : {}),
  };
}

/** For an .ipynb INPUT (already read successfully), where its tensor came from; undefined for other files. */
export function notebookSource(spec: string): NotebookSourceJson | undefined {
  const { path, selector } = splitSelector(spec, isFile);
  if (!/\.ipynb$/i.test(path)) return undefined;
  const pick = readNotebookTensor(fs.readFileSync(path, 'utf8'), selector);
  return {
    source: toJson(pick.cell, pick.chosen),
    others: pick.candidates.filter((c) => c !== pick.chosen).map((c) => toJson(pick.cell, c)),
  };
}
