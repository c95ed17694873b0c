/**
 * The op and parameter controls. Every change sends the whole parameter set for the chosen op (only the
 * fields that op uses; the host fills in its defaults and answers with the full set, shown back here).
 * Only valid group counts and normalized shapes are offered; what the engine still refuses (eps < 0, a
 * momentum outside [0, 1], BatchNorm on a single value per channel, a weight of the wrong shape...) is
 * explained next to its control. Parameter tensors (weight, bias, running statistics) can come from files:
 * "from a file…" asks the host (open dialog, member pick), which answers with a reference the controls keep
 * and send; × returns to the scalar or PyTorch's default.
 */
import type { OpName, ResolvedParams } from '../engine/params';
import { PARAM_TENSOR_NAMES, PARAM_TENSORS_OF, tensorRefLabel } from '../protocol/messages';
import type { AnalysisView, PanelParams, ParamChoices, ParamField, ParamTensorName, TensorRef } from '../protocol/messages';
import { el, num, shapeText } from './dom';

const OP_LABELS: readonly [OpName, string][] = [
  ['batch', 'BatchNorm'], ['layer', 'LayerNorm'], ['group', 'GroupNorm'], ['instance', 'InstanceNorm'], ['rms', 'RMSNorm'],
];

export interface Controls {
  readonly root: HTMLElement;
  /**
   * Shows `params` (the host's full set) and, when known, the resolved defaults as placeholders and what the
   * parameter files held (`sources`).
   */
  show(params: PanelParams, resolved?: ResolvedParams, sources?: AnalysisView['sources']): void;
  /** Takes a parameter tensor's file the host picked (`shape` when known) and runs with it. */
  setSource(name: ParamTensorName, ref: TensorRef, shape?: readonly number[]): void;
  /** Shows `message` next to `field` (or under the controls); undefined clears every message. */
  showError(field: ParamField | undefined, message: string | undefined): void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What a parameter tensor is without a file: the scalar of `affine`, or PyTorch's default. */
const DEFAULT_TEXT: Readonly<Record<ParamTensorName, string>> = {
  weight: 'none (1)', bias: 'none (0)', running_mean: '0 (a fresh module)', running_var: '1 (a fresh module)',
};

export function createControls(
  choices: ParamChoices, params: PanelParams, onChange: (p: PanelParams) => void, onPickSource: (name: ParamTensorName) => void,
): Controls {
  /** The parameter files chosen, and the shapes known for them (from the member pick or the last run). */
  let sources: Partial<Record<ParamTensorName, TensorRef>> = { ...params.sources };
  const known = new Map<string, { shape: readonly number[]; title?: string }>();
  const refKey = (r: TensorRef) => `${r.uri}#${r.selector ?? ''}`;
  /** Whether a group count was chosen (by the user or the host); until then the host picks GroupNorm's default. */
  let groupsChosen = false;
  const errors = new Map<ParamField | 'general', HTMLElement>();
  const errorSlot = (field: ParamField | 'general') => {
    const slot = el('div', { class: 'field-error', id: `error-${field}`, role: 'alert', 'aria-live': 'polite' });
    errors.set(field, slot);
    return slot;
  };
  const field = (name: ParamField, label: string, control: HTMLElement, hint?: string) => {
    control.id = `control-${name}`;
    control.setAttribute('aria-describedby', `error-${name}`);
    return el('div', { class: 'field', 'data-field': name },
      el('label', { for: control.id }, label),
      control,
      hint ? el('span', { class: 'hint' }, hint) : null,
      errorSlot(name));
  };

  const op = el('select', { name: 'op' }, ...OP_LABELS.map(([v, t]) => el('option', { value: v }, t)));
  const mode = el('select', { name: 'mode' }, el('option', { value: 'train' }, 'train (batch statistics)'), el('option', { value: 'eval' }, 'eval (running statistics)'));
  const layoutSelect = el('select', { name: 'layout' },
    el('option', { value: 'nchw' }, `axis 1 (${choices.channels})`),
    el('option', { value: 'nhwc' }, `last axis (${choices.channels_last.channels})`));
  const groups = el('select', { name: 'groups' });
  const groupsHint = el('span', { class: 'hint' });
  /** Group counts for the chosen layout: the divisors of its channel count. */
  const fillGroups = (layout: 'nchw' | 'nhwc') => {
    const c = layout === 'nhwc' ? choices.channels_last : choices;
    groups.replaceChildren(...c.groups.map((g) => el('option', { value: String(g) }, `${g} (${c.channels / g} ch. each)`)));
    groupsHint.textContent = `divisors of C=${c.channels}`;
  };
  fillGroups(params.layout ?? 'nchw');
  const nshape = el('select', { name: 'normalized_shape' },
    ...choices.normalized_shapes.map((s, i) => el('option', { value: String(i) }, shapeText(s))));
  const eps = el('input', { type: 'text', name: 'eps', inputmode: 'decimal', spellcheck: 'false', size: 10 });
  const momentum = el('input', { type: 'text', name: 'momentum', inputmode: 'decimal', spellcheck: 'false', size: 8, placeholder: '0.1' });
  const affine = el('input', { type: 'checkbox', name: 'affine' });
  const weight = el('input', { type: 'text', name: 'weight', inputmode: 'decimal', spellcheck: 'false', size: 6, 'aria-label': 'affine weight (gamma)' });
  const bias = el('input', { type: 'text', name: 'bias', inputmode: 'decimal', spellcheck: 'false', size: 6, 'aria-label': 'affine bias (beta)' });
  const weightBox = el('span', { class: 'inline' }, ' γ ', weight);
  const biasBox = el('span', { class: 'inline' }, ' β ', bias);
  const affineBox = el('span', { class: 'affine-values' }, weightBox, biasBox);
  const unbatched = el('input', { type: 'checkbox', name: 'unbatched' });
  const unbatchedLabel = el('span', {});

  /** One row per parameter tensor: its default (or scalar), or its file as a chip with ×; "from a file…". */
  const sourceValues = new Map<ParamTensorName, HTMLElement>();
  const sourceField = (name: ParamTensorName) => {
    const value = el('span', { class: 'source-value' });
    const pick = el('button', {
      type: 'button', class: 'secondary small', id: `control-${name}`, 'aria-describedby': `error-${name}`,
      title: `use a tensor from a file as ${name}`, onclick: () => onPickSource(name),
    }, 'from a file…');
    sourceValues.set(name, value);
    const title = name === 'weight' ? 'weight (γ)' : name === 'bias' ? 'bias (β)' : name;
    return el('div', { class: 'field tensor-source', 'data-field': name },
      el('label', { for: pick.id }, title), el('div', { class: 'source-row' }, value, pick), errorSlot(name));
  };

  const fields = {
    op: field('op', 'Op', op),
    mode: field('mode', 'Mode', mode),
    layout: field('layout', 'Channels', layoutSelect),
    groups: field('groups', 'Groups', groups),
    normalized_shape: field('normalized_shape', 'normalized_shape', nshape),
    eps: field('eps', 'eps', eps),
    momentum: field('momentum', 'momentum', momentum, 'number or None'),
    affine: el('div', { class: 'field', 'data-field': 'affine' },
      el('label', { class: 'checkbox' }, affine, ' affine'), affineBox, errorSlot('affine')),
    weight: sourceField('weight'),
    bias: sourceField('bias'),
    running_mean: sourceField('running_mean'),
    running_var: sourceField('running_var'),
    unbatched: el('div', { class: 'field', 'data-field': 'unbatched' },
      el('label', { class: 'checkbox' }, unbatched, unbatchedLabel), errorSlot('unbatched')),
  } satisfies Record<ParamField, HTMLElement>;
  unbatched.id = 'control-unbatched';
  unbatched.setAttribute('aria-describedby', 'error-unbatched');
  unbatchedLabel.textContent = choices.unbatched_channels !== undefined ? ` unbatched (C=${choices.unbatched_channels} on axis 0)` : ' unbatched';
  fields.groups.insertBefore(groupsHint, fields.groups.lastChild);
  affine.id = 'control-affine';
  affine.setAttribute('aria-describedby', 'error-affine');
  const root = el('form', { class: 'controls', 'aria-label': 'Normalization parameters', onsubmit: (e: Event) => e.preventDefault() },
    el('div', { class: 'fields' }, ...Object.values(fields)),
    errorSlot('general'));

  /** A number typed in a text box: undefined when empty, NaN when not a number. */
  const parse = (s: string): number | undefined => (s.trim() === '' ? undefined : Number(s.trim()));

  /** The parameter rows: each file as "file#member, [shape]" with ×, else the scalar or the default. */
  function showSources(o: OpName): void {
    for (const name of PARAM_TENSOR_NAMES) {
      const value = sourceValues.get(name)!;
      fields[name].hidden = !PARAM_TENSORS_OF[o].includes(name);
      const ref = sources[name];
      if (!ref) {
        const scalar = affine.checked ? (name === 'weight' ? `γ = ${weight.value}` : name === 'bias' ? `β = ${bias.value}` : undefined) : undefined;
        value.replaceChildren(el('span', { class: 'muted' }, scalar ?? DEFAULT_TEXT[name]));
        continue;
      }
      const info = known.get(refKey(ref));
      const clear = el('button', {
        type: 'button', class: 'chip-clear', 'aria-label': `clear ${name} (back to ${DEFAULT_TEXT[name]})`, title: 'clear',
        onclick: () => {
          delete sources[name];
          commit();
        },
      }, '×');
      value.replaceChildren(el('span', { class: 'chip', title: info?.title ?? ref.uri },
        `${tensorRefLabel(ref)}${info ? `, ${shapeText(info.shape)}` : ''}`, clear));
    }
    weightBox.hidden = sources.weight !== undefined;
    biasBox.hidden = o === 'rms' || sources.bias !== undefined;
  }

  function layout(o: OpName): void {
    fields.unbatched.hidden = !(unbatched.checked || (o === 'instance' && choices.unbatched_channels !== undefined));
    // unbatched input has its channels on axis 0
    layoutSelect.options[0].text = unbatched.checked
      ? `axis 0${choices.unbatched_channels !== undefined ? ` (${choices.unbatched_channels})` : ''}`
      : `axis 1 (${choices.channels})`;
    fields.layout.hidden = choices.normalized_shapes.length < 2;
    fields.mode.hidden = o !== 'batch';
    fields.momentum.hidden = o !== 'batch';
    fields.groups.hidden = o !== 'group';
    fields.normalized_shape.hidden = o !== 'layer' && o !== 'rms';
    affineBox.hidden = !affine.checked;
    showSources(o);
  }

  /** The parameters the controls say, or a message for the control that holds a non-number. */
  function read(): PanelParams | { field: ParamField; message: string } {
    const o = op.value as OpName;
    const p: Mutable<PanelParams> = { op: o };
    if (unbatched.checked) p.unbatched = true;
    if (layoutSelect.value === 'nhwc') p.layout = 'nhwc';
    const e = parse(eps.value);
    if (e !== undefined) {
      if (Number.isNaN(e)) return { field: 'eps', message: `eps: "${eps.value}" is not a number` };
      p.eps = e;
    }
    if (affine.checked) {
      const w = parse(weight.value) ?? 1;
      const b = parse(bias.value) ?? 0;
      if (Number.isNaN(w) || Number.isNaN(b)) return { field: 'affine', message: 'affine: γ and β must be numbers' };
      p.affine = { weight: w, bias: b };
    }
    if (o === 'batch') {
      p.mode = mode.value === 'eval' ? 'eval' : 'train';
      const m = momentum.value.trim();
      if (/^none$/i.test(m)) p.momentum = null;
      else if (m !== '') {
        const v = Number(m);
        if (Number.isNaN(v)) return { field: 'momentum', message: `momentum: "${m}" is neither a number nor None` };
        p.momentum = v;
      }
    }
    if (o === 'group' && groupsChosen && groups.value !== '') p.groups = Number(groups.value);
    if ((o === 'layer' || o === 'rms') && nshape.value !== '') p.normalized_shape = choices.normalized_shapes[Number(nshape.value)];
    const used = PARAM_TENSORS_OF[o].filter((n) => sources[n] !== undefined);
    if (used.length) p.sources = Object.fromEntries(used.map((n) => [n, sources[n]]));
    return p;
  }

  /** Sends the parameters the controls say (or shows why they cannot be sent). */
  function commit(): void {
    layout(op.value as OpName);
    const p = read();
    if ('message' in p) {
      api.showError(undefined, undefined);
      api.showError(p.field, p.message);
      return;
    }
    api.showError(undefined, undefined);
    onChange(p);
  }

  function changed(ev: Event): void {
    if (ev.target === groups) groupsChosen = true;
    // unbatched input is InstanceNorm's (PyTorch's other norms want a batch): another op drops it
    if (ev.target === op && op.value !== 'instance') unbatched.checked = false;
    if (ev.target === layoutSelect) {
      fillGroups(layoutSelect.value === 'nhwc' ? 'nhwc' : 'nchw');
      groupsChosen = false; // the host picks a valid default for the new channel count
    }
    commit();
  }
  root.addEventListener('change', changed);

  const api: Controls = {
    root,
    show(p, resolved, views) {
      sources = { ...p.sources };
      for (const name of PARAM_TENSOR_NAMES) {
        const ref = p.sources?.[name];
        const v = views?.[name];
        if (ref && v) {
          known.set(refKey(ref), { shape: v.shape, title: `${v.label}: ${v.dtype}, mean ${v.mean === null ? '-' : num(v.mean)}, min ${v.min === null ? '-' : num(v.min)}, max ${v.max === null ? '-' : num(v.max)}` });
        }
      }
      unbatched.checked = p.unbatched === true;
      op.value = p.op;
      if (layoutSelect.value !== (p.layout ?? 'nchw')) fillGroups(p.layout ?? 'nchw');
      layoutSelect.value = p.layout ?? 'nchw';
      mode.value = p.mode ?? 'train';
      if (p.groups !== undefined) {
        groups.value = String(p.groups);
        groupsChosen = true;
      }
      if (p.normalized_shape) {
        const i = choices.normalized_shapes.findIndex((s) => s.length === p.normalized_shape!.length && s.every((d, k) => d === p.normalized_shape![k]));
        if (i >= 0) nshape.value = String(i);
      }
      eps.value = p.eps !== undefined ? String(p.eps) : '';
      eps.placeholder = resolved && resolved.op === p.op ? num(resolved.eps) : 'default';
      momentum.value = p.momentum === null ? 'None' : p.momentum !== undefined ? String(p.momentum) : '';
      affine.checked = p.affine !== undefined;
      weight.value = p.affine ? String(p.affine.weight) : '1';
      bias.value = p.affine ? String(p.affine.bias) : '0';
      layout(p.op);
    },
    setSource(name, ref, shape) {
      sources[name] = ref;
      if (shape) known.set(refKey(ref), { shape });
      commit();
    },
    showError(f, message) {
      if (message === undefined) {
        for (const slot of errors.values()) slot.textContent = '';
        for (const box of Object.values(fields)) box.classList.remove('invalid');
        return;
      }
      const slot = (f && errors.get(f) && !fields[f].hidden) ? errors.get(f)! : errors.get('general')!;
      slot.textContent = message;
      if (f) fields[f].classList.add('invalid');
    },
  };
  api.show(params);
  return api;
}
