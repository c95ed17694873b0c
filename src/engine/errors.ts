/**
 * The one error type the engine throws for bad input. `where` names the place: a file byte offset, a JSON path,
 * a text offset or a dimension. Front ends print `message` (which already includes `where`) as one line.
 */
export class NormScopeError extends Error {
  constructor(message: string, readonly where?: string) {
    super(where ? `${message} (${where})` : message);
    this.name = 'NormScopeError';
  }
}

export function isNormScopeError(e: unknown): e is NormScopeError {
  return e instanceof NormScopeError;
}
