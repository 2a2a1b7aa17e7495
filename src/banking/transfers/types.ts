import type { CurrencyCode } from '../../platform/money.ts';
import type { Pool } from '../../platform/sql/pool.ts';

/**
 * A customer account as engineer E's accounts module returns it (`src/banking/accounts/index.ts`,
 * type `BankAccount`); its `id` is the ledger account id.
 */
export interface BankAccount {
  id: string;
  accountNumber: string;
  customerId: string;
  currency: string;
  accountType: string;
  status: string;
  openedAt: Date | string;
}

/** One row of `bank_posting_details`: what the history shows for one ledger transfer. */
export interface PostingDetail {
  ledgerTransferId: string;
  type: string;
  description: string;
  counterparty: string | null;
  transferId: string | null;
}

/**
 * What the saga needs from the accounts module (the contract between the bank engineers); the
 * composition root passes `findAccount`, `bankAccountIds` and `recordPostingDetails` from
 * `src/banking/accounts/index.ts`. `recordPostingDetails` must be idempotent per ledger transfer id:
 * a repeated saga step records the same row again.
 */
export interface BankAccountsApi {
  findAccount(db: Pool, id: string): Promise<BankAccount | undefined>;
  bankAccountIds(currency: CurrencyCode): { cash: string; clearing: string };
  recordPostingDetails(db: Pool, rows: PostingDetail[]): Promise<void>;
}

/** Points between the saga's durable effects; a test hook may stop the process at any of them. */
export const sagaSteps = [
  'withdrawal-started',
  'hold-placed',
  'withdrawal-held',
  'deposit-posted',
  'completed',
  'hold-voided',
  'failed',
  'notified',
] as const;
export type SagaStep = (typeof sagaSteps)[number];

/** Called after each durable effect of a step (tests kill the process here). */
export type StepHook = (step: SagaStep, transferId: string) => void | Promise<void>;
