import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { accessError } from '../../identity/access.ts';
import type { UserPrincipal } from '../../identity/index.ts';
import { AppError, assert } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import { newId } from '../../platform/ids.ts';
import { transferIdForKey } from './ledger-ids.ts';
import { transferLimits } from './limits.ts';
import { type RequestContext, requestTransfer } from './request.ts';
import { transferView } from './view.ts';

const uuid = Type.String({ format: 'uuid' });

const transferBody = Type.Object(
  {
    sourceAccountId: uuid,
    targetAccountId: uuid,
    amount: Type.String({
      minLength: 1,
      maxLength: 40,
      description: 'Decimal string, e.g. "1500" or "12.50"',
    }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    description: Type.Optional(Type.String({ minLength: 1, maxLength: transferLimits.descriptionLengthMax })),
  },
  { additionalProperties: false },
);

const statusSchema = Type.Union([
  Type.Literal('RECEIVED'),
  Type.Literal('WITHDRAWING'),
  Type.Literal('DEPOSITING'),
  Type.Literal('COMPLETED'),
  Type.Literal('FAILED'),
]);

const acceptedSchema = Type.Object({ transferId: uuid, status: statusSchema });

const transferSchema = Type.Object({
  transferId: uuid,
  status: statusSchema,
  reason: Type.Optional(Type.String()),
  amount: Type.String(),
  currency: Type.String(),
  sourceAccountId: uuid,
  targetAccountId: uuid,
  description: Type.Union([Type.String(), Type.Null()]),
  steps: Type.Array(Type.Object({ type: Type.String(), time: Type.String() })),
});

/** POST /api/transfers and GET /api/transfers/{id}, for bank customers. */
export function transferRoutes(ctx: RequestContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/api/transfers',
      {
        config: { access: 'banking:customer', idempotencyKey: 'required' },
        schema: {
          tags: ['bank'],
          summary: 'Request a transfer between accounts (asynchronous: poll GET /api/transfers/{id})',
          security: [{ bearer: [] }],
          headers: Type.Object({ 'idempotency-key': Type.String({ minLength: 1, maxLength: 200 }) }),
          body: transferBody,
          response: { 202: acceptedSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const principal = userOf(request.principal);
        const claimed = request.idempotency;
        const transferId = claimed ? transferIdForKey(claimed.scope, claimed.key) : newId();
        const accepted = await requestTransfer(ctx, principal, request.body, transferId);
        reply.code(202);
        return accepted;
      },
    );

    app.get(
      '/api/transfers/:transferId',
      {
        config: { access: 'banking:customer' },
        schema: {
          tags: ['bank'],
          summary: 'A transfer of one of your accounts, with its status and steps',
          security: [{ bearer: [] }],
          params: Type.Object({ transferId: uuid }),
          response: { 200: transferSchema, ...problemResponses },
        },
      },
      async (request) => {
        const principal = userOf(request.principal);
        const { state } = await ctx.store.load(request.params.transferId);
        const view = transferView(state);
        const owner = state.request;
        // Someone else's transfer answers exactly like a missing one.
        if (
          !view ||
          !owner ||
          principal.customerId === null ||
          (owner.sourceCustomerId !== principal.customerId && owner.targetCustomerId !== principal.customerId)
        ) {
          throw new AppError('transfer_not_found', `No transfer ${request.params.transferId} of yours`);
        }
        return view;
      },
    );
  };
}

function userOf(principal: unknown): UserPrincipal {
  const user = principal as UserPrincipal | undefined;
  if (user?.kind !== 'user') throw accessError('unauthenticated');
  assert(Array.isArray(user.roles), 'a user principal has roles');
  return user;
}
