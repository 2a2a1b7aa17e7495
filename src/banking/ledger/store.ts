import { assert } from '../../platform/errors.ts';
import type { Queryable } from '../../platform/sql/pool.ts';
import type { AccountRecord } from './decide-account.ts';
import { transferFlagBits } from './flags.ts';
import type { AccountState, PendingStatus, TransferRecord } from './state.ts';
import type { AccountBalance } from './types.ts';

/*
 * The ledger's SQL for batches and lookups, set-based: each step of a batch is one statement whatever
 * the batch size (ids travel as arrays, rows as parallel arrays through unnest). Lookups by id are
 * `unnest(ids) CROSS JOIN LATERAL (… WHERE id = u.id LIMIT 1)`: a primary-key probe per id, always;
 * a plain join let the planner merge-join the whole ledger_transfers index (O(table) per batch).
 * The four statements of every batch are named (prepared once per connection): no re-planning per
 * batch, and their generic plans probe indexes per id instead of hashing a whole table.
 * What is derived from transfers (asOf, history, verification) is in derived.ts.
 */

/**
 * A PostgreSQL array literal for values that never need quoting (UUIDs, numbers, booleans, ISO
 * timestamps): node-pg quotes and escapes every element, which shows in profiles of big batches.
 */
export function arrayLiteral(values: ReadonlyArray<string | number | bigint | boolean | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    out += (i === 0 ? '' : ',') + (value === null ? 'NULL' : String(value));
  }
  return `${out}}`;
}

export function prefixed(alias: string, columns: string): string {
  return columns
    .split(',')
    .map((column) => `${alias}.${column.trim()}`)
    .join(', ');
}

export const transferColumns =
  'id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, timeout_seconds, reference, created_at, expires_at';

export interface TransferRow {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: bigint;
  pending_id: string | null;
  ledger: number;
  code: number;
  flags: number;
  timeout_seconds: number;
  reference: string | null;
  created_at: Date;
  expires_at: Date | null;
}

export function toTransferRecord(row: TransferRow): TransferRecord {
  return {
    id: row.id,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amount: row.amount,
    pendingId: row.pending_id,
    ledger: row.ledger,
    code: row.code,
    flags: row.flags,
    timeoutSeconds: row.timeout_seconds,
    reference: row.reference,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

/** Stored transfers under these ids (valid UUIDs only). */
export async function selectTransfers(db: Queryable, ids: readonly string[]): Promise<TransferRecord[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<TransferRow>({
    name: 'ledger.select-transfers',
    text: `SELECT t.* FROM unnest($1::uuid[]) AS u(id)
       CROSS JOIN LATERAL (SELECT ${transferColumns} FROM ledger_transfers WHERE id = u.id LIMIT 1) t`,
    values: [arrayLiteral(ids)],
  });
  return rows.map(toTransferRecord);
}

/**
 * How each of these pending transfers ended, if it did. A void stamped at or after the hold's expiry
 * can only be the timeout sweep's (clients get 'pending_transfer_expired' then), so it means expired.
 */
export async function selectPendingStatuses(
  db: Queryable,
  pendingIds: readonly string[],
): Promise<Map<string, PendingStatus>> {
  const statuses = new Map<string, PendingStatus>();
  if (pendingIds.length === 0) return statuses;
  const { rows } = await db.query<{ pending_id: string; flags: number; after_expiry: boolean | null }>({
    name: 'ledger.select-pending-statuses',
    text: `SELECT r.pending_id, r.flags, r.created_at >= p.expires_at AS after_expiry
       FROM unnest($1::uuid[]) AS u(id)
       CROSS JOIN LATERAL (SELECT * FROM ledger_transfers WHERE pending_id = u.id LIMIT 1) r
       CROSS JOIN LATERAL (SELECT expires_at FROM ledger_transfers WHERE id = u.id LIMIT 1) p`,
    values: [arrayLiteral(pendingIds)],
  });
  for (const row of rows) statuses.set(row.pending_id, pendingStatusOf(row.flags, row.after_expiry === true));
  return statuses;
}

function pendingStatusOf(resolutionFlags: number, afterExpiry: boolean): PendingStatus {
  if ((resolutionFlags & transferFlagBits.postPending) !== 0) return 'posted';
  return afterExpiry ? 'expired' : 'voided';
}

interface LockedAccountRow {
  id: string;
  ledger: number;
  flags: number;
  closed: boolean;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
}

interface LockedAccountRowWithTime extends LockedAccountRow {
  last_transfer_ms: number | null;
}

export interface LockedAccount extends AccountState {
  /** Epoch ms of the account's latest transfer (float8: parsing a timestamp per row costs more). */
  lastTransferMs: number | null;
}

/**
 * Locks the accounts' rows in id order and returns their state. One statement in one global order
 * means two batches can never hold each other's locks: no deadlock between transfers.
 */
// The lateral subquery with FOR NO KEY UPDATE cannot be pulled up, so the plan is always a nested loop
// over the sorted ids: one primary-key probe and one lock per id, in array order, whatever the table
// size or statistics (a join on the array let the planner hash or merge over the whole table).
export async function lockAccounts(db: Queryable, ids: readonly string[]): Promise<LockedAccount[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<LockedAccountRowWithTime>({
    name: 'ledger.lock-accounts',
    text: `SELECT a.* FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)
       CROSS JOIN LATERAL (
         SELECT id, ledger, flags, closed, debits_pending, debits_posted, credits_pending, credits_posted,
                (extract(epoch FROM last_transfer_at) * 1000)::float8 AS last_transfer_ms
           FROM ledger_accounts WHERE id = u.id FOR NO KEY UPDATE) a
      ORDER BY u.n`,
    values: [arrayLiteral([...ids].sort())],
  });
  return rows.map((row) => ({
    id: row.id,
    ledger: row.ledger,
    flags: row.flags,
    closed: row.closed,
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
    lastTransferMs: row.last_transfer_ms,
  }));
}

/** Everything one batch writes, applied by one statement. */
export interface BatchWrites {
  /** New transfers in batch order (seq follows it); all stamped with `now`. */
  transfers: readonly TransferRecord[];
  /** New balance-cache values of accounts this transaction has locked. */
  accounts: readonly AccountState[];
  /** Holds with a timeout to add to the sweep's work list. */
  timeoutsAdded: readonly TransferRecord[];
  /** Holds to take off it (they were stored before this batch). */
  timeoutsRemoved: readonly string[];
  now: Date;
}

/**
 * Appends the transfers, rewrites the balance cache and updates the sweep's work list in one
 * statement (data-modifying CTEs share one snapshot, so an added and a removed hold must differ).
 */
export async function writeBatch(db: Queryable, w: BatchWrites): Promise<void> {
  const { rows } = await db.query<{ appended: number; moved: number }>({
    name: 'ledger.write-batch',
    text: `WITH moved AS (
       UPDATE ledger_accounts a
          SET debits_pending = u.debits_pending, debits_posted = u.debits_posted,
              credits_pending = u.credits_pending, credits_posted = u.credits_posted,
              closed = u.closed, last_transfer_at = $11
         FROM unnest($1::uuid[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::bool[])
              AS u(id, debits_pending, debits_posted, credits_pending, credits_posted, closed)
        WHERE a.id = u.id
       RETURNING 1
     ), appended AS (
       INSERT INTO ledger_transfers (${transferColumns})
       SELECT u.id, u.debit_account_id, u.credit_account_id, u.amount, u.pending_id, u.ledger, u.code, u.flags,
              u.timeout_seconds, u.reference, $11, u.expires_at
         FROM unnest($7::uuid[], $8::uuid[], $9::uuid[], $10::int8[], $12::uuid[], $13::int4[], $14::int4[],
                     $15::int4[], $16::int4[], $17::text[], $18::timestamptz[])
              WITH ORDINALITY AS u(id, debit_account_id, credit_account_id, amount, pending_id, ledger, code,
                                   flags, timeout_seconds, reference, expires_at, n)
        ORDER BY u.n
       RETURNING 1
     ), timed AS (
       INSERT INTO ledger_pending_timeouts (pending_id, expires_at)
       SELECT * FROM unnest($19::uuid[], $20::timestamptz[])
     ), untimed AS (
       DELETE FROM ledger_pending_timeouts c USING unnest($21::uuid[]) AS u(id) WHERE c.pending_id = u.id
     )
     SELECT (SELECT count(*) FROM appended)::int4 AS appended, (SELECT count(*) FROM moved)::int4 AS moved`,
    values: [...accountParams(w.accounts), ...transferParams(w.transfers, w.now), ...timeoutParams(w)],
  });
  assert(rows[0]!.appended === w.transfers.length, 'every transfer row is appended');
  assert(rows[0]!.moved === w.accounts.length, 'every changed account row is updated');
}

function accountParams(accounts: readonly AccountState[]): string[] {
  return [
    arrayLiteral(accounts.map((a) => a.id)),
    arrayLiteral(accounts.map((a) => a.debitsPending)),
    arrayLiteral(accounts.map((a) => a.debitsPosted)),
    arrayLiteral(accounts.map((a) => a.creditsPending)),
    arrayLiteral(accounts.map((a) => a.creditsPosted)),
    arrayLiteral(accounts.map((a) => a.closed)),
  ];
}

/** $7…$18 ($11 is the batch timestamp, shared with the balance update). */
function transferParams(
  transfers: readonly TransferRecord[],
  now: Date,
): Array<string | Date | Array<string | null>> {
  for (const t of transfers) assert(t.createdAt.getTime() === now.getTime(), 'a batch has one timestamp');
  return [
    arrayLiteral(transfers.map((t) => t.id)),
    arrayLiteral(transfers.map((t) => t.debitAccountId)),
    arrayLiteral(transfers.map((t) => t.creditAccountId)),
    arrayLiteral(transfers.map((t) => t.amount)),
    now,
    arrayLiteral(transfers.map((t) => t.pendingId)),
    arrayLiteral(transfers.map((t) => t.ledger)),
    arrayLiteral(transfers.map((t) => t.code)),
    arrayLiteral(transfers.map((t) => t.flags)),
    arrayLiteral(transfers.map((t) => t.timeoutSeconds)),
    // References are caller text: node-pg quotes and escapes each element.
    transfers.map((t) => t.reference),
    arrayLiteral(transfers.map((t) => t.expiresAt?.toISOString() ?? null)),
  ];
}

function timeoutParams(w: BatchWrites): string[] {
  return [
    arrayLiteral(w.timeoutsAdded.map((p) => p.id)),
    arrayLiteral(w.timeoutsAdded.map((p) => p.expiresAt!.toISOString())),
    arrayLiteral(w.timeoutsRemoved),
  ];
}

/** Removes resolved holds from the timeout sweep's work list. */
export async function deletePendingTimeouts(db: Queryable, pendingIds: readonly string[]): Promise<void> {
  if (pendingIds.length === 0) return;
  await db.query(
    'DELETE FROM ledger_pending_timeouts c USING unnest($1::uuid[]) AS u(id) WHERE c.pending_id = u.id',
    [arrayLiteral(pendingIds)],
  );
}

/** Holds whose timeout has passed at `now`, oldest expiry first. */
export async function selectExpiredHolds(db: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ pending_id: string }>(
    `SELECT pending_id FROM ledger_pending_timeouts WHERE expires_at <= $1
      ORDER BY expires_at, pending_id LIMIT $2`,
    [now, limit],
  );
  return rows.map((row) => row.pending_id);
}

interface AccountRow extends LockedAccountRow {
  last_transfer_at: Date | null;
  code: number;
  owner: string;
  created_at: Date;
}

const accountColumns = `id, ledger, code, owner, flags, created_at, closed, debits_pending, debits_posted,
  credits_pending, credits_posted, last_transfer_at`;

export interface StoredAccount extends AccountRecord, AccountBalance {
  closed: boolean;
}

function toStoredAccount(row: AccountRow): StoredAccount {
  return {
    id: row.id,
    ledger: row.ledger,
    code: row.code,
    owner: row.owner,
    flags: row.flags,
    createdAt: row.created_at,
    closed: row.closed,
    debitsPending: row.debits_pending,
    debitsPosted: row.debits_posted,
    creditsPending: row.credits_pending,
    creditsPosted: row.credits_posted,
  };
}

/** Stored accounts under these ids (valid UUIDs only), with their cached balances. */
export async function selectAccounts(db: Queryable, ids: readonly string[]): Promise<StoredAccount[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<AccountRow>(
    `SELECT a.* FROM unnest($1::uuid[]) AS u(id)
       CROSS JOIN LATERAL (SELECT ${accountColumns} FROM ledger_accounts WHERE id = u.id LIMIT 1) a`,
    [arrayLiteral(ids)],
  );
  return rows.map(toStoredAccount);
}

export async function insertAccounts(db: Queryable, accounts: readonly AccountRecord[]): Promise<void> {
  if (accounts.length === 0) return;
  await db.query(
    `INSERT INTO ledger_accounts (id, ledger, code, owner, flags, created_at)
     SELECT * FROM unnest($1::uuid[], $2::int4[], $3::int4[], $4::text[], $5::int4[], $6::timestamptz[])`,
    [
      accounts.map((a) => a.id),
      accounts.map((a) => a.ledger),
      accounts.map((a) => a.code),
      accounts.map((a) => a.owner),
      accounts.map((a) => a.flags),
      accounts.map((a) => a.createdAt.toISOString()),
    ],
  );
}
