import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import {
  adminHeader,
  memberHeader,
  removeDir,
  startTestExchange,
  type TestExchange,
  tempDataDir,
} from '../service/support.ts';

type Headers = Record<string, string>;

describe('exchange administration: instruments and sessions', () => {
  let db: TestDatabase;
  let dataDir: string;
  let exchange: TestExchange;
  let admin: Headers;
  let member: Headers;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = tempDataDir();
    exchange = await startTestExchange(db, dataDir);
    admin = await adminHeader(exchange.app, exchange.identity, 'instruments.admin');
    member = await memberHeader(exchange.app, admin, 'Member M', 'firm-m');
  });
  afterAll(async () => {
    await exchange.stop();
    await db.drop();
    removeDir(dataDir);
  });

  const inject = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    headers: Headers,
    payload?: unknown,
  ) =>
    exchange.app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const session = (payload: Record<string, unknown>) =>
    inject('POST', '/admin/exchange/session', admin, payload);
  const order = (payload: Record<string, unknown>) => inject('POST', '/v1/order', member, payload);

  it('lists the default instruments on first start, publicly and for admins', async () => {
    const publicList = await inject('GET', '/v1/instruments', {});
    expect(publicList.statusCode).toBe(200);
    const symbols = publicList.json().instruments.map((i: { symbol: string }) => i.symbol);
    expect(symbols).toEqual(expect.arrayContaining(['AMZN', 'GOOG', 'AAPL', 'MSFT', '7203.T']));
    expect(publicList.json().instruments.find((i: { symbol: string }) => i.symbol === 'AMZN')).toEqual({
      symbol: 'AMZN',
      name: 'Amazon.com, Inc.',
      currency: 'USD',
      tickSize: '0.01',
      lotSize: 1,
      referencePrice: '220.00',
      priceBandPercent: null,
      maxOrderQuantity: null,
      status: 'open',
    });
    const adminList = await inject('GET', '/admin/exchange/instruments', admin);
    expect(adminList.json()).toEqual(publicList.json());
  });

  it('given a new instrument, when an admin lists it, then members can trade it within its terms', async () => {
    const created = await inject('POST', '/admin/exchange/instruments', admin, {
      symbol: 'SAP.DE',
      currency: 'EUR',
      tickSize: '0.05',
      lotSize: 10,
      referencePrice: '200.000',
      priceBandPercent: '2.50',
      maxOrderQuantity: 5000,
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toEqual({
      symbol: 'SAP.DE',
      name: 'SAP.DE',
      currency: 'EUR',
      tickSize: '0.05',
      lotSize: 10,
      referencePrice: '200.00',
      priceBandPercent: '2.5',
      maxOrderQuantity: 5000,
      status: 'open',
    });
    const again = await inject('POST', '/admin/exchange/instruments', admin, {
      symbol: 'SAP.DE',
      currency: 'EUR',
      tickSize: '0.01',
      lotSize: 1,
      referencePrice: '1.00',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'instrument_exists' });

    const base = { symbol: 'SAP.DE', side: 'buy', orderType: 'limit', quantity: 20 };
    expect((await order({ ...base, price: '205.00' })).statusCode).toBe(201); // 200 + 2.5 % = 205.00
    expect((await order({ ...base, price: '205.05' })).json()).toMatchObject({ code: 'price_out_of_band' });
    expect((await order({ ...base, price: '200.02' })).json()).toMatchObject({ code: 'price_not_on_tick' });
    expect((await order({ ...base, price: '200.00', quantity: 25 })).json()).toMatchObject({
      code: 'quantity_not_on_lot',
    });
    expect((await order({ ...base, price: '200.00', quantity: 5010 })).json()).toMatchObject({
      code: 'quantity_above_max',
    });

    // Stored, so a restart finds it: the row holds the canonical strings.
    const { rows } = await db.pool.query(
      "SELECT tick_size::text, reference_price::text, price_band_percent::text FROM exchange_instruments WHERE symbol = 'SAP.DE'",
    );
    expect(rows).toEqual([{ tick_size: '0.05', reference_price: '200.00', price_band_percent: '2.5' }]);
  });

  it('names every invalid field of an instrument definition', async () => {
    const bad = await inject('POST', '/admin/exchange/instruments', admin, {
      symbol: 'BAD',
      currency: 'XXX',
      tickSize: '0.03',
      lotSize: 1,
      referencePrice: '100.00',
      priceBandPercent: '150',
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json().errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['currency', 'referencePrice', 'priceBandPercent']));
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tickSize: '0' }, 'tickSize'],
      [{ tickSize: '0.000000001' }, 'tickSize'],
      [{ lotSize: 0 }, 'lotSize'],
      [{ symbol: '-X' }, 'symbol'],
      [{ maxOrderQuantity: 0 }, 'maxOrderQuantity'],
    ];
    for (const [patch, field] of cases) {
      const response = await inject('POST', '/admin/exchange/instruments', admin, {
        symbol: 'BAD2',
        currency: 'USD',
        tickSize: '0.01',
        lotSize: 1,
        referencePrice: '100.00',
        ...patch,
      });
      expect(response.statusCode, JSON.stringify(patch)).toBe(400);
      expect(
        response.json().errors.map((e: { field: string }) => e.field),
        JSON.stringify(patch),
      ).toContain(field);
    }
  });

  it('given a halted instrument, when a member orders, then 409 trading_halted; cancels still work', async () => {
    const resting = (
      await order({ symbol: 'MSFT', side: 'buy', orderType: 'limit', price: '400.00', quantity: 5 })
    ).json();
    const halted = await session({ symbol: 'MSFT', action: 'halt' });
    expect(halted.statusCode).toBe(200);
    expect(halted.json().instruments).toContainEqual({ symbol: 'MSFT', state: 'halted', status: 'halted' });
    expect(halted.json()).toMatchObject({ market: 'open', expiredOrders: 0 });

    const refused = await order({
      symbol: 'MSFT',
      side: 'buy',
      orderType: 'limit',
      price: '400.00',
      quantity: 5,
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      code: 'trading_halted',
      errors: [{ field: 'symbol', reason: 'session is halted' }],
    });
    expect(refused.json().detail).toMatch(/MSFT is halted/);
    const replaced = await inject('PATCH', `/v1/order/${resting.id}`, member, { quantity: 1 });
    expect(replaced.json()).toMatchObject({ code: 'trading_halted' });
    expect((await inject('GET', '/v1/instruments', {})).json().instruments).toContainEqual(
      expect.objectContaining({ symbol: 'MSFT', status: 'halted' }),
    );
    // Other instruments trade on.
    expect(
      (await order({ symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '100.00', quantity: 1 }))
        .statusCode,
    ).toBe(201);

    const cancelled = await inject('DELETE', `/v1/order/${resting.id}`, member);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().status).toBe('canceled');

    expect((await session({ symbol: 'MSFT', action: 'open' })).json()).toMatchObject({
      code: 'session_transition_invalid',
      errors: [{ field: 'action', reason: 'halted_resume_instead' }],
    });
    expect((await session({ symbol: 'MSFT', action: 'resume' })).json().instruments).toContainEqual({
      symbol: 'MSFT',
      state: 'open',
      status: 'open',
    });
    expect(
      (await order({ symbol: 'MSFT', side: 'buy', orderType: 'limit', price: '400.00', quantity: 5 }))
        .statusCode,
    ).toBe(201);
  });

  it('given DAY and GTC orders, when the market closes, then DAY orders expire, GTC rest, and orders are refused until it opens', async () => {
    const day = (
      await order({
        symbol: 'GOOG',
        side: 'buy',
        orderType: 'limit',
        price: '500.00',
        quantity: 3,
        timeInForce: 'DAY',
      })
    ).json();
    const gtc = (
      await order({ symbol: 'GOOG', side: 'buy', orderType: 'limit', price: '499.00', quantity: 4 })
    ).json();
    expect(day.status).toBe('new');

    const closed = await session({ action: 'close' });
    expect(closed.statusCode).toBe(200);
    expect(closed.json().market).toBe('closed');
    expect(closed.json().expiredOrders).toBeGreaterThanOrEqual(1);
    expect(closed.json().instruments.every((i: { status: string }) => i.status === 'closed')).toBe(true);
    const bids = exchange.exchange.service
      ?.book('GOOG')
      ?.l3()
      .bids.map((o) => String(o.orderId));
    expect(bids).toContain(gtc.id);
    expect(bids).not.toContain(day.id);

    const refused = await order({
      symbol: 'GOOG',
      side: 'buy',
      orderType: 'limit',
      price: '500.00',
      quantity: 1,
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'market_closed' });
    expect(refused.json().detail).toMatch(/market: closed/);
    expect((await session({ action: 'halt' })).json()).toMatchObject({ code: 'session_transition_invalid' });
    expect((await inject('GET', '/admin/exchange/session', admin)).json().market).toBe('closed');
    const { rows } = await db.pool.query("SELECT state FROM exchange_sessions WHERE scope = '*'");
    expect(rows).toEqual([{ state: 'closed' }]);

    // A GTC order may still be cancelled while the market is closed.
    expect((await inject('DELETE', `/v1/order/${gtc.id}`, member)).json().status).toBe('canceled');
    expect((await session({ action: 'open' })).json().market).toBe('open');
    expect(
      (await order({ symbol: 'GOOG', side: 'buy', orderType: 'limit', price: '500.00', quantity: 1 }))
        .statusCode,
    ).toBe(201);
  });

  it('refuses session and instrument administration to members and anonymous callers', async () => {
    for (const [headers, status] of [
      [member, 403],
      [{}, 401],
    ] as const) {
      expect((await inject('POST', '/admin/exchange/session', headers, { action: 'close' })).statusCode).toBe(
        status,
      );
      expect((await inject('GET', '/admin/exchange/session', headers)).statusCode).toBe(status);
      expect((await inject('GET', '/admin/exchange/instruments', headers)).statusCode).toBe(status);
    }
    expect((await session({ symbol: 'NOPE', action: 'halt' })).statusCode).toBe(404);
    expect((await session({ action: 'pause' })).statusCode).toBe(400);
  });
});
