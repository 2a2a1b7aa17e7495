/**
 * Every queue, batch, buffer, page and retry count has a named maximum here (TigerBeetle style).
 * Exceeding one is a clear error or a disconnect, never unbounded growth.
 */
export const limits = {
  /** Largest absolute amount in minor units accepted at the API edge (fits comfortably in int8). */
  amountMinorMax: 10n ** 15n,
  /** Longest decimal string accepted before parsing. */
  decimalStringLengthMax: 40,
  /** Events appended in one call to appendToStream. */
  appendBatchEventsMax: 1_000,
  /** Events returned by one readAll/readStream page. */
  readPageEventsMax: 1_000,
  /** Outbox messages the relay claims per round. */
  outboxBatchMax: 500,
  /** Times a bus message is delivered before it is dead-lettered (default; configurable). */
  busDeliveriesMax: 5,
  /** Messages buffered in memory per in-process topic before publish fails. */
  memoryBusBacklogMax: 1_000_000,
  /** Items in any API page. */
  pageSizeMax: 500,
  /** Size of a JSON request body in bytes. */
  requestBodyBytesMax: 1_048_576,
  /** Idempotency keys: length of the key header. */
  idempotencyKeyLengthMax: 200,
  /** Login id and password lengths. */
  loginIdLengthMax: 64,
  passwordLengthMax: 256,
} as const;
