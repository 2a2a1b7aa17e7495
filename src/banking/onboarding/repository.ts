import type { Queryable } from '../../platform/sql/pool.ts';
import { openPersonalData, type PersonalData, sealPersonalData } from '../accounts/customers.ts';
import {
  type Keyring,
  openOrThrow,
  type PersonalDataColumn,
  personalDataColumns,
  seal,
} from '../pii/index.ts';
import type { ApplicationStatus, OnboardingStep } from './application.ts';

/*
 * The onboarding tables: the list read model of applications (also the row every writer of one
 * application locks), the sealed personal data, the sealed temporary-password copies, notifications.
 */

export interface ApplicationRow {
  applicationId: string;
  transactionId: string;
  status: ApplicationStatus;
  accountType: string;
  currency: string;
  lastStep: OnboardingStep | null;
  submittedAt: Date;
}

export async function insertApplicationRow(db: Queryable, row: ApplicationRow): Promise<void> {
  await db.query(
    `INSERT INTO bank_applications (application_id, transaction_id, status, account_type, currency, last_step,
       submitted_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
    [
      row.applicationId,
      row.transactionId,
      row.status,
      row.accountType,
      row.currency,
      row.lastStep,
      row.submittedAt,
    ],
  );
}

/** Locks the application's row (every writer of one application takes it first); false when absent. */
export async function lockApplication(db: Queryable, applicationId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM bank_applications WHERE application_id = $1 FOR UPDATE',
    [applicationId],
  );
  return rowCount === 1;
}

export async function updateApplicationRow(
  db: Queryable,
  applicationId: string,
  change: { status: ApplicationStatus; lastStep: OnboardingStep | null; at: Date },
): Promise<void> {
  await db.query(
    'UPDATE bank_applications SET status = $2, last_step = $3, updated_at = $4 WHERE application_id = $1',
    [applicationId, change.status, change.lastStep, change.at],
  );
}

/** Applications, oldest first, optionally of one status; keyset-paged by application id (UUIDv7). */
export async function listApplicationRows(
  db: Queryable,
  filter: { status: ApplicationStatus | undefined; after: string | undefined; limit: number },
): Promise<ApplicationRow[]> {
  const { rows } = await db.query<{
    application_id: string;
    transaction_id: string;
    status: ApplicationStatus;
    account_type: string;
    currency: string;
    last_step: OnboardingStep | null;
    submitted_at: Date;
  }>(
    `SELECT * FROM bank_applications
      WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR application_id > $2)
      ORDER BY application_id LIMIT $3`,
    [filter.status ?? null, filter.after ?? null, filter.limit],
  );
  return rows.map((row) => ({
    applicationId: row.application_id,
    transactionId: row.transaction_id,
    status: row.status,
    accountType: row.account_type,
    currency: row.currency,
    lastStep: row.last_step,
    submittedAt: row.submitted_at,
  }));
}

const piiColumns = personalDataColumns.join(', ');

export async function insertApplicationPii(
  db: Queryable,
  keyring: Keyring,
  applicationId: string,
  data: PersonalData,
): Promise<void> {
  const placeholders = personalDataColumns.map((_, i) => `$${i + 2}`).join(', ');
  await db.query(
    `INSERT INTO bank_application_pii (application_id, ${piiColumns}) VALUES ($1, ${placeholders})`,
    [applicationId, ...sealPersonalData(keyring, applicationId, data)],
  );
}

export async function loadApplicationPii(
  db: Queryable,
  keyring: Keyring,
  applicationId: string,
): Promise<PersonalData | undefined> {
  const { rows } = await db.query<Record<PersonalDataColumn, string>>(
    `SELECT ${piiColumns} FROM bank_application_pii WHERE application_id = $1`,
    [applicationId],
  );
  return rows[0] && openPersonalData(keyring, applicationId, rows[0]);
}

/** Keeps the two sealed copies of a new login's temporary password (replacing earlier ones). */
export async function storeTemporaryPassword(
  db: Queryable,
  keyring: Keyring,
  applicationId: string,
  password: string,
): Promise<void> {
  const display = seal(keyring, { field: 'display_password', recordId: applicationId }, password);
  const notification = seal(keyring, { field: 'notification_password', recordId: applicationId }, password);
  await db.query(
    `INSERT INTO bank_application_secrets (application_id, display_password, notification_password)
     VALUES ($1, $2, $3)
     ON CONFLICT (application_id) DO UPDATE SET display_password = $2, notification_password = $3`,
    [applicationId, display, notification],
  );
}

/**
 * Takes one copy of the temporary password: returns it and erases it in the same statement, so
 * two concurrent readers cannot both get it. Undefined once taken.
 */
export async function takeTemporaryPassword(
  db: Queryable,
  keyring: Keyring,
  applicationId: string,
  copy: 'display_password' | 'notification_password',
): Promise<string | undefined> {
  const { rows } = await db.query<{ sealed: string | null }>(
    `UPDATE bank_application_secrets s SET ${copy} = NULL
       FROM (SELECT application_id, ${copy} AS sealed FROM bank_application_secrets
              WHERE application_id = $1 FOR UPDATE) old
      WHERE s.application_id = old.application_id
      RETURNING old.sealed`,
    [applicationId],
  );
  const sealed = rows[0]?.sealed;
  if (!sealed) return undefined;
  await db.query(
    `DELETE FROM bank_application_secrets
      WHERE application_id = $1 AND display_password IS NULL AND notification_password IS NULL`,
    [applicationId],
  );
  return openOrThrow(keyring, { field: copy, recordId: applicationId }, sealed);
}

/** A notification for the mail/SMS gateway, its body sealed. */
export async function insertNotification(
  db: Queryable,
  keyring: Keyring,
  notification: {
    id: string;
    customerId: string;
    applicationId: string | null;
    kind: string;
    body: string;
    at: Date;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO bank_notifications (id, customer_id, application_id, kind, channel, body, created_at)
     VALUES ($1, $2, $3, $4, 'email', $5, $6)`,
    [
      notification.id,
      notification.customerId,
      notification.applicationId,
      notification.kind,
      seal(keyring, { field: 'body', recordId: notification.id }, notification.body),
      notification.at,
    ],
  );
}

/** A notification's body, opened (for the gateway and tests). */
export async function readNotificationBody(
  db: Queryable,
  keyring: Keyring,
  notificationId: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ body: string }>('SELECT body FROM bank_notifications WHERE id = $1', [
    notificationId,
  ]);
  return rows[0] && openOrThrow(keyring, { field: 'body', recordId: notificationId }, rows[0].body);
}
