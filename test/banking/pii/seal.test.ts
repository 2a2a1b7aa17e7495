import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  keyIdOf,
  open,
  parseKeyring,
  resealIfStale,
  seal,
  withActiveKey,
} from '../../../src/banking/pii/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';

const key = () => randomBytes(32).toString('base64');
const context = { field: 'email', recordId: '0190f1a2-0000-7000-8000-000000000001' };

describe('sealing personal data (AES-256-GCM)', () => {
  const keyring = parseKeyring(`k1:${key()}`, undefined);

  it('round-trips, with a fresh IV each time, and never shows the plaintext', () => {
    const a = seal(keyring, context, 'alice@example.com');
    const b = seal(keyring, context, 'alice@example.com');
    expect(a).not.toBe(b);
    expect(a).not.toContain('alice');
    expect(a.startsWith('pii1:k1:')).toBe(true);
    expect(open(keyring, context, a)).toEqual({ ok: true, plaintext: 'alice@example.com' });
    expect(open(keyring, context, seal(keyring, context, '山田 太郎'))).toEqual({
      ok: true,
      plaintext: '山田 太郎',
    });
  });

  it('detects any tampering: a changed byte, another field or another record', () => {
    const sealed = seal(keyring, context, 'alice@example.com');
    const [version, keyId, iv, ciphertext, tag] = sealed.split(':') as [
      string,
      string,
      string,
      string,
      string,
    ];
    const flip = (text: string) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      return bytes.toString('base64url');
    };
    for (const changed of [
      [version, keyId, flip(iv), ciphertext, tag],
      [version, keyId, iv, flip(ciphertext), tag],
      [version, keyId, iv, ciphertext, flip(tag)],
    ]) {
      expect(open(keyring, context, changed.join(':'))).toEqual({ ok: false, reason: 'tampered' });
    }
    expect(open(keyring, { ...context, field: 'full_name' }, sealed)).toEqual({
      ok: false,
      reason: 'tampered',
    });
    expect(open(keyring, { ...context, recordId: 'other' }, sealed)).toEqual({
      ok: false,
      reason: 'tampered',
    });
    expect(open(keyring, context, 'alice@example.com')).toEqual({ ok: false, reason: 'malformed' });
    expect(open(parseKeyring(`k2:${key()}`, undefined), context, sealed)).toEqual({
      ok: false,
      reason: 'unknown_key',
    });
  });

  it('rotates: new values use the active key, old ones still open, and re-sealing moves them', () => {
    const oldKey = key();
    const before = parseKeyring(`k1:${oldKey}`, undefined);
    const sealedOld = seal(before, context, '+819012345678');
    const after = parseKeyring(`k1:${oldKey},k2:${key()}`, 'k2');
    expect(keyIdOf(seal(after, context, 'x'))).toBe('k2');
    expect(open(after, context, sealedOld)).toEqual({ ok: true, plaintext: '+819012345678' });
    const resealed = resealIfStale(after, context, sealedOld);
    expect(resealed && keyIdOf(resealed)).toBe('k2');
    expect(resealIfStale(after, context, resealed!)).toBeUndefined();
    expect(open(withActiveKey(after, 'k1'), context, resealed!)).toEqual({
      ok: true,
      plaintext: '+819012345678',
    });
  });
});

describe('PII key configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as { problems: string[] }).problems;
    }
  };

  it('accepts id:base64 keys and an active id, and reports each mistake', () => {
    expect(problems({ KINYU_PII_KEYS: `a:${key()}` })).toEqual([]);
    expect(problems({ KINYU_PII_KEYS: `a:${key()},b:${key()}`, KINYU_PII_ACTIVE_KEY: 'b' })).toEqual([]);
    expect(problems({ KINYU_PII_KEYS: `a:${key()},b:${key()}` })).toEqual([
      expect.stringMatching(/KINYU_PII_ACTIVE_KEY/),
    ]);
    expect(problems({ KINYU_PII_KEYS: 'a:c2hvcnQ=' })).toEqual([expect.stringMatching(/32 bytes/)]);
    expect(problems({ KINYU_PII_KEYS: `a:${key()}`, KINYU_PII_ACTIVE_KEY: 'z' })).toEqual([
      expect.stringMatching(/not one of/),
    ]);
    expect(problems({ KINYU_PII_ACTIVE_KEY: 'a' })).toEqual([expect.stringMatching(/KINYU_PII_KEYS is not/)]);
    expect(problems({ KINYU_BANK_BRANCH: '12' })).toEqual([expect.stringMatching(/3 digits/)]);
    expect(problems({ KINYU_BANK_CURRENCIES: 'JPY,XXX' })).toEqual([expect.stringMatching(/XXX/)]);
  });
});
