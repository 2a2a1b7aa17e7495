import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../platform/clock.ts';
import { assert } from '../platform/errors.ts';
import type { IdGenerator } from '../platform/ids.ts';
import { type UserRole, userRoles } from './domain/types.ts';
import { identityLimits } from './limits.ts';

const issuer = 'kinyu';
const audience = 'kinyu-api';
const algorithm = 'HS256';

/** What an access token says, once its signature and lifetime have been checked. */
export interface TokenClaims {
  userId: string;
  roles: UserRole[];
  mustChangePassword: boolean;
  /** The user's session epoch at issue; a password change or reset moves it on and retires the token. */
  sessionEpoch: number;
  tokenId: string;
  expiresAt: Date;
}

export interface IssuedToken {
  token: string;
  tokenId: string;
  expiresAt: Date;
}

export type TokenVerification = { outcome: 'ok'; claims: TokenClaims } | { outcome: 'expired' | 'invalid' };

export interface TokenService {
  issue(subject: Omit<TokenClaims, 'tokenId' | 'expiresAt'>): Promise<IssuedToken>;
  verify(token: string): Promise<TokenVerification>;
}

export interface TokenServiceOptions {
  secret: string | Uint8Array;
  ttlSeconds: number;
  clock: Clock;
  ids: IdGenerator;
}

/** Short-lived HS256 JWTs, signed and checked against the injected clock. */
export function createTokenService({ secret, ttlSeconds, clock, ids }: TokenServiceOptions): TokenService {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  assert(key.length >= identityLimits.tokenSecretBytesMin, 'token secret must be at least 32 bytes');
  assert(
    Number.isInteger(ttlSeconds) && ttlSeconds > 0,
    'token ttl must be a positive whole number of seconds',
  );
  return {
    async issue(subject) {
      const issuedAtSeconds = Math.floor(clock.nowMs() / 1000);
      const expiresAtSeconds = issuedAtSeconds + ttlSeconds;
      const tokenId = ids();
      const token = await new SignJWT({
        roles: subject.roles,
        pwd_change: subject.mustChangePassword,
        sep: subject.sessionEpoch,
      })
        .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
        .setSubject(subject.userId)
        .setJti(tokenId)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(issuedAtSeconds)
        .setExpirationTime(expiresAtSeconds)
        .sign(key);
      return { token, tokenId, expiresAt: new Date(expiresAtSeconds * 1000) };
    },
    async verify(token) {
      if (token.length > identityLimits.tokenLengthMax) return { outcome: 'invalid' };
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [algorithm],
          issuer,
          audience,
          currentDate: clock.now(),
          requiredClaims: ['sub', 'jti', 'exp', 'iat'],
        });
        const claims = readClaims(payload);
        return claims ? { outcome: 'ok', claims } : { outcome: 'invalid' };
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) return { outcome: 'expired' };
        if (error instanceof joseErrors.JOSEError) return { outcome: 'invalid' };
        throw error;
      }
    },
  };
}

function readClaims(payload: Record<string, unknown>): TokenClaims | undefined {
  const { sub, jti, exp, roles, pwd_change: pwdChange, sep } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') return undefined;
  if (typeof pwdChange !== 'boolean' || typeof sep !== 'number' || !Number.isInteger(sep)) return undefined;
  if (!Array.isArray(roles) || !roles.every((role) => (userRoles as readonly unknown[]).includes(role))) {
    return undefined;
  }
  return {
    userId: sub,
    roles: roles as UserRole[],
    mustChangePassword: pwdChange,
    sessionEpoch: sep,
    tokenId: jti,
    expiresAt: new Date(exp * 1000),
  };
}
