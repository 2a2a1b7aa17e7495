import { type Clock, systemClock } from '../../platform/clock.ts';
import { AppError, invalidField, registerErrors } from '../../platform/errors.ts';
import { type IdGenerator, newId } from '../../platform/ids.ts';
import { type Pool, type PoolClient, withTransaction } from '../../platform/sql/pool.ts';
import { normaliseAccount } from './decide-account.ts';
import {
  batchAccountIds,
  batchPendingIds,
  decideAccountBatch,
  decideTransferBatch,
  type TransferBatchOutcome,
  type TransferBatchState,
  uniqueUuids,
} from './decide-batch.ts';
import { normaliseTransfer, type TransferCommand } from './decide-transfer.ts';
import * as derived from './derived.ts';
import { ledgerErrors } from './errors.ts';
import { decodeAccountFlags } from './flags.ts';
import { isUuid } from './ids.ts';
import { ledgerLimits } from './limits.ts';
import type { AccountResult, TransferResult } from './results.ts';
import { type AccountState, balanceOf, type TransferRecord, toTransfer } from './state.ts';
import * as store from './store.ts';
import type {
  Account,
  AccountBalance,
  AccountInput,
  AccountTransfersPage,
  BalanceMismatch,
  Transfer,
  TransferInput,
} from './types.ts';

export interface LedgerOptions {
  /** Stamps transfers; read after the batch's accounts are locked. */
  clock?: Clock;
  /** Ids of the void transfers the timeout sweep writes. */
  newId?: IdGenerator;
}

// The Ledger throws ledger codes itself (batch_too_large, account_not_found), so it makes sure they are
// known; registering the same table again at composition is a no-op.
registerErrors(ledgerErrors);

/** PostgreSQL errors after which the whole batch is simply run again. */
const retryableCodes = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected (e.g. two batches inserting each other's ids)
  '23505', // unique_violation: a racing batch committed the same id first; the rerun sees 'exists'
]);

/**
 * The imperative shell around the pure cores: one transaction per batch loads what the batch needs
 * (accounts locked FOR NO KEY UPDATE in id order), decides it in memory with the pure cores, then
 * writes the transfers, the balance cache and the sweep's work list in one statement. A linked chain
 * that fails is undone in memory before anything is written, so it needs no savepoint.
 */
export class Ledger {
  readonly #pool: Pool;
  readonly #clock: Clock;
  readonly #newId: IdGenerator;

  constructor(pool: Pool, options: LedgerOptions = {}) {
    this.#pool = pool;
    this.#clock = options.clock ?? systemClock;
    this.#newId = options.newId ?? newId;
  }

  /** Creates accounts; one result per input, in order. */
  async createAccounts(inputs: readonly AccountInput[]): Promise<AccountResult[]> {
    assertBatchSize(inputs.length, ledgerLimits.accountsPerBatchMax);
    if (inputs.length === 0) return [];
    const commands = inputs.map(normaliseAccount);
    return this.#retrying(() =>
      withTransaction(this.#pool, async (client) => {
        const stored = await store.selectAccounts(client, uniqueUuids(commands.map((c) => c.id)));
        const existing = new Map(stored.map((a) => [a.id, a]));
        const outcome = decideAccountBatch(commands, existing, this.#clock.now());
        await store.insertAccounts(client, outcome.created);
        return outcome.results;
      }),
    );
  }

  /** Creates transfers; one result per input, in order. Linked chains succeed or fail as a whole. */
  async createTransfers(inputs: readonly TransferInput[]): Promise<TransferResult[]> {
    assertBatchSize(inputs.length, ledgerLimits.transfersPerBatchMax);
    if (inputs.length === 0) return [];
    const commands = inputs.map(normaliseTransfer);
    const outcome = await this.#retrying(() =>
      withTransaction(this.#pool, (client) => this.#transferBatch(client, commands, null)),
    );
    return outcome.results;
  }

  /**
   * The timeout sweep: voids holds whose timeout passed at `now` with new void transfers, at most
   * ledgerLimits.expiryPerCallMax per call. Returns how many it voided; safe to run concurrently.
   */
  async expirePendingTransfers(now: Date = this.#clock.now()): Promise<number> {
    let voided = 0;
    const roundsMax = Math.ceil(ledgerLimits.expiryPerCallMax / ledgerLimits.expiryBatchMax);
    for (let round = 0; round < roundsMax; round++) {
      const { candidates, expired } = await this.#retrying(() =>
        withTransaction(this.#pool, (client) => this.#expireRound(client, now)),
      );
      voided += expired;
      if (candidates < ledgerLimits.expiryBatchMax) break;
    }
    return voided;
  }

  async #expireRound(client: PoolClient, now: Date): Promise<{ candidates: number; expired: number }> {
    const pendingIds = await store.selectExpiredHolds(client, now, ledgerLimits.expiryBatchMax);
    if (pendingIds.length === 0) return { candidates: 0, expired: 0 };
    const commands = pendingIds.map((pendingId) => normaliseTransfer(this.#expiryVoid(pendingId)));
    const outcome = await this.#transferBatch(client, commands, now);
    // Every candidate is resolved now, by this round or by someone before it.
    await store.deletePendingTimeouts(client, pendingIds);
    return { candidates: pendingIds.length, expired: outcome.results.filter((r) => r === 'ok').length };
  }

  #expiryVoid(pendingId: string): TransferInput {
    return { id: this.#newId(), pendingId, flags: { voidPending: true } };
  }

  /** Decides and writes one batch inside `client`'s transaction. `sweepNow` is set only by the sweep. */
  async #transferBatch(
    client: PoolClient,
    commands: readonly TransferCommand[],
    sweepNow: Date | null,
  ): Promise<TransferBatchOutcome> {
    const { state, now } = await this.#loadBatch(client, commands, sweepNow);
    const stored = new Map(state.transfers);
    const before = new Map(state.accounts);
    const outcome = decideTransferBatch(commands, state, now, sweepNow !== null);
    if (outcome.created.length > 0) {
      await store.writeBatch(client, batchWrites(outcome.created, state.accounts, before, stored, now));
    }
    return outcome;
  }

  /**
   * Everything a batch is decided against, read in an order that keeps it current: pending transfers
   * (immutable), then the accounts locked in id order, then, under those locks, the transfers already
   * stored under the batch's ids and how its pending transfers ended.
   */
  async #loadBatch(client: PoolClient, commands: readonly TransferCommand[], sweepNow: Date | null) {
    const pendingIds = batchPendingIds(commands);
    const transfers = new Map((await store.selectTransfers(client, pendingIds)).map((t) => [t.id, t]));
    const locked = await store.lockAccounts(client, batchAccountIds(commands, transfers));
    const now = latest(sweepNow ?? this.#clock.now(), locked);
    for (const t of await store.selectTransfers(client, uniqueUuids(commands.map((c) => c.id)))) {
      transfers.set(t.id, t);
    }
    const pendingStatus = await store.selectPendingStatuses(client, pendingIds);
    const accounts = new Map<string, AccountState>(locked.map((a) => [a.id, a]));
    const state: TransferBatchState = { accounts, transfers, pendingStatus };
    return { state, now };
  }

  /** Runs `work` again after a retryable PostgreSQL error, at most batchRetriesMax times. */
  async #retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (attempt >= ledgerLimits.batchRetriesMax || !isRetryable(error)) throw error;
      }
    }
  }

  /** The accounts found, in the order asked. */
  async lookupAccounts(ids: readonly string[]): Promise<Account[]> {
    assertBatchSize(ids.length, ledgerLimits.lookupIdsMax);
    const wanted = uniqueUuids(ids.map((id) => id.toLowerCase()));
    const byId = new Map((await store.selectAccounts(this.#pool, wanted)).map((a) => [a.id, a]));
    return wanted.flatMap((id) => {
      const a = byId.get(id);
      return a ? [toAccount(a)] : [];
    });
  }

  /** The transfers found, in the order asked. */
  async lookupTransfers(ids: readonly string[]): Promise<Transfer[]> {
    assertBatchSize(ids.length, ledgerLimits.lookupIdsMax);
    const wanted = uniqueUuids(ids.map((id) => id.toLowerCase()));
    const byId = new Map((await store.selectTransfers(this.#pool, wanted)).map((t) => [t.id, t]));
    return wanted.flatMap((id) => {
      const t = byId.get(id);
      return t ? [toTransfer(t)] : [];
    });
  }

  /**
   * The account's balance now (from the cache) or at `asOf` (summed from the transfers stamped at
   * or before it); null for an unknown account.
   */
  async getAccountBalance(id: string, options: { asOf?: Date } = {}): Promise<AccountBalance | null> {
    const accountId = id.toLowerCase();
    if (!isUuid(accountId)) return null;
    const [account] = await store.selectAccounts(this.#pool, [accountId]);
    if (!account) return null;
    if (options.asOf === undefined) return balanceOf(account);
    return derived.selectBalanceAsOf(this.#pool, accountId, options.asOf);
  }

  /**
   * The account's transfers, newest first, each with the balance right after it (computed from the
   * transfers); null for an unknown account. Pass nextCursor back to page on; asOf hides later ones.
   */
  async getAccountTransfers(
    id: string,
    options: { limit?: number; cursor?: string | null; asOf?: Date } = {},
  ): Promise<AccountTransfersPage | null> {
    const limit = options.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > ledgerLimits.historyPageMax) {
      throw invalidField('limit', `must be a whole number from 1 to ${ledgerLimits.historyPageMax}`);
    }
    const cursor = options.cursor ?? null;
    if (cursor !== null && !/^[1-9][0-9]{0,18}$/.test(cursor)) throw invalidField('cursor', 'is not valid');
    const accountId = id.toLowerCase();
    if (!isUuid(accountId) || (await store.selectAccounts(this.#pool, [accountId])).length === 0) return null;
    const rows = await derived.selectHistory(this.#pool, accountId, {
      limit,
      beforeSeq: cursor === null ? null : BigInt(cursor),
      asOf: options.asOf ?? null,
    });
    const entries = rows.map((row) => ({ ...row, transfer: toTransfer(row.transfer) }));
    const nextCursor = entries.length === limit ? entries[entries.length - 1]!.seq.toString() : null;
    return { entries, nextCursor };
  }

  /**
   * Compares every account's balance cache with the balances derived from its transfers, in one
   * snapshot; returns the differences (none, unless something bypassed the ledger).
   */
  async verifyBalances(): Promise<BalanceMismatch[]> {
    return this.#snapshot((client) => derived.selectBalanceMismatches(client, verifyReportMax));
  }

  /** Pending ids on which the sweep's work list and the transfers disagree (should be none). */
  async verifyPendingTimeouts(): Promise<string[]> {
    return this.#snapshot((client) => derived.selectTimeoutMismatches(client, verifyReportMax));
  }

  /**
   * Rebuilds the balance cache and the sweep's work list from transfers, with writers held off;
   * returns how many rows it corrected.
   */
  async recomputeBalances(): Promise<number> {
    return withTransaction(this.#pool, async (client) => {
      // EXCLUSIVE conflicts with the row locks of every running batch: wait for them, block new ones.
      await client.query('LOCK TABLE ledger_accounts IN EXCLUSIVE MODE');
      await client.query('LOCK TABLE ledger_pending_timeouts IN EXCLUSIVE MODE');
      return (await derived.rewriteBalances(client)) + (await derived.rewritePendingTimeouts(client));
    });
  }

  async #snapshot<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.#pool, async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return work(client);
    });
  }
}

/** Differences one verify call reports at most. */
const verifyReportMax = 1_000;

function assertBatchSize(size: number, max: number): void {
  if (size > max) throw new AppError('batch_too_large', `at most ${max} per call, got ${size}`);
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && retryableCodes.has(code);
}

/**
 * The batch's timestamp: now, but never before the latest transfer on any of its accounts, so each
 * account's timestamps follow its lock order even if the clock steps back.
 */
function latest(now: Date, accounts: readonly store.LockedAccount[]): Date {
  let ms = now.getTime();
  for (const a of accounts) if (a.lastTransferMs !== null && a.lastTransferMs > ms) ms = a.lastTransferMs;
  return new Date(ms);
}

/** The rows a decided batch writes: transfers, changed balances and the sweep's work list. */
function batchWrites(
  created: readonly TransferRecord[],
  accounts: Map<string, AccountState>,
  before: Map<string, AccountState>,
  stored: ReadonlyMap<string, TransferRecord>,
  now: Date,
): store.BatchWrites {
  const resolvedInBatch = new Set(created.flatMap((t) => (t.pendingId === null ? [] : [t.pendingId])));
  const changed: AccountState[] = [];
  for (const [id, state] of accounts) if (state !== before.get(id)) changed.push(state);
  return {
    transfers: created,
    accounts: changed,
    timeoutsAdded: created.filter((t) => t.expiresAt !== null && !resolvedInBatch.has(t.id)),
    // Only holds with a timeout are on the list; a hold created in this batch never reached it.
    timeoutsRemoved: [...resolvedInBatch].filter((id) => stored.get(id)?.expiresAt),
    now,
  };
}

function toAccount(a: store.StoredAccount): Account {
  const flags = decodeAccountFlags(a.flags);
  return {
    id: a.id,
    ledger: a.ledger,
    code: a.code,
    owner: a.owner,
    flags: { ...flags, closed: a.closed },
    createdAt: a.createdAt,
    ...balanceOf(a),
  };
}
