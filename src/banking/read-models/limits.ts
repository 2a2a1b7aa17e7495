/** Maxima of the bank's read models. */
export const readModelLimits = {
  /** Ledger entries read per page while catching an account up. */
  catchUpPageMax: 500,
  /** Entries one account may be behind before catching up refuses (memory bound of one catch-up). */
  catchUpBacklogMax: 1_000_000,
  /** Accounts checked for changes per round of the projector. */
  accountsPerScanMax: 500,
  /** Every this many polls the projector re-reads every account, not only those whose balance moved. */
  fullSweepEveryPolls: 60,
  /** History entries per API page (and the default). */
  historyPageMax: 200,
  historyPageDefault: 50,
  /** Posting details written in one call. */
  postingDetailsPerCallMax: 8_190,
  /** Characters of a posting type, description and counterparty. */
  postingTypeLengthMax: 40,
  postingDescriptionLengthMax: 200,
  postingCounterpartyLengthMax: 200,
} as const;
