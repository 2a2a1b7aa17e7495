import type { CurrencyCode } from '../../platform/money.ts';

/*
 * The bank's numbering on the ledger (the contract between the bank's parts): one ledger per
 * currency, numbered with the ISO 4217 numeric code; account codes name the account's role.
 */

/** ISO 4217 numeric codes of the currencies money.ts knows: the ledger number of each. */
export const currencyLedgers: Record<CurrencyCode, number> = {
  JPY: 392,
  KRW: 410,
  USD: 840,
  EUR: 978,
  GBP: 826,
  CHF: 756,
  SGD: 702,
  HKD: 344,
  BHD: 48,
  KWD: 414,
};

/** The ledger (ISO 4217 numeric code) of a currency. */
export function ledgerOf(currency: CurrencyCode): number {
  return currencyLedgers[currency];
}

/** Account codes: what an account is for. */
export const accountCodes = {
  /** A customer's deposit account (debits must not exceed credits). */
  customerDeposit: 1,
  /** The bank's teller cash per currency: cash that entered or left through a teller. */
  tellerCash: 100,
  /** The bank's transfer clearing account per currency (transfers saga). */
  transferClearing: 200,
} as const;

/** Transfer codes of the transfers this part of the bank writes. */
export const transferCodes = {
  tellerDeposit: 10,
  tellerWithdrawal: 11,
} as const;

/** The fixed ledger ids of the bank's own accounts in one currency. */
export interface BankAccountIds {
  cash: string;
  clearing: string;
}

/**
 * The bank's own accounts in `currency`, with ids readable in any dump:
 * 00000000-0000-8000-8000-<code, 4 digits><ledger, 8 digits>, e.g. JPY cash ...-010000000392.
 */
export function bankAccountIds(currency: CurrencyCode): BankAccountIds {
  const ledger = String(ledgerOf(currency)).padStart(8, '0');
  const id = (code: number) => `00000000-0000-8000-8000-${String(code).padStart(4, '0')}${ledger}`;
  return { cash: id(accountCodes.tellerCash), clearing: id(accountCodes.transferClearing) };
}
