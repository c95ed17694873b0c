/**
 * Input echoed in an error message (a member name, a dtype, a shape, a JSON pointer) is clipped so that the
 * message stays one short line whatever the file holds: a 10,000-character name would otherwise make a message
 * of 200,000.
 */

/** `text` as is up to `max` characters, else its start and how long it is. */
export function clip(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

/** A shape as `[2, 3]`, clipped. */
export function shapeText(shape: readonly unknown[]): string {
  return clip(`[${shape.join(', ')}]`, 60);
}
