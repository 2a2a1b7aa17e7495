import type { Queryable } from '../platform/sql/pool.ts';
import type { LockoutState } from './domain/lockout.ts';
import type { ApiKeyRole, UserRole } from './domain/types.ts';

/**
 * SQL for identity's tables. Functions take a Queryable so the service decides the transaction;
 * those that must run under a row lock say so and take the client holding it.
 */
export interface UserRecord {
  id: string;
  loginId: string;
  roles: UserRole[];
  passwordHash: string;
  mustChangePassword: boolean;
  failedLoginCount: number;
  lockedUntil: Date | null;
  sessionEpoch: number;
  customerId: string | null;
  createdAt: Date;
}

interface UserRow {
  id: string;
  login_id: string;
  roles: UserRole[];
  password_hash: string;
  must_change_password: boolean;
  failed_login_count: number;
  locked_until: Date | null;
  session_epoch: number;
  customer_id: string | null;
  created_at: Date;
}

const userColumns =
  'id, login_id, roles, password_hash, must_change_password, failed_login_count, locked_until, session_epoch, customer_id, created_at';

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    loginId: row.login_id,
    roles: row.roles,
    passwordHash: row.password_hash,
    mustChangePassword: row.must_change_password,
    failedLoginCount: row.failed_login_count,
    lockedUntil: row.locked_until,
    sessionEpoch: row.session_epoch,
    customerId: row.customer_id,
    createdAt: row.created_at,
  };
}

/** Case-insensitive lookup by login id. */
export async function findUserByLogin(db: Queryable, loginId: string): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${userColumns} FROM identity_users WHERE lower(login_id) = lower($1)`,
    [loginId],
  );
  return rows[0] && toUser(rows[0]);
}

export async function findUserById(db: Queryable, id: string): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${userColumns} FROM identity_users WHERE id = $1`, [id]);
  return rows[0] && toUser(rows[0]);
}

/** Loads a user and locks the row until the transaction ends (SELECT … FOR UPDATE). */
export async function lockUser(tx: Queryable, id: string): Promise<UserRecord | undefined> {
  const { rows } = await tx.query<UserRow>(
    `SELECT ${userColumns} FROM identity_users WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] && toUser(rows[0]);
}

export async function saveLockout(tx: Queryable, id: string, state: LockoutState, now: Date): Promise<void> {
  await tx.query(
    'UPDATE identity_users SET failed_login_count = $2, locked_until = $3, updated_at = $4 WHERE id = $1',
    [id, state.failedLoginCount, state.lockedUntil, now],
  );
}

export interface NewUser {
  id: string;
  loginId: string;
  roles: UserRole[];
  passwordHash: string;
  mustChangePassword: boolean;
  customerId: string | null;
  createdAt: Date;
}

/** Inserts a user; 'login_id_taken' when the login id exists in any letter case. */
export async function insertUser(db: Queryable, user: NewUser): Promise<'inserted' | 'login_id_taken'> {
  const { rowCount } = await db.query(
    `INSERT INTO identity_users (id, login_id, roles, password_hash, must_change_password, customer_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
     ON CONFLICT ((lower(login_id))) DO NOTHING`,
    [
      user.id,
      user.loginId,
      user.roles,
      user.passwordHash,
      user.mustChangePassword,
      user.customerId,
      user.createdAt,
    ],
  );
  return rowCount === 1 ? 'inserted' : 'login_id_taken';
}

/** Sets a new password hash, clears any lock and retires every token issued before (session epoch + 1). */
export async function setPassword(
  tx: Queryable,
  id: string,
  change: { passwordHash: string; mustChangePassword: boolean; now: Date },
): Promise<UserRecord> {
  const { rows } = await tx.query<UserRow>(
    `UPDATE identity_users
        SET password_hash = $2, must_change_password = $3, failed_login_count = 0, locked_until = NULL,
            session_epoch = session_epoch + 1, updated_at = $4
      WHERE id = $1
      RETURNING ${userColumns}`,
    [id, change.passwordHash, change.mustChangePassword, change.now],
  );
  return toUser(rows[0]!);
}

/** Replaces the hash after a successful login with outdated scrypt parameters; tokens stay valid. */
export async function rehashPassword(tx: Queryable, id: string, passwordHash: string): Promise<void> {
  await tx.query('UPDATE identity_users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
}

export async function adminExists(db: Queryable): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM identity_users WHERE 'admin' = ANY (roles) LIMIT 1`);
  return rows.length > 0;
}

/** What a request with a valid token needs from the database: the user's current standing. */
export interface SessionRecord {
  roles: UserRole[];
  mustChangePassword: boolean;
  sessionEpoch: number;
  customerId: string | null;
  tokenRevoked: boolean;
}

/** One indexed query per token-authenticated request: the user row and whether this token was revoked. */
export async function findSession(
  db: Queryable,
  userId: string,
  tokenId: string,
): Promise<SessionRecord | undefined> {
  const { rows } = await db.query<{
    roles: UserRole[];
    must_change_password: boolean;
    session_epoch: number;
    customer_id: string | null;
    token_revoked: boolean;
  }>(
    `SELECT roles, must_change_password, session_epoch, customer_id,
            EXISTS (SELECT 1 FROM identity_revoked_tokens WHERE jti = $2) AS token_revoked
       FROM identity_users WHERE id = $1`,
    [userId, tokenId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    roles: row.roles,
    mustChangePassword: row.must_change_password,
    sessionEpoch: row.session_epoch,
    customerId: row.customer_id,
    tokenRevoked: row.token_revoked,
  };
}

/** Revokes one token until it would have expired anyway, and purges revocations that no longer matter. */
export async function revokeToken(
  db: Queryable,
  revocation: { tokenId: string; userId: string; expiresAt: Date; now: Date },
): Promise<void> {
  await db.query('DELETE FROM identity_revoked_tokens WHERE expires_at < $1', [revocation.now]);
  await db.query(
    'INSERT INTO identity_revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING',
    [revocation.tokenId, revocation.userId, revocation.expiresAt],
  );
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: ApiKeyRole;
  /** The exchange member this key trades for (several keys may share one). */
  member: string;
  secretSha256: Buffer;
  createdBy: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: ApiKeyRole;
  member: string;
  secret_sha256: Buffer;
  created_by: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

const apiKeyColumns = 'id, name, role, member, secret_sha256, created_by, created_at, revoked_at';

function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    member: row.member,
    secretSha256: row.secret_sha256,
    createdBy: row.created_by,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** Inserts a key; 'name_taken' when an active key already has the name (any letter case). */
export async function insertApiKey(
  db: Queryable,
  key: Omit<ApiKeyRecord, 'revokedAt'>,
): Promise<'inserted' | 'name_taken'> {
  const { rowCount } = await db.query(
    `INSERT INTO identity_api_keys (id, name, role, member, secret_sha256, created_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT ((lower(name))) WHERE revoked_at IS NULL DO NOTHING`,
    [key.id, key.name, key.role, key.member, key.secretSha256, key.createdBy, key.createdAt],
  );
  return rowCount === 1 ? 'inserted' : 'name_taken';
}

export async function findApiKey(db: Queryable, id: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<ApiKeyRow>(`SELECT ${apiKeyColumns} FROM identity_api_keys WHERE id = $1`, [
    id,
  ]);
  return rows[0] && toApiKey(rows[0]);
}

/** One page of keys in id (creation) order, after the given id. */
export async function listApiKeys(
  db: Queryable,
  page: { afterId: string | undefined; limit: number },
): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${apiKeyColumns} FROM identity_api_keys
      WHERE $1::uuid IS NULL OR id > $1::uuid
      ORDER BY id LIMIT $2`,
    [page.afterId ?? null, page.limit],
  );
  return rows.map(toApiKey);
}

/** Marks a key revoked; revoking twice is harmless and keeps the first time. */
export async function revokeApiKey(
  db: Queryable,
  id: string,
  now: Date,
): Promise<'revoked' | 'already_revoked' | 'not_found'> {
  const { rows } = await db.query<{ was_revoked: boolean }>(
    `UPDATE identity_api_keys k SET revoked_at = COALESCE(k.revoked_at, $2)
       FROM identity_api_keys old WHERE k.id = $1 AND old.id = k.id
     RETURNING old.revoked_at IS NOT NULL AS was_revoked`,
    [id, now],
  );
  if (!rows[0]) return 'not_found';
  return rows[0].was_revoked ? 'already_revoked' : 'revoked';
}

/** One entry in identity's audit trail. `data` never holds a secret. */
export interface IdentityEvent {
  id: string;
  subjectId: string;
  type: IdentityEventType;
  data: Record<string, unknown>;
  occurredAt: Date;
}

export type IdentityEventType =
  | 'user_created'
  | 'login_succeeded'
  | 'login_failed'
  | 'account_locked'
  | 'password_changed'
  | 'password_reset'
  | 'logged_out'
  | 'api_key_issued'
  | 'api_key_revoked';

export async function appendEvent(db: Queryable, event: IdentityEvent): Promise<void> {
  await db.query(
    'INSERT INTO identity_events (id, subject_id, type, data, occurred_at) VALUES ($1, $2, $3, $4, $5)',
    [event.id, event.subjectId, event.type, JSON.stringify(event.data), event.occurredAt],
  );
}

/** The audit trail of one user or key, oldest first. */
export async function readEvents(db: Queryable, subjectId: string, limit: number): Promise<IdentityEvent[]> {
  const { rows } = await db.query<{
    id: string;
    subject_id: string;
    type: IdentityEventType;
    data: Record<string, unknown>;
    occurred_at: Date;
  }>(
    'SELECT id, subject_id, type, data, occurred_at FROM identity_events WHERE subject_id = $1 ORDER BY position LIMIT $2',
    [subjectId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    subjectId: r.subject_id,
    type: r.type,
    data: r.data,
    occurredAt: r.occurred_at,
  }));
}

/** A transaction-scoped advisory lock key so concurrent starts create at most one bootstrap admin. */
export const adminBootstrapLockKey = 7_264_911_101;

export async function lockAdminBootstrap(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [adminBootstrapLockKey]);
}
