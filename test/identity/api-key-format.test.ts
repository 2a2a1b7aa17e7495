import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, parseApiKey, secretMatches } from '../../src/identity/api-key-format.ts';

const keyId = '01960000-0000-7000-8000-000000000001';

describe('API key format', () => {
  it('is kinyu_<keyId>_<43 base64url characters> and stores only SHA-256 of the secret', () => {
    const { apiKey, secretSha256 } = generateApiKey(keyId);
    expect(apiKey).toMatch(/^kinyu_01960000-0000-7000-8000-000000000001_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKey(apiKey)!;
    expect(parsed.keyId).toBe(keyId);
    expect(secretSha256).toEqual(createHash('sha256').update(parsed.secret).digest());
    expect(secretMatches(parsed.secret, secretSha256)).toBe(true);
  });

  it('parses secrets that contain underscores', () => {
    const secret = `_${'a'.repeat(41)}_`;
    expect(parseApiKey(`kinyu_${keyId}_${secret}`)).toEqual({ keyId, secret });
  });

  it('refuses a wrong secret', () => {
    const { secretSha256 } = generateApiKey(keyId);
    expect(secretMatches('x'.repeat(43), secretSha256)).toBe(false);
  });

  it.each([
    'kinyu_not-a-uuid_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    `kinyu_${keyId}_short`,
    `other_${keyId}_${'a'.repeat(43)}`,
    `kinyu_${keyId}_${'a'.repeat(300)}`,
    `kinyu_${keyId}_${'a'.repeat(42)}!`,
  ])('refuses %s', (apiKey) => {
    expect(parseApiKey(apiKey)).toBeUndefined();
  });
});
