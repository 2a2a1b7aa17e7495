import { describe, expect, it } from 'vitest';
import { createPasswordHasher, testScryptParams } from '../../src/identity/password-hash.ts';

const hasher = createPasswordHasher(testScryptParams);

describe('password hashing', () => {
  it('encodes scrypt parameters, salt and hash, and verifies', async () => {
    const encoded = await hasher.hash('Correct-Horse-42');
    expect(encoded).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(encoded).not.toContain('Correct-Horse-42');
    expect(await hasher.verify('Correct-Horse-42', encoded)).toBe(true);
    expect(await hasher.verify('correct-horse-42', encoded)).toBe(false);
  });

  it('salts every hash differently', async () => {
    expect(await hasher.hash('same password')).not.toBe(await hasher.hash('same password'));
  });

  it('treats canonically equal Unicode as the same password', async () => {
    const composed = 'Caf\u00e9-Password-1';
    const decomposed = 'Cafe\u0301-Password-1';
    expect(await hasher.verify(decomposed, await hasher.hash(composed))).toBe(true);
  });

  it('verifies a hash made with other parameters and says it needs a rehash', async () => {
    const stronger = createPasswordHasher({ N: 2048, r: 8, p: 1 });
    const encoded = await stronger.hash('Correct-Horse-42');
    expect(await hasher.verify('Correct-Horse-42', encoded)).toBe(true);
    expect(hasher.needsRehash(encoded)).toBe(true);
    expect(stronger.needsRehash(encoded)).toBe(false);
  });

  it('refuses absurd parameters from a corrupted row', async () => {
    await expect(hasher.verify('x', 'scrypt$4194304$8$1$AAAA$AAAA')).rejects.toThrow(/invariant violated/);
    expect(() => createPasswordHasher({ N: 1000, r: 8, p: 1 })).toThrow(/scrypt N/);
  });

  it('verifyNothing spends a hash and answers false', async () => {
    expect(await hasher.verifyNothing('anything')).toBe(false);
  });

  it('keeps a production-cost login under ~100 ms', async () => {
    const production = createPasswordHasher();
    const encoded = await production.hash('Correct-Horse-42');
    const started = performance.now();
    expect(await production.verify('Correct-Horse-42', encoded)).toBe(true);
    // Generous bound for slow CI machines; the point is the order of magnitude.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
