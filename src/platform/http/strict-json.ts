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

type Frame = { kind: 'object'; key: string } | { kind: 'array'; index: number };

/** Scans number tokens outside strings, tracking the path so the error can name the field. */
function findNonIntegerNumber(text: string): Offender | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = endOfString(text, i);
      const top = stack.at(-1);
      if (expectKey && top?.kind === 'object') top.key = safeParseString(text.slice(i, end));
      expectKey = false;
      i = end;
      continue;
    }
    if (c === '{') {
      stack.push({ kind: 'object', key: '' });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ kind: 'array', index: 0 });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top?.kind === 'array') top.index++;
      else expectKey = true;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let end = i + 1;
      while (end < text.length && /[0-9eE.+-]/.test(text[end]!)) end++;
      const token = text.slice(i, end);
      const reason = numberProblem(token);
      if (reason) return { field: pathOf(stack), reason };
      i = end;
      continue;
    }
    i++;
  }
  return undefined;
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

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i++;
  }
  return text.length;
}

function safeParseString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

function pathOf(stack: Frame[]): string {
  return stack.map((frame) => (frame.kind === 'object' ? frame.key : String(frame.index))).join('.');
}
