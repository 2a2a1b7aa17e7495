import fc from 'fast-check';
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

  it('refuses a body exactly when one of its number tokens is not a plain safe integer', () => {
    // Oracle: a regex tokenizer of strings and numbers, independent of the scanner.
    const token = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
    const offends = (text: string) =>
      (text.match(token) ?? []).some(
        (t) => !t.startsWith('"') && (/[.eE]/.test(t) || !Number.isSafeInteger(Number(t))),
      );
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.string({ unit: fc.constantFrom('a', '"', '\\', '1', '.', 'e', '-', ' ', 'é') }),
        fc.integer(),
        fc.maxSafeInteger(),
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map((n) => ({ raw: n.toString() })),
        // Around the safe-integer boundary (2^53 ≈ 9.007e15: 16 digits).
        fc.stringMatching(/^-?[1-9]\d{13,17}$/).map((raw) => ({ raw })),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.array(tie('any'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 4 }), tie('any'), { maxKeys: 4 }),
      ),
    })).any;
    // { raw } stands for a number written as-is (JSON.stringify cannot write one beyond 2^53 exactly).
    const write = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(write).join(',')}]`
        : v !== null && typeof v === 'object'
          ? 'raw' in v
            ? String(v.raw)
            : `{${Object.entries(v)
                .map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`)
                .join(',')}}`
          : JSON.stringify(v);
    fc.assert(
      fc.property(value, (v) => {
        const text = write(v);
        let refused = false;
        try {
          parseStrictJson(text);
        } catch (error) {
          refused = (error as AppError).code === 'validation_failed';
        }
        expect(refused).toBe(offends(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('reports malformed JSON as malformed_json', () => {
    expect(problem('{"a":').code).toBe('malformed_json');
  });
});
