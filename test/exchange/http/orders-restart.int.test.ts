import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIdentity } from '../../identity/support.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { adminHeader, memberHeader, removeDir, startTestExchange, tempDataDir } from '../service/support.ts';

describe('the exchange across a restart on the same data directory', () => {
  let db: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = tempDataDir();
  });
  afterAll(async () => {
    await db.drop();
    removeDir(dataDir);
  });

  it('given resting orders, when the exchange stops and starts again, then the books are back and keep matching', async () => {
    const identity = createTestIdentity(db.pool);
    const first = await startTestExchange(db, dataDir, { KINYU_EXCHANGE_DURABILITY: 'batch' }, identity);
    const admin = await adminHeader(first.app, identity, 'restart.admin');
    const seller = await memberHeader(first.app, admin, 'Seller', 'firm-s');
    const buyer = await memberHeader(first.app, admin, 'Buyer', 'firm-b');
    const place = (
      app: typeof first.app,
      headers: Record<string, string>,
      payload: Record<string, unknown>,
    ) => app.inject({ method: 'POST', url: '/v1/order', headers, payload });
    const asks = [];
    for (const [price, quantity] of [
      ['221.00', 10],
      ['221.00', 5],
      ['222.50', 7],
    ] as const) {
      asks.push(
        (
          await place(first.app, seller, {
            symbol: 'AMZN',
            side: 'sell',
            orderType: 'limit',
            price,
            quantity,
          })
        ).json(),
      );
    }
    await place(first.app, buyer, {
      symbol: 'GOOG',
      side: 'buy',
      orderType: 'limit',
      price: '575.00',
      quantity: 3,
    });
    // One trade before the restart, at the instant the exchange starts again (the clock stands still).
    await place(first.app, seller, {
      symbol: 'GOOG',
      side: 'sell',
      orderType: 'limit',
      price: '575.00',
      quantity: 1,
    });
    const service = first.exchange.service!;
    const before = {
      amzn: service.book('AMZN')!.stateHash(),
      goog: service.book('GOOG')!.stateHash(),
      l3: service.book('AMZN')!.l3(),
      lastSeq: service.lastSeq,
    };
    expect(before.l3.asks.map((o) => String(o.orderId))).toEqual(asks.map((a) => a.id));
    await first.stop();

    const second = await startTestExchange(db, dataDir, { KINYU_EXCHANGE_DURABILITY: 'batch' }, identity);
    try {
      const again = second.exchange.service!;
      expect(again.lastSeq).toBe(before.lastSeq);
      expect(again.book('AMZN')!.stateHash()).toBe(before.amzn);
      expect(again.book('GOOG')!.stateHash()).toBe(before.goog);
      expect(again.book('AMZN')!.l3()).toEqual(before.l3);

      // Market data starts from the trade history: the tape and the candle in progress hold the
      // trade from before the restart.
      const get = (url: string) => second.app.inject({ method: 'GET', url });
      expect((await get('/v1/marketdata/trades?symbol=GOOG')).json().trades).toEqual([
        expect.objectContaining({ price: '575.00', quantity: 1, side: 'sell' }),
      ]);
      const minute = await get(
        '/v1/marketdata/candles?symbol=GOOG&resolution=1m&startTime=2026-03-02T09:00:00Z&endTime=2026-03-02T09:01:00Z',
      );
      expect(minute.json().candles).toEqual([
        {
          startTime: '2026-03-02T09:00:00.000Z',
          open: '575.00',
          high: '575.00',
          low: '575.00',
          close: '575.00',
          volume: '1',
        },
      ]);

      // The restored book matches in price-time order, and new ids continue after the old ones.
      const sweep = await place(second.app, buyer, {
        symbol: 'AMZN',
        side: 'buy',
        orderType: 'limit',
        price: '221.00',
        quantity: 12,
      });
      expect(sweep.statusCode).toBe(201);
      expect(sweep.json()).toMatchObject({ status: 'filled', filledQuantity: 12 });
      expect(Number(sweep.json().id)).toBe(before.lastSeq + 1);
      expect(
        again
          .book('AMZN')!
          .l3()
          .asks.map((o) => [String(o.orderId), o.quantityLots]),
      ).toEqual([
        [asks[1].id, 3],
        [asks[2].id, 7],
      ]);
    } finally {
      await second.stop();
    }
  });

  it('given an order placed with an Idempotency-Key whose answer was lost, when the exchange restarts and the client retries, then it gets that order from the journal, not a second one', async () => {
    // A database and data directory of its own: the projection must match the journal.
    const keysDb = await createTestDatabase();
    const identity = createTestIdentity(keysDb.pool);
    const env = { KINYU_EXCHANGE_DURABILITY: 'batch' };
    const dataDirForKeys = tempDataDir();
    const before = await startTestExchange(keysDb, dataDirForKeys, env, identity);
    const admin = await adminHeader(before.app, identity, 'keys.admin');
    const member = {
      ...(await memberHeader(before.app, admin, 'Keyed', 'firm-k')),
      'idempotency-key': 'kept-across',
    };
    const buyer = await memberHeader(before.app, admin, 'Buyer', 'firm-b');
    const body = { symbol: 'MSFT', side: 'sell', orderType: 'limit', price: '430.00', quantity: 2 };
    const placed = (
      await before.app.inject({ method: 'POST', url: '/v1/order', headers: member, payload: body })
    ).json();
    await before.stop();
    // The answer never reached the key store (a 5xx, or the process died first): the key is free.
    await keysDb.pool.query("DELETE FROM idempotency_keys WHERE key = 'kept-across'");

    const after = await startTestExchange(keysDb, dataDirForKeys, env, identity);
    try {
      const send = (headers: Record<string, string>, payload: Record<string, unknown>) =>
        after.app.inject({ method: 'POST', url: '/v1/order', headers, payload });
      const retried = await send(member, body);
      expect(retried.statusCode).toBe(201);
      expect(retried.json()).toMatchObject({ id: placed.id, status: 'new', quantity: 2 });
      const asks = () =>
        after.exchange
          .service!.book('MSFT')!
          .l3()
          .asks.map((o) => String(o.orderId));
      expect(asks()).toEqual([placed.id]);

      // The order fills while the projection is held back; a retry (its answer lost again) must
      // show it filled, which only the projection knows once the order has left the book.
      await keysDb.pool.query("DELETE FROM idempotency_keys WHERE key = 'kept-across'");
      const holder = await keysDb.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT seq FROM exchange_projector_checkpoint FOR UPDATE');
        const buy = await send(buyer, { ...body, side: 'buy' });
        expect(buy.json()).toMatchObject({ status: 'filled' });
        const pending = send(member, body);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await holder.query('ROLLBACK');
        const again = await pending;
        expect(again.json()).toMatchObject({ id: placed.id, status: 'filled', filledQuantity: 2 });
        expect(asks()).toEqual([]);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        holder.release();
      }
    } finally {
      await after.stop();
      removeDir(dataDirForKeys);
      await keysDb.drop();
    }
  });
});
