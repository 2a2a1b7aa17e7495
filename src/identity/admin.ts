import { randomBytes } from 'node:crypto';
import { AppError, assert } from '../platform/errors.ts';
import { type PoolClient, withTransaction } from '../platform/sql/pool.ts';
import { assertLoginId, assertPasswordPolicy, type IdentityContext, record, toUserView } from './context.ts';
import { checkPassword } from './domain/password-policy.ts';
import type { UserRole, UserView } from './domain/types.ts';
import {
  adminExists,
  findUserByLogin,
  insertUser,
  lockAdminBootstrap,
  lockUser,
  setPassword,
} from './repository.ts';

export const defaultAdminLogin = 'admin';

/** What start-up did about the first administrator. */
export type EnsureAdminResult =
  | { outcome: 'admin_exists' }
  | { outcome: 'created'; loginId: string }
  /** `temporaryPassword` is shown once on the console; the admin must change it at first login. */
  | { outcome: 'created_with_generated_password'; loginId: string; temporaryPassword: string };

/**
 * Makes sure an administrator exists. With a login and password (KINYU_ADMIN_LOGIN/PASSWORD) it creates
 * that admin; a password breaking the policy is a start-up error. Without a password it creates one with
 * a random temporary password. Serialised by an advisory lock, so concurrent starts create one admin.
 */
export async function ensureAdmin(
  context: IdentityContext,
  wanted: { login?: string | undefined; password?: string | undefined } = {},
): Promise<EnsureAdminResult> {
  const loginId = wanted.login ?? defaultAdminLogin;
  assertLoginId('login', loginId);
  if (wanted.password !== undefined) assertPasswordPolicy('password', { password: wanted.password, loginId });
  // Fast path for every start after the first: no hashing, no lock.
  if (await adminExists(context.pool)) return { outcome: 'admin_exists' };
  const password = wanted.password ?? temporaryPassword();
  const passwordHash = await context.hasher.hash(password);
  return withTransaction(context.pool, async (tx): Promise<EnsureAdminResult> => {
    await lockAdminBootstrap(tx);
    if (await adminExists(tx)) return { outcome: 'admin_exists' };
    const generated = wanted.password === undefined;
    await createUserRow(context, tx, {
      loginId,
      roles: ['admin'],
      passwordHash,
      mustChangePassword: generated,
    });
    context.log?.info({ loginId }, 'first administrator created');
    return generated
      ? { outcome: 'created_with_generated_password', loginId, temporaryPassword: password }
      : { outcome: 'created', loginId };
  });
}

/** Creates another administrator with a chosen password (`kinyu admin create`). */
export async function createAdmin(
  context: IdentityContext,
  loginId: string,
  password: string,
): Promise<UserView> {
  assertLoginId('login', loginId);
  assertPasswordPolicy('password', { password, loginId });
  const passwordHash = await context.hasher.hash(password);
  return withTransaction(context.pool, (tx) =>
    createUserRow(context, tx, { loginId, roles: ['admin'], passwordHash, mustChangePassword: false }),
  );
}

/**
 * Creates a login with a temporary password the user must change at first sign-in (account opening,
 * seed 001). Returns the password once, for the caller to deliver; it is not kept anywhere.
 */
export async function createUserWithTemporaryPassword(
  context: IdentityContext,
  request: { loginId: string; roles: UserRole[]; customerId?: string | null },
): Promise<{ user: UserView; temporaryPassword: string }> {
  assertLoginId('loginId', request.loginId);
  assert(request.roles.length > 0, 'a user needs at least one role');
  const password = temporaryPassword();
  const passwordHash = await context.hasher.hash(password);
  const user = await withTransaction(context.pool, (tx) =>
    createUserRow(context, tx, {
      loginId: request.loginId,
      roles: request.roles,
      passwordHash,
      mustChangePassword: true,
      customerId: request.customerId ?? null,
    }),
  );
  return { user, temporaryPassword: password };
}

/**
 * Gives a user a new temporary password (`kinyu admin reset-password`): clears any lock, signs out
 * every session, and returns the password once.
 */
export async function resetPassword(
  context: IdentityContext,
  loginId: string,
): Promise<{ loginId: string; temporaryPassword: string }> {
  const user = await findUserByLogin(context.pool, loginId);
  if (!user) throw new AppError('user_not_found', `No user has the login id "${loginId}"`);
  const password = temporaryPassword();
  const passwordHash = await context.hasher.hash(password);
  await withTransaction(context.pool, async (tx) => {
    await lockUser(tx, user.id);
    await setPassword(tx, user.id, { passwordHash, mustChangePassword: true, now: context.clock.now() });
    await record(context, tx, user.id, 'password_reset');
  });
  context.log?.info({ userId: user.id }, 'password reset to a temporary one');
  return { loginId: user.loginId, temporaryPassword: password };
}

interface UserRowRequest {
  loginId: string;
  roles: UserRole[];
  passwordHash: string;
  mustChangePassword: boolean;
  customerId?: string | null;
}

async function createUserRow(
  context: IdentityContext,
  tx: PoolClient,
  request: UserRowRequest,
): Promise<UserView> {
  const id = context.ids();
  const createdAt = context.clock.now();
  const customerId = request.customerId ?? null;
  const outcome = await insertUser(tx, { ...request, id, customerId, createdAt });
  if (outcome === 'login_id_taken') {
    throw new AppError('login_id_taken', `The login id "${request.loginId}" is already taken`);
  }
  await record(context, tx, id, 'user_created', {
    loginId: request.loginId,
    roles: request.roles,
    customerId,
    temporaryPassword: request.mustChangePassword,
  });
  return toUserView({
    ...request,
    id,
    customerId,
    createdAt,
    failedLoginCount: 0,
    lockedUntil: null,
    sessionEpoch: 0,
  });
}

/** 144 random bits as 24 base64url characters: long enough to pass the policy as a passphrase. */
function temporaryPassword(): string {
  const password = randomBytes(18).toString('base64url');
  assert(checkPassword({ password, loginId: '' }).length === 0, 'generated password breaks the policy');
  return password;
}
