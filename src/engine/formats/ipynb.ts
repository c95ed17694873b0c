/**
 * Tensors in Jupyter notebooks (.ipynb, nbformat 4), for the CLI (`nb.ipynb#cell=N&output=K`) and for
 * "Normalize tensor" on a notebook cell (the extension passes the live cells in the same model).
 *
 * A cell's candidates, in this order:
 *   1. outputs of our MIME type application/vnd.normscope.tensor+json (payload.ts);
 *   2. `text/plain` results that are a numpy or torch repr (`array([...], dtype=float32)`, `tensor([...])`);
 *   3. stream (print) outputs holding a printed array (`[[0. 1.]\n [2. 3.]]`, or a repr);
 *   4. only when the outputs give none: tensor literals in the cell's source.
 * Within a kind, outputs keep their order. Output text summarized with `...` has lost its values: such a
 * candidate is kept as a refusal whose message says how to get the full data.
 * Pure: takes text, returns data.
 */
import { DType } from '../dtype';
import { NormScopeError } from '../errors';
import { NormParams } from '../params';
import { Tensor } from '../tensor';
import { jsonSyntaxError } from './json';
import { LiteralResult, LiteralSpan, SUMMARIZED_MESSAGE, findLiteralAt, isIndexBracket, parseLiteral } from './literal';
import { TENSOR_MIME, decodePayload, decodePayloadText } from './payload';
import { clip } from './shown';

/** VS Code's MIME types for stream outputs (the extension's live cells use them; .ipynb streams map to them). */
export const STDOUT_MIME = 'application/vnd.code.notebook.stdout';
export const STDERR_MIME = 'application/vnd.code.notebook.stderr';

/** One representation of one output: text for text MIME types, the parsed JSON (or its text) for JSON ones. */
export interface NotebookOutputItem {
  readonly mime: string;
  readonly value: unknown;
}

/** One output of a cell: the same result in one or more MIME types. */
export interface NotebookOutput {
  readonly items: readonly NotebookOutputItem[];
}

export interface NotebookCell {
  readonly kind: 'code' | 'markdown' | 'raw';
  readonly source: string;
  readonly outputs: readonly NotebookOutput[];
}

export type CandidateKind = 'mime' | 'repr' | 'stream' | 'source';

/** One tensor a cell offers (or a refusal: `error` set, no `tensor`). */
export interface TensorCandidate {
  readonly kind: CandidateKind;
  /** The output's index in the cell (0-based over all its outputs); absent for source literals. */
  readonly output?: number;
  /** For source literals: the 0-based line of the literal's start. */
  readonly line?: number;
  /** Short description, e.g. `output 0: NormScope payload "x"` or `output 1: numpy repr (text/plain)`. */
  readonly label: string;
  readonly tensor?: Tensor;
  readonly shape?: readonly number[];
  readonly dtype?: DType;
  /** For payloads: their name and normalization. */
  readonly name?: string;
  readonly norm?: NormParams;
  /** For text candidates: the literal's text. */
  readonly text?: string;
  readonly error?: NormScopeError;
}

/** How a `#cell=N&output=K` selector reads. */
export interface NotebookSelector {
  readonly cell: number;
  readonly output?: number;
}

/** What readNotebookTensor picked and what else the cell offered. */
export interface NotebookPick {
  readonly cell: number;
  readonly chosen: TensorCandidate & { readonly tensor: Tensor };
  /** Every candidate considered (the chosen one included), in order. */
  readonly candidates: readonly TensorCandidate[];
}

/** Most candidates looked for in one text (a stream with many prints, a long source). */
const MAX_FOUND = 32;
/** Most `[` positions tried in one text: keeps a large non-tensor text linear. */
const MAX_TRIES = 4096;

// ---- reading .ipynb ------------------------------------------------------------------------------------------

/** JSON.parse, also reading the bare NaN / Infinity / -Infinity that Python's json module writes. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    const fixed = quoteNonFinite(text);
    if (fixed !== text) {
      try {
        return JSON.parse(fixed);
      } catch { /* report the first error */ }
    }
    // JSON.parse's message quotes the text around the error, line breaks included, and often says no position
    const found = jsonSyntaxError(text);
    if (found) throw new NormScopeError(`not a notebook: invalid JSON (${found.message.replace(/^invalid JSON: /, '')})`, found.where);
    throw new NormScopeError(`not a notebook: invalid JSON (${oneLine(first)})`);
  }
}

/** An error's message on one line. */
function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
}

/** Replaces NaN, Infinity, -Infinity tokens outside strings by the strings "nan", "inf", "-inf". */
function quoteNonFinite(s: string): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      for (i++; i < s.length && s[i] !== '"'; i++) if (s[i] === '\\') i++;
    } else if (c === 'N' && s.startsWith('NaN', i)) {
      out += s.slice(run, i) + '"nan"';
      i += 2;
      run = i + 1;
    } else if (c === 'I' && s.startsWith('Infinity', i)) {
      const neg = s[i - 1] === '-';
      out += s.slice(run, neg ? i - 1 : i) + (neg ? '"-inf"' : '"inf"');
      i += 7;
      run = i + 1;
    }
  }
  return run === 0 ? s : out + s.slice(run);
}

function multiline(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join('');
  return '';
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The cells of an .ipynb (nbformat 4) in file order. */
export function parseNotebook(text: string): NotebookCell[] {
  const nb = parseJson(text);
  if (!isObj(nb)) throw new NormScopeError('not a notebook: the JSON is not an object');
  if (Array.isArray(nb.worksheets)) {
    throw new NormScopeError('nbformat 3 notebooks are not supported: open and save it in Jupyter to convert it to nbformat 4');
  }
  if (!Array.isArray(nb.cells)) throw new NormScopeError('not a notebook: no "cells" list');
  return nb.cells.map((c: unknown, i: number): NotebookCell => {
    if (!isObj(c)) throw new NormScopeError(`not a notebook: cell ${i} is not an object`);
    const kind = c.cell_type === 'markdown' || c.cell_type === 'raw' ? c.cell_type : 'code';
    const outputs = Array.isArray(c.outputs) ? c.outputs.map(outputOf) : [];
    return { kind, source: multiline(c.source), outputs };
  });
}

function outputOf(o: unknown): NotebookOutput {
  if (!isObj(o)) return { items: [] };
  switch (o.output_type) {
    case 'stream':
      return { items: [{ mime: o.name === 'stderr' ? STDERR_MIME : STDOUT_MIME, value: multiline(o.text) }] };
    case 'execute_result': case 'display_data': case 'update_display_data': {
      if (!isObj(o.data)) return { items: [] };
      const data = o.data;
      return { items: Object.keys(data).map((mime) => ({ mime, value: typeof data[mime] === 'object' && !Array.isArray(data[mime]) ? data[mime] : multiline(data[mime]) })) };
    }
    default:
      return { items: [] }; // error outputs and unknown kinds hold no tensor
  }
}

// ---- selectors ---------------------------------------------------------------------------------------------

/** Parses `cell=N` or `cell=N&output=K` (0-based). */
export function parseNotebookSelector(sel: string): NotebookSelector {
  const m = /^cell=(\d{1,9})(?:&output=(\d{1,9}))?$/.exec(sel.trim());
  if (!m) throw new NormScopeError(`notebook selector must be cell=N or cell=N&output=K (0-based indexes), got "${clip(sel)}"`);
  return m[2] === undefined ? { cell: Number(m[1]) } : { cell: Number(m[1]), output: Number(m[2]) };
}

/** The selector string for a cell and optionally an output. */
export function notebookSelector(cell: number, output?: number): string {
  return output === undefined ? `cell=${cell}` : `cell=${cell}&output=${output}`;
}

// ---- candidates --------------------------------------------------------------------------------------------

function describe(t: Tensor): string {
  return `[${t.shape.join(', ')}] ${t.dtype}`;
}

/** A refusal of summarized output, with no text offset (the place is said by the caller's label). */
function refusalOf(e: unknown): NormScopeError | undefined {
  if (!(e instanceof NormScopeError)) return undefined;
  if (e.message.startsWith(SUMMARIZED_MESSAGE)) return new NormScopeError(SUMMARIZED_MESSAGE);
  return undefined;
}

function fromLiteral(kind: CandidateKind, label: string, lit: LiteralResult, text: string, at: { output?: number; line?: number }): TensorCandidate {
  const t = lit.tensor;
  return { kind, ...at, label: `${label}: ${describe(t)}`, tensor: t, shape: t.shape, dtype: t.dtype, text };
}

/** Every tensor literal in `text` (outermost, in order), as findLiteralAt sees them; refusals included. */
export function findLiterals(text: string, language?: string): LiteralSpan[] {
  const found: LiteralSpan[] = [];
  let tries = 0;
  for (let i = text.indexOf('['); i !== -1 && i + 1 < text.length && found.length < MAX_FOUND && tries < MAX_TRIES; i = text.indexOf('[', i + 1)) {
    if (isIndexBracket(text, i)) continue; // x[0] starts no literal: not worth a try, each of which reads the text before it
    tries++;
    const span = findLiteralAt(text, i + 1, { language });
    if (span && span.start <= i && span.end > i) {
      found.push(span);
      i = span.end - 1;
    }
  }
  return found;
}

function lineOf(text: string, offset: number): number {
  let line = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

const REPR_NAMES: Partial<Record<LiteralResult['constructor'], string>> = {
  'numpy-repr': 'numpy repr', 'torch-repr': 'torch repr', list: 'list',
};

/** A text/plain result as a candidate: the whole text as a repr, else the reprs inside it (a tuple of arrays). */
function textPlainCandidates(text: string, output: number): TensorCandidate[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('(')) return textSpans(text, output, 'repr', (c) => c === 'numpy-repr' || c === 'torch-repr');
  try {
    const lit = parseLiteral(text);
    const name = REPR_NAMES[lit.constructor];
    if (name && (lit.constructor !== 'list' || lit.tensor.shape.length >= 1)) {
      return [fromLiteral('repr', `output ${output}: ${name} (text/plain)`, lit, text, { output })];
    }
    return [];
  } catch (e) {
    const refused = refusalOf(e);
    if (refused) return [{ kind: 'repr', output, label: `output ${output}: summarized numpy/torch repr (text/plain)`, error: refused, text }];
    return textSpans(text, output, 'repr', (c) => c === 'numpy-repr' || c === 'torch-repr');
  }
}

/** Candidates for the literals inside an output's text. */
function textSpans(text: string, output: number, kind: 'repr' | 'stream', keep: (c: LiteralResult['constructor']) => boolean, what = 'repr (text/plain)'): TensorCandidate[] {
  const out: TensorCandidate[] = [];
  for (const span of findLiterals(text)) {
    if (span.error) {
      const refused = refusalOf(span.error);
      if (refused) out.push({ kind, output, label: `output ${output}: summarized printed array`, error: refused, text: span.text });
      continue;
    }
    const lit = span.literal!;
    if (!keep(lit.constructor)) continue;
    out.push(fromLiteral(kind, `output ${output}: ${what}`, lit, span.text, { output }));
  }
  return out;
}

function payloadCandidate(value: unknown, output: number): TensorCandidate {
  try {
    const p = typeof value === 'string' ? decodePayloadText(value) : decodePayload(value);
    const named = p.name ? ` "${p.name}"` : '';
    const op = p.norm ? ` with ${p.norm.op} norm` : '';
    return {
      kind: 'mime', output, label: `output ${output}: NormScope payload${named}${op}: ${describe(p.tensor)}`,
      tensor: p.tensor, shape: p.tensor.shape, dtype: p.tensor.dtype, ...(p.name ? { name: p.name } : {}), ...(p.norm ? { norm: p.norm } : {}),
    };
  } catch (e) {
    if (e instanceof NormScopeError) return { kind: 'mime', output, label: `output ${output}: invalid NormScope payload`, error: e };
    throw e;
  }
}

/**
 * The tensors a cell offers, in the order of the module comment. `output` restricts them to that output
 * (source literals are then not considered).
 */
export function cellCandidates(cell: NotebookCell, output?: number): TensorCandidate[] {
  const mime: TensorCandidate[] = [];
  const repr: TensorCandidate[] = [];
  const stream: TensorCandidate[] = [];
  cell.outputs.forEach((o, k) => {
    if (output !== undefined && k !== output) return;
    const ours = o.items.find((it) => it.mime === TENSOR_MIME);
    if (ours) { mime.push(payloadCandidate(ours.value, k)); return; }
    for (const it of o.items) {
      if (typeof it.value !== 'string') continue;
      if (it.mime === 'text/plain') repr.push(...textPlainCandidates(it.value, k));
      else if (it.mime === STDOUT_MIME || it.mime === STDERR_MIME) {
        stream.push(...textSpans(it.value, k, 'stream', () => true, `printed (${it.mime === STDERR_MIME ? 'stderr' : 'stdout'})`));
      }
    }
  });
  const fromOutputs = [...mime, ...repr, ...stream];
  if (output !== undefined || fromOutputs.some((c) => c.tensor)) return fromOutputs;
  const source: TensorCandidate[] = [];
  const language = cell.kind === 'code' ? 'python' : undefined;
  for (const span of findLiterals(cell.source, language)) {
    const line = lineOf(cell.source, span.start);
    if (span.error) {
      source.push({ kind: 'source', line, label: `source line ${line + 1}: refused`, error: new NormScopeError(span.error.message.replace(/ \(offset \d+ \(line \d+, column \d+\)\)$/, '')), text: span.text });
    } else {
      const lit = span.literal!;
      source.push(fromLiteral('source', `source line ${line + 1}: ${lit.constructor}`, lit, span.text, { line }));
    }
  }
  return [...fromOutputs, ...source];
}

/** The first usable candidate; throws the first refusal when there is none, or says what was looked for. */
export function pickCandidate(candidates: readonly TensorCandidate[], cell: number): TensorCandidate & { readonly tensor: Tensor } {
  const ok = candidates.find((c) => c.tensor);
  if (ok) return ok as TensorCandidate & { tensor: Tensor };
  const refused = candidates.find((c) => c.error);
  if (refused) {
    const at = refused.output !== undefined ? ` output ${refused.output}` : refused.line !== undefined ? ` source line ${refused.line + 1}` : '';
    throw new NormScopeError(`cell ${cell}${at}: ${refused.error!.message}`);
  }
  throw new NormScopeError(`cell ${cell} holds no tensor: no ${TENSOR_MIME} output, no numpy/torch repr, no printed array and no literal in its source`);
}

/**
 * The tensor `selector` names in a notebook's text (`cell=N` or `cell=N&output=K`). Without a selector, a
 * notebook with one tensor-holding cell gives that cell; otherwise the error lists the cells that hold some.
 */
export function readNotebookTensor(text: string, selector?: string): NotebookPick {
  return pickFromCells(parseNotebook(text), selector);
}

/** readNotebookTensor over cells already parsed (or the live cells of an open notebook). */
export function pickFromCells(cells: readonly NotebookCell[], selector?: string): NotebookPick {
  if (selector === undefined || selector === '') {
    const holding = cells.map((c, i) => (cellCandidates(c).some((k) => k.tensor) ? i : -1)).filter((i) => i >= 0);
    if (holding.length === 1) return pickFromCells(cells, notebookSelector(holding[0]));
    const which = holding.length ? `cells with tensors: ${holding.slice(0, 20).join(', ')}${holding.length > 20 ? ', ...' : ''}` : 'no cell holds a tensor';
    throw new NormScopeError(`a notebook holds many cells: pick one with FILE#cell=N or FILE#cell=N&output=K (0-based; ${which})`);
  }
  const sel = parseNotebookSelector(selector);
  if (sel.cell >= cells.length) {
    throw new NormScopeError(`no cell ${sel.cell}: the notebook has ${cells.length} cell${cells.length === 1 ? '' : 's'}${cells.length ? ` (0-${cells.length - 1})` : ''}`);
  }
  const cell = cells[sel.cell];
  if (sel.output !== undefined && sel.output >= cell.outputs.length) {
    const n = cell.outputs.length;
    throw new NormScopeError(`no output ${sel.output} in cell ${sel.cell}: it has ${n} output${n === 1 ? '' : 's'}${n ? ` (0-${n - 1})` : ''}`);
  }
  const candidates = cellCandidates(cell, sel.output);
  if (sel.output !== undefined && candidates.length === 0) {
    throw new NormScopeError(`cell ${sel.cell} output ${sel.output} holds no tensor: not a ${TENSOR_MIME} payload, a numpy/torch repr or a printed array`);
  }
  return { cell: sel.cell, chosen: pickCandidate(candidates, sel.cell), candidates };
}
