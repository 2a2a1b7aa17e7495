/**
 * Maxima of the outbox beyond the shared ones in src/platform/limits.ts. Each is no larger than what
 * the bus accepts (src/platform/bus/limits.ts): a stored message the bus refuses would block the relay.
 */
export const outboxLimits = {
  /** Messages written by one appendToStream or enqueueOutbox call. */
  messagesPerWriteMax: 1_000,
  /** Characters in a topic. */
  topicLengthMax: 200,
  /** Characters in an ordering key. */
  keyLengthMax: 200,
  /** Bytes of one payload as JSON text. */
  payloadBytesMax: 1_048_576,
  /** Bytes of one message's headers as JSON text. */
  headersBytesMax: 16_384,
  /**
   * Handed-out cursors the relay remembers while transactions that were running when it read them
   * have not ended (see OutboxRelay); beyond it the newest one is widened, which only settles later.
   */
  relayHorizonsMax: 1_000,
  /** Published rows the relay deletes in one pruning statement. */
  pruneRowsMax: 10_000,
} as const;
