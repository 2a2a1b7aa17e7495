import { Type } from '@fastify/type-provider-typebox';
import { loginIdPattern } from '../domain/password-policy.ts';
import { memberIdPattern } from '../domain/types.ts';
import { identityLimits } from '../limits.ts';

/**
 * TypeBox schemas for identity's HTTP API. `Type` comes from the type provider, which re-exports the
 * TypeBox version it understands.
 */
// A pattern rather than format 'uuid', which also admits forms PostgreSQL refuses ("urn:uuid:…").
const uuid = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  description: 'UUIDv7',
});
const timestamp = Type.String({ format: 'date-time' });

/** The problem+json body every error answer carries; one schema, from the platform. */
export { problemSchema as Problem } from '../../platform/http/app.ts';

const password = Type.String({ minLength: 1, maxLength: identityLimits.passwordLengthMax });

export const LoginBody = Type.Object(
  {
    // No pattern here: an odd login id must fail like any other wrong credential, not as a 400.
    loginId: Type.String({ minLength: 1, maxLength: identityLimits.loginIdLengthMax }),
    password,
  },
  { additionalProperties: false },
);

export const User = Type.Object(
  {
    id: uuid,
    loginId: Type.String({ pattern: loginIdPattern }),
    roles: Type.Array(Type.Union([Type.Literal('admin'), Type.Literal('customer')])),
    mustChangePassword: Type.Boolean(),
    customerId: Type.Union([Type.String(), Type.Null()]),
    createdAt: timestamp,
  },
  { additionalProperties: false },
);

export const SessionResponse = Type.Object(
  {
    token: Type.String({ description: 'Send as `Authorization: Bearer <token>`' }),
    expiresAt: timestamp,
    user: User,
  },
  { additionalProperties: false },
);

export const PasswordChangeBody = Type.Object(
  { currentPassword: password, newPassword: password },
  { additionalProperties: false },
);

const apiKeyRole = Type.Literal('member');
const apiKeyName = Type.String({
  minLength: 1,
  maxLength: identityLimits.apiKeyNameLengthMax,
  pattern: '\\S',
});

const member = Type.String({
  pattern: memberIdPattern.source,
  description: 'The exchange member the key trades for; several keys may share one',
});

export const ApiKeyCreateBody = Type.Object(
  {
    name: apiKeyName,
    role: apiKeyRole,
    member: Type.Optional(
      Type.String({
        pattern: memberIdPattern.source,
        description: 'The exchange member the key trades for (default: the new key id)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const IssuedApiKey = Type.Object(
  {
    id: uuid,
    name: Type.String(),
    role: apiKeyRole,
    member,
    apiKey: Type.String({ description: 'kinyu_<keyId>_<secret>: shown once, never again' }),
    createdAt: timestamp,
  },
  { additionalProperties: false },
);

export const ApiKey = Type.Object(
  {
    id: uuid,
    name: Type.String(),
    role: apiKeyRole,
    member,
    createdAt: timestamp,
    revokedAt: Type.Union([timestamp, Type.Null()]),
  },
  { additionalProperties: false },
);

export const ApiKeyListQuery = Type.Object(
  {
    // Query values arrive as strings and the app does not coerce types, so the limit is a digit string.
    limit: Type.Optional(
      Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `1 to ${identityLimits.apiKeyPageMax}` }),
    ),
    after: Type.Optional(uuid),
  },
  { additionalProperties: false },
);

export const ApiKeyPage = Type.Object(
  { items: Type.Array(ApiKey), nextAfter: Type.Union([uuid, Type.Null()]) },
  { additionalProperties: false },
);

export const ApiKeyParams = Type.Object({ id: uuid }, { additionalProperties: false });

/** An empty 204 response. */
export const NoContent = Type.Null({ description: 'No content' });
