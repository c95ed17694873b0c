/**
 * The op and parameter controls. Every change sends the whole parameter set for the chosen op (only the
 * fields that op uses; the host fills in its defaults and answers with the full set, shown back here).
 * Only valid group counts and normalized shapes are offered; what the engine still refuses (eps < 0, a
 * momentum outside [0, 1], BatchNorm on a single value per channel...) is explained next to its control.
 */
import type { OpName, ResolvedParams } from '../engine/params';
import type { PanelParams, ParamChoices, ParamField } from '../protocol/messages';
import { el, num, shapeText } from './dom';

const OP_LABELS: readonly [OpName, string][] = [
  ['batch', 'BatchNorm'], ['layer', 'LayerNorm'], ['group', 'GroupNorm'], ['instance', 'InstanceNorm'], ['rms', 'RMSNorm'],
];

export interface Controls {
  readonly root: HTMLElement;
  /** Shows `params` (the host's full set) and, when known, the resolved defaults as placeholders. */
  show(params: PanelParams, resolved?: ResolvedParams): void;
  /** Shows `message` next to `field` (or under the controls); undefined clears every message. */
  showError(field: ParamField | undefined, message: string | undefined): void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function createControls(choices: ParamChoices, params: PanelParams, onChange: (p: PanelParams) => void): Controls {
  let current: PanelParams = params;
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
  const biasBox = el('span', { class: 'inline' }, ' β ', bias);
  const affineBox = el('span', { class: 'affine-values' }, ' γ ', weight, biasBox);

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
  };
  fields.groups.insertBefore(groupsHint, fields.groups.lastChild);
  affine.id = 'control-affine';
  affine.setAttribute('aria-describedby', 'error-affine');
  const root = el('form', { class: 'controls', 'aria-label': 'Normalization parameters', onsubmit: (e: Event) => e.preventDefault() },
    el('div', { class: 'fields' }, ...Object.values(fields)),
    errorSlot('general'));

  /** A number typed in a text box: undefined when empty, NaN when not a number. */
  const parse = (s: string): number | undefined => (s.trim() === '' ? undefined : Number(s.trim()));

  function layout(o: OpName): void {
    fields.layout.hidden = choices.normalized_shapes.length < 2;
    fields.mode.hidden = o !== 'batch';
    fields.momentum.hidden = o !== 'batch';
    fields.groups.hidden = o !== 'group';
    fields.normalized_shape.hidden = o !== 'layer' && o !== 'rms';
    affineBox.hidden = !affine.checked;
    biasBox.hidden = o === 'rms';
  }

  /** The parameters the controls say, or a message for the control that holds a non-number. */
  function read(): PanelParams | { field: ParamField; message: string } {
    const o = op.value as OpName;
    const p: Mutable<PanelParams> = { op: o };
    if (current.unbatched !== undefined) p.unbatched = current.unbatched;
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
    return p;
  }

  function changed(ev: Event): void {
    if (ev.target === groups) groupsChosen = true;
    if (ev.target === layoutSelect) {
      fillGroups(layoutSelect.value === 'nhwc' ? 'nhwc' : 'nchw');
      groupsChosen = false; // the host picks a valid default for the new channel count
    }
    layout(op.value as OpName);
    const p = read();
    if ('message' in p) {
      api.showError(undefined, undefined);
      api.showError(p.field, p.message);
      return;
    }
    api.showError(undefined, undefined);
    current = p;
    onChange(p);
  }
  root.addEventListener('change', changed);

  const api: Controls = {
    root,
    show(p, resolved) {
      current = p;
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
    showError(f, message) {
      if (message === undefined) {
        for (const slot of errors.values()) slot.textContent = '';
        for (const box of Object.values(fields)) box.classList.remove('invalid');
        return;
      }
      const slot = (f && errors.get(f) && !(fields[f] as HTMLElement).hidden) ? errors.get(f)! : errors.get('general')!;
      slot.textContent = message;
      if (f) fields[f].classList.add('invalid');
    },
  };
  api.show(params);
  return api;
}
