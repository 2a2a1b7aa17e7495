/**
 * Named maxima of the executions projector and the exchange's query routes (TigerBeetle style: a
 * limit on everything). Exceeding one is a clear error or a smaller page, never unbounded growth.
 */
export const projectorLimits = {
  /** Journal records written in one transaction (with the checkpoint). */
  batchRecordsMax: 1_000,
  /**
   * Rows (orders + trades + executions) written in one transaction. A batch closes at the first
   * record that reaches it; one record is never split, so the checkpoint stays on a record boundary.
   */
  batchRowsMax: 5_000,
  /** Open orders read per page when loading them on start. */
  loadPageOrdersMax: 10_000,
  /** Callers waiting in waitFor() at once; beyond it waitFor answers false at once. */
  waitersMax: 10_000,
  /** Longest a waitFor() may wait. */
  waitTimeoutMsMax: 30_000,
  /** Default pause between polls of the journal. */
  pollIntervalMs: 50,
  /** Pause before retrying after a failed write (the database may be down). */
  retryDelayMs: 1_000,
  /** Connections of the projector thread's own pool: one round at a time needs one, open needs one. */
  threadPoolConnectionsMax: 2,
  /** How long stop() lets the thread finish its batch and close its pool before terminating it. */
  threadStopTimeoutMs: 10_000,
  /** Pause before restarting a thread that died: retryDelayMs, doubled per failure in a row, up to this. */
  threadRestartDelayMsMax: 30_000,
} as const;

/** Limits of GET /v1/order(s) and /v1/execution(.csv). */
export const queryLimits = {
  /** Default and largest page of GET /v1/orders and GET /v1/execution. */
  pageSizeDefault: 100,
  pageSizeMax: 500,
  /** Rows one CSV export answers at most; a longer export continues with the cursor it reports. */
  csvRowsMax: 100_000,
  /** Rows one CSV query reads from PostgreSQL at a time while streaming. */
  csvChunkRows: 1_000,
  /** Longest cursor string accepted. */
  cursorLengthMax: 200,
  /** How long a query waits for the projector to reach the exchange's last acknowledged seq. */
  readYourWritesTimeoutMs: 2_000,
} as const;
