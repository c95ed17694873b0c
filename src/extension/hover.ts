/**
 * Hovers over tensor literals in code: shape, dtype and statistics of the literal under the mouse, with links
 * "Normalize tensor" (normscope.normalizeTensor) and "Copy stats" (normscope.copyStats, registered here).
 * Settings: normscope.hover.enabled, .languages, .maxChars, .minElements. The Markdown comes from the pure
 * engine module hoverSummary; this file only reads a bounded window of the document, respects cancellation,
 * caches per document version and builds the command links.
 */
import * as vscode from 'vscode';
import { DEFAULT_MAX_SCAN } from '../engine/formats/literal';
import { HOVER_DEFAULTS, HoverFinding, LiteralStats, hoverAt, hoverMarkdown } from '../engine/hoverSummary';

export const COPY_STATS_COMMAND = 'normscope.copyStats';
/** Registered by normalizeCommand.ts; the hover links to it with {uri, range, text?}. */
const NORMALIZE_COMMAND = 'normscope.normalizeTensor';

/** Defaults of package.json's normscope.hover.languages (notebook cells are python documents). */
export const DEFAULT_HOVER_LANGUAGES = ['python', 'javascript', 'typescript', 'json', 'jsonc', 'markdown'];

interface HoverSettings {
  readonly enabled: boolean;
  readonly languages: readonly string[];
  readonly maxChars: number;
  readonly minElements: number;
}

function readHoverSettings(scope?: vscode.ConfigurationScope): HoverSettings {
  const c = vscode.workspace.getConfiguration('normscope.hover', scope);
  const languages = c.get<unknown>('languages');
  const maxChars = c.get<number>('maxChars', HOVER_DEFAULTS.maxChars);
  const minElements = c.get<number>('minElements', HOVER_DEFAULTS.minElements);
  return {
    enabled: c.get<boolean>('enabled', true) !== false,
    languages: Array.isArray(languages) ? languages.filter((l): l is string => typeof l === 'string') : DEFAULT_HOVER_LANGUAGES,
    maxChars: Number.isSafeInteger(maxChars) && maxChars > 0 ? maxChars : HOVER_DEFAULTS.maxChars,
    minElements: Number.isSafeInteger(minElements) && minElements >= 1 ? minElements : HOVER_DEFAULTS.minElements,
  };
}

/** The hover argument of normscope.copyStats. */
interface CopyStatsArgs {
  readonly stats: LiteralStats;
}

/** Registers the hover provider for normscope.hover.languages (again when that changes) and normscope.copyStats. */
export function registerHover(): vscode.Disposable {
  const provider = new LiteralHoverProvider();
  let registration: vscode.Disposable | undefined;
  const register = () => {
    registration?.dispose();
    const selector = readHoverSettings().languages.map((language) => ({ language }));
    registration = vscode.languages.registerHoverProvider(selector, provider);
  };
  register();
  const watch = vscode.workspace.onDidChangeConfiguration((e) => {
    if (!e.affectsConfiguration('normscope.hover')) return;
    provider.clearCache();
    if (e.affectsConfiguration('normscope.hover.languages')) register();
  });
  const copy = vscode.commands.registerCommand(COPY_STATS_COMMAND, (arg?: unknown) => copyStats(arg));
  return new vscode.Disposable(() => {
    registration?.dispose();
    watch.dispose();
    copy.dispose();
  });
}

/** A finding in document offsets, for the document version it was computed on. */
interface Cached {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly finding: HoverFinding;
}

const CACHE_SIZE = 16;

class LiteralHoverProvider implements vscode.HoverProvider {
  private cache: Cached[] = [];

  clearCache(): void {
    this.cache = [];
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const settings = readHoverSettings(document);
    if (!settings.enabled) return undefined;
    // Hovers are asked for on demand; let a request the mouse has already left be cancelled before any work.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (token.isCancellationRequested) return undefined;

    const offset = document.offsetAt(position);
    const key = `${document.uri.toString()}@${document.version}:${document.languageId}`;
    let hit = this.cache.find((c) => c.key === key && c.start <= offset && offset < c.end);
    if (hit === undefined) {
      const found = findingAt(document, offset, settings);
      if (found === undefined) return undefined;
      hit = { key, ...found };
      this.cache = [hit, ...this.cache.filter((c) => c.key === key)].slice(0, CACHE_SIZE);
    }
    if (token.isCancellationRequested) return undefined;

    const range = new vscode.Range(document.positionAt(hit.start), document.positionAt(hit.end));
    const markdown = new vscode.MarkdownString(hoverMarkdown(hit.finding, links(document, hit.finding, range)), true);
    markdown.isTrusted = { enabledCommands: [NORMALIZE_COMMAND, COPY_STATS_COMMAND] };
    return new vscode.Hover(markdown, range);
  }
}

/** The finding at `offset`, in document offsets. Reads only a window of the document: the finder looks no further. */
function findingAt(document: vscode.TextDocument, offset: number, settings: HoverSettings): Omit<Cached, 'key'> | undefined {
  const maxScan = Math.max(DEFAULT_MAX_SCAN, 2 * settings.maxChars);
  const base = Math.max(0, offset - maxScan - 1);
  const text = document.getText(new vscode.Range(document.positionAt(base), document.positionAt(offset + maxScan + 1)));
  const finding = hoverAt(text, offset - base, {
    language: document.languageId,
    maxChars: settings.maxChars,
    minElements: settings.minElements,
    maxScan,
  });
  return finding === undefined ? undefined : { start: base + finding.start, end: base + finding.end, finding };
}

/** A command link target; parentheses are encoded too, so a literal's text cannot end the Markdown link early. */
function commandUri(command: string, arg: unknown): string {
  const query = encodeURIComponent(JSON.stringify([arg])).replace(/\(/g, '%28').replace(/\)/g, '%29');
  return `command:${command}?${query}`;
}

/**
 * Longest literal text carried in the Normalize tensor link. The link travels with the hover from the extension
 * host to the workbench and back: a 1 MB literal in it costs ~1 s per hover there, so longer ones pass only
 * their range and the command reads the text from the document.
 */
const LINK_TEXT_LIMIT = 64 * 1024;

/** "Normalize tensor" gets the literal ({uri, range, text?}); "Copy stats" gets the statistics themselves. */
function links(document: vscode.TextDocument, f: HoverFinding, range: vscode.Range): { normalize?: string; copyStats?: string } {
  if (f.kind === 'ragged' || f.kind === 'unreadable') return {};
  const length = document.offsetAt(range.end) - document.offsetAt(range.start);
  const literal = {
    uri: document.uri.toString(),
    range: { start: { line: range.start.line, character: range.start.character }, end: { line: range.end.line, character: range.end.character } },
    ...(length <= LINK_TEXT_LIMIT ? { text: f.kind === 'stats' ? f.text : document.getText(range) } : {}),
  };
  const copyArgs: CopyStatsArgs | undefined = f.kind === 'stats' ? { stats: f.stats } : undefined;
  return {
    normalize: commandUri(NORMALIZE_COMMAND, literal),
    copyStats: copyArgs ? commandUri(COPY_STATS_COMMAND, copyArgs) : undefined,
  };
}

/**
 * normscope.copyStats: copies the statistics JSON to the clipboard and resolves with it. From a hover link the
 * argument holds the statistics; from the palette, the literal at the cursor of the active editor is used.
 */
async function copyStats(arg?: unknown): Promise<string | undefined> {
  let stats: LiteralStats | undefined;
  if (typeof arg === 'object' && arg !== null && typeof (arg as Partial<CopyStatsArgs>).stats === 'object') {
    stats = (arg as CopyStatsArgs).stats;
  } else {
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      const found = findingAt(editor.document, editor.document.offsetAt(editor.selection.active), readHoverSettings(editor.document));
      if (found?.finding.kind === 'stats') stats = found.finding.stats;
    }
  }
  if (stats === undefined) {
    void vscode.window.showInformationMessage('NormScope: put the cursor in a tensor literal to copy its statistics.');
    return undefined;
  }
  const json = JSON.stringify(stats, null, 2);
  await vscode.env.clipboard.writeText(json);
  vscode.window.setStatusBarMessage('$(check) NormScope: statistics copied', 3000);
  return json;
}
