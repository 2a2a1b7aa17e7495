import { AppError, assert } from '../platform/errors.ts';
import { type Queryable, withTransaction } from '../platform/sql/pool.ts';
import { accessError, invalidCredentialError } from './access.ts';
import { assertPasswordPolicy, type IdentityContext, record, toUserView } from './context.ts';
import { decideLogin, isLocked, type LoginDecision } from './domain/lockout.ts';
import type { UserPrincipal, UserView } from './domain/types.ts';
import {
  findSession,
  findUserById,
  findUserByLogin,
  type IdentityEventType,
  lockUser,
  rehashPassword,
  revokeToken,
  saveLockout,
  setPassword,
  type UserRecord,
} from './repository.ts';

/** A signed-in session: the access token and who it is for. */
export interface Session {
  token: string;
  expiresAt: Date;
  user: UserView;
}

/** Logs in with a password. Throws `invalid_credentials` (also for unknown ids) or `account_locked`. */
export async function login(context: IdentityContext, loginId: string, password: string): Promise<Session> {
  const user = await findUserByLogin(context.pool, loginId);
  if (!user) {
    // Spend the same scrypt time as a real check, so response time does not reveal which ids exist.
    await context.hasher.verifyNothing(password);
    throw invalidCredentials();
  }
  const { decision, user: checked } = await checkPasswordAttempt(context, user, password, 'login_succeeded');
  throwUnlessAccepted(decision);
  context.log?.info({ userId: checked.id }, 'login succeeded');
  return startSession(context, checked);
}

/** Replaces the caller's password (the only way out of a temporary one) and returns a fresh session. */
export async function changePassword(
  context: IdentityContext,
  principal: UserPrincipal,
  change: { currentPassword: string; newPassword: string },
): Promise<Session> {
  const user = await findUserById(context.pool, principal.userId);
  if (!user) throw accessError('unauthenticated');
  assertPasswordPolicy('newPassword', {
    password: change.newPassword,
    loginId: user.loginId,
    currentPassword: change.currentPassword,
  });
  // A wrong current password counts towards lock-out, exactly like a failed login.
  const { decision } = await checkPasswordAttempt(context, user, change.currentPassword);
  throwUnlessAccepted(decision, 'currentPassword');
  const passwordHash = await context.hasher.hash(change.newPassword);
  const updated = await withTransaction(context.pool, async (tx) => {
    const locked = await lockUser(tx, user.id);
    if (!locked || locked.passwordHash !== user.passwordHash) {
      throw new AppError('concurrency_conflict', 'The password was changed meanwhile; sign in again');
    }
    const saved = await setPassword(tx, user.id, {
      passwordHash,
      mustChangePassword: false,
      now: context.clock.now(),
    });
    await record(context, tx, user.id, 'password_changed');
    return saved;
  });
  context.log?.info({ userId: user.id }, 'password changed');
  return startSession(context, updated);
}

/** Revokes the token the caller used, at once. */
export async function logout(context: IdentityContext, principal: UserPrincipal): Promise<void> {
  await withTransaction(context.pool, async (tx) => {
    await revokeToken(tx, {
      tokenId: principal.session.tokenId,
      userId: principal.userId,
      expiresAt: principal.session.expiresAt,
      now: context.clock.now(),
    });
    await record(context, tx, principal.userId, 'logged_out', { tokenId: principal.session.tokenId });
  });
}

/** The signed-in user as the API shows them. */
export async function currentUser(context: IdentityContext, principal: UserPrincipal): Promise<UserView> {
  const user = await findUserById(context.pool, principal.userId);
  if (!user) throw accessError('unauthenticated');
  return toUserView(user);
}

/**
 * Turns a bearer token into a principal. Besides signature and expiry, the user must still exist, the
 * token must not be logged out, and it must come from the current session epoch (no password change since).
 * Roles and the temporary-password flag are read fresh, so a demotion takes effect at once.
 */
export async function authenticateToken(context: IdentityContext, token: string): Promise<UserPrincipal> {
  const verification = await context.tokens.verify(token);
  if (verification.outcome !== 'ok')
    throw invalidToken(verification.outcome === 'expired' ? 'expired' : 'invalid');
  const { claims } = verification;
  const session = await findSession(context.pool, claims.userId, claims.tokenId);
  if (!session || session.tokenRevoked || session.sessionEpoch !== claims.sessionEpoch) {
    throw invalidToken('revoked');
  }
  return {
    kind: 'user',
    userId: claims.userId,
    roles: session.roles,
    mustChangePassword: session.mustChangePassword,
    customerId: session.customerId,
    session: { tokenId: claims.tokenId, expiresAt: claims.expiresAt },
  };
}

async function startSession(context: IdentityContext, user: UserRecord): Promise<Session> {
  const issued = await context.tokens.issue({
    userId: user.id,
    roles: user.roles,
    mustChangePassword: user.mustChangePassword,
    sessionEpoch: user.sessionEpoch,
  });
  return { token: issued.token, expiresAt: issued.expiresAt, user: toUserView(user) };
}

/**
 * Checks a password against the lock-out rules. The slow hash runs before the row lock so concurrent
 * attempts hold a connection only briefly; the decision itself is made under SELECT … FOR UPDATE, so
 * concurrent wrong guesses are counted one by one and never exceed the threshold.
 */
async function checkPasswordAttempt(
  context: IdentityContext,
  user: UserRecord,
  password: string,
  successEvent?: IdentityEventType,
): Promise<{ decision: LoginDecision; user: UserRecord }> {
  const early = isLocked(user, context.clock.now())
    ? undefined
    : { passwordHash: user.passwordHash, matches: await context.hasher.verify(password, user.passwordHash) };
  return withTransaction(context.pool, async (tx) => {
    const current = await lockUser(tx, user.id);
    assert(current, `user ${user.id} vanished during login`);
    const now = context.clock.now();
    const passwordMatches = await matchesUnderLock(context, current, now, password, early);
    const decision = decideLogin(current, { passwordMatches }, now, context.lockout);
    await saveDecision(context, tx, current, decision);
    if (decision.outcome === 'ok') await afterSuccess(context, tx, current, password, successEvent);
    return { decision, user: current };
  });
}

/** Reuses the check made before the lock unless the account is locked now or the hash changed meanwhile. */
async function matchesUnderLock(
  context: IdentityContext,
  current: UserRecord,
  now: Date,
  password: string,
  early: { passwordHash: string; matches: boolean } | undefined,
): Promise<boolean> {
  // A locked account is refused whatever the password; no need to spend the hash.
  if (isLocked(current, now)) return false;
  if (early && early.passwordHash === current.passwordHash) return early.matches;
  return context.hasher.verify(password, current.passwordHash);
}

async function saveDecision(
  context: IdentityContext,
  tx: Queryable,
  user: UserRecord,
  decision: LoginDecision,
): Promise<void> {
  const { next } = decision;
  const changed =
    next.failedLoginCount !== user.failedLoginCount ||
    next.lockedUntil?.getTime() !== user.lockedUntil?.getTime();
  if (changed) await saveLockout(tx, user.id, next, context.clock.now());
  if (decision.outcome !== 'invalid_credentials') return;
  await record(context, tx, user.id, 'login_failed', { consecutiveFailures: decision.consecutiveFailures });
  if (decision.locksAccount) {
    await record(context, tx, user.id, 'account_locked', { lockedUntil: next.lockedUntil?.toISOString() });
    context.log?.warn(
      { userId: user.id, lockedUntil: next.lockedUntil },
      'account locked after failed logins',
    );
  }
}

async function afterSuccess(
  context: IdentityContext,
  tx: Queryable,
  user: UserRecord,
  password: string,
  successEvent: IdentityEventType | undefined,
): Promise<void> {
  if (successEvent) await record(context, tx, user.id, successEvent);
  if (context.hasher.needsRehash(user.passwordHash)) {
    // Cost parameters were raised since this hash was made: upgrade it now that we hold the password.
    await rehashPassword(tx, user.id, await context.hasher.hash(password));
  }
}

function throwUnlessAccepted(decision: LoginDecision, field?: string): void {
  switch (decision.outcome) {
    case 'ok':
      return;
    case 'account_locked':
      throw new AppError('account_locked', `Try again in ${decision.retryAfterSeconds} seconds`, {
        headers: { 'retry-after': String(decision.retryAfterSeconds) },
      });
    case 'invalid_credentials':
      throw field ? invalidCredentials(field) : invalidCredentials();
    default: {
      const unknown: never = decision;
      throw new Error(`unknown login decision ${JSON.stringify(unknown)}`);
    }
  }
}

function invalidCredentials(field?: string): AppError {
  if (field)
    return new AppError('invalid_credentials', `${field} is wrong`, {
      errors: [{ field, reason: 'is wrong' }],
    });
  return new AppError('invalid_credentials');
}

type TokenProblem = 'expired' | 'invalid' | 'revoked';

const tokenProblems: Record<TokenProblem, string> = {
  expired: 'The token has expired',
  invalid: 'The token is not valid',
  revoked: 'The token was revoked',
};

function invalidToken(problem: TokenProblem): AppError {
  return invalidCredentialError(tokenProblems[problem]);
}
