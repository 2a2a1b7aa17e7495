import { defineErrors, type ErrorSpec } from '../../platform/errors.ts';
import type { AccountResult, TransferResult } from './results.ts';

/** Every named ledger outcome except 'ok', plus the errors of whole calls. */
export type LedgerErrorCode =
  | Exclude<TransferResult | AccountResult, 'ok'>
  | 'batch_too_large'
  | 'account_not_found';

/*
 * One table: each ledger result to an HTTP status and a problem+json title. Malformed fields are 400;
 * a different event already under the id, or a hold already resolved, is 409 (conflict with what is
 * recorded); a missing account or pending transfer is 404; a well-formed transfer the books cannot
 * take (limits, ledgers, amounts) is 422. 'exists' is 200: an idempotent replay of what is recorded.
 * Shared codes (exists, reserved_flag, ...) have one title that reads for accounts and transfers.
 */
const table = {
  batch_too_large: { status: 413, title: 'Too many events in one batch' },
  account_not_found: { status: 404, title: 'No such ledger account' },
  linked_event_failed: {
    status: 422,
    title: 'Another event in its linked chain failed, so none was applied',
  },
  linked_event_chain_open: { status: 400, title: 'The last event of the batch must not be linked' },
  reserved_flag: { status: 400, title: 'Unknown or reserved flag' },
  id_must_be_uuid: { status: 400, title: 'The id must be a UUID' },
  id_must_not_be_zero: { status: 400, title: 'The id must not be the nil UUID' },
  exists_with_different_flags: { status: 409, title: 'An event with this id exists with different flags' },
  exists_with_different_pending_id: {
    status: 409,
    title: 'A transfer with this id exists with a different pending id',
  },
  exists_with_different_timeout: {
    status: 409,
    title: 'A transfer with this id exists with a different timeout',
  },
  exists_with_different_debit_account_id: {
    status: 409,
    title: 'A transfer with this id exists with a different debit account',
  },
  exists_with_different_credit_account_id: {
    status: 409,
    title: 'A transfer with this id exists with a different credit account',
  },
  exists_with_different_amount: {
    status: 409,
    title: 'A transfer with this id exists with a different amount',
  },
  exists_with_different_reference: {
    status: 409,
    title: 'A transfer with this id exists with a different reference',
  },
  exists_with_different_owner: {
    status: 409,
    title: 'An account with this id exists with a different owner',
  },
  exists_with_different_ledger: {
    status: 409,
    title: 'An event with this id exists with a different ledger',
  },
  exists_with_different_code: { status: 409, title: 'An event with this id exists with a different code' },
  exists: { status: 200, title: 'Already recorded with the same fields' },
  flags_are_mutually_exclusive: { status: 400, title: 'These flags cannot be combined' },
  debit_account_id_must_be_uuid: { status: 400, title: 'The debit account id must be a UUID' },
  credit_account_id_must_be_uuid: { status: 400, title: 'The credit account id must be a UUID' },
  accounts_must_be_different: { status: 400, title: 'The debit and credit accounts must be different' },
  pending_id_must_be_zero: { status: 400, title: 'Only a post or void may name a pending transfer' },
  pending_id_must_not_be_zero: { status: 400, title: 'A post or void must name a pending transfer' },
  pending_id_must_be_uuid: { status: 400, title: 'The pending id must be a UUID' },
  pending_id_must_be_different: { status: 400, title: 'A transfer cannot post or void itself' },
  timeout_reserved_for_pending_transfer: { status: 400, title: 'Only a pending transfer may have a timeout' },
  timeout_must_be_whole_seconds: { status: 400, title: 'The timeout must be a whole number of seconds' },
  closing_transfer_must_be_pending: { status: 400, title: 'A closing transfer must be pending' },
  amount_must_not_be_zero: { status: 400, title: 'The amount must not be zero' },
  amount_must_not_be_negative: { status: 400, title: 'The amount must not be negative' },
  reference_too_long: { status: 400, title: 'The reference is too long' },
  owner_must_not_be_empty: { status: 400, title: 'The account owner must not be empty' },
  owner_too_long: { status: 400, title: 'The account owner is too long' },
  ledger_must_not_be_zero: { status: 400, title: 'The ledger must not be zero' },
  ledger_out_of_range: { status: 400, title: 'The ledger must be a positive int4' },
  code_must_not_be_zero: { status: 400, title: 'The code must not be zero' },
  code_out_of_range: { status: 400, title: 'The code must be between 1 and 65535' },
  debit_account_not_found: { status: 404, title: 'The debit account does not exist' },
  credit_account_not_found: { status: 404, title: 'The credit account does not exist' },
  accounts_must_have_the_same_ledger: { status: 422, title: 'The accounts are on different ledgers' },
  transfer_must_have_the_same_ledger_as_accounts: {
    status: 422,
    title: "The transfer's ledger differs from its accounts'",
  },
  pending_transfer_not_found: { status: 404, title: 'The pending transfer does not exist' },
  pending_transfer_not_pending: {
    status: 422,
    title: 'The transfer named as pending is not a pending transfer',
  },
  pending_transfer_has_different_debit_account_id: {
    status: 422,
    title: 'The pending transfer has a different debit account',
  },
  pending_transfer_has_different_credit_account_id: {
    status: 422,
    title: 'The pending transfer has a different credit account',
  },
  pending_transfer_has_different_ledger: {
    status: 422,
    title: 'The pending transfer has a different ledger',
  },
  pending_transfer_has_different_code: { status: 422, title: 'The pending transfer has a different code' },
  exceeds_pending_transfer_amount: { status: 422, title: 'The amount exceeds the pending amount' },
  pending_transfer_has_different_amount: {
    status: 422,
    title: 'A void must release the full pending amount',
  },
  pending_transfer_already_posted: { status: 409, title: 'The pending transfer was already posted' },
  pending_transfer_already_voided: { status: 409, title: 'The pending transfer was already voided' },
  pending_transfer_expired: { status: 409, title: 'The pending transfer has expired' },
  debit_account_closed: { status: 409, title: 'The debit account is closed' },
  credit_account_closed: { status: 409, title: 'The credit account is closed' },
  overflows_debits_pending: { status: 422, title: 'Pending debits would overflow' },
  overflows_credits_pending: { status: 422, title: 'Pending credits would overflow' },
  overflows_debits_posted: { status: 422, title: 'Posted debits would overflow' },
  overflows_credits_posted: { status: 422, title: 'Posted credits would overflow' },
  overflows_debits: { status: 422, title: 'Debits would overflow' },
  overflows_credits: { status: 422, title: 'Credits would overflow' },
  overflows_timeout: { status: 422, title: 'The timeout is too long' },
  exceeds_credits: { status: 422, title: "The debit account's debits would exceed its credits" },
  exceeds_debits: { status: 422, title: "The credit account's credits would exceed its debits" },
} as const satisfies Record<LedgerErrorCode, ErrorSpec>;

/** Register at start-up with `registerErrors(ledgerErrors)`. */
export const ledgerErrors = defineErrors(table);
