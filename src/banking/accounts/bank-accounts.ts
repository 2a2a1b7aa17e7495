import { assert } from '../../platform/errors.ts';
import { type CurrencyCode, isCurrencyCode } from '../../platform/money.ts';
import type { Queryable } from '../../platform/sql/pool.ts';
import { isUuid } from '../ledger/ids.ts';
import { isIdempotentSuccess, type Ledger } from '../ledger/index.ts';
import { formatAccountNumber } from './account-number.ts';
import { accountCodes, bankAccountIds, ledgerOf } from './ledger-codes.ts';

/** Account types a customer can open. */
export const accountTypes = ['savings', 'checking'] as const;
export type AccountType = (typeof accountTypes)[number];

/** A customer account; `id` is its ledger account id. */
export interface BankAccount {
  id: string;
  accountNumber: string;
  customerId: string;
  currency: CurrencyCode;
  accountType: AccountType;
  status: 'open' | 'closed';
  openedAt: Date;
}

interface AccountRow {
  id: string;
  account_number: string;
  customer_id: string;
  currency: string;
  account_type: string;
  status: 'open' | 'closed';
  opened_at: Date;
}

const columns = 'id, account_number, customer_id, currency, account_type, status, opened_at';

function toAccount(row: AccountRow): BankAccount {
  assert(isCurrencyCode(row.currency), `bank account ${row.id} has unknown currency`);
  return {
    id: row.id,
    accountNumber: row.account_number,
    customerId: row.customer_id,
    currency: row.currency,
    accountType: row.account_type as AccountType,
    status: row.status,
    openedAt: row.opened_at,
  };
}

/** The customer account with this id (its ledger account id), or undefined. */
export async function findAccount(db: Queryable, id: string): Promise<BankAccount | undefined> {
  const accountId = id.toLowerCase();
  if (!isUuid(accountId)) return undefined;
  const { rows } = await db.query<AccountRow>(`SELECT ${columns} FROM bank_accounts WHERE id = $1`, [
    accountId,
  ]);
  return rows[0] && toAccount(rows[0]);
}

/** A customer's accounts, oldest first. */
export async function accountsOfCustomer(db: Queryable, customerId: string): Promise<BankAccount[]> {
  if (!isUuid(customerId)) return [];
  const { rows } = await db.query<AccountRow>(
    `SELECT ${columns} FROM bank_accounts WHERE customer_id = $1 ORDER BY opened_at, id`,
    [customerId],
  );
  return rows.map(toAccount);
}

/** Customer account ids after `after` in id order, one page (for the history projection). */
export async function accountIdsPage(db: Queryable, after: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM bank_accounts WHERE id > $1::uuid ORDER BY id LIMIT $2',
    [after, limit],
  );
  return rows.map((row) => row.id);
}

/** The next account number of `branch`, drawn from the installation's serial sequence. */
export async function nextAccountNumber(db: Queryable, branch: string): Promise<string> {
  const { rows } = await db.query<{ serial: bigint }>("SELECT nextval('bank_account_serial_seq') AS serial");
  return formatAccountNumber(branch, Number(rows[0]!.serial));
}

/** Records a customer account whose ledger account exists; a second insert of the same id is a no-op. */
export async function insertAccount(db: Queryable, account: BankAccount): Promise<void> {
  await db.query(
    `INSERT INTO bank_accounts (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
    [
      account.id,
      account.accountNumber,
      account.customerId,
      account.currency,
      account.accountType,
      account.status,
      account.openedAt,
    ],
  );
}

/** Creates the ledger account of a customer deposit account (idempotent by id). */
export async function openLedgerAccount(
  ledger: Ledger,
  account: { id: string; customerId: string; currency: CurrencyCode },
): Promise<void> {
  const [result] = await ledger.createAccounts([
    {
      id: account.id,
      ledger: ledgerOf(account.currency),
      code: accountCodes.customerDeposit,
      owner: `customer:${account.customerId}`,
      flags: { debitsMustNotExceedCredits: true },
    },
  ]);
  assert(result !== undefined && isIdempotentSuccess(result), `opening ledger account: ${result}`);
}

/** Creates the bank's cash and clearing accounts for each currency; running it again changes nothing. */
export async function ensureBankAccounts(ledger: Ledger, currencies: readonly CurrencyCode[]): Promise<void> {
  const inputs = currencies.flatMap((currency) => {
    const ids = bankAccountIds(currency);
    const ledgerNumber = ledgerOf(currency);
    return [
      { id: ids.cash, ledger: ledgerNumber, code: accountCodes.tellerCash, owner: `bank:cash:${currency}` },
      {
        id: ids.clearing,
        ledger: ledgerNumber,
        code: accountCodes.transferClearing,
        owner: `bank:clearing:${currency}`,
      },
    ];
  });
  if (inputs.length === 0) return;
  const results = await ledger.createAccounts(inputs);
  results.forEach((result, index) => {
    assert(isIdempotentSuccess(result), `bank account ${inputs[index]!.owner}: ${result}`);
  });
}
