import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, onRequestHookHandler, preValidationHookHandler } from 'fastify';
import type { MemberPrincipal } from '../../identity/index.ts';
import { AppError, assert } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import type { RateWindow } from '../../platform/rate-window.ts';
import type { OrderOperations } from '../market-data/ws-session.ts';
import type { ExchangeService } from '../service/index.ts';
import { Order, OrderParams, PlaceOrderBody, Problem, ReplaceOrderBody } from './schemas.ts';

export interface OrderRoutesDeps {
  service: ExchangeService;
  /**
   * Order-entry requests (new, cancel and replace together) per member and window, shared with
   * WebSocket order entry (memberRateLimited).
   */
  memberLimit: RateWindow;
  /**
   * Requests whose API key is not a recently verified one (none, invented, wrong, or not used for a
   * while), counted per client address before authentication looks the key up: the member limit
   * only starts once a key is verified, so without this a flood of bad keys would be unlimited and
   * cost a database read each.
   */
  unverified: { limit: RateWindow; knownCaller(request: FastifyRequest): string | undefined };
}

const tags = ['exchange orders'];

/**
 * Order entry for exchange members (`X-API-Key`): new, cancel and replace. The three routes share
 * one rate limit per member (not per key: a member's keys draw on one allowance, and so do its
 * WebSocket orders), in place of the global per-key limit, with the same `x-ratelimit-*` headers.
 * `GET /v1/order/{id}` and `GET /v1/orders` are the order queries' routes.
 */
export function exchangeOrderRoutes(deps: OrderRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    const { service } = deps;
    const limit = deps.memberLimit;
    // A route hook, so it runs before the auth plugin's (which it appends to the route's own hooks).
    const unverifiedLimit: onRequestHookHandler = (request, _reply, done) => {
      const { limit: addressLimit, knownCaller } = deps.unverified;
      if (knownCaller(request) !== undefined) return done();
      const address = `ip:${request.ip}`;
      if (addressLimit.hit(address) >= 0) return done();
      const retryAfter = String(Math.ceil(addressLimit.resetInMs(address) / 1000));
      const detail = `At most ${addressLimit.max} order requests per ${addressLimit.windowMs / 1000} s from one address without a verified API key`;
      done(new AppError('rate_limited', detail, { headers: { 'retry-after': retryAfter } }));
    };
    // Runs after authentication (onRequest), so the limit follows the member, whichever key it uses.
    const memberLimit: preValidationHookHandler = (request, reply, done) => {
      const member = memberOf(request).memberId;
      const left = limit.hit(member);
      const resetSeconds = Math.ceil(limit.resetInMs(member) / 1000);
      reply.header('x-ratelimit-limit', limit.max);
      reply.header('x-ratelimit-remaining', Math.max(0, left));
      reply.header('x-ratelimit-reset', resetSeconds);
      done(left < 0 ? memberRateLimited(limit, resetSeconds) : undefined);
    };
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
        onRequest: unverifiedLimit,
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
        const order = await service.placeOrder(
          memberOf(request).memberId,
          request.body,
          orderRequestOf(request),
        );
        return reply.code(order.status === 'rejected' ? 200 : 201).send(order);
      },
    );

    app.delete(
      '/v1/order/:id',
      {
        config: { access: 'exchange:trade', rateLimit: false },
        onRequest: unverifiedLimit,
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
        onRequest: unverifiedLimit,
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

/** The 429 a member gets once its order-entry allowance for the window is used up. */
export function memberRateLimited(limit: RateWindow, retryAfterSeconds: number): AppError {
  return new AppError(
    'rate_limited',
    `At most ${limit.max} order requests per ${limit.windowMs / 1000} s for each member`,
    { headers: { 'retry-after': String(retryAfterSeconds) } },
  );
}

/**
 * The exchange's order operations for the WebSocket gateway, drawing on the same per-member
 * allowance as the REST order routes: a member cannot double its rate by switching transport.
 */
export function rateLimitedOrderOperations(orders: OrderOperations, limit: RateWindow): OrderOperations {
  const admit = (member: string) => {
    if (limit.hit(member) < 0) throw memberRateLimited(limit, Math.ceil(limit.resetInMs(member) / 1000));
  };
  return {
    placeOrder: async (member, input) => {
      admit(member);
      return orders.placeOrder(member, input);
    },
    cancelOrder: async (member, orderId) => {
      admit(member);
      return orders.cancelOrder(member, orderId);
    },
    replaceOrder: async (member, orderId, change) => {
      admit(member);
      return orders.replaceOrder(member, orderId, change);
    },
  };
}

/**
 * The Idempotency-Key a new order came with, as order entry journals it: a digest of the key, its
 * scope (the member and route) and the body's hash — fixed length, no client text in the journal,
 * and another body under the same key is another request.
 */
function orderRequestOf(request: FastifyRequest): string | undefined {
  const claimed = request.idempotency;
  if (!claimed) return undefined;
  return createHash('sha256').update(`${claimed.scope}\n${claimed.key}\n${claimed.hash}`).digest('base64url');
}

/** The member principal of a route whose access admits only members (checked by the auth plugin). */
function memberOf(request: FastifyRequest): MemberPrincipal {
  const { principal } = request;
  assert(principal?.kind === 'member', 'route declared member-only access but the principal is not a member');
  return principal;
}
