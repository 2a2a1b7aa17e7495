import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { identityLimits } from './limits.ts';

/**
 * API keys look like `kinyu_<keyId>_<secret>`: the key id finds the row, the secret (32 random bytes,
 * base64url) proves possession. Only SHA-256 of the secret is stored: with 256 bits of entropy nobody
 * can guess it, so a slow password hash would only cost time on every request.
 */
const prefix = 'kinyu_';
const secretBytes = 32;
const keyPattern =
  /^kinyu_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43,})$/;

export interface NewApiKey {
  apiKey: string;
  secretSha256: Buffer;
}

/** A fresh key for `keyId`: the full key (shown once) and the digest to store. */
export function generateApiKey(keyId: string): NewApiKey {
  const secret = randomBytes(secretBytes).toString('base64url');
  return { apiKey: `${prefix}${keyId}_${secret}`, secretSha256: sha256(secret) };
}

/** Splits a presented key, or undefined when it cannot be one of ours. */
export function parseApiKey(apiKey: string): { keyId: string; secret: string } | undefined {
  if (apiKey.length > identityLimits.apiKeyLengthMax) return undefined;
  const match = keyPattern.exec(apiKey);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

/** Constant-time comparison of a presented secret with the stored digest. */
export function secretMatches(secret: string, storedSha256: Buffer): boolean {
  const digest = sha256(secret);
  return digest.length === storedSha256.length && timingSafeEqual(digest, storedSha256);
}

function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}
