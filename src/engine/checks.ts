/**
 * Equivalence checks between the normalizations, computed by running both sides, and health flags.
 * Tolerance for every check: |a - b| <= 1e-5 + 1e-5 * |b|.
 */
import { NormOutput, NormParams, OpName } from './params';
import { Tensor, numel, permute, reshape, contiguous, toFloat64, toComputeArray, tensor } from './tensor';
import { normalize } from './ops';
import { ChannelLayout, MAX_STAT_CHANNELS, sideStats, SideStats } from './stats';

export const CHECK_ATOL = 1e-5;
export const CHECK_RTOL = 1e-5;
export const TOLERANCE_TEXT = '|a - b| <= 1e-5 + 1e-5 * |b|';
/** A normalized group drifts when its mean is off 0 by more than this... */
export const DRIFT_MEAN = 1e-3;
/** ...or its std (RMSNorm: its root mean square) is off 1 by more than this. */
export const DRIFT_STD = 1e-2;
/** At most this many flags of one kind are listed; the rest are counted in one more flag. */
export const MAX_FLAGS_PER_KIND = 20;

export interface CheckResult {
  readonly name: string;
  /** The two routes compared, in words. */
  readonly routes: readonly [string, string];
  readonly max_abs: number;
  readonly max_rel: number;
  readonly tolerance: string;
  readonly pass: boolean;
}

export type FlagKind =
  | 'eps_dominated' | 'constant_channel' | 'nan_input' | 'inf_input' | 'nan_output' | 'inf_output' | 'drift';

export interface Flag {
  readonly kind: FlagKind;
  readonly channel?: number;
  readonly group?: number;
  readonly sample?: number;
  readonly message: string;
}

/**
 * The input as (N, C, *) in C order: a batch dim added for unbatched input, channels moved from last to
 * second for nhwc. Checks and flags work in this layout.
 */
export function toNCHW(x: Tensor, p: Pick<NormParams, 'unbatched' | 'layout'>): Tensor {
  let t = x;
  if (p.layout === 'nhwc' && t.shape.length >= 2) {
    const r = t.shape.length;
    const first = p.unbatched ? [] : [0];
    const rest = [];
    for (let i = first.length; i < r - 1; i++) rest.push(i);
    t = permute(t, [...first, r - 1, ...rest]);
  }
  if (p.unbatched) t = reshape(t, [1, ...t.shape]);
  return contiguous(t);
}

/** Compares two outputs elementwise; NaN equals NaN, and equal infinities are equal. */
export function compareOutputs(name: string, routes: readonly [string, string], a: Tensor, b: Tensor): CheckResult {
  const av = toComputeArray(a);
  const bv = toComputeArray(b);
  let maxAbs = 0, maxRel = 0, pass = av.length === bv.length;
  for (let i = 0; i < av.length && i < bv.length; i++) {
    const x = av[i], y = bv[i];
    if (x === y || (x !== x && y !== y)) continue;
    const d = Math.abs(x - y);
    if (!(d <= CHECK_ATOL + CHECK_RTOL * Math.abs(y))) pass = false;
    if (d > maxAbs || d !== d) maxAbs = d !== d ? Infinity : d;
    const rel = y === 0 ? Infinity : d / Math.abs(y);
    if (rel > maxRel) maxRel = rel;
  }
  return { name, routes, max_abs: maxAbs, max_rel: maxRel, tolerance: TOLERANCE_TEXT, pass };
}

/** Slice [n] of the batch dim of a C-order (N, C, *) tensor as a (1, C, *) tensor (a view). */
function sample(t: Tensor, n: number): Tensor {
  const per = numel(t.shape) / t.shape[0];
  return { ...t, shape: [1, ...t.shape.slice(1)], offset: t.offset + n * per };
}

function concatBatch(parts: Tensor[], shape: readonly number[]): Tensor {
  const out = new Float64Array(numel(shape));
  let at = 0;
  for (const p of parts) { const v = toComputeArray(p); out.set(v, at); at += v.length; }
  return tensor('float64', shape, out);
}

/**
 * Every applicable equivalence check for `x`, using the eps of `p` and group counts {p.groups, 1, C}.
 * Returns the checks that apply to this shape (IN needs more than one spatial element, GN needs C % G == 0).
 * `runOp` runs the ops (default: the TypeScript kernels; the CLI passes the fast kernels).
 */
export function equivalenceChecks(x: Tensor, p: NormParams, runOp: typeof normalize = normalize): CheckResult[] {
  const xc = toNCHW(x, p);
  if (xc.shape.length < 2) return [];
  const [N, C] = xc.shape;
  const S = numel(xc.shape.slice(2));
  const eps = p.eps ?? 1e-5;
  const base = { eps } as const;
  const run = (t: Tensor, op: OpName, extra: Partial<NormParams> = {}): Tensor =>
    runOp(t, { op, ...base, ...extra }).output;
  const checks: CheckResult[] = [];
  if (numel(xc.shape) === 0) return checks;
  // InstanceNorm and BatchNorm take (N, C, *) with at most three spatial dims, as in PyTorch.
  const hasSpatial = xc.shape.length >= 3 && xc.shape.length <= 5 && S > 1;

  if (hasSpatial) {
    const inst = run(xc, 'instance');
    checks.push(compareOutputs('GroupNorm(G=C) == InstanceNorm', [`GroupNorm(num_groups=${C})`, 'InstanceNorm'],
      run(xc, 'group', { groups: C }), inst));
    const bnPerSample = [];
    for (let n = 0; n < N; n++) bnPerSample.push(run(sample(xc, n), 'batch', { mode: 'train' }));
    checks.push(compareOutputs('BatchNorm(train) on N=1 == InstanceNorm',
      ['BatchNorm(train) on each sample as a batch of 1', 'InstanceNorm'], concatBatch(bnPerSample, xc.shape), inst));
    const flat = reshape(xc, [1, N * C, ...xc.shape.slice(2)]);
    checks.push(compareOutputs('InstanceNorm == BatchNorm(train) on (1, N*C, *)',
      ['InstanceNorm', `BatchNorm(train) on shape [1, ${N * C}, ${xc.shape.slice(2).join(', ')}]`],
      inst, reshape(run(flat, 'batch', { mode: 'train' }), xc.shape)));
  }
  if (xc.shape.length >= 2 && C * S > 1) {
    checks.push(compareOutputs('GroupNorm(G=1) == LayerNorm over (C, *)',
      ['GroupNorm(num_groups=1)', `LayerNorm(normalized_shape=[${xc.shape.slice(1).join(', ')}])`],
      run(xc, 'group', { groups: 1 }), run(xc, 'layer', { normalized_shape: xc.shape.slice(1) })));
  }
  const groupCounts = [...new Set([p.groups, 1, C].filter((g): g is number => g !== undefined))];
  for (const G of groupCounts) {
    if (G < 1 || C % G !== 0 || (C / G) * S <= 1) continue;
    const flat = reshape(xc, [1, N * G, -1]);
    checks.push(compareOutputs(`GroupNorm(G=${G}) == BatchNorm(train) on (1, N*G, -1)`,
      [`GroupNorm(num_groups=${G})`, `BatchNorm(train) on shape [1, ${N * G}, ${(C / G) * S}]`],
      run(xc, 'group', { groups: G }), reshape(run(flat, 'batch', { mode: 'train' }), xc.shape)));
  }
  return checks;
}

/** How one op's statistic groups lie in a C-order array: (outer, groups, inner) and a label for group i. */
interface StatGroups {
  readonly layout: { outer: number; channels: number; inner: number };
  readonly label: (i: number) => { channel?: number; group?: number; sample?: number; text: string };
}

function statGroups(shape: readonly number[], out: NormOutput): StatGroups | undefined {
  const r = out.resolved;
  const N = shape[0], C = shape[1] ?? 1;
  const S = numel(shape.slice(2));
  switch (r.op) {
    case 'batch':
      return { layout: { outer: N, channels: C, inner: S }, label: (c) => ({ channel: c, text: `channel ${c}` }) };
    case 'instance':
      return {
        layout: { outer: 1, channels: N * C, inner: S },
        label: (i) => ({ sample: Math.floor(i / C), channel: i % C, text: `sample ${Math.floor(i / C)}, channel ${i % C}` }),
      };
    case 'group': {
      const G = r.groups ?? 1;
      return {
        layout: { outer: 1, channels: N * G, inner: (C / G) * S },
        label: (i) => ({ sample: Math.floor(i / G), group: i % G, text: `sample ${Math.floor(i / G)}, group ${i % G}` }),
      };
    }
    case 'layer': case 'rms': {
      const k = numel(r.normalized_shape ?? []);
      const total = numel(shape);
      return { layout: { outer: 1, channels: k ? total / k : 0, inner: k }, label: (i) => ({ sample: i, text: `row ${i}` }) };
    }
  }
}

/**
 * Health flags: constant and eps-dominated statistic groups, NaN/Inf in input or output, and normalized
 * groups whose mean/std drift from 0/1. `before`/`after` are the side stats with channels on the channel axis.
 * `runOp` and `stats` run the op and take statistics (the TypeScript kernels by default; front ends pass the
 * fast kernels'). At most MAX_FLAGS_PER_KIND flags of a kind are listed, then one saying how many more.
 */
export function healthFlags(
  x: Tensor, p: NormParams, out: NormOutput, before: SideStats, after: SideStats, runOp: typeof normalize = normalize,
  stats: StatsFn = sideStats,
): Flag[] {
  const flags: Flag[] = [];
  const seen = new Map<FlagKind, number>();
  // a million statistic groups may raise a million flags: only the listed ones are built
  const add = (kind: FlagKind, make: () => Omit<Flag, 'kind'>): void => {
    const k = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, k);
    if (k <= MAX_FLAGS_PER_KIND) flags.push({ kind, ...make() });
  };
  for (const ch of before.channels) {
    if (ch.min !== null && ch.min === ch.max) {
      add('constant_channel', () => ({ channel: ch.channel, message: `channel ${ch.channel} is constant (${ch.min})` }));
    }
  }
  const nonFinite = (side: SideStats, what: 'input' | 'output') => {
    for (const ch of side.channels) {
      if (ch.nan) add(what === 'input' ? 'nan_input' : 'nan_output', () => ({ channel: ch.channel, message: `${ch.nan} NaN in the ${what}, channel ${ch.channel}` }));
      if (ch.inf) add(what === 'input' ? 'inf_input' : 'inf_output', () => ({ channel: ch.channel, message: `${ch.inf} Inf in the ${what}, channel ${ch.channel}` }));
    }
  };
  nonFinite(before, 'input');
  nonFinite(after, 'output');

  const r = out.resolved;
  const lnLike = r.op === 'layer' || r.op === 'rms';
  const inputView = lnLike ? x : toNCHW(x, p);
  const groups = statGroups(inputView.shape, out);
  if (groups && groups.layout.channels > 0 && groups.layout.inner > 0) {
    const G = groups.layout.channels;
    const where = (i: number) => { const l = groups.label(i); return { l, at: { channel: l.channel, group: l.group, sample: l.sample } }; };
    if (r.op === 'batch' && r.mode === 'eval') {
      const rv = p.running_var ? toFloat64(p.running_var) : undefined;
      if (rv) rv.forEach((v, c) => {
        if (v < r.eps) add('eps_dominated', () => ({ channel: c, message: `channel ${c}: running_var ${fmt(v)} is below eps ${fmt(r.eps)}; eps dominates its scale` }));
      });
    } else {
      const inStats = groupMoments(toComputeArray(inputView), groups.layout, stats);
      const epsDominated = new Uint8Array(G);
      for (let i = 0; i < G; i++) {
        const mean = inStats.mean[i], std = inStats.std[i];
        const v = r.op === 'rms' ? mean ** 2 + std ** 2 : std ** 2;
        if (!Number.isNaN(std) && v < r.eps) {
          epsDominated[i] = 1;
          add('eps_dominated', () => {
            const { l, at } = where(i);
            return { ...at, message: `${l.text}: ${r.op === 'rms' ? 'mean square' : 'variance'} ${fmt(v)} is below eps ${fmt(r.eps)}; it is not scaled to unit ${r.op === 'rms' ? 'RMS' : 'variance'}` };
          });
        }
      }
      // Drift: the normalized groups (before any affine) should have mean 0 and std 1 (RMSNorm: RMS 1).
      const plain = r.affine ? runOp(x, { ...p, weight: undefined, bias: undefined }).output : out.output;
      const outView = lnLike ? plain : toNCHW(plain, p);
      const outStats = groupMoments(toComputeArray(outView), groups.layout, stats);
      for (let i = 0; i < G; i++) {
        const mean = outStats.mean[i], std = outStats.std[i];
        if (epsDominated[i] || Number.isNaN(mean) || Number.isNaN(std)) continue;
        if (r.op === 'rms') {
          const rms = Math.sqrt(mean * mean + std * std);
          if (Math.abs(rms - 1) > DRIFT_STD) add('drift', () => { const { l, at } = where(i); return { ...at, message: `${l.text}: RMS ${fmt(rms)} after normalization, expected 1` }; });
        } else if (Math.abs(mean) > DRIFT_MEAN || Math.abs(std - 1) > DRIFT_STD) {
          add('drift', () => { const { l, at } = where(i); return { ...at, message: `${l.text}: mean ${fmt(mean)}, std ${fmt(std)} after normalization, expected 0 and 1` }; });
        }
      }
    }
  }
  for (const [kind, k] of seen) {
    if (k > MAX_FLAGS_PER_KIND) flags.push({ kind, message: `${k - MAX_FLAGS_PER_KIND} more ${kind.replace('_', ' ')} flags not listed` });
  }
  return flags;
}

type StatsFn = (values: ArrayLike<number>, layout: ChannelLayout, bins: number, groups: readonly (readonly [number, number])[]) => SideStats;

/**
 * Mean and population std of the finite values of each statistic group of `layout` (NaN where a group has none):
 * from `stats` (the kernels' side statistics) up to MAX_STAT_CHANNELS groups; past that, from float64 sums here
 * (two passes, the second about each group's mean), so a million groups of two values cost two arrays rather
 * than a summary and a histogram each.
 */
function groupMoments(values: ArrayLike<number>, layout: ChannelLayout, stats: StatsFn): { mean: Float64Array; std: Float64Array } {
  const { outer, channels: G, inner } = layout;
  const mean = new Float64Array(G).fill(NaN);
  const std = new Float64Array(G).fill(NaN);
  if (G <= MAX_STAT_CHANNELS) {
    stats(values, layout, 1, []).channels.forEach((g, i) => {
      if (g.mean !== null) mean[i] = g.mean;
      if (g.std !== null) std[i] = g.std;
    });
    return { mean, std };
  }
  const count = new Float64Array(G);
  const sum = new Float64Array(G);
  const each = (fn: (g: number, v: number) => void): void => {
    for (let o = 0, i = 0; o < outer; o++) {
      for (let g = 0; g < G; g++) {
        for (let k = 0; k < inner; k++, i++) {
          const v = values[i];
          if (Number.isFinite(v)) fn(g, v);
        }
      }
    }
  };
  each((g, v) => { count[g]++; sum[g] += v; });
  for (let g = 0; g < G; g++) if (count[g] > 0) mean[g] = sum[g] / count[g];
  const m2 = sum.fill(0);
  each((g, v) => { const d = v - mean[g]; m2[g] += d * d; });
  for (let g = 0; g < G; g++) if (count[g] > 0) std[g] = Math.sqrt(m2[g] / count[g]);
  return { mean, std };
}

/** Four significant digits; exponent notation for tiny and huge magnitudes (eps 1e-5 reads as 1e-5). */
function fmt(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(3).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return Number(v.toPrecision(4)).toString();
}
