import { createHash } from 'node:crypto';

/** The saga's ledger postings; each has one id per transfer, so a repeated step finds `exists`. */
export type PostingStep = 'hold' | 'deposit' | 'post' | 'void';

/**
 * A UUID (version 8, RFC 9562 "custom") derived from a name: the same name always gives the same id.
 * Used for ledger ids of saga steps and for transfer ids derived from an Idempotency-Key.
 */
export function nameBasedUuid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = 0x80 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The ledger transfer id of `step` of transfer `transferId`. */
export function postingId(transferId: string, step: PostingStep): string {
  return nameBasedUuid(`kinyu:bank-transfer:${transferId}:${step}`);
}

/** The transfer id of a request sent with an Idempotency-Key (scope = caller and route). */
export function transferIdForKey(scope: string, key: string): string {
  return nameBasedUuid(`kinyu:bank-transfer-request:${scope}\n${key}`);
}
