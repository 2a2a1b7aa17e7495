import { eventStoreLimits } from './limits.ts';

/**
 * Serialises a value that must be plain JSON (event data, metadata, outbox payloads), so that what
 * is read back equals what was written. JSON.stringify alone would throw on a bigint with no hint
 * where it is, and would silently turn NaN into null or a Date into a string: replays would differ.
 */
export function toJsonText(value: unknown, what: string, bytesMax: number): string {
  const problem = jsonProblem(value, what, 0);
  if (problem !== undefined) throw new TypeError(`${problem}; event and message payloads must be plain JSON`);
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text) > bytesMax) {
    throw new RangeError(`${what} is larger than ${bytesMax} bytes of JSON`);
  }
  return text;
}

/** The first reason `value` is not plain JSON, naming its path, or undefined when it is. */
export function jsonProblem(value: unknown, path: string, depth: number): string | undefined {
  switch (typeof value) {
    case 'boolean':
      return undefined;
    case 'string':
      // PostgreSQL's jsonb cannot store U+0000 and would fail with an obscure message.
      return value.includes('\u0000') ? `${path} contains the character U+0000` : undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`;
    case 'bigint':
      return `${path} is a bigint (${value}n); encode minor units as a decimal string`;
    case 'object':
      if (value === null) return undefined;
      if (depth >= eventStoreLimits.jsonDepthMax) {
        return `${path} is nested deeper than ${eventStoreLimits.jsonDepthMax} levels`;
      }
      return Array.isArray(value) ? arrayProblem(value, path, depth) : objectProblem(value, path, depth);
    default:
      return `${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
  }
}

function arrayProblem(value: unknown[], path: string, depth: number): string | undefined {
  for (let index = 0; index < value.length; index++) {
    const problem = jsonProblem(value[index], `${path}[${index}]`, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function objectProblem(value: object, path: string, depth: number): string | undefined {
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    return `${path} is a ${prototype?.constructor?.name ?? 'class instance'}, not a plain object`;
  }
  for (const [key, field] of Object.entries(value)) {
    // An undefined property is simply absent in JSON, which reads back the same way.
    if (field === undefined) continue;
    const problem = jsonProblem(field, `${path}.${key}`, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
