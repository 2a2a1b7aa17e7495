import { createHash } from 'node:crypto';

/**
 * A UUID (version 8, RFC 9562) derived from a name: the same name always gives the same id. Used
 * where a retried step must reach the same ledger account or transfer (an id the ledger then
 * answers `exists` for), e.g. the account opened for an application or a teller reference.
 */
export function namedUuid(name: string): string {
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
