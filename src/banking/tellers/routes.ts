import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { problemResponses } from '../../platform/http/app.ts';
import { type Teller, tellerReferenceLengthMax } from './teller.ts';

const tags = ['bank admin'];

const MovementBody = Type.Object(
  {
    accountId: Type.String({ maxLength: 64 }),
    amount: Type.String({ maxLength: 40, description: 'Decimal string in the currency’s scale, > 0' }),
    currency: Type.String({ minLength: 3, maxLength: 3 }),
    reference: Type.String({
      minLength: 1,
      maxLength: tellerReferenceLengthMax,
      description: 'The teller’s reference: the same reference and body again answer the same',
    }),
  },
  { additionalProperties: false },
);

const Movement = Type.Object({
  transferId: Type.String(),
  kind: Type.Union([Type.Literal('deposit'), Type.Literal('withdrawal')]),
  accountId: Type.String(),
  amount: Type.String(),
  currency: Type.String(),
  reference: Type.String(),
  bookedAt: Type.String({ format: 'date-time' }),
});

/** Tellers: cash deposits and withdrawals (admins only). */
export function tellerRoutes(teller: Teller): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/admin/ledger/deposits',
      {
        config: { access: 'admin:*' },
        schema: {
          tags,
          summary: 'Cash deposit into a customer account (idempotent by reference)',
          body: MovementBody,
          response: { 200: Movement, ...problemResponses },
        },
      },
      async (request) => teller.deposit(request.body),
    );
    app.post(
      '/admin/ledger/withdrawals',
      {
        config: { access: 'admin:*' },
        schema: {
          tags,
          summary: 'Cash withdrawal from a customer account (idempotent by reference; never overdraws)',
          body: MovementBody,
          response: { 200: Movement, ...problemResponses },
        },
      },
      async (request) => teller.withdraw(request.body),
    );
  };
}
