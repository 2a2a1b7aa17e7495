import { type Pool, withTransaction } from '../../platform/sql/pool.ts';
import type { Keyring } from './keyring.ts';
import { keyIdOf, resealIfStale } from './seal.ts';

/** A table with sealed columns; each value is bound to its column name and the row's id. */
interface SealedTable {
  table: string;
  id: string;
  columns: readonly string[];
}

/** The personal-data columns of a customer and of an application (same names in both tables). */
export const personalDataColumns = [
  'full_name',
  'email',
  'phone_number',
  'birth_date',
  'id_type',
  'id_number',
  'postal_code',
  'street_address',
] as const;

export type PersonalDataColumn = (typeof personalDataColumns)[number];

/** Every sealed column of the bank. The event log holds none: events carry no personal data. */
export const sealedTables: readonly SealedTable[] = [
  { table: 'bank_customers', id: 'id', columns: personalDataColumns },
  { table: 'bank_application_pii', id: 'application_id', columns: personalDataColumns },
  {
    table: 'bank_application_secrets',
    id: 'application_id',
    columns: ['display_password', 'notification_password'],
  },
  { table: 'bank_notifications', id: 'id', columns: ['body'] },
];

/** Rows re-sealed per transaction. */
const reencryptBatchMax = 500;

/**
 * Key rotation's second half: seals every value that names a key other than the active one again
 * with the active key (old keys still open them). Safe to run while the system runs and to run
 * again; returns the values re-sealed per table. Afterwards the old key can be retired.
 */
export async function reencryptAll(pool: Pool, keyring: Keyring): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const spec of sealedTables) counts[spec.table] = await reencryptTable(pool, keyring, spec);
  return counts;
}

async function reencryptTable(pool: Pool, keyring: Keyring, spec: SealedTable): Promise<number> {
  const stale = spec.columns
    .map((column) => `(${column} IS NOT NULL AND split_part(${column}, ':', 2) <> $1)`)
    .join(' OR ');
  let resealed = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query<Record<string, string | null>>(
        `SELECT ${spec.id}::text AS id, ${spec.columns.join(', ')} FROM ${spec.table}
          WHERE ${spec.id} > $2::uuid AND (${stale}) ORDER BY ${spec.id} LIMIT ${reencryptBatchMax} FOR UPDATE`,
        [keyring.activeId, after],
      );
      for (const row of rows) {
        const id = row.id as string;
        const sets: string[] = [];
        const values: unknown[] = [id];
        for (const column of spec.columns) {
          const sealed = row[column];
          if (sealed === null || sealed === undefined || keyIdOf(sealed) === keyring.activeId) continue;
          const fresh = resealIfStale(keyring, { field: column, recordId: id }, sealed);
          if (fresh === undefined) continue;
          values.push(fresh);
          sets.push(`${column} = $${values.length}`);
          resealed++;
        }
        if (sets.length > 0) {
          await tx.query(`UPDATE ${spec.table} SET ${sets.join(', ')} WHERE ${spec.id} = $1`, values);
        }
      }
      return rows;
    });
    if (batch.length < reencryptBatchMax) return resealed;
    after = batch[batch.length - 1]!.id as string;
  }
}
