/**
 * Named maxima of the sequencer, journal, snapshots and standby (TigerBeetle style: put a limit on
 * everything). Exceeding one is a clear error, never unbounded growth.
 */
export const sequencerLimits = {
  /** Bytes of one journal record's payload; a longer length field is treated as corruption. */
  recordPayloadBytesMax: 65_536,
  /** Records written with one write and one fsync in 'batch' mode. */
  batchRecordsMax: 8_192,
  /** Bytes written with one write in 'batch' mode. */
  batchBytesMax: 4 * 1_048_576,
  /** Written batch buffers the journal keeps for reuse (each ≤ batchBytesMax, or one record). */
  spareBatchBuffersMax: 4,
  /**
   * Batch writes in flight at once. With 2, the records of one event-loop turn go out while the
   * previous batch is still being made durable, instead of waiting for it; acknowledgements stay
   * in file order.
   */
  writesInFlightMax: 2,
  /** Records appended but not yet durable; beyond it submit fails with JournalBacklogFullError. */
  pendingRecordsMax: 1_000_000,
  /** Bytes one journal read pulls into memory (recovery, verify, standby). */
  readChunkBytes: 1_048_576,
  /** Symbols (books) one sequencer holds. */
  booksMax: 10_000,
  /** Longest symbol. */
  symbolLengthMax: 32,
  /** Snapshot files kept in a data directory (the newest ones). */
  snapshotsKept: 2,
  /** Bytes one standby poll reads from the journal at most. */
  standbyPollBytesMax: 8 * 1_048_576,
} as const;

/** Symbols are short, printable and file-name safe. */
export const symbolPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
