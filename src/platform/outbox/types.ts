/** A message for the bus, stored in the outbox in the transaction of the change that caused it. */
export interface OutboxMessage {
  topic: string;
  /** Ordering key: messages with one key are delivered in the order they were written. */
  key: string;
  /** Plain JSON (no bigint). */
  payload: unknown;
  headers?: Record<string, string>;
}
