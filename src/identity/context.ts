import type { Clock } from '../platform/clock.ts';
import { AppError } from '../platform/errors.ts';
import type { IdGenerator } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import type { Pool, Queryable } from '../platform/sql/pool.ts';
import type { LockoutPolicy } from './domain/lockout.ts';
import { checkLoginId, checkPassword, describeViolation } from './domain/password-policy.ts';
import type { MemberPrincipal, UserView } from './domain/types.ts';
import type { PasswordHasher } from './password-hash.ts';
import { type ApiKeyRecord, appendEvent, type IdentityEventType, type UserRecord } from './repository.ts';
import type { TokenService } from './tokens.ts';

/** What every part of the identity service shares. Built once by `createIdentityService`. */
export interface IdentityContext {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
  hasher: PasswordHasher;
  tokens: TokenService;
  lockout: LockoutPolicy;
  log: Logger | undefined;
  /** Active API keys read in the last `apiKeyCacheMs`, by key id (see authenticateApiKey). */
  apiKeyCache: Map<string, ApiKeyCacheEntry>;
  apiKeyCacheMs: number;
  /**
   * Counts revocations on this node, before and after each one commits. A key row read while the
   * count moved may predate a revocation, so it is not cached (see activeApiKey).
   */
  apiKeyRevocations: number;
  /**
   * Per connection (the HTTP socket), the API key it last presented and that verified, with its
   * cache entry: the same key on the same keep-alive connection is not hashed again while that
   * entry is still the cached one and fresh.
   */
  verifiedConnections: WeakMap<object, { apiKey: string; keyId: string; entry: ApiKeyCacheEntry }>;
}

/** A verified key row and the principal it stands for (shared by every request it authenticates). */
export interface ApiKeyCacheEntry {
  key: ApiKeyRecord;
  principal: MemberPrincipal;
  readAt: number;
}

/** Records one audit event in the caller's transaction. */
export function record(
  context: IdentityContext,
  db: Queryable,
  subjectId: string,
  type: IdentityEventType,
  data: Record<string, unknown> = {},
): Promise<void> {
  return appendEvent(db, { id: context.ids(), subjectId, type, data, occurredAt: context.clock.now() });
}

export function toUserView(user: UserRecord): UserView {
  return {
    id: user.id,
    loginId: user.loginId,
    roles: [...user.roles],
    mustChangePassword: user.mustChangePassword,
    customerId: user.customerId,
    createdAt: user.createdAt.toISOString(),
  };
}

/** Throws `weak_password` naming `field` and every broken rule. */
export function assertPasswordPolicy(
  field: string,
  candidate: { password: string; loginId: string; currentPassword?: string },
): void {
  const violations = checkPassword(candidate);
  if (violations.length === 0) return;
  const errors = violations.map((violation) => ({ field, reason: describeViolation(violation) }));
  const detail = `${field} ${errors.map((e) => e.reason).join('; ')}`;
  throw new AppError('weak_password', detail, { errors });
}

/** Throws `invalid_login_id` when the login id breaks the format rules. */
export function assertLoginId(field: string, loginId: string): void {
  const reason = checkLoginId(loginId);
  if (reason !== undefined) {
    throw new AppError('invalid_login_id', `${field} ${reason}`, { errors: [{ field, reason }] });
  }
}
