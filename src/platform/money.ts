import { limits } from './limits.ts';

/** ISO 4217 currencies Kinyu books, with the number of decimal places of their minor unit. */
export const currencies = {
  JPY: { code: 'JPY', scale: 0 },
  KRW: { code: 'KRW', scale: 0 },
  USD: { code: 'USD', scale: 2 },
  EUR: { code: 'EUR', scale: 2 },
  GBP: { code: 'GBP', scale: 2 },
  CHF: { code: 'CHF', scale: 2 },
  SGD: { code: 'SGD', scale: 2 },
  HKD: { code: 'HKD', scale: 2 },
  BHD: { code: 'BHD', scale: 3 },
  KWD: { code: 'KWD', scale: 3 },
} as const;

export type CurrencyCode = keyof typeof currencies;
export const currencyCodes = Object.keys(currencies) as CurrencyCode[];

export function isCurrencyCode(value: string): value is CurrencyCode {
  return Object.hasOwn(currencies, value);
}

export function currencyScale(code: CurrencyCode): number {
  return currencies[code].scale;
}

/** Why a decimal string was refused; each maps to a sentence in `decimalReasonText`. */
export type DecimalReason =
  | 'not_a_string'
  | 'empty'
  | 'too_long'
  | 'malformed'
  | 'exponent_not_allowed'
  | 'too_many_decimals'
  | 'negative_not_allowed'
  | 'sign_not_allowed'
  | 'zero_not_allowed'
  | 'too_large';

export type DecimalResult =
  | { ok: true; value: bigint }
  | { ok: false; reason: DecimalReason; detail: string };

export interface DecimalOptions {
  /** Digits after the point the value may carry (the currency's or instrument's scale). */
  scale: number;
  allowNegative?: boolean;
  allowZero?: boolean;
  /** Largest absolute value in minor units. */
  maxMinor?: bigint;
}

const decimalPattern = /^(-)?(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/**
 * Parses a decimal string such as "1234.50" into integer minor units at `scale`, exactly.
 * Accepts only plain notation: no exponent, no leading '+', no leading zeros, no spaces, no
 * more decimals than the scale allows (trailing zeros beyond the scale are refused too: "1.500" for
 * a 2-decimal currency is ambiguous about intent, so the client must send what it means).
 */
export function parseDecimal(input: unknown, options: DecimalOptions): DecimalResult {
  const { scale, allowNegative = false, allowZero = true, maxMinor = limits.amountMinorMax } = options;
  if (typeof input !== 'string') {
    return fail('not_a_string', 'must be a decimal string such as "1234.50", not a JSON number');
  }
  if (input.length === 0) return fail('empty', 'must not be empty');
  if (input.length > limits.decimalStringLengthMax) {
    return fail('too_long', `must be at most ${limits.decimalStringLengthMax} characters`);
  }
  if (/[eE]/.test(input)) return fail('exponent_not_allowed', 'must not use exponent notation');
  if (input.startsWith('+')) return fail('sign_not_allowed', "must not start with '+'");
  const match = decimalPattern.exec(input);
  if (!match) return fail('malformed', 'must be digits with an optional decimal point, e.g. "1234.50"');
  const [, minus, whole, fraction = ''] = match;
  if (minus && !allowNegative) return fail('negative_not_allowed', 'must not be negative');
  if (fraction.length > scale) {
    return fail(
      'too_many_decimals',
      scale === 0 ? 'must be a whole number' : `must have at most ${scale} decimal places`,
    );
  }
  const magnitude = BigInt(whole! + fraction.padEnd(scale, '0'));
  if (magnitude === 0n && !allowZero) return fail('zero_not_allowed', 'must be greater than zero');
  if (magnitude > maxMinor) {
    return fail('too_large', `must be at most ${formatDecimal(maxMinor, scale)}`);
  }
  return { ok: true, value: minus && magnitude !== 0n ? -magnitude : magnitude };
}

function fail(reason: DecimalReason, detail: string): DecimalResult {
  return { ok: false, reason, detail };
}

/** Formats integer minor units as a decimal string with exactly `scale` decimals ("1234.50"). */
export function formatDecimal(minor: bigint, scale: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return (negative ? '-' : '') + (scale === 0 ? whole : `${whole}.${fraction}`);
}

/** An exact amount of one currency. */
export interface Money {
  readonly currency: CurrencyCode;
  readonly minor: bigint;
}

export function money(currency: CurrencyCode, minor: bigint): Money {
  return { currency, minor };
}

export function formatMoney(value: Money): string {
  return formatDecimal(value.minor, currencyScale(value.currency));
}

export function addMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return { currency: a.currency, minor: a.minor + b.minor };
}

export function subtractMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return { currency: a.currency, minor: a.minor - b.minor };
}

function assertSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new Error(`currency mismatch: ${a.currency} and ${b.currency}`);
}
