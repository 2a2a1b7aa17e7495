import { assert } from '../../platform/errors.ts';
import { accountFlagBits, decodeTransferFlags, hasFlag } from './flags.ts';
import { ledgerLimits } from './limits.ts';
import type { AccountBalance, Transfer } from './types.ts';

/*
 * The state the pure cores decide against. Flags stay bitmasks here (cheap to compare and store);
 * the public types in types.ts decode them.
 */

/** What the core knows about an account. */
export interface AccountState extends AccountBalance {
  id: string;
  ledger: number;
  flags: number;
  closed: boolean;
}

/** A recorded transfer with its flags as a bitmask. */
export interface TransferRecord {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  pendingId: string | null;
  ledger: number;
  code: number;
  flags: number;
  timeoutSeconds: number;
  reference: string | null;
  createdAt: Date;
  expiresAt: Date | null;
}

/** How a pending transfer ended, if it did: derived from the transfer that names it as pendingId. */
export type PendingStatus = 'pending' | 'posted' | 'voided' | 'expired';

export interface PendingState {
  transfer: TransferRecord;
  status: PendingStatus;
}

/** What one transfer does to one account. */
export interface AccountEffect {
  delta: AccountBalance;
  /** The account's closed flag after the transfer. */
  closed: boolean;
}

export const zeroBalance: AccountBalance = Object.freeze({
  debitsPending: 0n,
  debitsPosted: 0n,
  creditsPending: 0n,
  creditsPosted: 0n,
});

/** Applies an effect, asserting the invariants every account keeps after every transfer. */
export function applyEffect(account: AccountState, effect: AccountEffect): AccountState {
  const next: AccountState = {
    id: account.id,
    ledger: account.ledger,
    flags: account.flags,
    closed: effect.closed,
    debitsPending: account.debitsPending + effect.delta.debitsPending,
    debitsPosted: account.debitsPosted + effect.delta.debitsPosted,
    creditsPending: account.creditsPending + effect.delta.creditsPending,
    creditsPosted: account.creditsPosted + effect.delta.creditsPosted,
  };
  assertAccountInvariants(next);
  return next;
}

/** A broken one is a bug in the decision code: crash, never store it. */
export function assertAccountInvariants(account: AccountState): void {
  // Messages are built only on failure: this runs twice per transfer.
  const { debitsPending: dp, debitsPosted: dpo, creditsPending: cp, creditsPosted: cpo } = account;
  if (dp < 0n || dpo < 0n || cp < 0n || cpo < 0n) broken(account, 'has a negative balance');
  if (dp + dpo > ledgerLimits.amountMinorMax) broken(account, 'debits overflow');
  if (cp + cpo > ledgerLimits.amountMinorMax) broken(account, 'credits overflow');
  if (hasFlag(account.flags, accountFlagBits.debitsMustNotExceedCredits) && dp + dpo > cpo) {
    broken(account, 'debits exceed credits');
  }
  if (hasFlag(account.flags, accountFlagBits.creditsMustNotExceedDebits) && cp + cpo > dpo) {
    broken(account, 'credits exceed debits');
  }
}

function broken(account: AccountState, what: string): never {
  return invariantBroken(`account ${account.id} ${what}`);
}

/** Crashes on a broken invariant; for hot paths, where assert() would build its message every time. */
export function invariantBroken(message: string): never {
  assert(false, message);
}

export function toTransfer(record: TransferRecord): Transfer {
  return { ...record, flags: decodeTransferFlags(record.flags) };
}

/** The balance part of an account state (or of a row). */
export function balanceOf(value: AccountBalance): AccountBalance {
  return {
    debitsPending: value.debitsPending,
    debitsPosted: value.debitsPosted,
    creditsPending: value.creditsPending,
    creditsPosted: value.creditsPosted,
  };
}
