import type { Clock } from '../../platform/clock.ts';
import { assert } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import { type Pool, type PoolClient, withTransaction } from '../../platform/sql/pool.ts';
import { accountIdsPage } from '../accounts/bank-accounts.ts';
import { transferCodes } from '../accounts/ledger-codes.ts';
import type { AccountBalance, AccountTransferEntry, Ledger } from '../ledger/index.ts';
import { readModelLimits } from './limits.ts';
import { type PostingDetails, postingDetailsOf } from './posting-details.ts';

/** One line of an account's history, as the projection stores it. */
export interface HistoryRow {
  accountId: string;
  id: string;
  seq: bigint;
  time: Date;
  type: string;
  amountMinor: bigint;
  direction: 'debit' | 'credit';
  balanceAfterMinor: bigint;
  availableAfterMinor: bigint;
  description: string;
  counterparty: string | null;
  transferId: string | null;
}

/** A customer account's posted balance (credit-normal: credits − debits). */
export function postedOf(balance: AccountBalance): bigint {
  return balance.creditsPosted - balance.debitsPosted;
}

/** What the customer may spend: posted, less outgoing holds (incoming holds are not money yet). */
export function availableOf(balance: AccountBalance): bigint {
  return balance.creditsPosted - balance.debitsPosted - balance.debitsPending;
}

/** Net holds: incoming minus outgoing. */
export function pendingOf(balance: AccountBalance): bigint {
  return balance.creditsPending - balance.debitsPending;
}

/**
 * The history line of one ledger entry of `accountId` (pure): the writer's posting details when
 * there are any, else a description from the transfer's kind (e.g. a hold voided by expiry).
 */
export function historyRowOf(
  accountId: string,
  entry: AccountTransferEntry,
  details: PostingDetails | undefined,
): HistoryRow {
  const { transfer, balanceAfter } = entry;
  const fallback = fallbackDetails(entry);
  return {
    accountId,
    id: transfer.id,
    seq: entry.seq,
    time: transfer.createdAt,
    type: details?.type ?? fallback.type,
    amountMinor: transfer.amount,
    direction: transfer.debitAccountId === accountId ? 'debit' : 'credit',
    balanceAfterMinor: postedOf(balanceAfter),
    availableAfterMinor: availableOf(balanceAfter),
    description: details?.description ?? fallback.description,
    counterparty: details?.counterparty ?? null,
    transferId: details?.transferId ?? null,
  };
}

function fallbackDetails({ transfer }: AccountTransferEntry): { type: string; description: string } {
  if (transfer.flags.pending) return { type: 'hold', description: 'Amount on hold' };
  if (transfer.flags.postPending) return { type: 'hold_posted', description: 'Held amount booked' };
  if (transfer.flags.voidPending) return { type: 'hold_released', description: 'Hold released' };
  if (transfer.code === transferCodes.tellerDeposit) return { type: 'deposit', description: 'Cash deposit' };
  if (transfer.code === transferCodes.tellerWithdrawal) {
    return { type: 'withdrawal', description: 'Cash withdrawal' };
  }
  return { type: 'transfer', description: 'Transfer' };
}

export interface HistoryProjectorDeps {
  pool: Pool;
  ledger: Ledger;
  clock: Clock;
  pollIntervalMs: number;
  log?: Logger;
}

interface CheckpointRow {
  last_seq: bigint;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

/**
 * The history read model (bank_account_history) and the balance it reached per account
 * (bank_account_balances), projected from the ledger's transfers and the posting details.
 *
 * It follows each customer account in the ledger's order of that account's transfers: within one
 * account the ledger's seq follows the account's lock order, so a transfer can never commit below a
 * seq already projected for the account (across accounts it can, which is why the checkpoint is
 * per account). An account is read again when its ledger balance differs from the one projected,
 * on every read through the API, and every `fullSweepEveryPolls` polls in any case.
 */
export class HistoryProjector {
  readonly #deps: HistoryProjectorDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #polls = 0;

  constructor(deps: HistoryProjectorDeps) {
    this.#deps = deps;
  }

  /** Starts polling in the background. */
  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops polling and waits for the round in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.poll()
        .then(() => undefined)
        .catch((error: unknown) => this.#deps.log?.warn({ err: error }, 'history projection round failed'))
        .finally(() => {
          this.#running = undefined;
          this.#schedule(this.#deps.pollIntervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  /** One round: catches up every account whose balance moved (or all, every few rounds). */
  async poll(): Promise<number> {
    const everything = this.#polls % readModelLimits.fullSweepEveryPolls === 0;
    this.#polls++;
    return this.catchUpAll({ onlyChanged: !everything });
  }

  /** Catches up every customer account (or only those whose ledger balance moved); returns rows added. */
  async catchUpAll(options: { onlyChanged: boolean }): Promise<number> {
    let added = 0;
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const ids = await accountIdsPage(this.#deps.pool, after, readModelLimits.accountsPerScanMax);
      const due = options.onlyChanged ? await this.#changed(ids) : ids;
      for (const id of due) added += await this.catchUpAccount(id);
      if (ids.length < readModelLimits.accountsPerScanMax) return added;
      after = ids[ids.length - 1]!;
    }
  }

  /** Catches up one account when its ledger balance differs from the projected one. */
  async catchUpIfChanged(accountId: string): Promise<number> {
    const [due] = await this.#changed([accountId]);
    return due === undefined ? 0 : this.catchUpAccount(due);
  }

  async #changed(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const accounts = await this.#deps.ledger.lookupAccounts(ids);
    const { rows } = await this.#deps.pool.query<CheckpointRow & { account_id: string }>(
      'SELECT * FROM bank_account_balances WHERE account_id = ANY($1::uuid[])',
      [ids],
    );
    const projected = new Map(rows.map((row) => [row.account_id, row]));
    return accounts
      .filter((account) => {
        const row = projected.get(account.id);
        return (
          account.debitsPending !== (row?.debits_pending ?? 0n) ||
          account.debitsPosted !== (row?.debits_posted ?? 0n) ||
          account.creditsPending !== (row?.credits_pending ?? 0n) ||
          account.creditsPosted !== (row?.credits_posted ?? 0n)
        );
      })
      .map((account) => account.id);
  }

  /** Projects the account's ledger entries after its checkpoint; returns how many rows it added. */
  async catchUpAccount(accountId: string): Promise<number> {
    return withTransaction(this.#deps.pool, async (tx) => {
      const checkpoint = await lockCheckpoint(tx, accountId, this.#deps.clock.now());
      const fresh = await this.#entriesAfter(accountId, checkpoint.last_seq);
      if (fresh.length === 0) return 0;
      const details = await postingDetailsOf(
        tx,
        fresh.map((entry) => entry.transfer.id),
      );
      const rows = fresh.map((entry) => historyRowOf(accountId, entry, details.get(entry.transfer.id)));
      await insertHistory(tx, rows);
      const newest = fresh[fresh.length - 1]!;
      await tx.query(
        `UPDATE bank_account_balances SET last_seq = $2, debits_pending = $3, debits_posted = $4,
           credits_pending = $5, credits_posted = $6, updated_at = $7 WHERE account_id = $1`,
        [
          accountId,
          newest.seq,
          newest.balanceAfter.debitsPending,
          newest.balanceAfter.debitsPosted,
          newest.balanceAfter.creditsPending,
          newest.balanceAfter.creditsPosted,
          this.#deps.clock.now(),
        ],
      );
      return rows.length;
    });
  }

  /** The account's ledger entries after `lastSeq`, oldest first (the ledger pages newest first). */
  async #entriesAfter(accountId: string, lastSeq: bigint): Promise<AccountTransferEntry[]> {
    const fresh: AccountTransferEntry[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page = await this.#deps.ledger.getAccountTransfers(accountId, {
        limit: readModelLimits.catchUpPageMax,
        cursor,
      });
      if (page === null) return [];
      for (const entry of page.entries) {
        if (entry.seq <= lastSeq) return fresh.reverse();
        fresh.push(entry);
      }
      assert(fresh.length <= readModelLimits.catchUpBacklogMax, `history of ${accountId} is too far behind`);
      if (page.nextCursor === null) return fresh.reverse();
      cursor = page.nextCursor;
    }
  }

  /**
   * Throws the read models away and projects them again from the ledger (`kinyu projections
   * rebuild`). Safe while the projector runs elsewhere: every catch-up locks its account's
   * checkpoint row, and TRUNCATE waits for those locks. Returns the accounts and rows the rebuilt
   * model holds.
   */
  async rebuild(): Promise<{ accounts: number; rows: number }> {
    await this.#deps.pool.query('TRUNCATE bank_account_history, bank_account_balances');
    await this.catchUpAll({ onlyChanged: false });
    const { rows } = await this.#deps.pool.query<{ accounts: number; rows: number }>(
      `SELECT (SELECT count(*)::int FROM bank_accounts) AS accounts,
              (SELECT count(*)::int FROM bank_account_history) AS rows`,
    );
    return rows[0]!;
  }
}

async function lockCheckpoint(tx: PoolClient, accountId: string, now: Date): Promise<CheckpointRow> {
  await tx.query(
    'INSERT INTO bank_account_balances (account_id, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [accountId, now],
  );
  const { rows } = await tx.query<CheckpointRow>(
    'SELECT * FROM bank_account_balances WHERE account_id = $1 FOR UPDATE',
    [accountId],
  );
  return rows[0]!;
}

async function insertHistory(tx: PoolClient, rows: readonly HistoryRow[]): Promise<void> {
  const json = JSON.stringify(
    rows.map((row) => ({
      account_id: row.accountId,
      id: row.id,
      seq: row.seq.toString(),
      time: row.time.toISOString(),
      type: row.type,
      amount: row.amountMinor.toString(),
      direction: row.direction,
      balance_after: row.balanceAfterMinor.toString(),
      available_after: row.availableAfterMinor.toString(),
      description: row.description,
      counterparty: row.counterparty,
      transfer_id: row.transferId,
    })),
  );
  await tx.query(
    `INSERT INTO bank_account_history (account_id, id, seq, time, type, amount, direction, balance_after,
       available_after, description, counterparty, transfer_id)
     SELECT account_id, id, seq, time, type, amount, direction, balance_after, available_after,
            description, counterparty, transfer_id
       FROM jsonb_to_recordset($1::jsonb) AS r(account_id uuid, id uuid, seq int8, time timestamptz,
            type text, amount int8, direction text, balance_after int8, available_after int8,
            description text, counterparty text, transfer_id uuid)
     ON CONFLICT DO NOTHING`,
    [json],
  );
}

/** One page of an account's history, newest first; the cursor is the last row's seq. */
export async function historyPage(
  pool: Pool,
  accountId: string,
  options: { limit: number; cursor: bigint | null },
): Promise<{ rows: HistoryRow[]; nextCursor: string | null }> {
  const { rows } = await pool.query<{
    account_id: string;
    id: string;
    seq: bigint;
    time: Date;
    type: string;
    amount: bigint;
    direction: 'debit' | 'credit';
    balance_after: bigint;
    available_after: bigint;
    description: string;
    counterparty: string | null;
    transfer_id: string | null;
  }>(
    `SELECT * FROM bank_account_history WHERE account_id = $1 AND ($2::int8 IS NULL OR seq < $2)
      ORDER BY seq DESC LIMIT $3`,
    [accountId, options.cursor?.toString() ?? null, options.limit],
  );
  const page = rows.map((row) => ({
    accountId: row.account_id,
    id: row.id,
    seq: row.seq,
    time: row.time,
    type: row.type,
    amountMinor: row.amount,
    direction: row.direction,
    balanceAfterMinor: row.balance_after,
    availableAfterMinor: row.available_after,
    description: row.description,
    counterparty: row.counterparty,
    transferId: row.transfer_id,
  }));
  const nextCursor = page.length === options.limit ? page[page.length - 1]!.seq.toString() : null;
  return { rows: page, nextCursor };
}
