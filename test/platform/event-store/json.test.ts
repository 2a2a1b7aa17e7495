import { describe, expect, it } from 'vitest';
import { jsonProblem, toJsonText } from '../../../src/platform/event-store/json.ts';

describe('toJsonText', () => {
  it('given plain JSON, when serialised, then it equals JSON.stringify', () => {
    const value = { a: 1, b: 'x', c: [true, null, { d: -0.5 }], e: {} };
    expect(toJsonText(value, 'data', 1000)).toBe(JSON.stringify(value));
  });

  it('given an undefined property, then it is left out as JSON does', () => {
    expect(toJsonText({ a: 1, b: undefined }, 'data', 1000)).toBe('{"a":1}');
  });

  it('given a bigint deep inside, then the error names its path and says how to encode money', () => {
    expect(() => toJsonText({ lines: [{ amountMinor: 1250n }] }, 'event 0 data', 1000)).toThrow(
      'event 0 data.lines[0].amountMinor is a bigint (1250n); encode minor units as a decimal string',
    );
  });

  it.each([
    ['NaN', { x: Number.NaN }, 'data.x is NaN'],
    ['Infinity', { x: Number.POSITIVE_INFINITY }, 'data.x is Infinity'],
    ['a Date', { at: new Date(0) }, 'data.at is a Date, not a plain object'],
    ['a Map', { m: new Map() }, 'data.m is a Map, not a plain object'],
    ['a function', { f: () => 1 }, 'data.f is a function'],
    ['undefined in an array', { list: [1, undefined] }, 'data.list[1] is undefined'],
    ['U+0000 in a string', { s: 'a\u0000b' }, 'data.s contains the character U+0000'],
  ])('given %s, then it is refused with its path', (_name, value, message) => {
    expect(() => toJsonText(value, 'data', 1000)).toThrow(message);
  });

  it('given undefined at the top, then it is refused', () => {
    expect(() => toJsonText(undefined, 'data', 1000)).toThrow('data is undefined');
  });

  it('given a value larger than the limit, then it is refused', () => {
    expect(() => toJsonText({ s: 'x'.repeat(100) }, 'data', 50)).toThrow('data is larger than 50 bytes');
  });

  it('given nesting deeper than the limit, then it is refused', () => {
    let value: unknown = 1;
    for (let depth = 0; depth < 100; depth++) value = [value];
    expect(jsonProblem(value, 'data', 0)).toMatch(/nested deeper than/);
  });

  it('given an object without prototype, then it counts as plain', () => {
    const value = Object.assign(Object.create(null), { a: 1 });
    expect(toJsonText(value, 'data', 1000)).toBe('{"a":1}');
  });
});
