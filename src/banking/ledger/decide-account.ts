import { accountFlagBits, encodeAccountFlags, reservedFlagMask } from './flags.ts';
import { isUuid, nilUuid } from './ids.ts';
import { ledgerLimits } from './limits.ts';
import type { AccountResult, LinkedResult } from './results.ts';
import type { AccountInput } from './types.ts';

/** The pure decision core for creating one account (TigerBeetle's create_account). */

export interface AccountCommand {
  id: string;
  ledger: number;
  code: number;
  owner: string;
  flags: number;
}

/** The immutable facts of an account; balances start at zero. */
export interface AccountRecord extends AccountCommand {
  createdAt: Date;
}

export type AccountFailure = Exclude<AccountResult, 'ok' | LinkedResult>;

export type AccountDecision = { result: 'ok'; account: AccountRecord } | { result: AccountFailure };

const limitFlags = accountFlagBits.debitsMustNotExceedCredits | accountFlagBits.creditsMustNotExceedDebits;

export function normaliseAccount(input: AccountInput): AccountCommand {
  return {
    id: typeof input.id === 'string' ? input.id.toLowerCase() : input.id,
    ledger: input.ledger,
    code: input.code,
    owner: input.owner,
    flags: encodeAccountFlags(input.flags),
  };
}

/** Decides one account given the account already stored under its id, if any. */
export function decideAccount(
  command: AccountCommand,
  existing: AccountRecord | undefined,
  now: Date,
): AccountDecision {
  const failure = checkIdentity(command) ?? (existing ? compare(command, existing) : checkFields(command));
  return failure ? { result: failure } : { result: 'ok', account: { ...command, createdAt: now } };
}

function checkIdentity(a: AccountCommand): AccountFailure | null {
  if (a.flags === reservedFlagMask) return 'reserved_flag';
  if (typeof a.id !== 'string' || !isUuid(a.id)) return 'id_must_be_uuid';
  if (a.id === nilUuid) return 'id_must_not_be_zero';
  return null;
}

function compare(a: AccountCommand, e: AccountRecord): AccountFailure {
  if (a.flags !== e.flags) return 'exists_with_different_flags';
  if (a.owner !== e.owner) return 'exists_with_different_owner';
  if (a.ledger !== e.ledger) return 'exists_with_different_ledger';
  if (a.code !== e.code) return 'exists_with_different_code';
  return 'exists';
}

function checkFields(a: AccountCommand): AccountFailure | null {
  if ((a.flags & limitFlags) === limitFlags) return 'flags_are_mutually_exclusive';
  if (typeof a.owner !== 'string' || a.owner.length === 0) return 'owner_must_not_be_empty';
  if (a.owner.length > ledgerLimits.ownerLengthMax) return 'owner_too_long';
  if (a.ledger === 0) return 'ledger_must_not_be_zero';
  if (!inRange(a.ledger, ledgerLimits.ledgerMax)) return 'ledger_out_of_range';
  if (a.code === 0) return 'code_must_not_be_zero';
  if (!inRange(a.code, ledgerLimits.codeMax)) return 'code_out_of_range';
  return null;
}

function inRange(value: number, max: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && value <= max;
}
