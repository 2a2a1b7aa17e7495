/*
 * Customer accounts and the bank's own ledger accounts: the API other parts of the bank (transfers,
 * admin views) use. Nobody else reads bank_accounts directly.
 */

// Writers of ledger transfers record what each posting means before creating it (the contract says
// "from the accounts module"; it lives with the read model it feeds).
export { type PostingDetails, recordPostingDetails } from '../read-models/posting-details.ts';
export { isValidAccountNumber, luhnCheckDigit } from './account-number.ts';
export {
  type AccountType,
  accountsOfCustomer,
  accountTypes,
  type BankAccount,
  ensureBankAccounts,
  findAccount,
} from './bank-accounts.ts';
export {
  accountCodes,
  type BankAccountIds,
  bankAccountIds,
  currencyLedgers,
  ledgerOf,
  transferCodes,
} from './ledger-codes.ts';
export { namedUuid } from './named-id.ts';
