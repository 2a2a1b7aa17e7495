import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../../platform/clock.ts';
import { AppError, invalidField } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import { currencyScale, formatDecimal } from '../../platform/money.ts';
import type { Pool } from '../../platform/sql/pool.ts';
import { accountsOfCustomer, type BankAccount, findAccount } from '../accounts/bank-accounts.ts';
import type { Ledger } from '../ledger/index.ts';
import { availableOf, type HistoryProjector, historyPage, pendingOf, postedOf } from './history-projector.ts';
import { readModelLimits } from './limits.ts';

export interface CustomerReadRoutesDeps {
  pool: Pool;
  ledger: Ledger;
  projector: HistoryProjector;
  clock: Clock;
}

const tags = ['bank'];
const Decimal = Type.String({ description: 'Decimal string in the currency’s minor-unit scale' });

const AccountParams = Type.Object({ accountId: Type.String({ maxLength: 64 }) });

const AccountView = Type.Object({
  accountId: Type.String(),
  accountNumber: Type.String(),
  currency: Type.String(),
  accountType: Type.String(),
  status: Type.String(),
  openedAt: Type.String({ format: 'date-time' }),
});

const Balance = Type.Object({
  accountId: Type.String(),
  currency: Type.String(),
  available: Decimal,
  posted: Decimal,
  pending: Decimal,
  asOf: Type.String({ format: 'date-time' }),
});

const HistoryEntry = Type.Object({
  id: Type.String({ description: 'The ledger transfer' }),
  time: Type.String({ format: 'date-time' }),
  type: Type.String(),
  amount: Decimal,
  direction: Type.Union([Type.Literal('debit'), Type.Literal('credit')]),
  balanceAfter: Decimal,
  description: Type.String(),
  counterparty: Type.Union([Type.String(), Type.Null()]),
  transferId: Type.Union([Type.String(), Type.Null()]),
});

/**
 * The customer's read side: their accounts, balances (now or at `asOf`, from the ledger) and
 * history (from the history read model). Someone else's account answers 404, never 403.
 */
export function customerReadRoutes(deps: CustomerReadRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/me/accounts',
      {
        config: { access: 'banking:customer' },
        schema: {
          tags,
          summary: "The signed-in customer's accounts",
          response: { 200: Type.Object({ accounts: Type.Array(AccountView) }), ...problemResponses },
        },
      },
      async (request) => {
        const customerId = customerIdOf(request);
        const accounts = customerId === null ? [] : await accountsOfCustomer(deps.pool, customerId);
        return { accounts: accounts.map(accountView) };
      },
    );

    app.get(
      '/api/accounts/:accountId/balance',
      {
        config: { access: 'banking:customer' },
        schema: {
          tags,
          summary: 'Balance of one of your accounts, now or as of a past time',
          params: AccountParams,
          querystring: Type.Object({ asOf: Type.Optional(Type.String({ format: 'date-time' })) }),
          response: { 200: Balance, ...problemResponses },
        },
      },
      async (request) => {
        const account = await ownedAccount(deps.pool, request, request.params.accountId);
        const asOf = request.query.asOf === undefined ? undefined : parseAsOf(request.query.asOf);
        const balance = await deps.ledger.getAccountBalance(account.id, asOf ? { asOf } : {});
        if (balance === null) throw new AppError('not_found');
        const scale = currencyScale(account.currency);
        return {
          accountId: account.id,
          currency: account.currency,
          available: formatDecimal(availableOf(balance), scale),
          posted: formatDecimal(postedOf(balance), scale),
          pending: formatDecimal(pendingOf(balance), scale),
          asOf: (asOf ?? deps.clock.now()).toISOString(),
        };
      },
    );

    app.get(
      '/api/accounts/:accountId/transactions',
      {
        config: { access: 'banking:customer' },
        schema: {
          tags,
          summary: 'History of one of your accounts, newest first',
          params: AccountParams,
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: readModelLimits.historyPageMax })),
            cursor: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$' })),
          }),
          response: {
            200: Type.Object({
              transactions: Type.Array(HistoryEntry),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const account = await ownedAccount(deps.pool, request, request.params.accountId);
        // Read your own writes: bring the projection up to the ledger before answering.
        await deps.projector.catchUpIfChanged(account.id);
        const { limit, cursor } = request.query;
        const page = await historyPage(deps.pool, account.id, {
          limit: limit ?? readModelLimits.historyPageDefault,
          cursor: cursor === undefined ? null : BigInt(cursor),
        });
        const scale = currencyScale(account.currency);
        return {
          transactions: page.rows.map((row) => ({
            id: row.id,
            time: row.time.toISOString(),
            type: row.type,
            amount: formatDecimal(row.amountMinor, scale),
            direction: row.direction,
            balanceAfter: formatDecimal(row.balanceAfterMinor, scale),
            description: row.description,
            counterparty: row.counterparty,
            transferId: row.transferId,
          })),
          nextCursor: page.nextCursor,
        };
      },
    );
  };
}

/** The customer id of the signed-in user (the access rule admits users only). */
export function customerIdOf(request: FastifyRequest): string | null {
  const { principal } = request;
  return principal.kind === 'user' ? principal.customerId : null;
}

/** The caller's own account, or 404 `not_found` — the same answer whether it exists or not. */
export async function ownedAccount(
  pool: Pool,
  request: FastifyRequest,
  accountId: string,
): Promise<BankAccount> {
  const customerId = customerIdOf(request);
  const account = customerId === null ? undefined : await findAccount(pool, accountId);
  if (!account || account.customerId !== customerId) {
    throw new AppError('not_found', 'No such account');
  }
  return account;
}

function accountView(account: BankAccount) {
  return {
    accountId: account.id,
    accountNumber: account.accountNumber,
    currency: account.currency,
    accountType: account.accountType,
    status: account.status,
    openedAt: account.openedAt.toISOString(),
  };
}

function parseAsOf(text: string): Date {
  const asOf = new Date(text);
  if (Number.isNaN(asOf.getTime())) throw invalidField('asOf', 'must be an ISO 8601 date-time');
  return asOf;
}
