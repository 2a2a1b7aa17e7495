/** Thrown when an engine invariant is broken: a bug, never a business outcome. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** Crashes loudly when an invariant does not hold. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Throws InvariantError; for hot paths that must not build the message unless it fails. */
export function fail(message: string): never {
  throw new InvariantError(message);
}
