import type { Clock } from '../platform/clock.ts';
import { registerErrors } from '../platform/errors.ts';
import type { IdGenerator } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import type { Pool } from '../platform/sql/pool.ts';
import {
  createAdmin,
  createUserWithTemporaryPassword,
  type EnsureAdminResult,
  ensureAdmin,
  resetPassword,
} from './admin.ts';
import {
  type ApiKeyPage,
  type ApiKeyRequest,
  authenticateApiKey,
  cachedApiKeyPrincipal,
  type IssuedApiKey,
  issueApiKey,
  listKeys,
  revokeKey,
} from './api-keys.ts';
import type { IdentityContext } from './context.ts';
import type { MemberPrincipal, UserPrincipal, UserRole, UserView } from './domain/types.ts';
import { identityErrors } from './errors.ts';
import { createPasswordHasher, type PasswordHasher } from './password-hash.ts';
import { authenticateToken, changePassword, currentUser, login, logout, type Session } from './sessions.ts';
import { createTokenService } from './tokens.ts';

/** The settings identity reads; `Config` (src/platform/config.ts) satisfies it as is. */
export interface IdentitySettings {
  tokenTtlSeconds: number;
  lockoutThreshold: number;
  lockoutSeconds: number;
  /** How long a verified API key is trusted without a database read (0: read every request). */
  apiKeyCacheMs?: number;
}

export interface IdentityServiceDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
  settings: IdentitySettings;
  /** HS256 key for access tokens, at least 32 bytes; the composition root owns generating and keeping it. */
  tokenSecret: string | Uint8Array;
  /** Defaults to production scrypt cost; tests pass `createPasswordHasher(testScryptParams)`. */
  passwordHasher?: PasswordHasher;
  log?: Logger;
}

/** Everything identity does, for routes, the CLI and other modules. */
export interface IdentityService {
  login(loginId: string, password: string): Promise<Session>;
  changePassword(
    principal: UserPrincipal,
    change: { currentPassword: string; newPassword: string },
  ): Promise<Session>;
  logout(principal: UserPrincipal): Promise<void>;
  currentUser(principal: UserPrincipal): Promise<UserView>;
  authenticateToken(token: string): Promise<UserPrincipal>;
  authenticateApiKey(apiKey: string): Promise<MemberPrincipal>;
  /**
   * The principal of a recently verified API key, synchronously; undefined: ask authenticateApiKey.
   * `connection` (the request's socket) lets a keep-alive connection skip re-hashing its own key.
   */
  cachedApiKey(apiKey: string, connection?: object): MemberPrincipal | undefined;
  issueApiKey(actor: UserPrincipal, request: ApiKeyRequest): Promise<IssuedApiKey>;
  listApiKeys(page: { after?: string | undefined; limit?: number | undefined }): Promise<ApiKeyPage>;
  revokeApiKey(actor: UserPrincipal, id: string): Promise<void>;
  ensureAdmin(wanted?: {
    login?: string | undefined;
    password?: string | undefined;
  }): Promise<EnsureAdminResult>;
  createAdmin(loginId: string, password: string): Promise<UserView>;
  resetPassword(loginId: string): Promise<{ loginId: string; temporaryPassword: string }>;
  createUserWithTemporaryPassword(request: {
    loginId: string;
    roles: UserRole[];
    customerId?: string | null;
  }): Promise<{ user: UserView; temporaryPassword: string }>;
}

/** Builds the identity service and registers identity's error codes with the platform catalogue. */
export function createIdentityService(deps: IdentityServiceDeps): IdentityService {
  registerErrors(identityErrors);
  const context: IdentityContext = {
    pool: deps.pool,
    clock: deps.clock,
    ids: deps.ids,
    hasher: deps.passwordHasher ?? createPasswordHasher(),
    tokens: createTokenService({
      secret: deps.tokenSecret,
      ttlSeconds: deps.settings.tokenTtlSeconds,
      clock: deps.clock,
      ids: deps.ids,
    }),
    lockout: { threshold: deps.settings.lockoutThreshold, lockSeconds: deps.settings.lockoutSeconds },
    log: deps.log,
    apiKeyCache: new Map(),
    apiKeyCacheMs: deps.settings.apiKeyCacheMs ?? 0,
    apiKeyRevocations: 0,
    verifiedConnections: new WeakMap(),
  };
  return {
    login: (loginId, password) => login(context, loginId, password),
    changePassword: (principal, change) => changePassword(context, principal, change),
    logout: (principal) => logout(context, principal),
    currentUser: (principal) => currentUser(context, principal),
    authenticateToken: (token) => authenticateToken(context, token),
    authenticateApiKey: (apiKey) => authenticateApiKey(context, apiKey),
    cachedApiKey: (apiKey, connection) => cachedApiKeyPrincipal(context, apiKey, connection),
    issueApiKey: (actor, request) => issueApiKey(context, actor, request),
    listApiKeys: (page) => listKeys(context, page),
    revokeApiKey: (actor, id) => revokeKey(context, actor, id),
    ensureAdmin: (wanted) => ensureAdmin(context, wanted),
    createAdmin: (loginId, password) => createAdmin(context, loginId, password),
    resetPassword: (loginId) => resetPassword(context, loginId),
    createUserWithTemporaryPassword: (request) => createUserWithTemporaryPassword(context, request),
  };
}
