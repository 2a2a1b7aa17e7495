/*
 * The ledger's public data model, after TigerBeetle: accounts hold four balance columns, transfers
 * move an amount from one debit account to one credit account on the same ledger. Amounts are
 * bigint minor units; ids are UUID strings (the ledger's u128).
 */

/** Flags an account is created with. */
export interface AccountFlags {
  /** Chains this account with the next one in the batch: all are created or none. */
  linked?: boolean;
  /** debits (pending + posted) may never exceed posted credits: a customer's cash account. */
  debitsMustNotExceedCredits?: boolean;
  /** credits (pending + posted) may never exceed posted debits. */
  creditsMustNotExceedDebits?: boolean;
}

export interface AccountInput {
  id: string;
  /** One ledger per currency (or asset); transfers never cross ledgers. */
  ledger: number;
  /** The account type, chosen by the caller (e.g. 1 = customer cash, 2 = settlement). */
  code: number;
  /** Who the account belongs to: a customer id, or a system name such as "bank:settlement". */
  owner: string;
  flags?: AccountFlags;
}

export interface AccountBalance {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface Account extends AccountBalance {
  id: string;
  ledger: number;
  code: number;
  owner: string;
  flags: Required<Omit<AccountFlags, 'linked'>> & { linked: boolean; closed: boolean };
  createdAt: Date;
}

/** Flags a transfer is created with. */
export interface TransferFlags {
  /** Chains this transfer with the next one in the batch: all succeed or all fail. */
  linked?: boolean;
  /** A hold: moves the amount into the pending columns until posted, voided or timed out. */
  pending?: boolean;
  /** Posts (all or part of) the pending transfer named by pendingId. */
  postPending?: boolean;
  /** Voids the pending transfer named by pendingId. */
  voidPending?: boolean;
  /** With pending: closes the debit account; voiding (or expiry) reopens it. */
  closingDebit?: boolean;
  /** With pending: closes the credit account; voiding (or expiry) reopens it. */
  closingCredit?: boolean;
}

/**
 * A transfer to create. For post/void of a pending transfer, the accounts, amount, ledger and code
 * may be omitted (they come from the pending transfer); when given they must match it, except that
 * a post may name a smaller amount (a partial post).
 */
export interface TransferInput {
  id: string;
  debitAccountId?: string;
  creditAccountId?: string;
  amount?: bigint;
  pendingId?: string;
  ledger?: number;
  code?: number;
  flags?: TransferFlags;
  /** Pending only: seconds after creation when the hold voids itself; 0 or absent = never. */
  timeoutSeconds?: number;
  /** Caller's correlation id (an order, payment or transfer id of another module). */
  reference?: string;
}

/** A recorded transfer. Immutable: a correction is a new transfer. */
export interface Transfer {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  /** For a post: the amount posted; for a void: the pending amount released. */
  amount: bigint;
  pendingId: string | null;
  ledger: number;
  code: number;
  flags: Required<TransferFlags>;
  timeoutSeconds: number;
  reference: string | null;
  createdAt: Date;
  /** Pending with a timeout: when the hold expires. */
  expiresAt: Date | null;
}

/** One line of an account's history: the transfer and the account's balance right after it. */
export interface AccountTransferEntry {
  transfer: Transfer;
  /** Position in the ledger's total order of transfers; also the paging cursor. */
  seq: bigint;
  balanceAfter: AccountBalance;
}

export interface AccountTransfersPage {
  entries: AccountTransferEntry[];
  /** Pass as `cursor` to get the next (older) page; null when there is none. */
  nextCursor: string | null;
}

/** A difference between the balance cache and the balances derived from transfers. */
export interface BalanceMismatch {
  accountId: string;
  cached: AccountBalance & { closed: boolean };
  derived: AccountBalance & { closed: boolean };
}
