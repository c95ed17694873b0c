/**
 * The "Normalize tensor" command (normscope.normalizeTensor). The tensor comes from, in this order:
 *   1. the argument: a Uri, or {uri, selector?, op?, params?} (keybindings, menus, other extensions);
 *   2. the selection in the active text editor (a tensor literal);
 *   3. the active .json document (a QuickPick of JSON Pointers when it holds several tensors; .npz and
 *      .safetensors files get the same pick of their members);
 *   4. a focused notebook cell: its outputs, else a literal in its source (notebookSource.ts);
 *   5. the active .npy file (its custom editor tab, or a text tab);
 *   6. a file picker filtered to the supported files.
 * Files are read with vscode.workspace.fs, so remote and virtual workspaces work too.
 */
import * as vscode from 'vscode';
import { parsePanelParams, PanelParams, SourceRef } from '../protocol/messages';
import { isFocusedEditor, notebookCellSource } from './notebookSource';
import { NormPanel, openPanel, PanelHost } from './panel';

export const NORMALIZE_COMMAND = 'normscope.normalizeTensor';

/** The command's argument when called with an object. */
export interface NormalizeArgs {
  readonly uri: vscode.Uri | string;
  /** A JSON Pointer into a .json file, or a member name of an .npz/.safetensors file. */
  readonly selector?: string;
  readonly op?: PanelParams['op'];
  /**
   * Parameters in the engine's vocabulary (PanelParams); tensor-valued ones by file reference, e.g.
   * `{op: 'batch', mode: 'eval', sources: {running_mean: {uri, selector: 'bn1.running_mean'}}}`.
   */
  readonly params?: Partial<PanelParams>;
  /** A tensor literal in the document at `uri` (the hover's link): its text, or only its range when large. */
  readonly text?: string;
  readonly range?: { readonly start: { line: number; character: number }; readonly end: { line: number; character: number } };
}

/** A command argument that is not usable; shown as one notification. */
class ArgumentError extends Error {}

function toUri(u: unknown): vscode.Uri {
  if (u instanceof vscode.Uri) return u;
  if (typeof u === 'string' && u !== '') return /^[a-z][a-z0-9+.-]+:/i.test(u) ? vscode.Uri.parse(u) : vscode.Uri.file(u);
  // A Uri that crossed an extension boundary arrives as its JSON form.
  if (typeof u === 'object' && u !== null && 'scheme' in u && 'path' in u) return vscode.Uri.from(u as { scheme: string; path: string });
  throw new ArgumentError(`expected a file URI, got ${JSON.stringify(u)}`);
}

/** Reads the command's argument, or undefined when there is none. */
export function sourceFromArgument(arg: unknown): { source: SourceRef; params?: Partial<PanelParams> } | undefined {
  if (arg === undefined || arg === null) return undefined;
  if (arg instanceof vscode.Uri || typeof arg === 'string') return { source: { kind: 'file', uri: toUri(arg).toString() } };
  if (typeof arg !== 'object') throw new ArgumentError(`expected a URI or {uri, selector?, op?, params?}, got ${JSON.stringify(arg)}`);
  const a = arg as Partial<NormalizeArgs> & { scheme?: unknown };
  if (a.uri === undefined && 'scheme' in a) return { source: { kind: 'file', uri: toUri(a).toString() } };
  const uri = toUri(a.uri).toString();
  const literal = literalFromArgument(a, uri);
  if (a.selector !== undefined && typeof a.selector !== 'string') throw new ArgumentError('selector must be a string (a JSON Pointer)');
  let params: Partial<PanelParams> | undefined;
  if (a.params !== undefined || a.op !== undefined) {
    const raw = { ...(a.params ?? {}), ...(a.op !== undefined ? { op: a.op } : {}) } as Record<string, unknown>;
    if (raw.op !== undefined) {
      params = parsePanelParams(raw);
    } else {
      // No op: the panel picks it by rank; the rest is still checked (with a stand-in op, dropped again).
      const { op: _standIn, ...rest } = parsePanelParams({ ...raw, op: 'layer' });
      params = rest;
    }
  }
  if (literal) return { source: literal, params };
  return { source: a.selector !== undefined ? { kind: 'file', uri, selector: a.selector } : { kind: 'file', uri }, params };
}

/** A literal passed by text, or by range into an open document (the hover's "Normalize tensor" link). */
function literalFromArgument(a: Partial<NormalizeArgs>, uri: string): SourceRef | undefined {
  if (a.text === undefined && a.range === undefined) return undefined;
  const name = uri.slice(uri.lastIndexOf('/') + 1);
  const line = a.range ? ` (line ${a.range.start.line + 1})` : '';
  if (typeof a.text === 'string') return { kind: 'literal', label: `literal in ${decodeURIComponent(name)}${line}`, text: a.text };
  const r = a.range;
  if (!r || typeof r.start?.line !== 'number' || typeof r.end?.line !== 'number') throw new ArgumentError('range must be {start: {line, character}, end: {line, character}}');
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
  if (!doc) throw new ArgumentError(`${decodeURIComponent(name)} is not open, so the range cannot be read; pass the literal's text`);
  const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
  return { kind: 'literal', label: `literal in ${decodeURIComponent(name)}${line}`, text: doc.getText(range) };
}

const SUPPORTED = ['npy', 'json', 'npz', 'safetensors'];

function isJsonDocument(doc: vscode.TextDocument): boolean {
  return doc.languageId === 'json' || doc.languageId === 'jsonc' || /\.json$/i.test(doc.uri.path);
}

/** The active .npy file: a custom-editor tab (ours) or any tab whose resource ends in .npy. */
function activeNpy(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) {
    if (/\.npy$/i.test(input.uri.path)) return input.uri;
  }
  return undefined;
}

/** Steps 2-6 of the source order. */
async function sourceFromWorkbench(): Promise<{ source: SourceRef; bytes?: Uint8Array; params?: Partial<PanelParams> } | undefined> {
  const editor = vscode.window.activeTextEditor;
  const npy = activeNpy();
  if (editor && !npy) {
    const sel = editor.selection;
    if (!sel.isEmpty && isFocusedEditor(editor)) { // in a notebook: the focused cell's selection only
      const text = editor.document.getText(sel);
      const name = editor.document.uri.path.slice(editor.document.uri.path.lastIndexOf('/') + 1);
      return { source: { kind: 'literal', label: `selection in ${name} (line ${sel.start.line + 1})`, text } };
    }
    if (isJsonDocument(editor.document)) {
      // The document's text, so unsaved edits count; the source stays the file for a later reload.
      return { source: { kind: 'file', uri: editor.document.uri.toString() }, bytes: new TextEncoder().encode(editor.document.getText()) };
    }
  }
  const cell = await notebookCellSource(); // a focused notebook cell: its outputs, else its source (QuickPick when several)
  if (cell !== undefined) return cell ?? undefined;
  if (npy) return { source: { kind: 'file', uri: npy.toString() } };
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Normalize',
    title: 'Normalize tensor: pick a tensor file (.npy, .json, .npz, .safetensors)',
    filters: { Tensors: SUPPORTED },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0] ? { source: { kind: 'file', uri: picked[0].toString() } } : undefined;
}

/** Runs the command; resolves with the panel it opened (undefined when the user backed out). */
export async function normalizeTensor(host: PanelHost, arg?: unknown): Promise<NormPanel | undefined> {
  try {
    const fromArg = sourceFromArgument(arg);
    if (fromArg) return openPanel(fromArg.source, host, { params: fromArg.params });
    const found = await sourceFromWorkbench();
    return found ? openPanel(found.source, host, { bytes: found.bytes, params: found.params }) : undefined;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!(e instanceof ArgumentError)) host.log.error(e instanceof Error ? e : message);
    void vscode.window.showErrorMessage(`NormScope: ${message}`);
    return undefined;
  }
}

/** Registers normscope.normalizeTensor. */
export function registerNormalizeCommand(host: PanelHost): vscode.Disposable {
  // Explorer and editor-title menus pass (uri, selectedUris); the first is the one clicked.
  return vscode.commands.registerCommand(NORMALIZE_COMMAND, (arg?: unknown) => normalizeTensor(host, arg));
}
