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
    // Not "send it as a string": an integer field refuses a string too.
    expect(error.errors[0]?.reason).not.toMatch(/string/);
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

  it.each([
    ['{"a":1,"a":1}', 'a'],
    ['{"order":{"price":"1.00","quantity":1,"price":"2.00"}}', 'order.price'],
    ['[{"p":1},{"p":1,"q":{"r":[{"s":1},{"s":1,"t":2,"s":"x"}]}}]', '1.q.r.1.s'],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{ "a" : 1 ,\n "b" : { } , "a" : 2 }', 'a'],
    ['{"x":{"y":1},"x":{"y":1}}', 'x'],
  ])('refuses %s: key %s appears twice', (text, field) => {
    const error = problem(text);
    expect(error.code).toBe('validation_failed');
    expect(error.errors).toEqual([{ field, reason: 'appears twice in the same object; send each key once' }]);
    expect(error.message).toBe(`${field} appears twice in the same object; send each key once`);
  });

  it('accepts the same key in different objects', () => {
    expect(parseStrictJson('{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":"a:"}')).toEqual({
      a: { a: 1 },
      b: [{ a: 1 }, { a: 2 }],
      c: 'a:',
    });
  });

  it('refuses a body exactly when one of its objects repeats a key', () => {
    // Objects written from lists of entries, so a key may repeat; the oracle reads the lists.
    type Written = { entries: [string, Written][] } | { items: Written[] } | number | string;
    const key = fc.constantFrom('a', 'b', 'a"', 'é', '', '__proto__');
    const written: fc.Arbitrary<Written> = fc.letrec<{ any: Written }>((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string({ unit: fc.constantFrom('a', '"', ':', '{', ' ') }),
        fc.array(fc.tuple(key, tie('any')), { maxLength: 4 }).map((entries) => ({ entries })),
        fc.array(tie('any'), { maxLength: 3 }).map((items) => ({ items })),
      ),
    })).any;
    const write = (v: Written): string =>
      typeof v !== 'object'
        ? JSON.stringify(v)
        : 'entries' in v
          ? `{${v.entries.map(([k, x]) => `${JSON.stringify(k)} : ${write(x)}`).join(',')}}`
          : `[${v.items.map(write).join(',')}]`;
    const repeats = (v: Written): boolean =>
      typeof v !== 'object'
        ? false
        : 'entries' in v
          ? new Set(v.entries.map(([k]) => k)).size < v.entries.length ||
            v.entries.some(([, x]) => repeats(x))
          : v.items.some(repeats);
    fc.assert(
      fc.property(written, (v) => {
        const text = write(v);
        let refused = false;
        try {
          parseStrictJson(text);
        } catch (error) {
          expect((error as AppError).errors[0]?.reason).toMatch(/appears twice/);
          refused = true;
        }
        expect(refused).toBe(repeats(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('reports malformed JSON as malformed_json', () => {
    expect(problem('{"a":').code).toBe('malformed_json');
  });
});
