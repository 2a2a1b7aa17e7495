import { describe, expect, it } from 'vitest';
import type { AppError } from '../../../src/platform/errors.ts';
import { parseStrictJson } from '../../../src/platform/http/strict-json.ts';

function problem(text: string): AppError {
  try {
    parseStrictJson(text);
  } catch (error) {
    return error as AppError;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('strict JSON', () => {
  it('accepts integers, strings that look like numbers, and nested data', () => {
    expect(parseStrictJson('{"a":1,"b":"12.5","c":[1,-2,{"d":"1e3"}],"e":null}')).toEqual({
      a: 1,
      b: '12.5',
      c: [1, -2, { d: '1e3' }],
      e: null,
    });
  });

  it.each([
    ['{"amount":12.5}', 'amount'],
    ['{"amount":1e3}', 'amount'],
    ['{"amount":1.0}', 'amount'],
    ['{"a":{"b":[1,2,3.25]}}', 'a.b.2'],
    ['{"x":"a\\"b","q":-0.5}', 'q'],
    ['[{"p":1},{"p":2E2}]', '1.p'],
    ['{"a\\u0062":{"c":1},"d\\"e":7.5}', 'd"e'],
  ])('refuses %s naming field %s', (text, field) => {
    const error = problem(text);
    expect(error.code).toBe('validation_failed');
    expect(error.errors[0]?.field).toBe(field);
    expect(error.errors[0]?.reason).toMatch(/decimals as strings/);
  });

  it('refuses integers beyond the safe range', () => {
    const error = problem('{"quantity":12345678901234567890}');
    expect(error.errors[0]).toMatchObject({ field: 'quantity', reason: expect.stringMatching(/too large/) });
  });

  it('reports malformed JSON as malformed_json', () => {
    expect(problem('{"a":').code).toBe('malformed_json');
  });
});
