/**
 * The text exports of the panel, pure: stats as JSON and CSV, and a PyTorch snippet that reproduces the op.
 */
import { PARAM_TENSOR_NAMES } from '../protocol/messages';
import type { AnalysisView, CheckView, FlagView, PanelParams, ParamTensorName } from '../protocol/messages';
import type { SideStats, Summary } from '../engine/stats';

/**
 * The stats of a run (and its checks and flags, when they are in) as pretty JSON; `params.sources` says which
 * files the parameter tensors came from and `sources` what they held (label, shape, dtype, summary).
 */
export function statsJson(source: string, params: PanelParams, view: AnalysisView, checks?: { checks: readonly CheckView[]; flags: readonly FlagView[] }): string {
  const { ms: _ms, ...rest } = view;
  return JSON.stringify({ source, params, ...rest, checks: checks?.checks, flags: checks?.flags }, null, 2);
}

const CSV_HEADER = ['side', 'scope', 'index', 'channels', 'count', 'mean', 'std', 'min', 'max', 'nan', 'inf'];

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function row(side: string, scope: string, index: number | '', channels: string, s: Summary): string {
  return [side, scope, index, channels, s.count, s.mean, s.std, s.min, s.max, s.nan, s.inf].map(csvCell).join(',');
}

/**
 * One row per side x (overall, each group, each channel); std is the population std. Parameter tensors read
 * from files follow as rows of side `param`, scope the parameter's name and, in `channels`, the source
 * ("model.safetensors#bn1.running_mean").
 */
export function statsCsv(view: AnalysisView): string {
  const lines = [CSV_HEADER.join(',')];
  const side = (name: string, s: SideStats) => {
    lines.push(row(name, 'overall', '', '', s.overall));
    for (const g of s.groups) lines.push(row(name, 'group', g.group, `${g.channels[0]}-${g.channels[1]}`, g));
    for (const c of s.channels) lines.push(row(name, 'channel', c.channel, String(c.channel), c));
  };
  side('before', view.stats.before);
  side('after', view.stats.after);
  for (const name of PARAM_TENSOR_NAMES) {
    const s = view.sources?.[name];
    if (s) lines.push(row('param', name, '', s.label, s));
  }
  return lines.join('\n') + '\n';
}

/** Python's repr of a float (as torch prints module args): 1e-05, 0.1, 1.0, 1.1920928955078125e-07. */
export function pyFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "float('nan')" : v > 0 ? "float('inf')" : "-float('inf')";
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = v.toExponential().split('e'); // shortest round-trip digits
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const s = String(v);
  return s.includes('.') ? s : `${s}.0`;
}

function pyTuple(xs: readonly number[]): string {
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`;
}

/** Python that loads the tensor `selector` names in `path` as a numpy array, by the file's format. */
function loadExpr(path: string, selector: string | undefined): string {
  const p = JSON.stringify(path);
  if (/\.safetensors$/i.test(path)) return `safetensors.numpy.load_file(${p})[${JSON.stringify(selector ?? '')}]`;
  if (/\.npz$/i.test(path)) return `np.load(${p})[${JSON.stringify(selector ?? '')}]`;
  if (/\.json$/i.test(path)) return `from_json(${p}, ${JSON.stringify(selector ?? '')})`;
  return `np.load(${p})`;
}

/** A JSON Pointer reader for the snippet (nested lists, or {shape, data, dtype} objects, as NormScope reads them). */
const FROM_JSON = [
  'def from_json(path, pointer):  # an RFC 6901 JSON Pointer into the file',
  '    v = json.load(open(path))',
  '    for key in pointer.split("/")[1:]:',
  '        key = key.replace("~1", "/").replace("~0", "~")',
  '        v = v[int(key)] if isinstance(v, list) else v[key]',
  '    if isinstance(v, dict):',
  '        return np.asarray(v["data"], dtype=v.get("dtype", "float64")).reshape(v["shape"])',
  '    return np.asarray(v, dtype=np.float64)',
  '',
];

/**
 * A PyTorch snippet that runs the same op with the same parameters on `x` (loaded from `file` when given).
 * Uses the resolved parameters of the run, so defaults are spelled out. Parameter tensors from files
 * (`params.sources`) are loaded from `paths` (by name; the file's own name when beside the tensor) the way
 * NormScope read them, and copied into the module.
 */
export function torchSnippet(view: AnalysisView, params: PanelParams, file?: string, paths: Partial<Record<ParamTensorName, string>> = {}): string {
  const r = view.op;
  const shape = view.input.shape;
  const affine = r.affine;
  const loaded = PARAM_TENSOR_NAMES.filter((n) => params.sources?.[n] !== undefined);
  const pathOf = (n: ParamTensorName) => paths[n] ?? params.sources?.[n]?.uri ?? '';
  const imports = ['import numpy as np', 'import torch'];
  if (loaded.some((n) => /\.json$/i.test(pathOf(n)))) imports.unshift('import json');
  if (loaded.some((n) => /\.safetensors$/i.test(pathOf(n)))) imports.push('import safetensors.numpy');
  const lines = [...imports, ''];
  if (loaded.some((n) => /\.json$/i.test(pathOf(n)))) lines.push(...FROM_JSON);
  if (file) lines.push(`x = torch.from_numpy(np.load(${JSON.stringify(file)}))  # shape ${pyTuple(shape)}, ${view.input.dtype}`);
  else lines.push(`x = torch.randn${pyTuple(shape)}  # your tensor: shape ${pyTuple(shape)}, ${view.input.dtype}`);
  if (r.layout === 'nhwc') {
    lines.push(r.unbatched ? `x = x.movedim(-1, 0)  # channels last -> channels first` : `x = x.movedim(-1, 1)  # channels last -> channels first`);
  }
  const C = view.shape_report.canonical_shape[1] ?? 1;
  const canonicalRank = view.shape_report.canonical_shape.length;
  let ctor: string;
  switch (r.op) {
    case 'batch': {
      const d = canonicalRank <= 3 ? 1 : canonicalRank - 2;
      const momentum = r.momentum === null || r.momentum === undefined ? 'None' : pyFloat(r.momentum);
      ctor = `torch.nn.BatchNorm${d}d(${C}, eps=${pyFloat(r.eps)}, momentum=${momentum}, affine=${affine ? 'True' : 'False'})`;
      break;
    }
    case 'layer':
      ctor = `torch.nn.LayerNorm(${pyTuple(r.normalized_shape ?? [])}, eps=${pyFloat(r.eps)}, elementwise_affine=${affine ? 'True' : 'False'})`;
      break;
    case 'group':
      ctor = `torch.nn.GroupNorm(${r.groups ?? 1}, ${C}, eps=${pyFloat(r.eps)}, affine=${affine ? 'True' : 'False'})`;
      break;
    case 'instance': {
      const d = Math.max(1, canonicalRank - 2);
      ctor = `torch.nn.InstanceNorm${d}d(${C}, eps=${pyFloat(r.eps)}, affine=${affine ? 'True' : 'False'})`;
      break;
    }
    case 'rms':
      ctor = `torch.nn.RMSNorm(${pyTuple(r.normalized_shape ?? [])}, eps=${pyFloat(r.eps)}, elementwise_affine=${affine ? 'True' : 'False'})  # torch >= 2.4`;
      break;
    default: {
      const never: never = r.op;
      throw new Error(`unknown op ${String(never)}`);
    }
  }
  const dtype = view.input.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') lines.push(`x = x.float()  # ${dtype} -> float32, as NormScope computes it`);
  const [call, comment] = ctor.split('  # ');
  lines.push(`norm = ${call}${dtype === 'float64' ? '.double()' : ''}${comment ? `  # ${comment}` : ''}`);
  const fills: string[] = [];
  for (const n of ['weight', 'bias'] as const) {
    if (n === 'bias' && r.op === 'rms') continue;
    const value = params.affine && (n === 'weight' ? params.affine.weight : params.affine.bias);
    if (!loaded.includes(n) && params.affine && value !== undefined) fills.push(`    norm.${n}.fill_(${pyFloat(value)})`);
  }
  for (const n of loaded) {
    const ref = params.sources?.[n];
    // the file's values in the module's shape and dtype (a per-channel tensor may be stored as [1, C, 1, 1])
    fills.push(`    norm.${n}.copy_(torch.as_tensor(${loadExpr(pathOf(n), ref?.selector)}).reshape(norm.${n}.shape))  # ${view.sources?.[n]?.label ?? n}`);
  }
  if (fills.length) lines.push('with torch.no_grad():', ...fills);
  if (r.op === 'batch' && r.mode === 'eval') lines.push('norm.eval()  # uses running_mean / running_var');
  if (r.op === 'batch' && r.unbatched) lines.push('x = x.unsqueeze(0)  # add the batch dimension');
  lines.push('y = norm(x)');
  if (r.op === 'batch' && r.unbatched) lines.push('y = y.squeeze(0)');
  if (r.layout === 'nhwc') lines.push(r.unbatched ? 'y = y.movedim(0, -1)' : 'y = y.movedim(1, -1)');
  return lines.join('\n') + '\n';
}
