import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { currencies, currencyCodes, formatDecimal, parseDecimal } from '../../src/platform/money.ts';

const usd = { scale: currencies.USD.scale };

describe('parseDecimal', () => {
  it.each([
    ['0', 0n],
    ['1234.50', 123450n],
    ['1234.5', 123450n],
    ['0.01', 1n],
    ['1234', 123400n],
  ])('accepts %s as %s minor units of USD', (input, minor) => {
    expect(parseDecimal(input, usd)).toEqual({ ok: true, value: minor });
  });

  it.each([
    [12.5, 'not_a_string'],
    ['', 'empty'],
    ['1e3', 'exponent_not_allowed'],
    ['1E3', 'exponent_not_allowed'],
    ['+1.00', 'sign_not_allowed'],
    ['-1.00', 'negative_not_allowed'],
    ['1.005', 'too_many_decimals'],
    ['01.00', 'malformed'],
    ['1.', 'malformed'],
    ['.5', 'malformed'],
    [' 1', 'malformed'],
    ['1,000.00', 'malformed'],
    ['NaN', 'malformed'],
    ['Infinity', 'malformed'],
    ['0x10', 'malformed'],
    ['10000000000000.01', 'too_large'],
    ['9'.repeat(41), 'too_long'],
  ])('refuses %j with %s', (input, reason) => {
    const result = parseDecimal(input, usd);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.detail.length).toBeGreaterThan(5);
    }
  });

  it('refuses decimals for a zero-scale currency and zero when zero is not allowed', () => {
    expect(parseDecimal('100.5', { scale: 0 })).toMatchObject({ ok: false, reason: 'too_many_decimals' });
    expect(parseDecimal('0.00', { scale: 2, allowZero: false })).toMatchObject({
      ok: false,
      reason: 'zero_not_allowed',
    });
  });

  it('accepts negatives only when asked, and never "-0" as negative', () => {
    expect(parseDecimal('-12.34', { scale: 2, allowNegative: true })).toEqual({ ok: true, value: -1234n });
    expect(parseDecimal('-0', { scale: 2, allowNegative: true })).toEqual({ ok: true, value: 0n });
  });
});

describe('formatDecimal / parseDecimal round trip', () => {
  it('format then parse gives back the same minor units, for every scale', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.constantFrom(...currencyCodes),
        (minor, code) => {
          const scale = currencies[code].scale;
          const text = formatDecimal(minor, scale);
          expect(parseDecimal(text, { scale, allowNegative: true })).toEqual({ ok: true, value: minor });
        },
      ),
    );
  });

  it('parse then format is canonical: exactly `scale` decimals', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.nat({ max: 99 }), (whole, cents) => {
        const input = `${whole}.${String(cents).padStart(2, '0')}`;
        const parsed = parseDecimal(input, usd);
        expect(parsed.ok && formatDecimal(parsed.value, 2)).toBe(input);
      }),
    );
  });

  it('formats zero-scale and small values', () => {
    expect(formatDecimal(0n, 2)).toBe('0.00');
    expect(formatDecimal(5n, 2)).toBe('0.05');
    expect(formatDecimal(-5n, 3)).toBe('-0.005');
    expect(formatDecimal(1234n, 0)).toBe('1234');
  });
});
