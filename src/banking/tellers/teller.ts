import { AppError, assert, invalidField } from '../../platform/errors.ts';
import { limits } from '../../platform/limits.ts';
import { type CurrencyCode, currencyScale, formatDecimal, parseDecimal } from '../../platform/money.ts';
import type { Pool } from '../../platform/sql/pool.ts';
import { findAccount } from '../accounts/bank-accounts.ts';
import { bankAccountIds, ledgerOf, transferCodes } from '../accounts/ledger-codes.ts';
import { namedUuid } from '../accounts/named-id.ts';
import type { Ledger, Transfer, TransferResult } from '../ledger/index.ts';
import { recordPostingDetails } from '../read-models/posting-details.ts';

export type CashMovementKind = 'deposit' | 'withdrawal';

/** A teller's request: cash in or out of a customer account. */
export interface CashMovementRequest {
  accountId: string;
  /** Decimal string in the account currency's scale. */
  amount: string;
  currency: string;
  /** The teller's reference: one reference is one movement, whatever is sent again. */
  reference: string;
}

/** The booked movement; a replay of the same request returns the same value. */
export interface CashMovement {
  transferId: string;
  kind: CashMovementKind;
  accountId: string;
  amount: string;
  currency: CurrencyCode;
  reference: string;
  bookedAt: string;
}

/** Longest teller reference (the ledger's reference field). */
export const tellerReferenceLengthMax = 128;

/** The ledger transfer id of a teller reference: the same reference always books under one id. */
export function tellerTransferId(reference: string): string {
  return namedUuid(`kinyu:teller:${reference}`);
}

/**
 * Cash through a teller, booked against the bank's cash account of the currency so the ledger
 * balances: a deposit debits cash and credits the customer; a withdrawal the reverse, refused
 * (422 insufficient_funds) when the customer's account would go below zero — the ledger's
 * debits_must_not_exceed_credits flag decides. Idempotent by reference: the transfer id is derived
 * from it, so the same request again is the ledger's `exists` and answers the same; a different
 * request under a used reference is the ledger's `exists_with_different_*` and answers 409.
 */
export class Teller {
  readonly #pool: Pool;
  readonly #ledger: Ledger;

  constructor(pool: Pool, ledger: Ledger) {
    this.#pool = pool;
    this.#ledger = ledger;
  }

  deposit(request: CashMovementRequest): Promise<CashMovement> {
    return this.#move('deposit', request);
  }

  withdraw(request: CashMovementRequest): Promise<CashMovement> {
    return this.#move('withdrawal', request);
  }

  async #move(kind: CashMovementKind, request: CashMovementRequest): Promise<CashMovement> {
    const account = await findAccount(this.#pool, request.accountId);
    if (!account) throw new AppError('bank_account_not_found', `No account ${request.accountId}`);
    if (account.status !== 'open') throw new AppError('account_not_open', `Account ${account.id} is closed`);
    if (request.currency !== account.currency) {
      throw new AppError('currency_mismatch', `The account is in ${account.currency}`, {
        errors: [{ field: 'currency', reason: `must be ${account.currency}, the account's currency` }],
      });
    }
    const parsed = parseDecimal(request.amount, {
      scale: currencyScale(account.currency),
      allowZero: false,
      maxMinor: limits.amountMinorMax,
    });
    if (!parsed.ok) throw invalidField('amount', parsed.detail);
    const id = tellerTransferId(request.reference);
    const cash = bankAccountIds(account.currency).cash;
    const deposit = kind === 'deposit';
    await recordPostingDetails(this.#pool, [
      {
        ledgerTransferId: id,
        type: kind,
        description: deposit ? 'Cash deposit' : 'Cash withdrawal',
        counterparty: 'Teller',
      },
    ]);
    const [result] = await this.#ledger.createTransfers([
      {
        id,
        debitAccountId: deposit ? cash : account.id,
        creditAccountId: deposit ? account.id : cash,
        amount: parsed.value,
        ledger: ledgerOf(account.currency),
        code: deposit ? transferCodes.tellerDeposit : transferCodes.tellerWithdrawal,
        reference: request.reference,
      },
    ]);
    assert(result !== undefined, 'the ledger answers one result per transfer');
    if (result !== 'ok' && result !== 'exists') throw movementError(result);
    const [booked] = await this.#ledger.lookupTransfers([id]);
    assert(booked !== undefined, `teller transfer ${id} was booked but is not found`);
    return toMovement(booked, account.currency, request.reference);
  }
}

function movementError(result: TransferResult): AppError {
  if (result.startsWith('exists_with_different_')) {
    return new AppError('reference_conflict', 'This reference was used for a different movement', {
      errors: [{ field: 'reference', reason: 'was already used with a different account, amount or kind' }],
    });
  }
  if (result === 'exceeds_credits') {
    return new AppError('insufficient_funds', 'The withdrawal would overdraw the account', {
      errors: [{ field: 'amount', reason: 'exceeds the available balance' }],
    });
  }
  if (result === 'debit_account_closed' || result === 'credit_account_closed') {
    return new AppError('account_not_open');
  }
  // Any other result is the ledger's own code (e.g. a missing bank cash account: a set-up bug).
  return new AppError(result);
}

function toMovement(transfer: Transfer, currency: CurrencyCode, reference: string): CashMovement {
  const deposit = transfer.code === transferCodes.tellerDeposit;
  return {
    transferId: transfer.id,
    kind: deposit ? 'deposit' : 'withdrawal',
    accountId: deposit ? transfer.creditAccountId : transfer.debitAccountId,
    amount: formatDecimal(transfer.amount, currencyScale(currency)),
    currency,
    reference,
    bookedAt: transfer.createdAt.toISOString(),
  };
}
