import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { executionsProjectorName, ProjectorThread } from '../../../src/exchange/projector/index.ts';
import { createTestIdentity, type TestIdentity } from '../../identity/support.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { eventually } from '../../support/eventually.ts';
import {
  adminHeader,
  memberHeader,
  removeDir,
  startTestExchange,
  type TestExchange,
  tempDataDir,
} from '../service/support.ts';

type Headers = Record<string, string>;

describe('order entry over HTTP (POST/DELETE/PATCH /v1/order)', () => {
  const exchangeOf = exchangeForDescribe({});
  let exchange: DescribeExchange;
  let admin: Headers;
  let firmA: Headers;
  let firmA2: Headers;
  let firmB: Headers;

  beforeAll(async () => {
    exchange = exchangeOf();
    admin = await adminHeader(exchange.app, exchange.identity, 'exchange.admin');
    firmA = await memberHeader(exchange.app, admin, 'Firm A desk 1', 'firm-a');
    firmA2 = await memberHeader(exchange.app, admin, 'Firm A desk 2', 'firm-a');
    firmB = await memberHeader(exchange.app, admin, 'Firm B', 'firm-b');
  });

  const place = (headers: Headers, payload: Record<string, unknown>) =>
    exchange.app.inject({ method: 'POST', url: '/v1/order', headers, payload });
  const cancel = (headers: Headers, id: string) =>
    exchange.app.inject({ method: 'DELETE', url: `/v1/order/${id}`, headers });
  const replace = (headers: Headers, id: string, payload: Record<string, unknown>) =>
    exchange.app.inject({ method: 'PATCH', url: `/v1/order/${id}`, headers, payload });

  it('given a resting sell, when another member buys through it, then both see the fill at the maker price', async () => {
    const sell = await place(firmA, {
      symbol: 'GOOG',
      side: 'sell',
      orderType: 'limit',
      price: '580.25',
      quantity: 100,
      clientOrderId: 'a-sell-1',
    });
    expect(sell.statusCode).toBe(201);
    const resting = sell.json();
    expect(resting).toEqual({
      id: expect.stringMatching(/^[1-9][0-9]*$/),
      clientOrderId: 'a-sell-1',
      creationTime: '2026-03-02T09:00:00.000Z',
      symbol: 'GOOG',
      side: 'sell',
      orderType: 'limit',
      price: '580.25',
      quantity: 100,
      filledQuantity: 0,
      remainingQuantity: 100,
      status: 'new',
      timeInForce: 'GTC',
      postOnly: false,
      account: '',
      updateTime: '2026-03-02T09:00:00.000Z',
    });

    const buy = await place(firmB, {
      symbol: 'GOOG',
      side: 'buy',
      orderType: 'limit',
      price: '581.00',
      quantity: 60,
    });
    expect(buy.statusCode).toBe(201);
    expect(buy.json()).toMatchObject({
      price: '581.00',
      status: 'filled',
      filledQuantity: 60,
      remainingQuantity: 0,
    });
    expect(Number(buy.json().id)).toBeGreaterThan(Number(resting.id));

    // The maker is still open with 40 left; its owner cancels the rest (from another of its keys).
    const cancelled = await cancel(firmA2, resting.id);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({
      id: resting.id,
      status: 'canceled',
      quantity: 100,
      filledQuantity: 60,
      remainingQuantity: 0,
    });
  });

  it('given a resting order, when its owner replaces price and size, then the book shows the new terms', async () => {
    const placed = (
      await place(firmA, { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '219.00', quantity: 100 })
    ).json();
    const repriced = await replace(firmA, placed.id, { price: '219.50' });
    expect(repriced.statusCode).toBe(200);
    expect(repriced.json()).toMatchObject({
      id: placed.id,
      price: '219.50',
      quantity: 100,
      remainingQuantity: 100,
      status: 'new',
    });
    const smaller = await replace(firmA, placed.id, { quantity: 40 });
    expect(smaller.json()).toMatchObject({ price: '219.50', quantity: 40, remainingQuantity: 40 });
    const bids = exchange.exchange.service?.book('AMZN')?.l3().bids ?? [];
    expect(bids.find((o) => String(o.orderId) === placed.id)).toMatchObject({
      priceTicks: 21950,
      quantityLots: 40,
    });

    const empty = await replace(firmA, placed.id, {});
    expect(empty.statusCode).toBe(400);
    const offTick = await replace(firmA, placed.id, { price: '219.555' });
    expect(offTick.statusCode).toBe(422);
    expect(offTick.json()).toMatchObject({ code: 'price_not_on_tick', errors: [{ field: 'price' }] });
    expect((await cancel(firmA, placed.id)).json().status).toBe('canceled');
  });

  it('given member A owns an order, when member B cancels or replaces it, then B gets 404 as for an unknown order', async () => {
    const placed = (
      await place(firmA, { symbol: 'AMZN', side: 'sell', orderType: 'limit', price: '230.00', quantity: 10 })
    ).json();
    const byB = await cancel(firmB, placed.id);
    expect(byB.statusCode).toBe(404);
    expect(byB.json()).toMatchObject({ code: 'order_not_found', status: 404 });
    expect(byB.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((await replace(firmB, placed.id, { price: '231.00' })).json()).toMatchObject({
      code: 'order_not_found',
    });
    expect((await cancel(firmB, '999999999')).statusCode).toBe(404);
    expect((await cancel(firmA, 'abc')).statusCode).toBe(400);
    // Still A's and still resting.
    expect((await cancel(firmA, placed.id)).json()).toMatchObject({
      status: 'canceled',
      remainingQuantity: 0,
    });
  });

  it('given an order that no longer rests, when its owner cancels it, then 409 order_not_open; others get 404', async () => {
    const placed = (
      await place(firmA, { symbol: 'AMZN', side: 'sell', orderType: 'limit', price: '240.00', quantity: 5 })
    ).json();
    expect((await cancel(firmA, placed.id)).statusCode).toBe(200);
    // The order projection (on its own thread) records who owned the order that no longer rests;
    // reading the order waits for it (read-your-writes).
    const read = await exchange.app.inject({ method: 'GET', url: `/v1/order/${placed.id}`, headers: firmA });
    expect(read.json()).toMatchObject({ id: placed.id, status: 'canceled' });
    const again = await cancel(firmA, placed.id);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'order_not_open' });
    expect((await cancel(firmB, placed.id)).statusCode).toBe(404);
    expect((await replace(firmA, placed.id, { quantity: 1 })).json()).toMatchObject({
      code: 'order_not_open',
    });
  });

  it('given an order another member just filled, when its owner cancels or replaces it before the projection has it, then it waits for the projection: 409 order_not_open, not 404', async () => {
    // Every batch the projector writes starts by locking its checkpoint row: while this transaction
    // holds the row, the projection cannot record the orders placed below.
    const holder = await exchange.db.pool.connect();
    // Calls through: it only shows when a request has begun to wait for the projection.
    const projectionWaits = vi.spyOn(ProjectorThread.prototype, 'waitFor');
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT seq FROM exchange_projector_checkpoint WHERE name = $1 FOR UPDATE', [
        executionsProjectorName,
      ]);
      const sell = (
        await place(firmA, {
          symbol: 'GOOG',
          side: 'sell',
          orderType: 'limit',
          price: '570.00',
          quantity: 10,
        })
      ).json();
      const buy = await place(firmB, {
        symbol: 'GOOG',
        side: 'buy',
        orderType: 'limit',
        price: '570.00',
        quantity: 10,
      });
      expect(buy.json()).toMatchObject({ status: 'filled' });
      const projected = await exchange.db.pool.query('SELECT 1 FROM exchange_orders WHERE order_id = $1', [
        sell.id,
      ]);
      expect(projected.rows, 'the projection already holds the sell').toEqual([]);

      let answered = 0;
      const answer = async <T>(request: PromiseLike<T>): Promise<T> => {
        try {
          return await request;
        } finally {
          answered++;
        }
      };
      const answers = Promise.all([
        answer(cancel(firmA, sell.id)),
        answer(replace(firmA, sell.id, { quantity: 5 })),
        answer(cancel(firmB, sell.id)),
      ]);
      // The projection catches up only once each request has answered or waits for it: one that
      // looks the owner up without waiting looks while the projection still lacks the sell.
      const waiting = () => projectionWaits.mock.calls.filter(([seq]) => seq === Number(sell.id)).length;
      await eventually(() => answered + waiting() >= 3, {
        what: 'the cancels and the replace to answer or wait for the projection',
      });
      await holder.query('ROLLBACK');
      const [cancelled, replaced, stranger] = await answers;

      expect([cancelled.statusCode, cancelled.json().code]).toEqual([409, 'order_not_open']);
      expect([replaced.statusCode, replaced.json().code]).toEqual([409, 'order_not_open']);
      expect([stranger.statusCode, stranger.json().code]).toEqual([404, 'order_not_found']);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      projectionWaits.mockRestore();
    }
  });

  it('given an order whose answer was never stored (the process died), when the client retries with its Idempotency-Key, then it gets that order, not a second one', async () => {
    const withKey = { ...firmA, 'idempotency-key': 'order-before-a-crash' };
    const body = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '199.00', quantity: 3 };
    const first = await place(withKey, body);
    expect(first.statusCode).toBe(201);
    const placed = first.json();
    // What a process killed between journaling the order and storing its answer leaves behind.
    await exchange.db.pool.query(
      `UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, response_type = NULL,
              response_body = NULL, locked_until = '-infinity' WHERE key = $1`,
      [withKey['idempotency-key']],
    );
    // Meanwhile the order was cancelled: the retry shows it as it stands.
    expect((await cancel(firmA, placed.id)).statusCode).toBe(200);

    const retried = await place(withKey, body);

    expect(retried.statusCode).toBe(201);
    expect(retried.json()).toMatchObject({ id: placed.id, status: 'canceled', quantity: 3 });
    const { rows } = await exchange.db.pool.query(
      "SELECT order_id FROM exchange_orders WHERE member = 'firm-a' AND request_key IS NOT NULL",
    );
    expect(rows.map((row) => String(row.order_id))).toEqual([placed.id]);
    // That answer is stored now: the next retry replays it.
    const again = await place(withKey, body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toMatchObject({ id: placed.id, status: 'canceled' });
    // Another key, or none, is another order.
    const other = await place({ ...firmA, 'idempotency-key': 'another-order' }, body);
    expect(other.json().id).not.toBe(placed.id);
    expect((await cancel(firmA, other.json().id)).statusCode).toBe(200);
  });

  it('given an order with a request key still being placed, when another with the key arrives, then 503 (not kept by the key store), and once placed the key means that order', async () => {
    const service = exchange.exchange.service!;
    const input = {
      symbol: 'AMZN',
      side: 'buy',
      orderType: 'limit',
      price: '197.00',
      quantity: 1,
    } as const;
    const first = service.placeOrder('firm-a', input, 'request-key-in-flight');
    await expect(service.placeOrder('firm-a', input, 'request-key-in-flight')).rejects.toMatchObject({
      code: 'exchange_unavailable',
      status: 503,
    });
    const placed = await first;
    expect((await service.placeOrder('firm-a', input, 'request-key-in-flight')).id).toBe(placed.id);
    expect((await cancel(firmA, placed.id)).statusCode).toBe(200);
  });

  it('given an order whose answer was a 5xx (not kept, so the key is free), when the client retries with the same key and body, then it gets that order; another body under the key is another order', async () => {
    const withKey = { ...firmA, 'idempotency-key': 'answered-5xx' };
    const body = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '198.00', quantity: 4 };
    const placed = (await place(withKey, body)).json();
    // What a 5xx answer leaves in the key store: nothing.
    await exchange.db.pool.query('DELETE FROM idempotency_keys WHERE key = $1', [withKey['idempotency-key']]);

    const retried = await place(withKey, body);
    expect(retried.statusCode).toBe(201);
    expect(retried.json()).toMatchObject({ id: placed.id, status: 'new' });
    expect(retried.headers['idempotent-replayed']).toBeUndefined();

    await exchange.db.pool.query('DELETE FROM idempotency_keys WHERE key = $1', [withKey['idempotency-key']]);
    const otherBody = await place(withKey, { ...body, quantity: 5 });
    expect(otherBody.statusCode).toBe(201);
    expect(otherBody.json().id).not.toBe(placed.id);
    for (const id of [placed.id, otherBody.json().id]) expect((await cancel(firmA, id)).statusCode).toBe(200);
  });

  it('names the field of every bad input', async () => {
    const base = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '200.00', quantity: 10 };
    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [{ ...base, price: '200.001' }, 422, 'price_not_on_tick', 'price'],
      [{ ...base, price: 200 }, 400, 'validation_failed', 'price'],
      [{ ...base, price: '1e3' }, 400, 'validation_failed', 'price'],
      [{ ...base, price: undefined }, 400, 'validation_failed', 'price'],
      [{ ...base, orderType: 'market' }, 400, 'validation_failed', 'price'],
      [{ ...base, quantity: 0 }, 400, 'validation_failed', 'quantity'],
      [{ ...base, quantity: 2_000_000_000 }, 422, 'quantity_above_max', 'quantity'],
      [{ ...base, symbol: 'NOPE' }, 422, 'unknown_symbol', 'symbol'],
      [{ ...base, side: 'short' }, 400, 'validation_failed', 'side'],
      [{ ...base, timeInForce: 'GTD' }, 400, 'validation_failed', 'timeInForce'],
      [{ ...base, clientOrderId: 'x'.repeat(65) }, 400, 'validation_failed', 'clientOrderId'],
      [{ ...base, account: 'has space' }, 400, 'validation_failed', 'account'],
      [{ ...base, extra: 1 }, 400, 'validation_failed', ''],
      [{ ...base, symbol: 'AAPL', price: '250.00' }, 422, 'price_out_of_band', 'price'],
      [{ ...base, symbol: 'AAPL', price: '170.99' }, 422, 'price_out_of_band', 'price'],
      [
        { ...base, symbol: 'AAPL', price: '190.00', quantity: 1_000_001 },
        422,
        'quantity_above_max',
        'quantity',
      ],
      [{ ...base, symbol: '7203.T', price: '2800', quantity: 150 }, 422, 'quantity_not_on_lot', 'quantity'],
      [{ ...base, symbol: '7203.T', price: '2800.5', quantity: 100 }, 422, 'price_not_on_tick', 'price'],
    ];
    for (const [payload, status, code, field] of cases) {
      const response = await place(firmA, payload);
      const label = JSON.stringify(payload);
      expect(response.statusCode, label).toBe(status);
      expect(response.json().code, label).toBe(code);
      if (field)
        expect(
          response.json().errors.map((e: { field: string }) => e.field),
          label,
        ).toContain(field);
    }
    // A price sent as a JSON number is told how to send it.
    expect((await place(firmA, { ...base, price: 221 })).json().errors).toEqual([
      { field: 'price', reason: 'must be a string, not the JSON number 221; send it quoted, e.g. "221"' },
    ]);
    // The band's edges are inside: 190.00 ± 10 % is 171.00 … 209.00.
    for (const price of ['171.00', '209.00']) {
      const edge = await place(firmA, { ...base, symbol: 'AAPL', price, quantity: 1, timeInForce: 'IOC' });
      expect(edge.statusCode, price).toBe(201);
    }
  });

  it('a rejected new order is still an order: 200 with status rejected and the reason', async () => {
    await place(firmB, { symbol: 'MSFT', side: 'sell', orderType: 'limit', price: '420.00', quantity: 10 });
    const postOnly = await place(firmA, {
      symbol: 'MSFT',
      side: 'buy',
      orderType: 'limit',
      price: '420.00',
      quantity: 10,
      postOnly: true,
    });
    expect(postOnly.statusCode).toBe(200);
    expect(postOnly.json()).toMatchObject({
      status: 'rejected',
      rejectReason: 'post_only_would_take',
      remainingQuantity: 0,
    });
    const market = await place(firmA, { symbol: '7203.T', side: 'buy', orderType: 'market', quantity: 100 });
    expect(market.statusCode).toBe(201);
    expect(market.json()).toMatchObject({
      status: 'canceled',
      rejectReason: 'no_liquidity',
      price: null,
      timeInForce: 'IOC',
    });
  });

  it('refuses a clientOrderId already used by one of the member’s open orders, across its keys', async () => {
    const order = {
      symbol: 'AMZN',
      side: 'buy',
      orderType: 'limit',
      price: '100.00',
      quantity: 1,
      clientOrderId: 'dup-1',
    };
    const first = await place(firmA, order);
    expect(first.statusCode).toBe(201);
    const second = await place(firmA2, order);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({
      code: 'duplicate_client_order_id',
      errors: [{ field: 'clientOrderId' }],
    });
    expect((await place(firmB, order)).statusCode).toBe(201);
    await cancel(firmA, first.json().id);
    expect((await place(firmA, order)).statusCode).toBe(201);
  });

  it('self-trade prevention: a member’s order never trades with its own resting order (cancel newest)', async () => {
    await place(firmB, { symbol: 'AMZN', side: 'sell', orderType: 'limit', price: '150.00', quantity: 5 });
    const own = await place(firmB, {
      symbol: 'AMZN',
      side: 'buy',
      orderType: 'limit',
      price: '150.00',
      quantity: 5,
    });
    expect(own.json()).toMatchObject({ status: 'canceled', cancelReason: 'stp', filledQuantity: 0 });
    const otherAccount = await place(firmB, {
      symbol: 'AMZN',
      side: 'buy',
      orderType: 'limit',
      price: '150.00',
      quantity: 5,
      account: 'desk-2',
    });
    expect(otherAccount.json()).toMatchObject({ status: 'filled', account: 'desk-2' });
  });

  it('self-trade prevention is chosen per order: cancel oldest keeps the new order; a bad mode names the field', async () => {
    const resting = (
      await place(firmB, { symbol: 'AMZN', side: 'sell', orderType: 'limit', price: '151.00', quantity: 3 })
    ).json();
    const taker = await place(firmB, {
      symbol: 'AMZN',
      side: 'buy',
      orderType: 'limit',
      price: '151.00',
      quantity: 3,
      selfTradePrevention: 'cancel_oldest',
    });
    expect(taker.json()).toMatchObject({ status: 'new', filledQuantity: 0, remainingQuantity: 3 });
    // The resting sell was cancelled by the taker's STP (without the projector here, the answer is 404).
    expect((await cancel(firmB, resting.id)).statusCode).not.toBe(200);
    expect((await cancel(firmB, taker.json().id)).json()).toMatchObject({
      status: 'canceled',
      cancelReason: 'user',
    });

    const bad = await place(firmB, {
      symbol: 'AMZN',
      side: 'buy',
      orderType: 'limit',
      price: '151.00',
      quantity: 3,
      selfTradePrevention: 'cancel_all',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('selfTradePrevention');
  });

  it('order routes are for members only', async () => {
    const order = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '100.00', quantity: 1 };
    expect((await place({}, order)).statusCode).toBe(401);
    expect((await place(admin, order)).statusCode).toBe(403);
    expect((await place({ 'x-api-key': 'kinyu_bad' }, order)).statusCode).toBe(401);
  });
});

describe('order-entry rate limit', () => {
  const exchangeOf = exchangeForDescribe({ KINYU_EXCHANGE_ORDER_RATE_MAX: '3' });

  it('given a member at its allowance, when it sends one more order request by any key, then 429 problem+json', async () => {
    const exchange = exchangeOf();
    const admin = await adminHeader(exchange.app, exchange.identity, 'rate.admin');
    const desk1 = await memberHeader(exchange.app, admin, 'Desk 1', 'firm-r');
    const desk2 = await memberHeader(exchange.app, admin, 'Desk 2', 'firm-r');
    const other = await memberHeader(exchange.app, admin, 'Other', 'firm-s');
    const order = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '100.00', quantity: 1 };
    const placed = await exchange.app.inject({
      method: 'POST',
      url: '/v1/order',
      headers: desk1,
      payload: order,
    });
    expect(placed.statusCode).toBe(201);
    expect(placed.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2' });
    expect(Number(placed.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    expect(
      (
        await exchange.app.inject({
          method: 'PATCH',
          url: `/v1/order/${placed.json().id}`,
          headers: desk2,
          payload: { quantity: 2 },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (await exchange.app.inject({ method: 'DELETE', url: `/v1/order/${placed.json().id}`, headers: desk1 }))
        .statusCode,
    ).toBe(200);

    const limited = await exchange.app.inject({
      method: 'POST',
      url: '/v1/order',
      headers: desk2,
      payload: order,
    });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(limited.headers['retry-after']).toMatch(/^[0-9]+$/);
    expect(limited.json()).toMatchObject({ code: 'rate_limited', status: 429 });
    // Another member has its own allowance.
    expect(
      (await exchange.app.inject({ method: 'POST', url: '/v1/order', headers: other, payload: order }))
        .statusCode,
    ).toBe(201);
  });
});

/**
 * An exchange for one describe with the API-key cache on, as in production (a key verified in the
 * last second is known before auth), and a global limit of 4 requests per address and window.
 */
function exchangeWithCachedKeys(): () => TestExchange {
  return exchangeForDescribe({ KINYU_RATE_LIMIT_MAX: '4' }, (db) =>
    createTestIdentity(db.pool, { settings: { apiKeyCacheMs: 1_000 } }),
  );
}

describe('the global rate limit and invented API keys', () => {
  const exchangeOf = exchangeWithCachedKeys();

  it('given keys nobody issued, when each asks once, then they share their address’s allowance; a verified key has its own', async () => {
    const exchange = exchangeOf();
    const admin = await adminHeader(exchange.app, exchange.identity, 'limit.admin');
    const member = await memberHeader(exchange.app, admin, 'Desk', 'firm-l');
    const instruments = (headers: Headers) =>
      exchange.app.inject({ method: 'GET', url: '/v1/instruments', headers });
    // The member's first request verifies its key (and counts against the address, like any unknown key).
    expect((await instruments(member)).statusCode).toBe(200);
    const invented = (n: number) => ({ 'x-api-key': `kyu_${'f'.repeat(15)}${n}_${'0'.repeat(43)}` });
    const answers = [];
    for (let n = 0; n < 5; n++) answers.push(await instruments(invented(n)));
    // One allowance for all of them (the address's): it runs down and stays out.
    const remaining = answers.map((a) => Number(a.headers['x-ratelimit-remaining']));
    expect(remaining.slice(1)).toEqual(remaining.slice(1).map((_, i) => Math.max(0, remaining[0]! - i - 1)));
    expect(answers.at(-1)!.statusCode).toBe(429);
    // A key verified before is limited on its own, so the address's exhaustion does not stop it.
    const own = await instruments(member);
    expect(own.statusCode).toBe(200);
    expect(own.headers['x-ratelimit-remaining']).toBe('3');
  });
});

describe('order routes and unverified API keys', () => {
  const exchangeOf = exchangeWithCachedKeys();

  it('given keys nobody issued, when they send order requests, then their address is limited before any key is looked up; a verified member is not', async () => {
    const exchange = exchangeOf();
    const admin = await adminHeader(exchange.app, exchange.identity, 'order.limit.admin');
    const member = await memberHeader(exchange.app, admin, 'Desk', 'firm-o');
    // Verify the member's key once (a query route), so that it is known before authentication.
    expect(
      (await exchange.app.inject({ method: 'GET', url: '/v1/orders', headers: member })).statusCode,
    ).toBe(200);
    const invented = (n: number) => ({ 'x-api-key': `kyu_${'e'.repeat(15)}${n}_${'0'.repeat(43)}` });
    const order = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '100.00', quantity: 1 };
    const answers: number[] = [];
    for (let n = 0; n < 3; n++) {
      answers.push(
        (
          await exchange.app.inject({
            method: 'POST',
            url: '/v1/order',
            headers: invented(n),
            payload: order,
          })
        ).statusCode,
        (await exchange.app.inject({ method: 'DELETE', url: '/v1/order/1', headers: invented(n) }))
          .statusCode,
      );
    }
    const none = await exchange.app.inject({ method: 'PATCH', url: '/v1/order/1', payload: { quantity: 1 } });
    // 4 per address and window (KINYU_RATE_LIMIT_MAX), whichever route and key.
    expect(answers).toEqual([401, 401, 401, 401, 429, 429]);
    expect(none.statusCode).toBe(429);
    expect(none.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(none.headers['retry-after']).toMatch(/^[0-9]+$/);
    expect(none.json()).toMatchObject({ code: 'rate_limited' });
    const placed = await exchange.app.inject({
      method: 'POST',
      url: '/v1/order',
      headers: member,
      payload: order,
    });
    expect(placed.statusCode).toBe(201);
  });
});

interface DescribeExchange extends TestExchange {
  /** The exchange's database, for what a test reads or holds there directly. */
  db: TestDatabase;
}

/** An exchange on a fresh database, started before the calling describe's tests and removed after. */
function exchangeForDescribe(
  env: Record<string, string>,
  identityOf?: (db: TestDatabase) => TestIdentity,
): () => DescribeExchange {
  let db: TestDatabase;
  let dataDir: string;
  let exchange: DescribeExchange;
  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = tempDataDir();
    exchange = { ...(await startTestExchange(db, dataDir, env, identityOf?.(db))), db };
  });
  afterAll(async () => {
    await exchange.stop();
    await db.drop();
    removeDir(dataDir);
  });
  return () => exchange;
}
