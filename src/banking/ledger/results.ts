/**
 * Named outcomes of createAccounts and createTransfers, in order of descending precedence (as
 * TigerBeetle's CreateAccountResult / CreateTransferResult): when several apply, the first listed is
 * returned. They are values, never exceptions. errors.ts maps each to an HTTP status and title.
 */
export const transferResults = [
  'ok',
  'linked_event_failed',
  'linked_event_chain_open',
  'reserved_flag',
  'id_must_be_uuid',
  'id_must_not_be_zero',
  'exists_with_different_flags',
  'exists_with_different_pending_id',
  'exists_with_different_timeout',
  'exists_with_different_debit_account_id',
  'exists_with_different_credit_account_id',
  'exists_with_different_amount',
  'exists_with_different_reference',
  'exists_with_different_ledger',
  'exists_with_different_code',
  'exists',
  'flags_are_mutually_exclusive',
  'debit_account_id_must_be_uuid',
  'credit_account_id_must_be_uuid',
  'accounts_must_be_different',
  'pending_id_must_be_zero',
  'pending_id_must_not_be_zero',
  'pending_id_must_be_uuid',
  'pending_id_must_be_different',
  'timeout_reserved_for_pending_transfer',
  'timeout_must_be_whole_seconds',
  'closing_transfer_must_be_pending',
  'amount_must_not_be_zero',
  'amount_must_not_be_negative',
  'reference_too_long',
  'ledger_must_not_be_zero',
  'ledger_out_of_range',
  'code_must_not_be_zero',
  'code_out_of_range',
  'debit_account_not_found',
  'credit_account_not_found',
  'accounts_must_have_the_same_ledger',
  'transfer_must_have_the_same_ledger_as_accounts',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_transfer_has_different_debit_account_id',
  'pending_transfer_has_different_credit_account_id',
  'pending_transfer_has_different_ledger',
  'pending_transfer_has_different_code',
  'exceeds_pending_transfer_amount',
  'pending_transfer_has_different_amount',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_expired',
  'debit_account_closed',
  'credit_account_closed',
  'overflows_debits_pending',
  'overflows_credits_pending',
  'overflows_debits_posted',
  'overflows_credits_posted',
  'overflows_debits',
  'overflows_credits',
  'overflows_timeout',
  'exceeds_credits',
  'exceeds_debits',
] as const;

export type TransferResult = (typeof transferResults)[number];

export const accountResults = [
  'ok',
  'linked_event_failed',
  'linked_event_chain_open',
  'reserved_flag',
  'id_must_be_uuid',
  'id_must_not_be_zero',
  'exists_with_different_flags',
  'exists_with_different_owner',
  'exists_with_different_ledger',
  'exists_with_different_code',
  'exists',
  'flags_are_mutually_exclusive',
  'owner_must_not_be_empty',
  'owner_too_long',
  'ledger_must_not_be_zero',
  'ledger_out_of_range',
  'code_must_not_be_zero',
  'code_out_of_range',
] as const;

export type AccountResult = (typeof accountResults)[number];

/** Results a chain member gets from the batch, not from its own fields. */
export type LinkedResult = 'linked_event_failed' | 'linked_event_chain_open';

/** True for the outcomes that mean "this id is recorded with exactly these fields". */
export function isIdempotentSuccess(result: TransferResult | AccountResult): boolean {
  return result === 'ok' || result === 'exists';
}
