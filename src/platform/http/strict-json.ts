import { AppError } from '../errors.ts';

/**
 * JSON.parse with Kinyu's one rule for numbers: JSON numbers must be integers within
 * Number.MAX_SAFE_INTEGER and written plainly. A fraction or exponent ("12.5", "1e3", "1.0") is refused,
 * because money, prices and quantities travel as decimal strings, and a float that slipped through
 * would have been rounded by JSON.parse before any schema could see it. The error names the field.
 */
export function parseStrictJson(text: string): unknown {
  const offender = findNonIntegerNumber(text);
  if (offender) {
    throw new AppError('validation_failed', `${offender.field || 'body'} ${offender.reason}`, {
      errors: [offender],
    });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('malformed_json', `The body is not valid JSON: ${(error as Error).message}`);
  }
}

interface Offender {
  field: string;
  reason: string;
}

/** An open object (with where its current key's literal starts and ends in the text) or array. */
type Frame = { kind: 'object'; keyStart: number; keyEnd: number } | { kind: 'array'; index: number };

const quote = 0x22;
const backslash = 0x5c;

/**
 * Every request body goes through this, so it first only looks for an offending number (jumping
 * over strings with indexOf, slicing no token of 15 characters or less without '.', 'e' or 'E':
 * those are safe integers), and scans again tracking the path only when there is one to name.
 */
function findNonIntegerNumber(text: string): Offender | undefined {
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      i = endOfString(text, i);
      continue;
    }
    if (c !== 0x2d /* - */ && !isDigit(c)) {
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
    if ((!plain || end - i > 15) && numberProblem(text.slice(i, end))) return offenderWithPath(text);
    i = end;
  }
  return undefined;
}

/** The first offending number with the path to it, tracking objects and arrays as it scans. */
function offenderWithPath(text: string): Offender | undefined {
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
      }
      expectKey = false;
      i = end;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push({ kind: 'object', keyStart: 0, keyEnd: 0 });
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
    return `is a JSON integer too large to be exact (${token}); send it as a string`;
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
