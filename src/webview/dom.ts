/** Small DOM helpers for the panel (no framework: the panel is a handful of sections). */

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes (`on*` keys take listeners) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | EventListener | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** Up to 4 significant digits; exponent form for tiny and huge magnitudes; '-' for null. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** [32, 64, 56, 56] */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** 25,690,112 */
export function countText(n: number): string {
  return n.toLocaleString('en-US');
}
