import { type Clock, systemClock } from '../../platform/clock.ts';
import { type IdGenerator, newId } from '../../platform/ids.ts';
import { type AccountRecord, normaliseAccount } from './decide-account.ts';
import { batchAccountIds, decideAccountBatch, decideTransferBatch } from './decide-batch.ts';
import { normaliseTransfer } from './decide-transfer.ts';
import { hasFlag, transferFlagBits } from './flags.ts';
import { ledgerLimits } from './limits.ts';
import type { AccountResult, TransferResult } from './results.ts';
import {
  type AccountState,
  balanceOf,
  type PendingStatus,
  type TransferRecord,
  zeroBalance,
} from './state.ts';
import type { AccountBalance, AccountInput, TransferInput } from './types.ts';

/**
 * The reference ledger: the same pure cores over plain Maps, small enough to be obviously right.
 * Tests feed it and the PostgreSQL Ledger the same commands and compare every result (exchange-core's
 * "two books behind one interface"); other modules may use it as a fake in their unit tests.
 */
export class MemoryLedger {
  readonly #clock: Clock;
  readonly #newId: IdGenerator;
  readonly #accounts = new Map<string, AccountRecord>();
  readonly #states = new Map<string, AccountState>();
  readonly #lastTransferMs = new Map<string, number>();
  readonly #transfers = new Map<string, TransferRecord>();
  readonly #pendingStatus = new Map<string, PendingStatus>();
  /** Every transfer in seq order. */
  readonly #log: TransferRecord[] = [];

  constructor(options: { clock?: Clock; newId?: IdGenerator } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#newId = options.newId ?? newId;
  }

  createAccounts(inputs: readonly AccountInput[]): AccountResult[] {
    const outcome = decideAccountBatch(inputs.map(normaliseAccount), this.#accounts, this.#clock.now());
    for (const a of outcome.created) {
      this.#states.set(a.id, { id: a.id, ledger: a.ledger, flags: a.flags, closed: false, ...zeroBalance });
    }
    return outcome.results;
  }

  createTransfers(inputs: readonly TransferInput[]): TransferResult[] {
    return this.#batch(inputs, this.#clock.now(), false);
  }

  /** Voids every hold whose timeout passed at `now`; returns how many. */
  expirePendingTransfers(now: Date = this.#clock.now()): number {
    const expired = this.#log
      .filter((t) => t.expiresAt !== null && t.expiresAt <= now && !this.#pendingStatus.has(t.id))
      .sort((a, b) => a.expiresAt!.getTime() - b.expiresAt!.getTime() || (a.id < b.id ? -1 : 1));
    let voided = 0;
    for (let i = 0; i < expired.length; i += ledgerLimits.expiryBatchMax) {
      const round = expired.slice(i, i + ledgerLimits.expiryBatchMax);
      const voids = round.map((p) => ({ id: this.#newId(), pendingId: p.id, flags: { voidPending: true } }));
      voided += this.#batch(voids, now, true).filter((r) => r === 'ok').length;
    }
    return voided;
  }

  #batch(inputs: readonly TransferInput[], clockNow: Date, expiring: boolean): TransferResult[] {
    const commands = inputs.map(normaliseTransfer);
    const touched = batchAccountIds(commands, this.#transfers).filter((id) => this.#states.has(id));
    const before = new Map(touched.map((id) => [id, this.#states.get(id)!]));
    const lastMs = Math.max(clockNow.getTime(), ...touched.map((id) => this.#lastTransferMs.get(id) ?? 0));
    const now = new Date(lastMs);
    const state = { accounts: this.#states, transfers: this.#transfers, pendingStatus: this.#pendingStatus };
    const outcome = decideTransferBatch(commands, state, now, expiring);
    for (const [id, account] of before) {
      if (this.#states.get(id) !== account) this.#lastTransferMs.set(id, now.getTime());
    }
    this.#log.push(...outcome.created);
    return outcome.results;
  }

  /** The current balance, or the one derived from transfers stamped at or before `asOf`. */
  getAccountBalance(id: string, options: { asOf?: Date } = {}): AccountBalance | null {
    const state = this.#states.get(id.toLowerCase());
    if (!state) return null;
    if (options.asOf === undefined) return balanceOf(state);
    const asOf = options.asOf;
    return this.history(id)
      .filter((entry) => entry.transfer.createdAt <= asOf)
      .reduce((_, entry) => entry.balanceAfter, zeroBalance);
  }

  /** Every transfer on the account, oldest first, with the balance right after it. */
  history(id: string): Array<{ transfer: TransferRecord; balanceAfter: AccountBalance }> {
    const accountId = id.toLowerCase();
    let balance = zeroBalance;
    const entries: Array<{ transfer: TransferRecord; balanceAfter: AccountBalance }> = [];
    for (const t of this.#log) {
      if (t.debitAccountId !== accountId && t.creditAccountId !== accountId) continue;
      balance = addBalances(balance, this.#effect(t, t.debitAccountId === accountId));
      entries.push({ transfer: t, balanceAfter: balance });
    }
    return entries;
  }

  /** What a stored transfer did to its debit (or credit) account. */
  #effect(t: TransferRecord, debitSide: boolean): AccountBalance {
    const pendingAmount = t.pendingId === null ? 0n : this.#transfers.get(t.pendingId)!.amount;
    const pending = hasFlag(t.flags, transferFlagBits.pending) ? t.amount : -pendingAmount;
    const posted = hasFlag(t.flags, transferFlagBits.pending | transferFlagBits.voidPending) ? 0n : t.amount;
    return debitSide
      ? { ...zeroBalance, debitsPending: pending, debitsPosted: posted }
      : { ...zeroBalance, creditsPending: pending, creditsPosted: posted };
  }

  accountIds(): string[] {
    return [...this.#states.keys()];
  }

  transfers(): readonly TransferRecord[] {
    return this.#log;
  }
}

function addBalances(a: AccountBalance, b: AccountBalance): AccountBalance {
  return {
    debitsPending: a.debitsPending + b.debitsPending,
    debitsPosted: a.debitsPosted + b.debitsPosted,
    creditsPending: a.creditsPending + b.creditsPending,
    creditsPosted: a.creditsPosted + b.creditsPosted,
  };
}
