import { type Pool, type PoolClient, withTransaction } from '../sql/pool.ts';

/** Maxima of idempotent consumers. */
export const consumerLimits = {
  /** Characters in a consumer name. */
  consumerNameLengthMax: 200,
  /** Characters in a message id (bus ids, outbox UUIDs, partner request ids). */
  messageIdLengthMax: 200,
} as const;

export type HandleOnceResult<T> = { processed: true; result: T } | { processed: false };

/**
 * Runs `effects` at most once per (consumer, messageId): the marker row and the effects commit in
 * one transaction. A duplicate — later, or concurrent with the first — gets `{ processed: false }`,
 * because its insert waits on the first transaction's uncommitted key and then finds it taken. If
 * `effects` throws, nothing is recorded and a redelivery runs them again.
 */
export async function handleOnce<T>(
  pool: Pool,
  consumer: string,
  messageId: string,
  effects: (tx: PoolClient) => Promise<T>,
): Promise<HandleOnceResult<T>> {
  checkName('consumer', consumer, consumerLimits.consumerNameLengthMax);
  checkName('messageId', messageId, consumerLimits.messageIdLengthMax);
  return withTransaction(pool, async (tx) => {
    const inserted = await tx.query({
      name: 'kinyu_handle_once_mark',
      text: 'INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      values: [consumer, messageId],
    });
    if (inserted.rowCount === 0) return { processed: false };
    return { processed: true, result: await effects(tx) };
  });
}

function checkName(what: string, value: string, lengthMax: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > lengthMax) {
    throw new TypeError(`${what} must be 1 to ${lengthMax} characters`);
  }
}
