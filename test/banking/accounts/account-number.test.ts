import { describe, expect, it } from 'vitest';
import {
  formatAccountNumber,
  isValidAccountNumber,
  luhnCheckDigit,
} from '../../../src/banking/accounts/account-number.ts';
import { bankAccountIds, currencyLedgers, namedUuid } from '../../../src/banking/accounts/index.ts';
import { isUuid } from '../../../src/banking/ledger/ids.ts';
import { currencyCodes } from '../../../src/platform/money.ts';
import { Prng } from '../../support/prng.ts';

describe('Luhn check digit', () => {
  it('matches published examples', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3); // the Wikipedia example 79927398713
    expect(luhnCheckDigit('0')).toBe(0);
    expect(luhnCheckDigit('453201511283036')).toBe(6); // a Visa test number 4532015112830366
  });

  it('formats branch + 7-digit serial + check digit', () => {
    expect(formatAccountNumber('001', 1)).toBe('00100000017'); // the example in docs/bank.md
    expect(formatAccountNumber('123', 9_999_999)).toHaveLength(11);
    expect(() => formatAccountNumber('01', 1)).toThrow(/branch/);
    expect(() => formatAccountNumber('001', 0)).toThrow(/serial/);
    expect(() => formatAccountNumber('001', 10_000_000)).toThrow(/serial/);
  });

  it('detects every single-digit error and every adjacent swap except 09/90 (seeded)', () => {
    const seed = 20261122;
    const prng = new Prng(seed);
    for (let n = 0; n < 300; n++) {
      const number = formatAccountNumber(String(prng.int(0, 999)).padStart(3, '0'), prng.int(1, 9_999_999));
      expect(isValidAccountNumber(number), `seed ${seed}: ${number}`).toBe(true);
      for (let i = 0; i < 11; i++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) === number[i]) continue;
          const typo = number.slice(0, i) + d + number.slice(i + 1);
          expect(isValidAccountNumber(typo), `seed ${seed}: ${typo}`).toBe(false);
        }
        if (
          i < 10 &&
          number[i] !== number[i + 1] &&
          `${number[i]}${number[i + 1]}` !== '09' &&
          `${number[i]}${number[i + 1]}` !== '90'
        ) {
          const swapped = number.slice(0, i) + number[i + 1] + number[i] + number.slice(i + 2);
          expect(isValidAccountNumber(swapped), `seed ${seed}: ${swapped}`).toBe(false);
        }
      }
    }
  });

  it('refuses anything but 11 digits', () => {
    expect(isValidAccountNumber('0010000001')).toBe(false);
    expect(isValidAccountNumber('001000000a8')).toBe(false);
  });
});

describe('bank ledger numbering', () => {
  it('gives each currency distinct, fixed, valid cash and clearing ids', () => {
    const ids = currencyCodes.flatMap((code) => Object.values(bankAccountIds(code)));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(isUuid(id)).toBe(true);
    expect(bankAccountIds('JPY')).toEqual({
      cash: '00000000-0000-8000-8000-010000000392',
      clearing: '00000000-0000-8000-8000-020000000392',
    });
    expect(currencyLedgers.USD).toBe(840);
    expect(currencyLedgers.EUR).toBe(978);
  });

  it('derives the same UUID from the same name, another from another', () => {
    expect(namedUuid('a')).toBe(namedUuid('a'));
    expect(namedUuid('a')).not.toBe(namedUuid('b'));
    expect(isUuid(namedUuid('a'))).toBe(true);
    expect(namedUuid('a')[14]).toBe('8');
  });
});
