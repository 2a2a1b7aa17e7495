import { defineErrors } from '../platform/errors.ts';

/** The bank's own error codes (the ledger's are in src/banking/ledger/errors.ts). */
export const bankErrors = defineErrors({
  bank_account_not_found: { status: 404, title: 'No such bank account' },
  application_not_found: { status: 404, title: 'No such account application' },
  application_not_pending: { status: 409, title: 'Only a PENDING application can be approved or rejected' },
  account_not_open: { status: 409, title: 'The account is not open' },
  reference_conflict: {
    status: 409,
    title: 'This reference was already used for a different deposit or withdrawal',
  },
  currency_mismatch: { status: 422, title: "The currency is not the account's currency" },
  currency_not_offered: { status: 422, title: 'The bank does not open accounts in this currency' },
  insufficient_funds: { status: 422, title: 'The account does not hold enough money' },
});

export type BankErrorCode = keyof typeof bankErrors;
