import { AppError } from '../platform/errors.ts';
import { withTransaction } from '../platform/sql/pool.ts';
import { invalidCredentialError } from './access.ts';
import { generateApiKey, parseApiKey, secretMatches } from './api-key-format.ts';
import { type IdentityContext, record } from './context.ts';
import type { ApiKeyRole, MemberPrincipal, UserPrincipal } from './domain/types.ts';
import { identityLimits } from './limits.ts';
import { type ApiKeyRecord, findApiKey, insertApiKey, listApiKeys, revokeApiKey } from './repository.ts';

/** An API key as listed: never the secret or its digest. */
export interface ApiKeyView {
  id: string;
  name: string;
  role: ApiKeyRole;
  createdAt: string;
  revokedAt: string | null;
}

/** A newly issued key; `apiKey` is shown this once and cannot be recovered. */
export interface IssuedApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  apiKey: string;
  createdAt: string;
}

export interface ApiKeyPage {
  items: ApiKeyView[];
  /** Pass as `after` for the next page; null on the last page. */
  nextAfter: string | null;
}

/** Issues a key for an exchange member. */
export async function issueApiKey(
  context: IdentityContext,
  actor: UserPrincipal,
  request: { name: string; role: ApiKeyRole },
): Promise<IssuedApiKey> {
  const id = context.ids();
  const { apiKey, secretSha256 } = generateApiKey(id);
  const createdAt = context.clock.now();
  await withTransaction(context.pool, async (tx) => {
    const outcome = await insertApiKey(tx, {
      ...request,
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
      issuedBy: actor.userId,
    });
  });
  context.log?.info({ apiKeyId: id, issuedBy: actor.userId }, 'api key issued');
  return { id, name: request.name, role: request.role, apiKey, createdAt: createdAt.toISOString() };
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
  await withTransaction(context.pool, async (tx) => {
    const outcome = await revokeApiKey(tx, id, context.clock.now());
    if (outcome === 'not_found') throw new AppError('api_key_not_found');
    if (outcome === 'revoked') await record(context, tx, id, 'api_key_revoked', { revokedBy: actor.userId });
  });
  context.log?.info({ apiKeyId: id, revokedBy: actor.userId }, 'api key revoked');
}

/** Turns a presented API key into a member principal, or throws 401 `unauthenticated`. */
export async function authenticateApiKey(context: IdentityContext, apiKey: string): Promise<MemberPrincipal> {
  const parsed = parseApiKey(apiKey);
  if (!parsed) throw invalidCredentialError('The API key is not valid');
  // Read on every request rather than cached, so a revocation takes effect at once on every node.
  const key = await findApiKey(context.pool, parsed.keyId);
  if (!key || key.revokedAt !== null || !secretMatches(parsed.secret, key.secretSha256)) {
    throw invalidCredentialError('The API key is not valid');
  }
  return { kind: 'member', memberId: key.id, roles: [key.role], apiKeyName: key.name };
}

function toApiKeyView(key: ApiKeyRecord): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    role: key.role,
    createdAt: key.createdAt.toISOString(),
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
