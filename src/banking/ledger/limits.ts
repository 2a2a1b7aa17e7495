/**
 * Named maxima of the ledger (TigerBeetle style: put a limit on everything). Exceeding a batch or page
 * limit is a thrown AppError for the whole call; a field beyond its limit is a named per-item result.
 */
export const ledgerLimits = {
  /** Transfers in one createTransfers call (TigerBeetle's batch size), so one transaction stays bounded. */
  transfersPerBatchMax: 8_190,
  /** Accounts in one createAccounts call. */
  accountsPerBatchMax: 8_190,
  /** Ids in one lookupAccounts / lookupTransfers call. */
  lookupIdsMax: 8_190,
  /** Entries in one page of getAccountTransfers. */
  historyPageMax: 500,
  /** Times a batch transaction is retried after a deadlock, serialization failure or a racing duplicate id. */
  batchRetriesMax: 5,
  /** Expired holds voided in one transaction of the timeout sweep. */
  expiryBatchMax: 1_000,
  /** Expired holds voided by one expirePendingTransfers call; a caller runs it again for the rest. */
  expiryPerCallMax: 100_000,
  /** Longest pending timeout: about 68 years, so created_at + timeout never leaves PostgreSQL's range. */
  timeoutSecondsMax: 2_147_483_647,
  /** Largest ledger number (int4 column). */
  ledgerMax: 2_147_483_647,
  /** Largest account or transfer code (TigerBeetle's u16). */
  codeMax: 65_535,
  /** Longest account owner, e.g. a customer id or "bank:settlement". */
  ownerLengthMax: 128,
  /** Longest transfer reference (TigerBeetle's user_data), e.g. an order or payment id. */
  referenceLengthMax: 128,
  /** Largest balance column and amount: PostgreSQL int8; a sum past it is an overflows_* result. */
  amountMinorMax: 2n ** 63n - 1n,
} as const;
