import { type FastifyPluginAsyncTypebox, type Static, Type } from '@fastify/type-provider-typebox';
import { AppError, invalidField } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import {
  type Account,
  type AccountBalance,
  type Ledger,
  ledgerLimits,
  type Transfer,
  type TransferInput,
} from '../ledger/index.ts';

/*
 * The ledger over HTTP (/core/...), for admins and a ledger running as its own role: a thin
 * translation of JSON to the Ledger API and back. Amounts are minor units as integer strings (the
 * ledger does not know currencies); batch results are the ledger's named results, one per item.
 */

const tags = ['core ledger'];
const Uuid = Type.String({ format: 'uuid', maxLength: 36 });
const Minor = Type.String({ pattern: '^(0|[1-9][0-9]{0,18})$', description: 'Minor units, integer string' });
const access = { access: 'admin:*' } as const;

const AccountFlags = Type.Object(
  {
    linked: Type.Optional(Type.Boolean()),
    debitsMustNotExceedCredits: Type.Optional(Type.Boolean()),
    creditsMustNotExceedDebits: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const AccountInputSchema = Type.Object(
  {
    id: Type.String({ maxLength: 64 }),
    ledger: Type.Integer(),
    code: Type.Integer(),
    owner: Type.String({ maxLength: 1000 }),
    flags: Type.Optional(AccountFlags),
  },
  { additionalProperties: false },
);

const TransferFlags = Type.Object(
  {
    linked: Type.Optional(Type.Boolean()),
    pending: Type.Optional(Type.Boolean()),
    postPending: Type.Optional(Type.Boolean()),
    voidPending: Type.Optional(Type.Boolean()),
    closingDebit: Type.Optional(Type.Boolean()),
    closingCredit: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const TransferInputSchema = Type.Object(
  {
    id: Type.String({ maxLength: 64 }),
    debitAccountId: Type.Optional(Type.String({ maxLength: 64 })),
    creditAccountId: Type.Optional(Type.String({ maxLength: 64 })),
    amount: Type.Optional(Minor),
    pendingId: Type.Optional(Type.String({ maxLength: 64 })),
    ledger: Type.Optional(Type.Integer()),
    code: Type.Optional(Type.Integer()),
    flags: Type.Optional(TransferFlags),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    reference: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

const Results = Type.Object({
  results: Type.Array(Type.Object({ index: Type.Integer(), id: Type.String(), result: Type.String() })),
});

const BalanceSchema = Type.Object({
  debitsPending: Minor,
  debitsPosted: Minor,
  creditsPending: Minor,
  creditsPosted: Minor,
});

const AccountSchema = Type.Object({
  id: Type.String(),
  ledger: Type.Integer(),
  code: Type.Integer(),
  owner: Type.String(),
  flags: Type.Object({
    linked: Type.Boolean(),
    debitsMustNotExceedCredits: Type.Boolean(),
    creditsMustNotExceedDebits: Type.Boolean(),
    closed: Type.Boolean(),
  }),
  ...BalanceSchema.properties,
  createdAt: Type.String({ format: 'date-time' }),
});

const TransferSchema = Type.Object({
  id: Type.String(),
  debitAccountId: Type.String(),
  creditAccountId: Type.String(),
  amount: Minor,
  pendingId: Type.Union([Type.String(), Type.Null()]),
  ledger: Type.Integer(),
  code: Type.Integer(),
  flags: Type.Object({
    linked: Type.Boolean(),
    pending: Type.Boolean(),
    postPending: Type.Boolean(),
    voidPending: Type.Boolean(),
    closingDebit: Type.Boolean(),
    closingCredit: Type.Boolean(),
  }),
  timeoutSeconds: Type.Integer(),
  reference: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const IdParams = Type.Object({ id: Uuid });
const IdsBody = Type.Object(
  { ids: Type.Array(Type.String({ maxLength: 64 }), { maxItems: ledgerLimits.lookupIdsMax }) },
  { additionalProperties: false },
);
const AsOfQuery = Type.Object({ asOf: Type.Optional(Type.String({ format: 'date-time' })) });

/** The core ledger's HTTP API. */
export function coreLedgerRoutes(ledger: Ledger): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/core/accounts',
      {
        config: access,
        schema: {
          tags,
          summary: 'Create ledger accounts; one named result per account (ok, exists, …)',
          body: Type.Object(
            {
              accounts: Type.Array(AccountInputSchema, {
                minItems: 1,
                maxItems: ledgerLimits.accountsPerBatchMax,
              }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Results, ...problemResponses },
        },
      },
      async (request) => {
        const { accounts } = request.body;
        const results = await ledger.createAccounts(accounts);
        return { results: results.map((result, index) => ({ index, id: accounts[index]!.id, result })) };
      },
    );

    app.post(
      '/core/accounts/lookup',
      {
        config: access,
        schema: {
          tags,
          summary: 'Look up ledger accounts',
          body: IdsBody,
          response: { 200: Type.Object({ accounts: Type.Array(AccountSchema) }), ...problemResponses },
        },
      },
      async (request) => ({ accounts: (await ledger.lookupAccounts(request.body.ids)).map(accountJson) }),
    );

    app.get(
      '/core/accounts/:id',
      {
        config: access,
        schema: {
          tags,
          summary: 'One ledger account with its balances',
          params: IdParams,
          response: { 200: AccountSchema, ...problemResponses },
        },
      },
      async (request) => accountJson(await oneAccount(ledger, request.params.id)),
    );

    app.get(
      '/core/accounts/:id/balance',
      {
        config: access,
        schema: {
          tags,
          summary: 'Balance now, or as of a past time (derived from the transfers)',
          params: IdParams,
          querystring: AsOfQuery,
          response: {
            200: Type.Object({
              accountId: Type.String(),
              asOf: Type.Union([Type.String(), Type.Null()]),
              ...BalanceSchema.properties,
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const asOf = parseAsOf(request.query.asOf);
        const balance = await ledger.getAccountBalance(request.params.id, asOf ? { asOf } : {});
        if (balance === null) throw new AppError('account_not_found');
        return { accountId: request.params.id, asOf: asOf?.toISOString() ?? null, ...balanceJson(balance) };
      },
    );

    app.get(
      '/core/accounts/:id/transfers',
      {
        config: access,
        schema: {
          tags,
          summary: "An account's transfers, newest first, each with the balance after it",
          params: IdParams,
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ledgerLimits.historyPageMax })),
            cursor: Type.Optional(Type.String({ maxLength: 20 })),
            asOf: Type.Optional(Type.String({ format: 'date-time' })),
          }),
          response: {
            200: Type.Object({
              entries: Type.Array(
                Type.Object({ seq: Type.String(), transfer: TransferSchema, balanceAfter: BalanceSchema }),
              ),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { limit, cursor } = request.query;
        const asOf = parseAsOf(request.query.asOf);
        const page = await ledger.getAccountTransfers(request.params.id, {
          ...(limit === undefined ? {} : { limit }),
          ...(cursor === undefined ? {} : { cursor }),
          ...(asOf ? { asOf } : {}),
        });
        if (page === null) throw new AppError('account_not_found');
        return {
          entries: page.entries.map((entry) => ({
            seq: entry.seq.toString(),
            transfer: transferJson(entry.transfer),
            balanceAfter: balanceJson(entry.balanceAfter),
          })),
          nextCursor: page.nextCursor,
        };
      },
    );

    app.post(
      '/core/transfers',
      {
        config: access,
        schema: {
          tags,
          summary: 'Create transfers (a batch; linked chains all-or-nothing); one named result per transfer',
          body: Type.Object(
            {
              transfers: Type.Array(TransferInputSchema, {
                minItems: 1,
                maxItems: ledgerLimits.transfersPerBatchMax,
              }),
            },
            { additionalProperties: false },
          ),
          response: { 200: Results, ...problemResponses },
        },
      },
      async (request) => {
        const { transfers } = request.body;
        const inputs = transfers.map(toTransferInput);
        const results = await ledger.createTransfers(inputs);
        return { results: results.map((result, index) => ({ index, id: transfers[index]!.id, result })) };
      },
    );

    app.post(
      '/core/transfers/lookup',
      {
        config: access,
        schema: {
          tags,
          summary: 'Look up transfers',
          body: IdsBody,
          response: { 200: Type.Object({ transfers: Type.Array(TransferSchema) }), ...problemResponses },
        },
      },
      async (request) => ({ transfers: (await ledger.lookupTransfers(request.body.ids)).map(transferJson) }),
    );

    app.get(
      '/core/transfers/:id',
      {
        config: access,
        schema: {
          tags,
          summary: 'One transfer',
          params: IdParams,
          response: { 200: TransferSchema, ...problemResponses },
        },
      },
      async (request) => {
        const [transfer] = await ledger.lookupTransfers([request.params.id]);
        if (!transfer) throw new AppError('not_found', `No transfer ${request.params.id}`);
        return transferJson(transfer);
      },
    );
  };
}

async function oneAccount(ledger: Ledger, id: string): Promise<Account> {
  const [account] = await ledger.lookupAccounts([id]);
  if (!account) throw new AppError('account_not_found', `No ledger account ${id}`);
  return account;
}

function toTransferInput(body: Static<typeof TransferInputSchema>, index: number): TransferInput {
  const { amount, ...rest } = body;
  if (amount === undefined) return rest;
  const minor = BigInt(amount);
  if (minor > ledgerLimits.amountMinorMax) {
    throw invalidField(`transfers.${index}.amount`, `must be at most ${ledgerLimits.amountMinorMax}`);
  }
  return { ...rest, amount: minor };
}

function parseAsOf(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const asOf = new Date(text);
  if (Number.isNaN(asOf.getTime())) throw invalidField('asOf', 'must be an ISO 8601 date-time');
  return asOf;
}

function balanceJson(balance: AccountBalance) {
  return {
    debitsPending: balance.debitsPending.toString(),
    debitsPosted: balance.debitsPosted.toString(),
    creditsPending: balance.creditsPending.toString(),
    creditsPosted: balance.creditsPosted.toString(),
  };
}

function accountJson(account: Account) {
  return {
    id: account.id,
    ledger: account.ledger,
    code: account.code,
    owner: account.owner,
    flags: account.flags,
    ...balanceJson(account),
    createdAt: account.createdAt.toISOString(),
  };
}

function transferJson(transfer: Transfer) {
  return {
    id: transfer.id,
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    amount: transfer.amount.toString(),
    pendingId: transfer.pendingId,
    ledger: transfer.ledger,
    code: transfer.code,
    flags: transfer.flags,
    timeoutSeconds: transfer.timeoutSeconds,
    reference: transfer.reference,
    createdAt: transfer.createdAt.toISOString(),
    expiresAt: transfer.expiresAt?.toISOString() ?? null,
  };
}
