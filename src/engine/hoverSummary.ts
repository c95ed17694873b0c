/**
 * What a hover over a tensor literal in code shows, pure (no vscode): find the literal around an offset
 * (formats/literal's findLiteralAt), take its statistics (analyze's tensorStats) and render them as Markdown.
 * The host only supplies the command URIs of the two links and wraps the string in a MarkdownString.
 *
 * Quiet by default: anything findLiteralAt does not take (strings, comprehensions, index expressions, single
 * numbers, short plain arrays in JS/TS/JSON) gives no finding. Three findings are not statistics: a literal
 * longer than maxChars ('too-large'), a ragged list ('ragged', naming the first ragged row) and a tensor the
 * parser refuses to show, such as summarized "..." output ('unreadable'). Markdown documents are read only inside
 * fenced code blocks, in the fence's language; in Python, numpy/torch output inside a docstring counts too.
 */
import { tensorStats } from './analyze';
import { DType } from './dtype';
import { NormScopeError } from './errors';
import {
  DEFAULT_MAX_SCAN, LiteralConstructor, LiteralResult, SUMMARIZED_MESSAGE, findLiteralAt, isNoisyLanguage, isPlausibleTensor,
  parseLiteral,
} from './formats/literal';
import { cStrides, numel } from './tensor';

/** Defaults of the normscope.hover.* settings. */
export const HOVER_DEFAULTS = { maxChars: 200_000, minElements: 4 } as const;
/** Bars in the histogram sparkline. */
export const SPARK_BINS = 16;
/** Channels listed by name in the hover (the copied stats hold up to MAX_COPIED_CHANNELS). */
export const SHOWN_CHANNELS = 8;
export const MAX_COPIED_CHANNELS = 256;

const SPARKS = '▁▂▃▄▅▆▇█';

/** Options of hoverAt: the document's language and the hover settings. */
export interface HoverOptions {
  /** VS Code language id of the document (markdown: only fenced code blocks are looked at). */
  readonly language?: string;
  /** Longest literal summarized, in characters (normscope.hover.maxChars). */
  readonly maxChars?: number;
  /** The noisy-language rule: a plain JS/TS/JSON list needs >= 2 dims or this many elements (normscope.hover.minElements). */
  readonly minElements?: number;
  /** Characters looked at either side of the offset (default: 1 MiB, at least 2 x maxChars). */
  readonly maxScan?: number;
}

/** The statistics a hover shows, JSON-safe (null: no finite values); also what "Copy stats" copies. */
export interface LiteralStats {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** 'explicit' when the text names the dtype (dtype=..., a repr's suffix), 'inferred' as numpy/torch would. */
  readonly dtype_source: 'explicit' | 'inferred';
  /** The syntax that produced it: 'list', 'np.array', 'torch.tensor', 'numpy-repr', ... */
  readonly syntax: LiteralConstructor;
  readonly device?: string;
  readonly count: number;
  readonly mean: number | null;
  /** Population standard deviation (divides by n, as numpy's default and the norms do). */
  readonly std: number | null;
  readonly std_kind: 'population';
  readonly min: number | null;
  readonly max: number | null;
  readonly nan: number;
  readonly inf: number;
  /** SPARK_BINS equal-width bins from min to max over the finite values. */
  readonly histogram: { readonly edges: readonly number[]; readonly counts: readonly number[] };
  /** Rank >= 3: the mean of each channel (axis 1, as BatchNorm sees it), the first MAX_COPIED_CHANNELS of them. */
  readonly channel_means?: readonly (number | null)[];
  /** Rank >= 3: how many channels there are. */
  readonly channels?: number;
}

interface Span {
  /** Offsets of the literal in the text given to hoverAt (end exclusive). */
  readonly start: number;
  readonly end: number;
}

/** What a hover found at an offset. */
export type HoverFinding =
  | Span & { readonly kind: 'stats'; readonly text: string; readonly stats: LiteralStats }
  | Span & { readonly kind: 'too-large'; readonly chars: number; readonly maxChars: number }
  | Span & { readonly kind: 'ragged'; readonly text: string; readonly message: string }
  | Span & { readonly kind: 'unreadable'; readonly text: string; readonly message: string };

/** Command URIs for the hover's links (built by the host; omitted links are not shown). */
export interface HoverLinks {
  readonly normalize?: string;
  readonly copyStats?: string;
}

/**
 * The literal around `offset` in `text` and what to say about it, or undefined when a hover should stay quiet.
 * Bounded: looks at most maxScan characters either side and parses at most maxChars of them.
 */
export function hoverAt(text: string, offset: number, opts: HoverOptions = {}): HoverFinding | undefined {
  const maxChars = opts.maxChars ?? HOVER_DEFAULTS.maxChars;
  const maxScan = opts.maxScan ?? Math.max(DEFAULT_MAX_SCAN, 2 * maxChars);
  const minElements = opts.minElements ?? HOVER_DEFAULTS.minElements;
  let language = opts.language;
  let base = 0;
  let body = text;
  if (language === 'markdown') {
    const block = fencedBlockAt(text, offset, maxScan);
    if (block === undefined) return undefined;
    language = block.language;
    base = block.start;
    body = text.slice(block.start, block.end);
  }
  const found = (from: number, s: string) => {
    const f = findingIn(s, offset - from, { language, maxScan, maxChars, minElements });
    return f && { ...f, start: f.start + from, end: f.end + from };
  };
  const inCode = found(base, body);
  if (inCode !== undefined || !(language === undefined || isPythonLanguage(language))) return inCode;
  // numpy/torch output pasted into a docstring: look again inside the string
  const doc = docstringAt(body, offset - base, maxScan);
  return doc && found(base + doc.start, body.slice(doc.start, doc.end));
}

function findingIn(body: string, at: number, find: Required<Omit<HoverOptions, 'language'>> & { language?: string }): HoverFinding | undefined {
  const { language, maxChars, minElements } = find;
  // One pass of the finder for its span only: with no room for a single element, findLiteralAt reports any list
  // of numbers or constructor call around `at` as refused instead of parsing it (and instead of hiding a ragged
  // one). We parse the span ourselves and apply its policies: no empty lists, the noisy-language rule.
  const span = findLiteralAt(body, at, { ...find, maxElements: 0 });
  if (span === undefined) return undefined;
  const where = { start: span.start, end: span.end };
  if (span.text.length > maxChars) return { kind: 'too-large', ...where, chars: span.text.length, maxChars };
  const isCall = !(span.text.startsWith('[') || span.text.startsWith('('));
  let literal: LiteralResult;
  try {
    literal = parseLiteral(span.text, { maxChars });
  } catch (e) {
    if (!(e instanceof NormScopeError)) throw e;
    const message = plainMessage(e);
    if (message.startsWith('ragged literal: ')) {
      if (isNoisyLanguage(language) && !isCall) return undefined; // ragged arrays of arrays are common data there
      return { kind: 'ragged', ...where, text: span.text, message: message.slice('ragged literal: '.length) };
    }
    const refused = message === SUMMARIZED_MESSAGE || message.startsWith('nesting deeper than');
    return isCall || refused ? { kind: 'unreadable', ...where, text: span.text, message } : undefined;
  }
  if (literal.constructor === 'list') {
    if (numel(literal.tensor.shape) === 0) return undefined;
    if (isNoisyLanguage(language) && !isPlausibleTensor(literal, minElements)) return undefined;
  }
  return { kind: 'stats', ...where, text: span.text, stats: literalStats(literal) };
}

function isPythonLanguage(language: string): boolean {
  return language === 'python' || language === 'jupyter' || language === 'ipython';
}

/**
 * The contents of the triple-quoted Python string (a docstring) holding `offset`, or undefined. Reads from at
 * most maxScan characters before the offset, skipping comments and other strings.
 */
export function docstringAt(text: string, offset: number, maxScan = DEFAULT_MAX_SCAN): { start: number; end: number } | undefined {
  if (!(offset >= 0 && offset < text.length)) return undefined;
  let i = Math.max(0, offset - maxScan);
  if (i > 0) { const nl = text.indexOf('\n', i); i = nl < 0 ? text.length : nl + 1; }
  const limit = Math.min(text.length, offset + maxScan);
  while (i <= offset) {
    const c = text[i];
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const open = triple ? 3 : 1;
      let j = i + open;
      while (j < limit) {
        const d = text[j];
        if (d === '\\') { j += 2; continue; }
        if (!triple && d === '\n') break;
        if (d === c && (!triple || text.startsWith(c.repeat(3), j))) break;
        j++;
      }
      if (triple && offset >= i + open && offset < j) return j < limit ? { start: i + open, end: j } : undefined;
      i = j + (triple ? 3 : 1);
    } else {
      i++;
    }
  }
  return undefined;
}

/** The statistics of a parsed literal: overall, a SPARK_BINS histogram and, for rank >= 3, channel means. */
export function literalStats(lit: LiteralResult): LiteralStats {
  const x = lit.tensor;
  const rank = x.shape.length;
  // An empty tensor may declare any number of channels (`tensor([], size=(0, 10**12))`): its statistics are taken
  // over at most MAX_COPIED_CHANNELS of them and one of every other axis, and `channels` says the declared count.
  const empty = numel(x.shape) === 0;
  const shape = empty ? x.shape.map((d, i) => Math.min(d, i === 1 ? MAX_COPIED_CHANNELS : 1)) : x.shape;
  const side = tensorStats(empty ? { ...x, shape, strides: cStrides(shape) } : x, {}, SPARK_BINS);
  const o = side.overall;
  return {
    shape: [...x.shape],
    dtype: lit.dtype,
    dtype_source: lit.dtypeSource,
    syntax: lit.constructor,
    ...(lit.device !== undefined ? { device: lit.device } : {}),
    count: o.count,
    mean: o.mean,
    std: o.std,
    std_kind: 'population',
    min: o.min,
    max: o.max,
    nan: o.nan,
    inf: o.inf,
    histogram: { edges: o.histogram.edges, counts: o.histogram.counts },
    ...(rank >= 3
      ? { channel_means: side.channels.slice(0, MAX_COPIED_CHANNELS).map((c) => c.mean), channels: x.shape[1] }
      : {}),
  };
}

/** The hover's Markdown for a finding (command links only where `links` gives their URIs). */
export function hoverMarkdown(f: HoverFinding, links: HoverLinks = {}): string {
  const title = '**NormScope**';
  const linkLine = (which: readonly ('normalize' | 'copyStats')[]) => {
    const parts: string[] = [];
    if (which.includes('normalize') && links.normalize) parts.push(`[$(play) Normalize tensor](${links.normalize} "Open the NormScope panel with this tensor")`);
    if (which.includes('copyStats') && links.copyStats) parts.push(`[$(copy) Copy stats](${links.copyStats} "Copy these statistics as JSON")`);
    return parts.length ? [parts.join(' &nbsp;·&nbsp; ')] : [];
  };
  switch (f.kind) {
    case 'too-large':
      return [
        `${title} · $(warning) tensor literal too large to summarize here (${f.chars.toLocaleString('en-US')} characters, ` +
          `limit ${f.maxChars.toLocaleString('en-US')}: normscope.hover.maxChars) - use Normalize tensor`,
        ...linkLine(['normalize']),
      ].join('\n\n');
    case 'ragged':
      return `${title} · $(warning) ragged list, not a tensor: ${escapeMarkdown(f.message)}`;
    case 'unreadable':
      return `${title} · $(warning) ${escapeMarkdown(f.message)}`;
    case 'stats':
      return [...statsLines(f.stats), ...linkLine(['normalize', 'copyStats'])].join('\n\n');
    default: {
      const never: never = f;
      return never;
    }
  }
}

function statsLines(s: LiteralStats): string[] {
  const head = [`**NormScope** · \`${SYNTAX_LABEL[s.syntax]}\``, `**${s.dtype}** (${s.dtype_source})`];
  if (s.device !== undefined) head.push(`device ${escapeMarkdown(s.device)}`);
  const nonFinite = s.nan + s.inf > 0 ? `$(warning) NaN **${s.nan}** · Inf **${s.inf}**` : 'NaN 0 · Inf 0';
  const [mean, std, min, max] = [s.mean, s.std, s.min, s.max].map(formatNumber);
  const lines = [
    head.join(' · '),
    `shape **${shapeText(s.shape)}** · ${s.count.toLocaleString('en-US')} element${s.count === 1 ? '' : 's'} · ${nonFinite}`,
    s.mean === null ? 'no finite values' : `mean **${mean}** · std **${std}** (population) · min **${min}** · max **${max}**`,
  ];
  if (s.min !== null && s.max !== null) {
    lines.push(`\`${sparkline(s.histogram.counts)}\` histogram of ${s.histogram.counts.length} bins, ${formatNumber(s.min)} to ${formatNumber(s.max)}`);
  }
  if (s.channel_means !== undefined && s.channels !== undefined) {
    const shown = s.channel_means.slice(0, SHOWN_CHANNELS).map((m, c) => `c${c} ${formatNumber(m)}`);
    const more = s.channels > SHOWN_CHANNELS ? ` · … ${s.channels - SHOWN_CHANNELS} more` : '';
    lines.push(`channel means (axis 1 of ${s.channels}): ${shown.join(' · ')}${more}`);
  }
  return lines;
}

const SYNTAX_LABEL: Record<LiteralConstructor, string> = {
  'list': 'list', 'np.array': 'np.array', 'np.asarray': 'np.asarray', 'torch.tensor': 'torch.tensor',
  'torch.Tensor': 'torch.Tensor', 'tf.constant': 'tf.constant', 'jnp.array': 'jnp.array',
  'numpy-repr': 'numpy output', 'torch-repr': 'torch output',
};

/** Python's tuple notation: (2, 3), (4,), (). */
export function shapeText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** One block character per bin, scaled to the fullest bin; an empty bin is a space. */
export function sparkline(counts: readonly number[]): string {
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  let out = '';
  for (const c of counts) {
    out += c === 0 ? ' ' : SPARKS[Math.min(SPARKS.length - 1, Math.max(0, Math.ceil((c / max) * SPARKS.length) - 1))];
  }
  return out;
}

/** Six significant digits, integers as they are, exponent notation outside [1e-4, 1e6); '-' for null. */
export function formatNumber(v: number | null): string {
  if (v === null) return '-';
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e6) return trimZeros(v.toPrecision(6));
  const [m, e] = v.toExponential(5).split('e');
  return `${trimZeros(m)}e${e}`;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** The error's message without its "(offset ...)" suffix: offsets inside the literal mean nothing in a hover. */
function plainMessage(e: NormScopeError): string {
  return e.where === undefined ? e.message : e.message.slice(0, e.message.length - e.where.length - 3);
}

function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!<>|~$]/g, (c) => `\\${c}`);
}

/** A fenced code block (``` or ~~~) holding `offset`, with the language of its info string. */
export interface FencedBlock {
  /** The block's content: from the line after the opening fence to the start of the closing fence. */
  readonly start: number;
  readonly end: number;
  /** VS Code language id for the info string (py -> python, ts -> typescript, ...), undefined when unknown. */
  readonly language?: string;
}

const FENCE_LANGUAGES: Record<string, string> = {
  python: 'python', py: 'python', python3: 'python', ipython: 'python', pycon: 'python', pytb: 'python',
  javascript: 'javascript', js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  typescript: 'typescript', ts: 'typescript', tsx: 'typescript', json: 'json', jsonc: 'jsonc', json5: 'jsonc',
};

/**
 * The fenced code block of a Markdown text that holds `offset`, or undefined outside one. Reads lines from at most
 * maxScan characters before the offset (a fence opened earlier than that is not seen).
 */
export function fencedBlockAt(text: string, offset: number, maxScan = DEFAULT_MAX_SCAN): FencedBlock | undefined {
  if (!(offset >= 0 && offset < text.length)) return undefined;
  let i = Math.max(0, offset - maxScan);
  if (i > 0) { const nl = text.indexOf('\n', i); i = nl < 0 ? text.length : nl + 1; }
  const limit = Math.min(text.length, offset + maxScan);
  let open: { char: string; size: number; start: number; language?: string } | undefined;
  while (i < limit) {
    let lineEnd = text.indexOf('\n', i);
    if (lineEnd < 0) lineEnd = text.length;
    const fence = fenceOf(text, i, lineEnd);
    if (open === undefined) {
      if (fence !== undefined && !(fence.char === '`' && fence.info.includes('`'))) {
        if (i > offset) return undefined;
        open = { char: fence.char, size: fence.size, start: lineEnd + 1, language: FENCE_LANGUAGES[fence.info.split(/\s/)[0].toLowerCase()] };
      } else if (i > offset) return undefined;
    } else if (fence !== undefined && fence.char === open.char && fence.size >= open.size && fence.info === '') {
      if (offset >= open.start && offset < i) return { start: open.start, end: i, language: open.language };
      if (i > offset) return undefined;
      open = undefined;
    }
    i = lineEnd + 1;
  }
  // an unclosed fence runs to the end of the document
  if (open !== undefined && offset >= open.start && limit === text.length) return { start: open.start, end: text.length, language: open.language };
  return undefined;
}

function fenceOf(text: string, start: number, end: number): { char: string; size: number; info: string } | undefined {
  let i = start;
  while (i < end && i - start < 3 && text.charCodeAt(i) === 32) i++; // up to 3 spaces of indentation
  const ch = text[i];
  if (ch !== '`' && ch !== '~') return undefined;
  let j = i;
  while (j < end && text[j] === ch) j++;
  if (j - i < 3) return undefined;
  return { char: ch, size: j - i, info: text.slice(j, end).trim() };
}
