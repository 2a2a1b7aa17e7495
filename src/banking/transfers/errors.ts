import { defineErrors } from '../../platform/errors.ts';

/** The transfer saga's error codes; registered with the platform catalogue by `createTransfers`. */
export const transferErrors = defineErrors({
  transfer_not_found: { status: 404, title: 'No such transfer' },
  transfer_same_account: { status: 422, title: 'The source and target accounts are the same' },
  transfer_target_not_found: { status: 422, title: 'The target account does not exist' },
  transfer_account_closed: { status: 409, title: 'The account is closed' },
  transfer_currency_mismatch: { status: 422, title: 'The currency does not match the accounts' },
  transfer_insufficient_funds: {
    status: 422,
    title: 'The source account does not have enough available funds',
  },
});

export type TransferErrorCode = keyof typeof transferErrors;
