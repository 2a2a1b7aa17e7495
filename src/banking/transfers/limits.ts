/** Named maxima and fixed numbers of the transfer saga (TigerBeetle style: a limit on everything). */
export const transferLimits = {
  /** Characters in a transfer's description. */
  descriptionLengthMax: 140,
  /**
   * Seconds a withdrawal hold lives before the ledger voids it by itself. It must be far longer than
   * the time the sweeper needs to give up (KINYU_TRANSFER_STUCK_AFTER_MS × (redrivesMax + 1), at most
   * 6 hours with the largest allowed threshold), so a hold never expires under a saga that is still
   * being driven: 7 days leaves a human time to finish what the sweeper could not.
   */
  holdTimeoutSeconds: 7 * 24 * 60 * 60,
  /** Times the sweeper re-enqueues a stuck transfer's next step before only a human can help. */
  redrivesMax: 5,
  /** Stuck transfers one sweeper round looks at. */
  sweepBatchMax: 200,
  /** Rounds of load → act → append one step handler makes before letting the bus redeliver. */
  stepAttemptsMax: 8,
  /** Alerts in one page of GET /admin/alerts. */
  alertsPageMax: 500,
  /** Events one GET /admin/streams/{id}/events answer shows. */
  streamEventsMax: 1_000,
  /** Retries of a request's append when its stream raced with another writer. */
  requestAttemptsMax: 3,
} as const;

/**
 * Ledger transfer codes of the saga's postings (account codes are 1, 100 and 200: see the contract;
 * the tellers use transfer codes 10 and 11).
 */
export const transferCodes = {
  /** The withdrawal hold, source → clearing; its post and void inherit the code. */
  withdrawal: 20,
  /** The deposit, clearing → target. */
  deposit: 21,
} as const;

/** Bus topics and consumer groups of the saga. */
export const transferTopics = {
  withdraw: 'bank.transfer.withdraw',
  deposit: 'bank.transfer.deposit',
  notifications: 'bank.notifications',
} as const;

export const transferGroups = {
  withdraw: 'bank-transfer-withdraw',
  deposit: 'bank-transfer-deposit',
  notifier: 'bank-transfer-notifier',
} as const;

/** Advisory lock key of the sweeper's leader (the relay uses 7_264_911_002, migrations 7_264_911_001). */
export const sweeperLockKey = 7_264_911_301n;
