/*
 * The ledger's public API. Other modules (brokerage cash and holds, bank transfers) import from here
 * only, never from the files behind it or the ledger_* tables.
 */
export { type LedgerErrorCode, ledgerErrors } from './errors.ts';
export { Ledger, type LedgerOptions } from './ledger.ts';
export { ledgerLimits } from './limits.ts';
export { MemoryLedger } from './memory-ledger.ts';
export {
  type AccountResult,
  accountResults,
  isIdempotentSuccess,
  type TransferResult,
  transferResults,
} from './results.ts';
export type {
  Account,
  AccountBalance,
  AccountFlags,
  AccountInput,
  AccountTransferEntry,
  AccountTransfersPage,
  BalanceMismatch,
  Transfer,
  TransferFlags,
  TransferInput,
} from './types.ts';
