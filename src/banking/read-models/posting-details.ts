import { assert } from '../../platform/errors.ts';
import type { Queryable } from '../../platform/sql/pool.ts';
import { isUuid } from '../ledger/ids.ts';
import { readModelLimits } from './limits.ts';

/** What a ledger transfer means to the customer: its line in the account history. */
export interface PostingDetails {
  /** The id of the ledger transfer this describes. */
  ledgerTransferId: string;
  /** e.g. "deposit", "withdrawal", "transfer_out", "transfer_in", "transfer_hold". */
  type: string;
  description: string;
  counterparty?: string | null;
  /** The bank transfer (saga) this posting belongs to, if any. */
  transferId?: string | null;
}

/**
 * Records the details of ledger transfers the caller is about to create: call it in the same call
 * flow, before `createTransfers`, so the history projection finds them. The first details recorded
 * for an id stay (a retry, or a conflicting request refused by the ledger, changes nothing).
 */
export async function recordPostingDetails(db: Queryable, rows: readonly PostingDetails[]): Promise<void> {
  if (rows.length === 0) return;
  assert(rows.length <= readModelLimits.postingDetailsPerCallMax, 'too many posting details in one call');
  for (const row of rows) checkDetails(row);
  await db.query(
    `INSERT INTO bank_posting_details (ledger_transfer_id, type, description, counterparty, transfer_id)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[])
     ON CONFLICT (ledger_transfer_id) DO NOTHING`,
    [
      rows.map((row) => row.ledgerTransferId),
      rows.map((row) => row.type),
      rows.map((row) => row.description),
      rows.map((row) => row.counterparty ?? null),
      rows.map((row) => row.transferId ?? null),
    ],
  );
}

function checkDetails(row: PostingDetails): void {
  assert(isUuid(row.ledgerTransferId), 'posting details need the ledger transfer id (a lowercase UUID)');
  assert(
    row.type.length > 0 && row.type.length <= readModelLimits.postingTypeLengthMax,
    `posting type must be 1 to ${readModelLimits.postingTypeLengthMax} characters`,
  );
  assert(
    row.description.length <= readModelLimits.postingDescriptionLengthMax,
    `posting description must be at most ${readModelLimits.postingDescriptionLengthMax} characters`,
  );
  assert(
    (row.counterparty ?? '').length <= readModelLimits.postingCounterpartyLengthMax,
    `posting counterparty must be at most ${readModelLimits.postingCounterpartyLengthMax} characters`,
  );
  assert(row.transferId == null || isUuid(row.transferId), 'posting transferId must be a lowercase UUID');
}

/** The details of these ledger transfers, by id. */
export async function postingDetailsOf(
  db: Queryable,
  ledgerTransferIds: readonly string[],
): Promise<Map<string, PostingDetails>> {
  if (ledgerTransferIds.length === 0) return new Map();
  const { rows } = await db.query<{
    ledger_transfer_id: string;
    type: string;
    description: string;
    counterparty: string | null;
    transfer_id: string | null;
  }>(
    `SELECT ledger_transfer_id, type, description, counterparty, transfer_id
       FROM bank_posting_details WHERE ledger_transfer_id = ANY($1::uuid[])`,
    [ledgerTransferIds],
  );
  return new Map(
    rows.map((row) => [
      row.ledger_transfer_id,
      {
        ledgerTransferId: row.ledger_transfer_id,
        type: row.type,
        description: row.description,
        counterparty: row.counterparty,
        transferId: row.transfer_id,
      },
    ]),
  );
}
