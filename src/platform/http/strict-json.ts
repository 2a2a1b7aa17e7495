import { AppError } from '../errors.ts';

/**
 * JSON.parse with Kinyu's rules for numbers and keys. JSON numbers must be integers within
 * Number.MAX_SAFE_INTEGER and written plainly. A fraction or exponent ("12.5", "1e3", "1.0") is refused,
 * because money, prices and quantities travel as decimal strings, and a float that slipped through
 * would have been rounded by JSON.parse before any schema could see it. A key may appear once per
 * object: JSON.parse would keep the last one silently, and a proxy or signature check that read the
 * first would see another request. The error names the field.
 */
export function parseStrictJson(text: string): unknown {
  const keyLiterals = scan(text);
  if (keyLiterals === numberOffends) throwProblem(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError('malformed_json', `The body is not valid JSON: ${(error as Error).message}`);
  }
  // Repeated keys collapse into one: fewer keys parsed than written means one appears twice.
  if (keyLiterals !== 0 && keyLiterals !== countKeys(value)) throwProblem(text);
  return value;
}

/** Throws the first offending number or repeated key, named by its path (when there is one). */
function throwProblem(text: string): void {
  const offender = problemWithPath(text);
  if (offender) {
    throw new AppError('validation_failed', `${offender.field || 'body'} ${offender.reason}`, {
      errors: [offender],
    });
  }
}

interface Offender {
  field: string;
  reason: string;
}

/**
 * An open object (with where its current key's literal starts and ends in the text, and the keys
 * seen so far) or array.
 */
type Frame =
  | { kind: 'object'; keyStart: number; keyEnd: number; keys: Set<string> }
  | { kind: 'array'; index: number };

const quote = 0x22;
const backslash = 0x5c;
const colon = 0x3a;
const repeatedKeyReason = 'appears twice in the same object; send each key once';

/** What scan() returns when it meets a number that is not a plain safe integer. */
const numberOffends = -1;

/**
 * Every request body goes through this, so it only looks, tracking no path: for an offending
 * number (jumping over strings with indexOf, slicing no token of 15 characters or less without
 * '.', 'e' or 'E': those are safe integers), and for key literals, which it counts (one ':'
 * outside strings each). The path is tracked by a second scan only when there is a problem to name.
 */
function scan(text: string): number {
  let keyLiterals = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      i = endOfString(text, i);
      continue;
    }
    if (c !== 0x2d /* - */ && !isDigit(c)) {
      // Outside strings, each ':' ends one key literal (in JSON that parses).
      if (c === colon) keyLiterals++;
      i++;
      continue;
    }
    let end = i + 1;
    let plain = true;
    for (; end < text.length; end++) {
      const d = text.charCodeAt(end);
      if (isDigit(d)) continue;
      if (!isNumberChar(d)) break;
      plain = false;
    }
    if ((!plain || end - i > 15) && numberProblem(text.slice(i, end))) return numberOffends;
    i = end;
  }
  return keyLiterals;
}

/**
 * Keys of every object in a parsed value. No recursion (the nesting depth is the client's), and no
 * array allocated unless the value nests objects or arrays.
 */
function countKeys(value: unknown): number {
  let keys = 0;
  let pending: object[] | undefined;
  let next: unknown = value;
  for (;;) {
    if (Array.isArray(next)) {
      for (const item of next) pending = withNested(pending, item);
    } else if (typeof next === 'object' && next !== null) {
      for (const key in next) {
        keys++;
        pending = withNested(pending, (next as Record<string, unknown>)[key]);
      }
    }
    next = pending?.pop();
    if (next === undefined) return keys;
  }
}

/** `pending` with `item` added when it is an object or array (the list made at the first one). */
function withNested(pending: object[] | undefined, item: unknown): object[] | undefined {
  if (typeof item !== 'object' || item === null) return pending;
  if (pending === undefined) return [item];
  pending.push(item);
  return pending;
}

/**
 * The first offending number or repeated key with the path to it, tracking objects and arrays
 * (and the keys of each open object) as it scans.
 */
function problemWithPath(text: string): Offender | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      const end = endOfString(text, i);
      const top = stack.at(-1);
      if (expectKey && top?.kind === 'object') {
        top.keyStart = i;
        top.keyEnd = end;
        const key = safeParseString(text.slice(i, end));
        if (top.keys.has(key)) return { field: pathOf(text, stack), reason: repeatedKeyReason };
        top.keys.add(key);
      }
      expectKey = false;
      i = end;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push({ kind: 'object', keyStart: 0, keyEnd: 0, keys: new Set() });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ kind: 'array', index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.kind === 'array') top.index++;
      else expectKey = true;
    } else if (c === 0x2d /* - */ || isDigit(c)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      const token = text.slice(i, end);
      const reason = numberProblem(token);
      if (reason) return { field: pathOf(text, stack), reason };
      i = end;
      continue;
    }
    i++;
  }
  return undefined;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Digits, '.', 'e', 'E', '+' and '-': what can follow the first character of a JSON number. */
function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

function numberProblem(token: string): string | undefined {
  if (/[.eE]/.test(token)) {
    return `must not be a JSON number with a fraction or exponent (${token}); send decimals as strings, e.g. "12.50"`;
  }
  if (!Number.isSafeInteger(Number(token))) {
    // No advice to quote it: a field that takes an integer (a quantity) has a smaller maximum anyway.
    return `is a JSON integer too large to be exact (${token}): beyond 2^53 - 1, a JSON number is rounded`;
  }
  return undefined;
}

/** Just past the string literal opening at `start`: its first quote not escaped by a backslash. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const end = text.indexOf('"', i);
    if (end < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === backslash) backslashes++;
    if (backslashes % 2 === 0) return end + 1;
    i = end + 1;
  }
}

function safeParseString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

function pathOf(text: string, stack: Frame[]): string {
  return stack
    .map((frame) =>
      frame.kind === 'object'
        ? frame.keyEnd === 0
          ? ''
          : safeParseString(text.slice(frame.keyStart, frame.keyEnd))
        : String(frame.index),
    )
    .join('.');
}
