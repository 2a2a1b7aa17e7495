import {
  accountFlagBits,
  transferFlagBits as bit,
  encodeTransferFlags,
  hasFlag,
  reservedFlagMask,
} from './flags.ts';
import { isUuid, nilUuid } from './ids.ts';
import { ledgerLimits } from './limits.ts';
import type { LinkedResult, TransferResult } from './results.ts';
import {
  type AccountEffect,
  type AccountState,
  invariantBroken,
  type PendingState,
  type TransferRecord,
} from './state.ts';
import type { TransferInput } from './types.ts';

/*
 * The pure decision core for one transfer (TigerBeetle's create_transfer): given the transfer, the
 * transfer already stored under its id (if any), the accounts' current balances, the pending
 * transfer it resolves (if any) and the time, it returns a named result and, on 'ok', the record to
 * store and what it does to each account. No I/O, no clock, no randomness.
 */

/** A transfer input with ids lowercased and flags as a bitmask; omitted fields stay undefined. */
export interface TransferCommand {
  id: string;
  debitAccountId: string | undefined;
  creditAccountId: string | undefined;
  amount: bigint | undefined;
  pendingId: string | undefined;
  ledger: number | undefined;
  code: number | undefined;
  flags: number;
  timeoutSeconds: number;
  reference: string | undefined;
}

export interface TransferDecisionInput {
  command: TransferCommand;
  /** The transfer stored under command.id, if any. */
  existing: TransferRecord | undefined;
  /** Post/void only: the transfer named by pendingId and how it ended. */
  pending: PendingState | undefined;
  /** The accounts the transfer moves money between (for post/void: the pending transfer's). */
  debitAccount: AccountState | undefined;
  creditAccount: AccountState | undefined;
  now: Date;
  /** True only for the timeout sweep, which voids holds after their expiry; clients may not. */
  expiring?: boolean;
}

export type TransferFailure = Exclude<TransferResult, 'ok' | LinkedResult>;

export type TransferDecision =
  | { result: 'ok'; transfer: TransferRecord; debit: AccountEffect; credit: AccountEffect }
  | { result: TransferFailure };

const exclusiveModes = bit.pending | bit.postPending | bit.voidPending;
const closingFlags = bit.closingDebit | bit.closingCredit;

/** Lowercases ids and encodes flags, so equal transfers compare equal. */
export function normaliseTransfer(input: TransferInput): TransferCommand {
  // Wrong types are caller bugs (the HTTP edge parses decimal strings into bigint minor units).
  if (input.amount !== undefined && typeof input.amount !== 'bigint') {
    invariantBroken('a transfer amount must be a bigint of minor units');
  }
  if (input.reference !== undefined && typeof input.reference !== 'string') {
    invariantBroken('a transfer reference must be a string');
  }
  return {
    id: lower(input.id) ?? '',
    debitAccountId: lower(input.debitAccountId),
    creditAccountId: lower(input.creditAccountId),
    amount: input.amount,
    pendingId: lower(input.pendingId),
    ledger: input.ledger,
    code: input.code,
    flags: encodeTransferFlags(input.flags),
    timeoutSeconds: input.timeoutSeconds ?? 0,
    reference: input.reference,
  };
}

function lower(id: string | undefined): string | undefined {
  return typeof id === 'string' ? id.toLowerCase() : id;
}

/** True for a post or void of a pending transfer. */
export function isResolution(flags: number): boolean {
  return hasFlag(flags, bit.postPending | bit.voidPending);
}

/** Decides one transfer against the given state. */
export function decideTransfer(input: TransferDecisionInput): TransferDecision {
  const { command: t } = input;
  const identity = checkIdentity(t);
  if (identity) return { result: identity };
  if (input.existing) return { result: compareWithExisting(t, input.existing) };
  const fields = isResolution(t.flags) ? checkResolutionFields(t) : checkNewFields(t);
  if (fields) return { result: fields };
  return isResolution(t.flags) ? decideResolution(input) : decideNew(input);
}

function checkIdentity(t: TransferCommand): TransferFailure | null {
  if (t.flags === reservedFlagMask) return 'reserved_flag';
  if (!isUuid(t.id)) return 'id_must_be_uuid';
  if (t.id === nilUuid) return 'id_must_not_be_zero';
  return null;
}

/** Idempotency: the same id with the same fields is 'exists'; otherwise the first field that differs. */
export function compareWithExisting(t: TransferCommand, e: TransferRecord): TransferFailure {
  // A post or void may omit the fields it takes from its pending transfer; omitted is not different.
  const mayOmit = isResolution(e.flags);
  const differs = <T>(given: T | undefined, stored: T) =>
    !(mayOmit && given === undefined) && given !== stored;
  if (t.flags !== e.flags) return 'exists_with_different_flags';
  if ((t.pendingId ?? null) !== e.pendingId) return 'exists_with_different_pending_id';
  if (t.timeoutSeconds !== e.timeoutSeconds) return 'exists_with_different_timeout';
  if (differs(t.debitAccountId, e.debitAccountId)) return 'exists_with_different_debit_account_id';
  if (differs(t.creditAccountId, e.creditAccountId)) return 'exists_with_different_credit_account_id';
  if (differs(t.amount, e.amount)) return 'exists_with_different_amount';
  if ((t.reference ?? null) !== e.reference) return 'exists_with_different_reference';
  if (differs(t.ledger, e.ledger)) return 'exists_with_different_ledger';
  if (differs(t.code, e.code)) return 'exists_with_different_code';
  return 'exists';
}

function checkNewFields(t: TransferCommand): TransferFailure | null {
  if (modeCount(t.flags) > 1) return 'flags_are_mutually_exclusive';
  if (!isUuid(t.debitAccountId ?? '')) return 'debit_account_id_must_be_uuid';
  if (!isUuid(t.creditAccountId ?? '')) return 'credit_account_id_must_be_uuid';
  if (t.debitAccountId === t.creditAccountId) return 'accounts_must_be_different';
  if (t.pendingId !== undefined) return 'pending_id_must_be_zero';
  const pending = hasFlag(t.flags, bit.pending);
  if (!pending && t.timeoutSeconds !== 0) return 'timeout_reserved_for_pending_transfer';
  if (!isWholeSeconds(t.timeoutSeconds)) return 'timeout_must_be_whole_seconds';
  if (!pending && hasFlag(t.flags, closingFlags)) return 'closing_transfer_must_be_pending';
  if (t.amount === undefined || t.amount === 0n) return 'amount_must_not_be_zero';
  if (t.amount < 0n) return 'amount_must_not_be_negative';
  return checkLabels(t, false);
}

function checkResolutionFields(t: TransferCommand): TransferFailure | null {
  if (modeCount(t.flags) > 1) return 'flags_are_mutually_exclusive';
  if (t.debitAccountId !== undefined && !isUuid(t.debitAccountId)) return 'debit_account_id_must_be_uuid';
  if (t.creditAccountId !== undefined && !isUuid(t.creditAccountId)) return 'credit_account_id_must_be_uuid';
  if (t.debitAccountId !== undefined && t.debitAccountId === t.creditAccountId) {
    return 'accounts_must_be_different';
  }
  if (t.pendingId === undefined || t.pendingId === nilUuid) return 'pending_id_must_not_be_zero';
  if (!isUuid(t.pendingId)) return 'pending_id_must_be_uuid';
  if (t.pendingId === t.id) return 'pending_id_must_be_different';
  if (t.timeoutSeconds !== 0) return 'timeout_reserved_for_pending_transfer';
  if (hasFlag(t.flags, closingFlags)) return 'closing_transfer_must_be_pending';
  if (t.amount === 0n) return 'amount_must_not_be_zero';
  if (t.amount !== undefined && t.amount < 0n) return 'amount_must_not_be_negative';
  return checkLabels(t, true);
}

/** Reference, ledger and code; a post/void may omit ledger and code. */
function checkLabels(t: TransferCommand, mayOmit: boolean): TransferFailure | null {
  if (t.reference !== undefined && t.reference.length > ledgerLimits.referenceLengthMax) {
    return 'reference_too_long';
  }
  if (!(mayOmit && t.ledger === undefined)) {
    if (t.ledger === undefined || t.ledger === 0) return 'ledger_must_not_be_zero';
    if (!inRange(t.ledger, ledgerLimits.ledgerMax)) return 'ledger_out_of_range';
  }
  if (!(mayOmit && t.code === undefined)) {
    if (t.code === undefined || t.code === 0) return 'code_must_not_be_zero';
    if (!inRange(t.code, ledgerLimits.codeMax)) return 'code_out_of_range';
  }
  return null;
}

/** A single-phase or pending transfer between two accounts. */
function decideNew(input: TransferDecisionInput): TransferDecision {
  const t = input.command;
  const { debitAccount: dr, creditAccount: cr } = input;
  const amount = t.amount!;
  const pending = hasFlag(t.flags, bit.pending);
  if (!dr) return { result: 'debit_account_not_found' };
  if (!cr) return { result: 'credit_account_not_found' };
  if (dr.ledger !== cr.ledger) return { result: 'accounts_must_have_the_same_ledger' };
  if (t.ledger !== dr.ledger) return { result: 'transfer_must_have_the_same_ledger_as_accounts' };
  if (dr.closed) return { result: 'debit_account_closed' };
  if (cr.closed) return { result: 'credit_account_closed' };
  const limit = checkNewAmounts(dr, cr, amount, pending, t.timeoutSeconds);
  if (limit) return { result: limit };
  const debit = pending ? { debitsPending: amount } : { debitsPosted: amount };
  const credit = pending ? { creditsPending: amount } : { creditsPosted: amount };
  return {
    result: 'ok',
    transfer: newRecord(t, dr, cr, amount, input.now),
    debit: { delta: delta(debit), closed: hasFlag(t.flags, bit.closingDebit) },
    credit: { delta: delta(credit), closed: hasFlag(t.flags, bit.closingCredit) },
  };
}

function checkNewAmounts(
  dr: AccountState,
  cr: AccountState,
  amount: bigint,
  pending: boolean,
  timeoutSeconds: number,
): TransferFailure | null {
  const max = ledgerLimits.amountMinorMax;
  if (pending && dr.debitsPending + amount > max) return 'overflows_debits_pending';
  if (pending && cr.creditsPending + amount > max) return 'overflows_credits_pending';
  if (!pending && dr.debitsPosted + amount > max) return 'overflows_debits_posted';
  if (!pending && cr.creditsPosted + amount > max) return 'overflows_credits_posted';
  if (dr.debitsPending + dr.debitsPosted + amount > max) return 'overflows_debits';
  if (cr.creditsPending + cr.creditsPosted + amount > max) return 'overflows_credits';
  if (timeoutSeconds > ledgerLimits.timeoutSecondsMax) return 'overflows_timeout';
  if (
    hasFlag(dr.flags, accountFlagBits.debitsMustNotExceedCredits) &&
    dr.debitsPending + dr.debitsPosted + amount > dr.creditsPosted
  ) {
    return 'exceeds_credits';
  }
  if (
    hasFlag(cr.flags, accountFlagBits.creditsMustNotExceedDebits) &&
    cr.creditsPending + cr.creditsPosted + amount > cr.debitsPosted
  ) {
    return 'exceeds_debits';
  }
  return null;
}

function newRecord(
  t: TransferCommand,
  dr: AccountState,
  cr: AccountState,
  amount: bigint,
  now: Date,
): TransferRecord {
  const expires = hasFlag(t.flags, bit.pending) && t.timeoutSeconds > 0;
  return {
    id: t.id,
    debitAccountId: dr.id,
    creditAccountId: cr.id,
    amount,
    pendingId: null,
    ledger: dr.ledger,
    code: t.code!,
    flags: t.flags,
    timeoutSeconds: t.timeoutSeconds,
    reference: t.reference ?? null,
    createdAt: now,
    expiresAt: expires ? new Date(now.getTime() + t.timeoutSeconds * 1000) : null,
  };
}

/** A post or void of a pending transfer. */
function decideResolution(input: TransferDecisionInput): TransferDecision {
  const t = input.command;
  const p = input.pending?.transfer;
  if (!p) return { result: 'pending_transfer_not_found' };
  if (!hasFlag(p.flags, bit.pending)) return { result: 'pending_transfer_not_pending' };
  const mismatch = checkAgainstPending(t, p);
  if (mismatch) return { result: mismatch };
  const status = statusAt(input.pending!, input.now, input.expiring === true);
  if (status !== 'pending') return { result: statusResults[status] };
  const { debitAccount: dr, creditAccount: cr } = input;
  if (!dr || !cr) return invariantBroken(`accounts of pending transfer ${p.id} must exist`);
  const post = hasFlag(t.flags, bit.postPending);
  const amount = post ? (t.amount ?? p.amount) : p.amount;
  const blocked = post ? checkPost(p, dr, cr, amount) : null;
  if (blocked) return { result: blocked };
  return resolved(t, p, dr, cr, amount, input.now);
}

function checkAgainstPending(t: TransferCommand, p: TransferRecord): TransferFailure | null {
  if (t.debitAccountId !== undefined && t.debitAccountId !== p.debitAccountId) {
    return 'pending_transfer_has_different_debit_account_id';
  }
  if (t.creditAccountId !== undefined && t.creditAccountId !== p.creditAccountId) {
    return 'pending_transfer_has_different_credit_account_id';
  }
  if (t.ledger !== undefined && t.ledger !== p.ledger) return 'pending_transfer_has_different_ledger';
  if (t.code !== undefined && t.code !== p.code) return 'pending_transfer_has_different_code';
  const post = hasFlag(t.flags, bit.postPending);
  if (post && t.amount !== undefined && t.amount > p.amount) return 'exceeds_pending_transfer_amount';
  if (!post && t.amount !== undefined && t.amount !== p.amount)
    return 'pending_transfer_has_different_amount';
  return null;
}

type ResolvedStatus = 'posted' | 'voided' | 'expired';

const statusResults = {
  posted: 'pending_transfer_already_posted',
  voided: 'pending_transfer_already_voided',
  expired: 'pending_transfer_expired',
} as const satisfies Record<ResolvedStatus, TransferFailure>;

/** The pending transfer's status at `now`: an unresolved hold past its expiry counts as expired. */
function statusAt(pending: PendingState, now: Date, expiring: boolean): 'pending' | ResolvedStatus {
  if (pending.status !== 'pending') return pending.status;
  const { expiresAt } = pending.transfer;
  const expired = expiresAt !== null && now.getTime() >= expiresAt.getTime();
  if (expiring && !expired) invariantBroken(`the sweep voids only expired holds (${pending.transfer.id})`);
  return expired && !expiring ? 'expired' : 'pending';
}

function checkPost(
  p: TransferRecord,
  dr: AccountState,
  cr: AccountState,
  amount: bigint,
): TransferFailure | null {
  // A closed account takes no more movement except voids, and the post of the hold that closed it.
  if (dr.closed && !hasFlag(p.flags, bit.closingDebit)) return 'debit_account_closed';
  if (cr.closed && !hasFlag(p.flags, bit.closingCredit)) return 'credit_account_closed';
  if (dr.debitsPosted + amount > ledgerLimits.amountMinorMax) return 'overflows_debits_posted';
  if (cr.creditsPosted + amount > ledgerLimits.amountMinorMax) return 'overflows_credits_posted';
  return null;
}

function resolved(
  t: TransferCommand,
  p: TransferRecord,
  dr: AccountState,
  cr: AccountState,
  amount: bigint,
  now: Date,
): TransferDecision {
  const post = hasFlag(t.flags, bit.postPending);
  const posted = post ? amount : 0n;
  const transfer: TransferRecord = {
    id: t.id,
    debitAccountId: p.debitAccountId,
    creditAccountId: p.creditAccountId,
    amount,
    pendingId: p.id,
    ledger: p.ledger,
    code: p.code,
    flags: t.flags,
    timeoutSeconds: 0,
    reference: t.reference ?? null,
    createdAt: now,
    expiresAt: null,
  };
  // Voiding the hold that closed an account reopens it; posting it keeps the account closed.
  const reopensDebit = !post && hasFlag(p.flags, bit.closingDebit);
  const reopensCredit = !post && hasFlag(p.flags, bit.closingCredit);
  return {
    result: 'ok',
    transfer,
    debit: {
      delta: delta({ debitsPending: -p.amount, debitsPosted: posted }),
      closed: dr.closed && !reopensDebit,
    },
    credit: {
      delta: delta({ creditsPending: -p.amount, creditsPosted: posted }),
      closed: cr.closed && !reopensCredit,
    },
  };
}

function delta(parts: Partial<Record<keyof AccountEffect['delta'], bigint>>): AccountEffect['delta'] {
  return {
    debitsPending: parts.debitsPending ?? 0n,
    debitsPosted: parts.debitsPosted ?? 0n,
    creditsPending: parts.creditsPending ?? 0n,
    creditsPosted: parts.creditsPosted ?? 0n,
  };
}

function modeCount(flags: number): number {
  let count = 0;
  for (let modes = flags & exclusiveModes; modes !== 0; modes &= modes - 1) count++;
  return count;
}

function isWholeSeconds(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function inRange(value: number, max: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && value <= max;
}
