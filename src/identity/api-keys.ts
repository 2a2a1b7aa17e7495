import { AppError, invalidField } from '../platform/errors.ts';
import { withTransaction } from '../platform/sql/pool.ts';
import { invalidCredentialError } from './access.ts';
import { generateApiKey, parseApiKey, secretMatches } from './api-key-format.ts';
import { type ApiKeyCacheEntry, type IdentityContext, record } from './context.ts';
import {
  type ApiKeyRole,
  type MemberPrincipal,
  memberIdPattern,
  type UserPrincipal,
} from './domain/types.ts';
import { identityLimits } from './limits.ts';
import { type ApiKeyRecord, findApiKey, insertApiKey, listApiKeys, revokeApiKey } from './repository.ts';

/** An API key as listed: never the secret or its digest. */
export interface ApiKeyView {
  id: string;
  name: string;
  role: ApiKeyRole;
  /** The exchange member the key trades for. */
  member: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A newly issued key; `apiKey` is shown this once and cannot be recovered. */
export interface IssuedApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  member: string;
  apiKey: string;
  createdAt: string;
}

export interface ApiKeyPage {
  items: ApiKeyView[];
  /** Pass as `after` for the next page; null on the last page. */
  nextAfter: string | null;
}

/** What an admin asks for when issuing a key; `member` defaults to the new key's own id. */
export interface ApiKeyRequest {
  name: string;
  role: ApiKeyRole;
  member?: string | undefined;
}

/** Issues a key for an exchange member (a member firm may hold several keys). */
export async function issueApiKey(
  context: IdentityContext,
  actor: UserPrincipal,
  request: ApiKeyRequest,
): Promise<IssuedApiKey> {
  const id = context.ids();
  const member = request.member ?? id;
  if (!memberIdPattern.test(member)) {
    throw invalidField('member', `must match ${memberIdPattern.source}`);
  }
  const { apiKey, secretSha256 } = generateApiKey(id);
  const createdAt = context.clock.now();
  await withTransaction(context.pool, async (tx) => {
    const outcome = await insertApiKey(tx, {
      name: request.name,
      role: request.role,
      member,
      id,
      secretSha256,
      createdBy: actor.userId,
      createdAt,
    });
    if (outcome === 'name_taken') {
      throw new AppError('api_key_name_taken', `An active API key is already named "${request.name}"`, {
        errors: [{ field: 'name', reason: 'is already used by an active key' }],
      });
    }
    await record(context, tx, id, 'api_key_issued', {
      name: request.name,
      role: request.role,
      member,
      issuedBy: actor.userId,
    });
  });
  context.log?.info({ apiKeyId: id, member, issuedBy: actor.userId }, 'api key issued');
  return {
    id,
    name: request.name,
    role: request.role,
    member,
    apiKey,
    createdAt: createdAt.toISOString(),
  };
}

/** One page of keys, revoked ones included, in creation order. */
export async function listKeys(
  context: IdentityContext,
  page: { after?: string | undefined; limit?: number | undefined },
): Promise<ApiKeyPage> {
  const limit = Math.min(page.limit ?? identityLimits.apiKeyPageDefault, identityLimits.apiKeyPageMax);
  // Fetch one extra row to learn whether another page follows.
  const rows = await listApiKeys(context.pool, { afterId: page.after, limit: limit + 1 });
  const items = rows.slice(0, limit).map(toApiKeyView);
  return { items, nextAfter: rows.length > limit ? items.at(-1)!.id : null };
}

/** Revokes a key; it stops working on the very next request. Revoking twice is harmless. */
export async function revokeKey(context: IdentityContext, actor: UserPrincipal, id: string): Promise<void> {
  // Dropped from the cache before and after the commit, and no read that overlaps the revocation is
  // cached: a request reading the row while the revocation commits would otherwise cache it again.
  context.apiKeyRevocations++;
  context.apiKeyCache.delete(id);
  try {
    await withTransaction(context.pool, async (tx) => {
      const outcome = await revokeApiKey(tx, id, context.clock.now());
      if (outcome === 'not_found') throw new AppError('api_key_not_found');
      if (outcome === 'revoked')
        await record(context, tx, id, 'api_key_revoked', { revokedBy: actor.userId });
    });
  } finally {
    context.apiKeyRevocations++;
    context.apiKeyCache.delete(id);
  }
  context.log?.info({ apiKeyId: id, revokedBy: actor.userId }, 'api key revoked');
}

/** Turns a presented API key into a member principal, or throws 401 `unauthenticated`. */
export async function authenticateApiKey(context: IdentityContext, apiKey: string): Promise<MemberPrincipal> {
  const cached = cachedApiKeyPrincipal(context, apiKey);
  if (cached) return cached;
  const parsed = parseApiKey(apiKey);
  if (!parsed) throw invalidCredentialError('The API key is not valid');
  const entry = await activeApiKey(context, parsed.keyId);
  if (!entry || !secretMatches(parsed.secret, entry.key.secretSha256)) {
    throw invalidCredentialError('The API key is not valid');
  }
  return entry.principal;
}

/**
 * The principal of a key whose row was read less than `apiKeyCacheMs` ago, without touching the
 * database or a promise: the order-entry hot path. Undefined when the key is not cached (or is not
 * valid): `authenticateApiKey` then decides. The secret is checked every time: by its SHA-256, or,
 * on a keep-alive `connection` that presented exactly this key before and verified, by comparing
 * with what that same connection sent (nobody else's secret is ever compared), as long as the
 * cache entry it verified against is still the cached, fresh one (a revocation replaces it).
 */
export function cachedApiKeyPrincipal(
  context: IdentityContext,
  apiKey: string,
  connection?: object,
): MemberPrincipal | undefined {
  const now = context.clock.nowMs();
  const known = connection === undefined ? undefined : context.verifiedConnections.get(connection);
  if (known !== undefined && known.apiKey === apiKey) {
    const entry = context.apiKeyCache.get(known.keyId);
    if (entry === known.entry && now - entry.readAt < context.apiKeyCacheMs) return entry.principal;
  }
  const parsed = parseApiKey(apiKey);
  if (!parsed) return undefined;
  const cached = context.apiKeyCache.get(parsed.keyId);
  if (!cached || now - cached.readAt >= context.apiKeyCacheMs) return undefined;
  if (!secretMatches(parsed.secret, cached.key.secretSha256)) return undefined;
  if (connection !== undefined) {
    context.verifiedConnections.set(connection, { apiKey, keyId: parsed.keyId, entry: cached });
  }
  return cached.principal;
}

/**
 * The active key with this id and its principal. An order-entry burst would otherwise cost a
 * database read per request, so an active key read less than `apiKeyCacheMs` ago is trusted without
 * reading again: a revocation takes effect at once on the node that revoked it and within
 * `apiKeyCacheMs` on the others (KINYU_API_KEY_CACHE_MS; 0 reads on every request).
 */
async function activeApiKey(context: IdentityContext, keyId: string): Promise<ApiKeyCacheEntry | undefined> {
  const now = context.clock.nowMs();
  const cached = context.apiKeyCache.get(keyId);
  if (cached && now - cached.readAt < context.apiKeyCacheMs) return cached;
  const revocations = context.apiKeyRevocations;
  const key = await findApiKey(context.pool, keyId);
  if (!key || key.revokedAt !== null) {
    context.apiKeyCache.delete(keyId);
    return undefined;
  }
  const principal: MemberPrincipal = Object.freeze({
    kind: 'member',
    memberId: key.member,
    roles: Object.freeze([key.role]),
    apiKeyName: key.name,
  });
  const entry = { key, principal, readAt: now };
  if (context.apiKeyCacheMs > 0 && context.apiKeyRevocations === revocations) {
    if (context.apiKeyCache.size >= identityLimits.apiKeyCacheEntriesMax) context.apiKeyCache.clear();
    context.apiKeyCache.set(keyId, entry);
  }
  return entry;
}

function toApiKeyView(key: ApiKeyRecord): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    role: key.role,
    member: key.member,
    createdAt: key.createdAt.toISOString(),
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
