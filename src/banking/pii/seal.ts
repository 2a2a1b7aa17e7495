import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { assert } from '../../platform/errors.ts';
import type { Keyring } from './keyring.ts';

/*
 * Field-level encryption of personal data and secrets: AES-256-GCM with a fresh 96-bit IV per value,
 * and additional authenticated data binding the value to its field name and record id, so a sealed
 * value copied into another field or row fails to open. The key id travels with the value:
 *
 *   pii1:<keyId>:<iv base64url>:<ciphertext base64url>:<tag base64url>
 */

const version = 'pii1';
const ivBytes = 12;
const tagBytes = 16;

/** Where a sealed value belongs: checked on opening. */
export interface SealContext {
  /** The column or field, e.g. "email". */
  field: string;
  /** The row's id, e.g. the customer id. */
  recordId: string;
}

function aad({ field, recordId }: SealContext): Buffer {
  return Buffer.from(`kinyu:${version}:${field}:${recordId}`, 'utf8');
}

/** Seals `plaintext` with the active key. Randomness is the IV only: each call gives a new value. */
export function seal(keyring: Keyring, context: SealContext, plaintext: string): string {
  const key = keyring.keys.get(keyring.activeId);
  assert(key !== undefined, 'the active PII key is missing');
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes });
  cipher.setAAD(aad(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [version, keyring.activeId, b64(iv), b64(ciphertext), b64(tag)].join(':');
}

/** Why a sealed value did not open. */
export type OpenFailure = 'malformed' | 'unknown_key' | 'tampered';

export type OpenResult = { ok: true; plaintext: string } | { ok: false; reason: OpenFailure };

/**
 * Opens a sealed value. A wrong field, record id, key, or any changed byte is 'tampered' (GCM
 * authentication), never a wrong plaintext.
 */
export function open(keyring: Keyring, context: SealContext, sealed: string): OpenResult {
  const parts = sealed.split(':');
  if (parts.length !== 5 || parts[0] !== version) return { ok: false, reason: 'malformed' };
  const [, keyId = '', ivText = '', ciphertextText = '', tagText = ''] = parts;
  const key = keyring.keys.get(keyId);
  if (!key) return { ok: false, reason: 'unknown_key' };
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== ivBytes || tag.length !== tagBytes) return { ok: false, reason: 'malformed' };
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes });
    decipher.setAAD(aad(context));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([
      decipher.update(Buffer.from(ciphertextText, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
    return { ok: true, plaintext };
  } catch {
    return { ok: false, reason: 'tampered' };
  }
}

/**
 * Opens a value the bank itself sealed. Failing to open our own data means a lost key or a changed
 * row: an invariant broken, not a client error, so it throws (naming the field, never the value).
 */
export function openOrThrow(keyring: Keyring, context: SealContext, sealed: string): string {
  const result = open(keyring, context, sealed);
  assert(
    result.ok,
    `sealed ${context.field} of ${context.recordId} does not open: ${result.ok ? '' : result.reason}`,
  );
  return result.plaintext;
}

/** The key id a sealed value names, or undefined when it is not a sealed value. */
export function keyIdOf(sealed: string): string | undefined {
  const parts = sealed.split(':');
  return parts.length === 5 && parts[0] === version ? parts[1] : undefined;
}

/** Seals again with the active key when the value uses another one; returns undefined when current. */
export function resealIfStale(keyring: Keyring, context: SealContext, sealed: string): string | undefined {
  if (keyIdOf(sealed) === keyring.activeId) return undefined;
  return seal(keyring, context, openOrThrow(keyring, context, sealed));
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64url');
}
