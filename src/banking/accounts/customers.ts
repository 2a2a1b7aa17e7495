import type { Queryable } from '../../platform/sql/pool.ts';
import {
  type Keyring,
  openOrThrow,
  type PersonalDataColumn,
  personalDataColumns,
  seal,
} from '../pii/index.ts';

/** A person's data as the application collected it (plaintext: only ever in memory). */
export interface PersonalData {
  fullName: string;
  email: string;
  phoneNumber: string;
  birthDate: string;
  idType: string;
  idNumber: string;
  postalCode: string;
  streetAddress: string;
}

/** Column of each personal-data field (also the field name sealed values are bound to). */
export const personalDataColumnOf: Record<keyof PersonalData, PersonalDataColumn> = {
  fullName: 'full_name',
  email: 'email',
  phoneNumber: 'phone_number',
  birthDate: 'birth_date',
  idType: 'id_type',
  idNumber: 'id_number',
  postalCode: 'postal_code',
  streetAddress: 'street_address',
};

const fields = Object.keys(personalDataColumnOf) as (keyof PersonalData)[];

/** Seals each field, bound to its column and `recordId`: the values to store, in column order. */
export function sealPersonalData(keyring: Keyring, recordId: string, data: PersonalData): string[] {
  return fields.map((field) => seal(keyring, { field: personalDataColumnOf[field], recordId }, data[field]));
}

/** Opens a row of sealed personal-data columns. */
export function openPersonalData(
  keyring: Keyring,
  recordId: string,
  row: Record<PersonalDataColumn, string>,
): PersonalData {
  const data = {} as PersonalData;
  for (const field of fields) {
    const column = personalDataColumnOf[field];
    data[field] = openOrThrow(keyring, { field: column, recordId }, row[column]);
  }
  return data;
}

const columnList = personalDataColumns.join(', ');
const placeholders = (from: number) => personalDataColumns.map((_, i) => `$${i + from}`).join(', ');

/** Stores a customer with sealed personal data; a second insert for the same application is a no-op. */
export async function insertCustomer(
  db: Queryable,
  keyring: Keyring,
  customer: { id: string; applicationId: string; data: PersonalData; createdAt: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO bank_customers (id, application_id, ${columnList}, created_at)
     VALUES ($1, $2, ${placeholders(3)}, $${personalDataColumns.length + 3})
     ON CONFLICT (application_id) DO NOTHING`,
    [
      customer.id,
      customer.applicationId,
      ...sealPersonalData(keyring, customer.id, customer.data),
      customer.createdAt,
    ],
  );
}

/** A customer's personal data, opened; undefined for an unknown customer. */
export async function loadCustomer(
  db: Queryable,
  keyring: Keyring,
  customerId: string,
): Promise<PersonalData | undefined> {
  const { rows } = await db.query<Record<PersonalDataColumn, string>>(
    `SELECT ${columnList} FROM bank_customers WHERE id = $1`,
    [customerId],
  );
  return rows[0] && openPersonalData(keyring, customerId, rows[0]);
}
