import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { l3RequestsPerWindow, marketDataRoutes } from '../../../src/exchange/http/market-data.ts';
import { sqlCandleHistory } from '../../../src/exchange/market-data/candle-history.ts';
import { type Candle, CandleSeries } from '../../../src/exchange/market-data/candles.ts';
import { loadMarketDataSeed } from '../../../src/exchange/market-data/history-seed.ts';
import { MarketDataHub } from '../../../src/exchange/market-data/hub.ts';
import type { MarketInstrument } from '../../../src/exchange/market-data/views.ts';
import { type BookCommand, FastOrderBook } from '../../../src/exchange/matching/index.ts';
import type { UnsequencedCommand } from '../../../src/exchange/sequencer/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import { type App, buildApp } from '../../../src/platform/http/app.ts';
import { formatDecimal } from '../../../src/platform/money.ts';
import { createTestIdentity } from '../../identity/support.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { Prng } from '../../support/prng.ts';

/*
 * REST market data through the platform's buildApp (auth plugin, validation, problem+json) on a
 * real database: the books come from the engine's real results, older candles from real rows in
 * exchange_trades.
 */

const aapl: MarketInstrument = { symbol: 'AAPL', currency: 'USD', tickSize: '0.05', lotSize: 100 };
const startedAt = Date.UTC(2026, 2, 2, 10, 0, 0);
const minute = 60_000;

describe('market data REST', () => {
  let db: TestDatabase;
  let app: App;
  let hub: MarketDataHub;
  const book = new FastOrderBook();
  let seq = 0;
  const run = (command: UnsequencedCommand, timeMs: number) => {
    seq++;
    const sequenced = (
      command.type === 'new' ? { ...command, seq, orderId: seq } : { ...command, seq }
    ) as BookCommand;
    const events = book.apply(sequenced);
    hub.onSequenced({ seq, symbol: 'AAPL', command: sequenced, events, meta: { time: timeMs } });
  };
  const limit = (
    side: 'buy' | 'sell',
    priceTicks: number,
    quantityLots: number,
    account = 'a:',
  ): UnsequencedCommand => ({
    type: 'new',
    account,
    side,
    orderType: 'limit',
    priceTicks,
    quantityLots,
    timeInForce: 'GTC',
  });

  beforeAll(async () => {
    db = await createTestDatabase(4);
    await db.pool.query(`CREATE TABLE IF NOT EXISTS exchange_trades (trade_id text primary key, seq bigint, symbol text,
      price_ticks bigint, quantity_lots bigint, maker_order_id bigint, taker_order_id bigint, maker_side text, time timestamptz)`);
    const identity = createTestIdentity(db.pool);
    hub = new MarketDataHub({
      source: {
        instrument: (s) => (s === 'AAPL' ? aapl : undefined),
        instruments: () => [aapl],
        book: () => book,
        lastSeq: 0,
      },
      metrics: new Registry(),
      startedAtMs: startedAt,
    });
    app = await appWith(10_000, marketDataRoutes({ hub, history: sqlCandleHistory(db.pool) }), {
      hooks: [identity.module.authPlugin],
      rateLimitKeyOf: identity.module.knownCaller,
    });
    // A book with two bid levels and one ask; one trade.
    run(limit('buy', 3_000, 2), startedAt + 1_000); // 150.00
    run(limit('buy', 3_000, 1), startedAt + 2_000);
    run(limit('buy', 2_990, 4), startedAt + 3_000); // 149.50
    run(limit('sell', 3_010, 5), startedAt + 4_000); // 150.50
    run(limit('sell', 3_000, 1, 'b:'), startedAt + 5_000); // trades 1 lot with order 1
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const get = (url: string) => app.inject({ method: 'GET', url });

  /** The market-data routes behind the platform's app, with `rateLimitMax` requests a minute per client. */
  function appWith(
    rateLimitMax: number,
    routes: ReturnType<typeof marketDataRoutes>,
    auth: Pick<Parameters<typeof buildApp>[0], 'hooks' | 'rateLimitKeyOf'> = {},
  ): Promise<App> {
    return buildApp({
      logger: false,
      metrics: new Registry(),
      pool: db.pool,
      clock: new ManualClock(new Date(startedAt)),
      rateLimit: { max: rateLimitMax, windowMs: 60_000 },
      idempotencyTtlHours: 24,
      readiness: [],
      ...auth,
      modules: [routes],
    });
  }

  it('L2: aggregated levels as decimal prices and share quantities, with the channel sequence', async () => {
    const response = await get('/v1/marketdata/orderBook/L2?symbol=AAPL&depth=1');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      symbol: 'AAPL',
      sequence: 5,
      bids: [{ price: '150.00', quantity: 200 }],
      asks: [{ price: '150.50', quantity: 500 }],
    });
    expect((await get('/v1/marketdata/orderBook/L2?symbol=AAPL')).json().bids).toHaveLength(2);
  });

  it('L3: every order FIFO, anonymous', async () => {
    const body = (await get('/v1/marketdata/orderBook/L3?symbol=AAPL')).json();
    expect(body).toEqual({
      symbol: 'AAPL',
      sequence: 5,
      bids: [
        { orderId: '1', price: '150.00', quantity: 100 },
        { orderId: '2', price: '150.00', quantity: 100 },
        { orderId: '3', price: '149.50', quantity: 400 },
      ],
      asks: [{ orderId: '4', price: '150.50', quantity: 500 }],
    });
  });

  it('given the L3 view weighs ten requests, when a client passes a tenth of the limit on it, then 429 there while other market data answers', async () => {
    expect(l3RequestsPerWindow(600)).toBe(60);
    expect(l3RequestsPerWindow(5)).toBe(1);
    const limited = await appWith(
      30,
      marketDataRoutes({ hub, l3RequestsPerWindowMax: l3RequestsPerWindow(30) }),
    );
    try {
      const l3 = () => limited.inject({ method: 'GET', url: '/v1/marketdata/orderBook/L3?symbol=AAPL' });
      for (let i = 0; i < 3; i++) expect((await l3()).statusCode).toBe(200);
      const refused = await l3();
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.headers['retry-after']).toMatch(/^[0-9]+$/);
      expect(refused.json()).toMatchObject({ code: 'rate_limited', status: 429 });
      const l2 = await limited.inject({ method: 'GET', url: '/v1/marketdata/orderBook/L2?symbol=AAPL' });
      expect(l2.statusCode).toBe(200);
      // No HEAD route with an allowance of its own beside it.
      const head = await limited.inject({ method: 'HEAD', url: '/v1/marketdata/orderBook/L3?symbol=AAPL' });
      expect(head.statusCode).toBe(404);
    } finally {
      await limited.close();
    }
  });

  it('BBO and trades', async () => {
    expect((await get('/v1/marketdata/bbo?symbol=AAPL')).json()).toEqual({
      symbol: 'AAPL',
      sequence: 5,
      bid: { price: '150.00', quantity: 200 },
      ask: { price: '150.50', quantity: 500 },
    });
    expect((await get('/v1/marketdata/trades?symbol=AAPL&limit=5')).json()).toEqual({
      symbol: 'AAPL',
      trades: [
        {
          tradeId: '5-1',
          price: '150.00',
          quantity: 100,
          side: 'sell',
          time: new Date(startedAt + 5_000).toISOString(),
          sequence: 5,
        },
      ],
    });
  });

  it('refuses an unknown symbol with 404 and bad parameters with 400/422 naming the field', async () => {
    const missing = await get('/v1/marketdata/orderBook/L2?symbol=MSFT');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'not_found', errors: [{ field: 'symbol' }] });
    const depth = await get('/v1/marketdata/orderBook/L2?symbol=AAPL&depth=0');
    expect(depth.statusCode).toBe(400);
    expect(depth.json().errors[0].field).toBe('querystring.depth');
    const resolution = await get(
      '/v1/marketdata/candles?symbol=AAPL&resolution=2m&startTime=2026-03-02T10:00:00Z&endTime=2026-03-02T11:00:00Z',
    );
    expect(resolution.statusCode).toBe(400);
    expect(resolution.json().errors[0].field).toBe('querystring.resolution');
    const time = await get(
      '/v1/marketdata/candles?symbol=AAPL&resolution=1m&startTime=yesterday&endTime=2026-03-02T11:00:00Z',
    );
    expect(time.statusCode).toBe(400);
    expect(time.json().errors[0].field).toBe('querystring.startTime');
    // RFC 3339 allows a leap second and year 0000; neither is an instant JS and PostgreSQL share.
    for (const unrepresentable of ['2016-12-31T23:59:60Z', '0000-01-01T00:00:00Z']) {
      const refused = await get(
        `/v1/marketdata/candles?symbol=AAPL&resolution=1m&startTime=${unrepresentable}&endTime=2026-03-02T11:00:00Z`,
      );
      expect(refused.statusCode).toBe(400);
      expect(refused.json().errors).toEqual([
        {
          field: 'querystring.startTime',
          reason:
            'must be an RFC 3339 date-time with a time zone, e.g. 2026-03-02T09:00:00Z (years 0001 to 9999, no leap second)',
        },
      ]);
    }
    const backwards = await get(
      '/v1/marketdata/candles?symbol=AAPL&resolution=1m&startTime=2026-03-02T11:00:00Z&endTime=2026-03-02T10:00:00Z',
    );
    expect(backwards.statusCode).toBe(422);
    expect(backwards.json()).toMatchObject({ code: 'invalid_time_range', errors: [{ field: 'endTime' }] });
    const wide = await get(
      '/v1/marketdata/candles?symbol=AAPL&resolution=1m&startTime=2026-01-01T00:00:00Z&endTime=2026-03-02T10:00:00Z',
    );
    expect(wide.statusCode).toBe(422);
  });

  it('the start seed: the bucket in progress at every resolution, whole, and the newest trades, oldest first', async () => {
    const at = (time: string) => new Date(`2026-03-03T${time}Z`).toISOString();
    for (const [tradeId, priceTicks, quantityLots, time] of [
      ['30-1', 100, 1, '09:59:59.000'],
      ['31-1', 110, 2, '10:29:59.999'],
      ['32-1', 120, 3, '10:30:05.000'],
      ['32-2', 90, 4, '10:30:05.000'],
    ] as const) {
      await db.pool.query(
        `INSERT INTO exchange_trades (trade_id, seq, symbol, price_ticks, quantity_lots, maker_order_id, taker_order_id, maker_side, time)
         VALUES ($1, $2, 'MSFT', $3, $4, 1, 2, 'buy', $5)`,
        [tradeId, Number.parseInt(tradeId, 10), priceTicks, quantityLots, at(time)],
      );
    }
    const startedAtMs = Date.parse(at('10:30:20.000'));
    const seed = await loadMarketDataSeed(db.pool, { symbols: ['MSFT', 'IBM'], lastSeq: 32, startedAtMs }, 2);

    expect(seed).toMatchObject({ lastSeq: 32, startedAtMs });
    const since = (time: string, c: Omit<Candle, 'startMs'>) => ({ startMs: Date.parse(at(time)), ...c });
    const lastTen = { openTicks: 120, highTicks: 120, lowTicks: 90, closeTicks: 90, volumeLots: 7n };
    expect(seed.candles).toEqual(
      new Map([
        [
          'MSFT',
          {
            '1m': since('10:30:00.000', lastTen),
            '5m': since('10:30:00.000', lastTen),
            '15m': since('10:30:00.000', lastTen),
            '1h': since('10:00:00.000', { ...lastTen, openTicks: 110, volumeLots: 9n }),
            '1d': since('00:00:00.000', { ...lastTen, openTicks: 100, volumeLots: 10n }),
          },
        ],
      ]),
    );
    expect(seed.trades.get('MSFT')?.map((t) => [t.tradeId, t.priceTicks, t.takerSide, t.timeMs])).toEqual([
      ['32-1', 120, 'sell', Date.parse(at('10:30:05.000'))],
      ['32-2', 90, 'sell', Date.parse(at('10:30:05.000'))],
    ]);
    expect(seed.trades.has('IBM')).toBe(false);
  });

  it('candles: SQL volume past what int8 holds is exact', async () => {
    // Ten trades of 10^18 lots: their sum, 10^19, is past int8's 9.2 × 10^18.
    for (let n = 1; n <= 10; n++) {
      await db.pool.query(
        `INSERT INTO exchange_trades (trade_id, seq, symbol, price_ticks, quantity_lots, maker_order_id, taker_order_id, maker_side, time)
         VALUES ($1, 40, 'HUGE', 7, 1000000000000000000, 1, 2, 'buy', '2026-03-01T12:00:00Z')`,
        [`40-${n}`],
      );
    }
    const day = Date.UTC(2026, 2, 1);
    const candles = await sqlCandleHistory(db.pool).candles('HUGE', '1d', day, day + 86_400_000, 10);
    expect(candles.map((c) => c.volumeLots)).toEqual([10n ** 19n]);
  });

  it('candles: a bound finer than a millisecond counts, though a Date would drop its digits', async () => {
    const starts = async (startTime: string, endTime: string) => {
      const response = await get(
        `/v1/marketdata/candles?symbol=AAPL&resolution=1m&startTime=${startTime}&endTime=${endTime}`,
      );
      expect(response.statusCode, `[${startTime}, ${endTime})`).toBe(200);
      return response.json().candles.map((c: { startTime: string }) => c.startTime);
    };
    // The ring's 10:00 candle starts at 10:00:00.000, just before .0001 and inside [09:59, .0001).
    expect(await starts('2026-03-02T10:00:00.0001Z', '2026-03-02T10:02:00Z')).toEqual([]);
    expect(await starts('2026-03-02T09:59:00Z', '2026-03-02T10:00:00.0001Z')).toEqual([
      '2026-03-02T10:00:00.000Z',
    ]);
    // A range within one millisecond is not empty, it just holds no candle start.
    expect(await starts('2026-03-02T10:00:00.0001Z', '2026-03-02T10:00:00.0009Z')).toEqual([]);
    const backwards = await get(
      '/v1/marketdata/candles?symbol=AAPL&resolution=1m&startTime=2026-03-02T10:00:00.0009Z&endTime=2026-03-02T10:00:00.0001Z',
    );
    expect(backwards.statusCode).toBe(422);
  });

  it('candles: the live ring for its range, SQL history for older buckets, both aggregated alike', async () => {
    // Trades from before market data started live only in exchange_trades.
    const rng = new Prng(2026);
    const older: { seq: number; n: number; priceTicks: number; quantityLots: number; timeMs: number }[] = [];
    for (let i = 0; i < 120; i++) {
      const timeMs = startedAt - 3 * 3_600_000 + i * 90_000 + rng.int(0, 500);
      const trades = rng.int(1, 3);
      for (let n = 1; n <= trades; n++) {
        older.push({
          seq: 10_000 + i,
          n,
          priceTicks: rng.int(2_900, 3_100),
          quantityLots: rng.int(1, 9),
          timeMs,
        });
      }
    }
    for (const t of older) {
      await db.pool.query(
        `INSERT INTO exchange_trades (trade_id, seq, symbol, price_ticks, quantity_lots, maker_order_id, taker_order_id, maker_side, time)
         VALUES ($1, $2, 'AAPL', $3, $4, 1, 2, 'buy', $5)`,
        [`${t.seq}-${t.n}`, t.seq, t.priceTicks, t.quantityLots, new Date(t.timeMs).toISOString()],
      );
    }
    const units = { price: (ticks: number) => formatDecimal(BigInt(ticks) * 5n, 2) };
    const json = (candles: Candle[]) =>
      candles.map((c) => ({
        startTime: new Date(c.startMs).toISOString(),
        open: units.price(c.openTicks),
        high: units.price(c.highTicks),
        low: units.price(c.lowTicks),
        close: units.price(c.closeTicks),
        volume: String(c.volumeLots * 100n),
      }));
    const candles = (resolution: string, fromMs: number, toMs: number) =>
      get(
        `/v1/marketdata/candles?symbol=AAPL&resolution=${resolution}&startTime=${new Date(fromMs).toISOString()}&endTime=${new Date(toMs).toISOString()}`,
      );
    for (const resolution of ['1m', '5m', '15m', '1h'] as const) {
      const expected = new CandleSeries(resolution, 10_000, 0);
      for (const t of older) expected.add(t);
      expected.add({ priceTicks: 3_000, quantityLots: 1, timeMs: startedAt + 5_000 });
      const response = await candles(resolution, startedAt - 4 * 3_600_000, startedAt + 60 * minute);
      expect(response.statusCode, resolution).toBe(200);
      expect(response.json().candles, resolution).toEqual(json(expected.candles()));
      // Bounds inside a bucket answer, like the ring, the whole candles whose start is in
      // [startTime, endTime): the bucket startTime cuts is left out, the one endTime cuts is whole.
      for (const [fromMs, toMs] of [
        [startedAt - 3 * 3_600_000 + 12_345, startedAt - 3_600_000 + 23_456],
        [startedAt - 2 * 3_600_000 + 45_678, startedAt + 34_567],
      ] as const) {
        const unaligned = await candles(resolution, fromMs, toMs);
        expect(unaligned.json().candles, `${resolution} [${fromMs}, ${toMs})`).toEqual(
          json(expected.range(fromMs, toMs)),
        );
      }
    }
  });
});
