import { assert } from '../../platform/errors.ts';

/** The AES-256 keys personal data is sealed with: new data uses `activeId`, old data names its key. */
export interface Keyring {
  readonly activeId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** Bytes of an AES-256 key. */
export const piiKeyBytes = 32;

const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Builds a keyring from `id:base64key,…` (KINYU_PII_KEYS) and the active id (KINYU_PII_ACTIVE_KEY;
 * may be omitted when there is one key). The configuration loader has already reported malformed
 * values, so a bad one here is a bug.
 */
export function parseKeyring(spec: string, activeId: string | undefined): Keyring {
  const keys = new Map<string, Buffer>();
  for (const entry of spec.split(',')) {
    const [id = '', encoded = ''] = entry.trim().split(':');
    assert(keyIdPattern.test(id), `PII key id "${id}" is malformed`);
    const key = Buffer.from(encoded, 'base64');
    assert(key.length === piiKeyBytes, `PII key "${id}" must be ${piiKeyBytes} bytes`);
    assert(!keys.has(id), `PII key "${id}" appears twice`);
    keys.set(id, key);
  }
  const active = activeId ?? (keys.size === 1 ? [...keys.keys()][0] : undefined);
  assert(active !== undefined && keys.has(active), 'the active PII key must be one of the keys');
  return { activeId: active, keys };
}

/** Id of the key generated on first start when no keys are configured. */
export const generatedKeyId = 'local1';

/** A keyring of one generated key (base64 or base64url text of 32 random bytes). */
export function keyringOfGeneratedKey(encoded: string): Keyring {
  return parseKeyring(`${generatedKeyId}:${encoded}`, generatedKeyId);
}

/** The same keys with another one active: what rotation does. */
export function withActiveKey(keyring: Keyring, activeId: string): Keyring {
  assert(keyring.keys.has(activeId), `no PII key "${activeId}"`);
  return { activeId, keys: keyring.keys };
}
