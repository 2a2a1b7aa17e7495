import type { UserPrincipal } from '../../identity/index.ts';
import { AppError, ConcurrencyError, invalidField } from '../../platform/errors.ts';
import { currencyScale, isCurrencyCode, parseDecimal } from '../../platform/money.ts';
import type { Pool } from '../../platform/sql/pool.ts';
import type { Ledger } from '../ledger/index.ts';
import { transferLimits } from './limits.ts';
import type { TransferRequestedData, TransferStatus } from './saga.ts';
import { stepMessage } from './steps.ts';
import type { TransferStore } from './store.ts';
import type { BankAccount, BankAccountsApi } from './types.ts';

/** The body of POST /api/transfers. */
export interface TransferRequestBody {
  sourceAccountId: string;
  targetAccountId: string;
  amount: string;
  currency: string;
  description?: string | undefined;
}

export interface RequestContext {
  pool: Pool;
  store: TransferStore;
  ledger: Ledger;
  accounts: BankAccountsApi;
}

export interface Accepted {
  transferId: string;
  status: TransferStatus;
}

/**
 * Checks a transfer request and records TransferRequested with the withdraw message in one
 * transaction. `transferId` comes from the Idempotency-Key, so the same request sent again finds its
 * transfer instead of making a second one (even after the key store forgot a failed response).
 */
export async function requestTransfer(
  ctx: RequestContext,
  principal: UserPrincipal,
  body: TransferRequestBody,
  transferId: string,
): Promise<Accepted> {
  for (let attempt = 0; attempt < transferLimits.requestAttemptsMax; attempt++) {
    const existing = await ctx.store.load(transferId);
    if (existing.version > 0n)
      return sameRequestOrConflict(existing.state.request, principal, body, transferId);
    const data = await checkedRequest(ctx, principal, body, transferId);
    try {
      await ctx.store.append(
        transferId,
        existing,
        [{ type: 'TransferRequested', data }],
        [stepMessage('withdraw', transferId)],
      );
      return { transferId, status: 'RECEIVED' };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
    }
  }
  throw new AppError('concurrency_conflict', `transfer ${transferId} is being written by another request`);
}

function sameRequestOrConflict(
  recorded: TransferRequestedData | null,
  principal: UserPrincipal,
  body: TransferRequestBody,
  transferId: string,
): Accepted {
  const same =
    recorded !== null &&
    recorded.requestedBy === principal.userId &&
    recorded.sourceAccountId === body.sourceAccountId &&
    recorded.targetAccountId === body.targetAccountId &&
    recorded.currency === body.currency &&
    recorded.description === (body.description ?? null) &&
    isCurrencyCode(body.currency) &&
    amountOf(body.amount, body.currency) === BigInt(recorded.amountMinor);
  if (!same) {
    throw new AppError(
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request body; use a new key for a new request',
    );
  }
  return { transferId, status: 'RECEIVED' };
}

/** The pre-checks, in the order a customer can act on them; the ledger stays the final judge. */
async function checkedRequest(
  ctx: RequestContext,
  principal: UserPrincipal,
  body: TransferRequestBody,
  transferId: string,
): Promise<TransferRequestedData> {
  if (!isCurrencyCode(body.currency)) throw invalidField('currency', 'is not a currency this bank books');
  const amountMinor = amountOf(body.amount, body.currency);
  if (body.sourceAccountId === body.targetAccountId) {
    throw new AppError('transfer_same_account', 'Choose a target account other than the source account', {
      errors: [{ field: 'targetAccountId', reason: 'is the source account' }],
    });
  }
  const source = await ctx.accounts.findAccount(ctx.pool, body.sourceAccountId);
  // Someone else's account answers exactly like a missing one.
  if (!source || principal.customerId === null || source.customerId !== principal.customerId) {
    throw new AppError('not_found', 'You have no account with this id', {
      errors: [{ field: 'sourceAccountId', reason: 'not found' }],
    });
  }
  const target = await ctx.accounts.findAccount(ctx.pool, body.targetAccountId);
  if (!target) {
    throw new AppError('transfer_target_not_found', 'No account has this id', {
      errors: [{ field: 'targetAccountId', reason: 'not found' }],
    });
  }
  assertOpen(source, 'sourceAccountId');
  assertOpen(target, 'targetAccountId');
  for (const [field, account] of [
    ['sourceAccountId', source],
    ['targetAccountId', target],
  ] as const) {
    if (account.currency !== body.currency) {
      throw new AppError(
        'transfer_currency_mismatch',
        `The account is in ${account.currency}, not ${body.currency}`,
        {
          errors: [{ field, reason: `is in ${account.currency}` }],
        },
      );
    }
  }
  await assertAvailable(ctx.ledger, source.id, amountMinor);
  return {
    transferId,
    sourceAccountId: source.id,
    targetAccountId: target.id,
    sourceCustomerId: source.customerId,
    targetCustomerId: target.customerId,
    sourceAccountNumber: source.accountNumber,
    targetAccountNumber: target.accountNumber,
    amountMinor: String(amountMinor),
    currency: body.currency,
    description: body.description ?? null,
    requestedBy: principal.userId,
  };
}

function amountOf(amount: string, currency: string): bigint {
  if (!isCurrencyCode(currency)) throw invalidField('currency', 'is not a currency this bank books');
  const parsed = parseDecimal(amount, { scale: currencyScale(currency), allowZero: false });
  if (!parsed.ok) throw invalidField('amount', parsed.detail);
  return parsed.value;
}

function assertOpen(account: BankAccount, field: string): void {
  if (account.status !== 'open') {
    throw new AppError('transfer_account_closed', `Account ${account.accountNumber} is closed`, {
      errors: [{ field, reason: 'is closed' }],
    });
  }
}

async function assertAvailable(ledger: Ledger, accountId: string, amountMinor: bigint): Promise<void> {
  const [account] = await ledger.lookupAccounts([accountId]);
  const available = account ? account.creditsPosted - account.debitsPosted - account.debitsPending : 0n;
  if (available < amountMinor) {
    throw new AppError('transfer_insufficient_funds', 'The amount is more than the available balance', {
      errors: [{ field: 'amount', reason: 'exceeds the available balance' }],
    });
  }
}
