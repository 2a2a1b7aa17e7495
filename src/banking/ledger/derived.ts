import type { Queryable } from '../../platform/sql/pool.ts';
import type { TransferRecord } from './state.ts';
import { prefixed, type TransferRow, toTransferRecord, transferColumns } from './store.ts';
import type { AccountBalance, BalanceMismatch } from './types.ts';

/*
 * Everything derived from ledger_transfers alone, through the ledger_transfer_effects view: balances
 * at a past time, history with running balances, and the checks and rebuilds of the two caches
 * (ledger_accounts' balance columns and ledger_pending_timeouts).
 */

const effectSums = `coalesce(sum(debits_pending), 0)::int8 AS debits_pending,
  coalesce(sum(debits_posted), 0)::int8 AS debits_posted,
  coalesce(sum(credits_pending), 0)::int8 AS credits_pending,
  coalesce(sum(credits_posted), 0)::int8 AS credits_posted`;

interface BalanceRow {
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

function toBalance(row: BalanceRow): AccountBalance {
  return {
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
  };
}

/** The account's balance derived from the transfers stamped at or before `asOf`. */
export async function selectBalanceAsOf(
  db: Queryable,
  accountId: string,
  asOf: Date,
): Promise<AccountBalance> {
  const { rows } = await db.query<BalanceRow>(
    `SELECT ${effectSums} FROM ledger_transfer_effects WHERE account_id = $1 AND created_at <= $2`,
    [accountId, asOf],
  );
  return toBalance(rows[0]!);
}

interface HistoryRow extends TransferRow, BalanceRow {
  seq: bigint;
}

/**
 * One page of an account's history, newest first, each with the balance right after it: a running
 * sum over the account's effects in seq order (within one account seq follows lock order).
 */
export async function selectHistory(
  db: Queryable,
  accountId: string,
  options: { limit: number; beforeSeq: bigint | null; asOf: Date | null },
): Promise<Array<{ seq: bigint; transfer: TransferRecord; balanceAfter: AccountBalance }>> {
  const { rows } = await db.query<HistoryRow>(
    `WITH running AS (
       SELECT e.seq, e.transfer_id,
              sum(e.debits_pending) OVER w AS debits_pending, sum(e.debits_posted) OVER w AS debits_posted,
              sum(e.credits_pending) OVER w AS credits_pending, sum(e.credits_posted) OVER w AS credits_posted
         FROM ledger_transfer_effects e
        WHERE e.account_id = $1 AND ($3::int8 IS NULL OR e.seq < $3) AND ($4::timestamptz IS NULL OR e.created_at <= $4)
       WINDOW w AS (ORDER BY e.seq ROWS UNBOUNDED PRECEDING)
     ), page AS (SELECT * FROM running ORDER BY seq DESC LIMIT $2)
     SELECT page.seq, page.debits_pending::int8, page.debits_posted::int8, page.credits_pending::int8,
            page.credits_posted::int8, ${prefixed('t', transferColumns)}
       FROM page JOIN ledger_transfers t ON t.id = page.transfer_id
      ORDER BY page.seq DESC`,
    [accountId, options.limit, options.beforeSeq?.toString() ?? null, options.asOf],
  );
  return rows.map((row) => ({ seq: row.seq, transfer: toTransferRecord(row), balanceAfter: toBalance(row) }));
}

interface DerivedAccountRow extends BalanceRow {
  id: string;
  closed: boolean;
  derived_debits_pending: bigint;
  derived_debits_posted: bigint;
  derived_credits_pending: bigint;
  derived_credits_posted: bigint;
  derived_closed: boolean;
}

/**
 * Every account's cached balance beside the one derived from transfers. An account is closed when a
 * closing hold on it was not voided (it is pending, or was posted).
 */
const derivedAccountsSql = `
  WITH derived AS (
    SELECT account_id, ${effectSums} FROM ledger_transfer_effects GROUP BY account_id
  ), unvoided_closing AS (
    SELECT p.flags, p.debit_account_id, p.credit_account_id FROM ledger_transfers p
     WHERE (p.flags & 192) <> 0
       AND NOT EXISTS (SELECT 1 FROM ledger_transfers v WHERE v.pending_id = p.id AND (v.flags & 8) <> 0)
  ), closing AS (
    SELECT debit_account_id AS account_id FROM unvoided_closing WHERE (flags & 64) <> 0
    UNION
    SELECT credit_account_id FROM unvoided_closing WHERE (flags & 128) <> 0
  )
  SELECT a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.closed,
         coalesce(d.debits_pending, 0)::int8 AS derived_debits_pending,
         coalesce(d.debits_posted, 0)::int8 AS derived_debits_posted,
         coalesce(d.credits_pending, 0)::int8 AS derived_credits_pending,
         coalesce(d.credits_posted, 0)::int8 AS derived_credits_posted,
         (c.account_id IS NOT NULL) AS derived_closed
    FROM ledger_accounts a
    LEFT JOIN derived d ON d.account_id = a.id
    LEFT JOIN closing c ON c.account_id = a.id`;

/** Accounts whose cache differs from what their transfers say, at most `limit`. */
export async function selectBalanceMismatches(db: Queryable, limit: number): Promise<BalanceMismatch[]> {
  const { rows } = await db.query<DerivedAccountRow>(
    `SELECT * FROM (${derivedAccountsSql}) x
      WHERE (debits_pending, debits_posted, credits_pending, credits_posted, closed)
            IS DISTINCT FROM
            (derived_debits_pending, derived_debits_posted, derived_credits_pending, derived_credits_posted,
             derived_closed)
      ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows.map((row) => ({
    accountId: row.id,
    cached: { ...toBalance(row), closed: row.closed },
    derived: {
      debitsPending: row.derived_debits_pending,
      debitsPosted: row.derived_debits_posted,
      creditsPending: row.derived_credits_pending,
      creditsPosted: row.derived_credits_posted,
      closed: row.derived_closed,
    },
  }));
}

/** Rewrites every account's cache from its transfers; returns how many rows changed. */
export async function rewriteBalances(db: Queryable): Promise<number> {
  const result = await db.query(
    `UPDATE ledger_accounts a
        SET debits_pending = x.derived_debits_pending, debits_posted = x.derived_debits_posted,
            credits_pending = x.derived_credits_pending, credits_posted = x.derived_credits_posted,
            closed = x.derived_closed
       FROM (${derivedAccountsSql}) x
      WHERE a.id = x.id
        AND (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.closed)
            IS DISTINCT FROM
            (x.derived_debits_pending, x.derived_debits_posted, x.derived_credits_pending,
             x.derived_credits_posted, x.derived_closed)`,
  );
  return result.rowCount ?? 0;
}

/** Holds still pending with a timeout, derived from transfers. */
const openTimeoutsSql = `
  SELECT p.id AS pending_id, p.expires_at FROM ledger_transfers p
   WHERE p.expires_at IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id)`;

/** Ids in the sweep's work list but not open, or open but missing from it, at most `limit`. */
export async function selectTimeoutMismatches(db: Queryable, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ pending_id: string }>(
    `SELECT coalesce(d.pending_id, c.pending_id) AS pending_id
       FROM (${openTimeoutsSql}) d FULL JOIN ledger_pending_timeouts c ON c.pending_id = d.pending_id
      WHERE d.pending_id IS NULL OR c.pending_id IS NULL OR c.expires_at <> d.expires_at
      ORDER BY 1 LIMIT $1`,
    [limit],
  );
  return rows.map((row) => row.pending_id);
}

/** Rebuilds the sweep's work list from transfers; returns how many rows were wrong. */
export async function rewritePendingTimeouts(db: Queryable): Promise<number> {
  const removed = await db.query(
    `DELETE FROM ledger_pending_timeouts c
      WHERE NOT EXISTS (SELECT 1 FROM (${openTimeoutsSql}) d
                         WHERE d.pending_id = c.pending_id AND d.expires_at = c.expires_at)`,
  );
  const added = await db.query(
    `INSERT INTO ledger_pending_timeouts (pending_id, expires_at)
     SELECT d.pending_id, d.expires_at FROM (${openTimeoutsSql}) d
     ON CONFLICT (pending_id) DO NOTHING`,
  );
  return (removed.rowCount ?? 0) + (added.rowCount ?? 0);
}
