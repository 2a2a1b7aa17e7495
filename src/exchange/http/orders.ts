import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { MemberPrincipal } from '../../identity/index.ts';
import { assert } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import type { ExchangeService } from '../service/index.ts';
import { Order, OrderParams, PlaceOrderBody, Problem, ReplaceOrderBody } from './schemas.ts';

export interface OrderRoutesDeps {
  service: ExchangeService;
  /** Order-entry requests (new, cancel and replace together) per member and window. */
  orderRateLimit: { max: number; timeWindowMs: number };
}

const tags = ['exchange orders'];

/**
 * Order entry for exchange members (`X-API-Key`): new, cancel and replace. The three routes share
 * one rate limit per member (not per key: a member's keys draw on one allowance), in place of the
 * global per-key limit. `GET /v1/order/{id}` and `GET /v1/orders` are the order queries' routes.
 */
export function exchangeOrderRoutes(deps: OrderRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const { service } = deps;
    assert(typeof app.rateLimit === 'function', 'order routes need @fastify/rate-limit registered first');
    // Runs after authentication (onRequest), so the limit follows the member, whichever key it uses.
    const memberLimit = app.rateLimit({
      max: deps.orderRateLimit.max,
      timeWindow: deps.orderRateLimit.timeWindowMs,
      keyGenerator: (request) => `order-entry:${memberOf(request).memberId}`,
    });
    const errors = {
      400: Problem,
      401: Problem,
      403: Problem,
      404: Problem,
      409: Problem,
      422: Problem,
      429: problemResponses[429],
      503: Problem,
    };

    app.post(
      '/v1/order',
      {
        config: { access: 'exchange:trade', rateLimit: false },
        preValidation: memberLimit,
        schema: {
          tags,
          summary: 'Enter an order; the answer shows it after its immediate matching',
          description:
            '201 for an accepted order (any status but rejected), 200 with status "rejected" and rejectReason when the engine refused it. Checks, in order: symbol listed (422 unknown_symbol), session open (409 market_closed / trading_halted), fields (400), price on tick (422 price_not_on_tick), quantity on lot (422 quantity_not_on_lot), price band (422 price_out_of_band), largest order (422 quantity_above_max), clientOrderId free (409 duplicate_client_order_id).',
          security: [{ apiKey: [] }],
          body: PlaceOrderBody,
          response: { 200: Order, 201: Order, ...errors },
        },
      },
      async (request, reply) => {
        const order = await service.placeOrder(memberOf(request).memberId, request.body);
        return reply.code(order.status === 'rejected' ? 200 : 201).send(order);
      },
    );

    app.delete(
      '/v1/order/:id',
      {
        config: { access: 'exchange:trade', rateLimit: false },
        preValidation: memberLimit,
        schema: {
          tags,
          summary: 'Cancel one of your resting orders (allowed while trading is halted or closed)',
          security: [{ apiKey: [] }],
          params: OrderParams,
          response: { 200: Order, ...errors },
        },
      },
      async (request) => service.cancelOrder(memberOf(request).memberId, request.params.id),
    );

    app.patch(
      '/v1/order/:id',
      {
        config: { access: 'exchange:trade', rateLimit: false },
        preValidation: memberLimit,
        schema: {
          tags,
          summary: 'Replace one of your resting orders: a new price and/or a new open quantity',
          description:
            'quantity is the new open (unfilled) quantity. A pure size decrease keeps time priority; a price change or size increase loses it. Only while the instrument trades (409 market_closed / trading_halted).',
          security: [{ apiKey: [] }],
          params: OrderParams,
          body: ReplaceOrderBody,
          response: { 200: Order, ...errors },
        },
      },
      async (request) => service.replaceOrder(memberOf(request).memberId, request.params.id, request.body),
    );
  };
}

/** The member principal of a route whose access admits only members (checked by the auth plugin). */
function memberOf(request: FastifyRequest): MemberPrincipal {
  const { principal } = request;
  assert(principal?.kind === 'member', 'route declared member-only access but the principal is not a member');
  return principal;
}
