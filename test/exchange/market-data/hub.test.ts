import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type Channel, parseChannel } from '../../../src/exchange/market-data/channels.ts';
import type { MarketDataSeed } from '../../../src/exchange/market-data/history-seed.ts';
import {
  type HubSocket,
  MarketDataHub,
  marketDataFailedClose,
  slowConsumerClose,
} from '../../../src/exchange/market-data/hub.ts';
import { webSocketLimits } from '../../../src/exchange/market-data/limits.ts';
import { type MarketInstrument, Units } from '../../../src/exchange/market-data/views.ts';
import { WsSession } from '../../../src/exchange/market-data/ws-session.ts';
import { priceFromTicks } from '../../../src/exchange/service/views.ts';
import { anonymous, type Principal } from '../../../src/identity/domain/types.ts';
import { systemClock } from '../../../src/platform/clock.ts';
import { exchangeOf, t0 } from './hub-support.ts';

/** A socket that records what it was sent; the test moves `bufferedAmount` and completes writes. */
class FakeSocket implements HubSocket {
  bufferedAmount = 0;
  readonly sent: unknown[] = [];
  readonly pendingCallbacks: ((error?: Error) => void)[] = [];
  closedWith: { code: number; reason: string } | null = null;
  send(data: string, sent?: (error?: Error) => void): void {
    this.sent.push(JSON.parse(data));
    if (sent) this.pendingCallbacks.push(sent);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  /** The OS took everything: the buffer is empty and every write completed. */
  drain(): void {
    this.bufferedAmount = 0;
    for (const done of this.pendingCallbacks.splice(0)) done();
  }
}

const amzn: MarketInstrument = { symbol: 'AMZN', currency: 'USD', tickSize: '0.01', lotSize: 10 };

const exchange = () => exchangeOf(amzn);

function limit(orderId: number, side: 'buy' | 'sell', priceTicks: number, quantityLots: number) {
  return {
    type: 'new',
    orderId,
    account: `acct-${orderId}`,
    side,
    orderType: 'limit',
    priceTicks,
    quantityLots,
    timeInForce: 'GTC',
  } as const;
}

function channels(...names: string[]): Channel[] {
  return names.map((name) => parseChannel(name) as Channel);
}

describe('MarketDataHub fan-out', () => {
  it('given a seeded book, when a subscriber subscribes, then it gets subscribed, snapshots, then updates chained by prevSeq', () => {
    const ex = exchange();
    ex.run(limit(1, 'sell', 10_050, 3));
    const hub = new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    const socket = new FakeSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels('book.L2.AMZN', 'trades.AMZN', 'bbo.AMZN'));
    expect(socket.sent).toEqual([
      { type: 'subscribed', channels: ['book.L2.AMZN', 'trades.AMZN', 'bbo.AMZN'] },
      {
        type: 'snapshot',
        channel: 'book.L2.AMZN',
        seq: 1,
        data: { bids: [], asks: [{ price: '100.50', quantity: 30 }] },
      },
      { type: 'snapshot', channel: 'trades.AMZN', seq: 1, data: { trades: [] } },
      {
        type: 'snapshot',
        channel: 'bbo.AMZN',
        seq: 1,
        data: { bid: null, ask: { price: '100.50', quantity: 30 } },
      },
    ]);
    socket.sent.length = 0;
    hub.onSequenced(ex.run(limit(2, 'buy', 10_000, 1)));
    hub.onSequenced(ex.run(limit(3, 'buy', 10_060, 1)));
    expect(socket.sent).toEqual([
      {
        type: 'update',
        channel: 'book.L2.AMZN',
        seq: 2,
        prevSeq: 1,
        data: { changes: [{ side: 'buy', price: '100.00', quantity: 10 }] },
      },
      {
        type: 'update',
        channel: 'bbo.AMZN',
        seq: 2,
        prevSeq: 1,
        data: { bid: { price: '100.00', quantity: 10 }, ask: { price: '100.50', quantity: 30 } },
      },
      {
        type: 'update',
        channel: 'book.L2.AMZN',
        seq: 3,
        prevSeq: 2,
        data: { changes: [{ side: 'sell', price: '100.50', quantity: 20 }] },
      },
      {
        type: 'update',
        channel: 'bbo.AMZN',
        seq: 3,
        prevSeq: 2,
        data: { bid: { price: '100.00', quantity: 10 }, ask: { price: '100.50', quantity: 20 } },
      },
      {
        type: 'update',
        channel: 'trades.AMZN',
        seq: 3,
        prevSeq: 1,
        data: {
          trades: [
            {
              tradeId: '3-1',
              price: '100.50',
              quantity: 10,
              side: 'buy',
              time: new Date(t0 + 2_000).toISOString(),
              sequence: 3,
            },
          ],
        },
      },
    ]);
  });

  it('given a channel named twice or already subscribed, then its snapshot is sent once', () => {
    const ex = exchange();
    const hub = new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    const socket = new FakeSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels('bbo.AMZN', 'bbo.AMZN'));
    hub.subscribe(subscriber, channels('bbo.AMZN'));
    expect(socket.sent.map((m) => (m as { type: string }).type)).toEqual([
      'subscribed',
      'snapshot',
      'subscribed',
    ]);
  });

  it('given no subscribers, when commands arrive, then channel seqs still advance so a later snapshot chains', () => {
    const ex = exchange();
    const hub = new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    hub.onSequenced(ex.run(limit(1, 'sell', 10_050, 3)));
    hub.onSequenced(ex.run(limit(2, 'buy', 10_050, 1)));
    hub.onSequenced(ex.run(limit(3, 'sell', 10_070, 1)));
    const socket = new FakeSocket();
    hub.subscribe(hub.connect(socket), channels('trades.AMZN', 'book.L3.AMZN'));
    expect(socket.sent.slice(1).map((m) => (m as { seq: number }).seq)).toEqual([2, 3]);
    socket.sent.length = 0;
    hub.onSequenced(ex.run({ type: 'cancel', orderId: 3 }));
    expect(socket.sent).toEqual([
      {
        type: 'update',
        channel: 'book.L3.AMZN',
        seq: 4,
        prevSeq: 3,
        data: { changes: [{ action: 'delete', orderId: '3', side: 'sell', price: '100.70' }] },
      },
    ]);
  });

  it('given a socket over its high-water mark, then messages queue and go out as the socket drains', () => {
    const ex = exchange();
    const hub = new MarketDataHub({
      source: ex.source,
      metrics: new Registry(),
      startedAtMs: t0,
      sendBuffer: { socketHighWaterBytes: 100, sendBufferBytesMax: 100_000, sendQueueMessagesMax: 100 },
    });
    const socket = new FakeSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels('book.L2.AMZN'));
    socket.bufferedAmount = 500;
    for (let i = 1; i <= 5; i++) hub.onSequenced(ex.run(limit(i, 'buy', 10_000 - i, 1)));
    expect(socket.sent).toHaveLength(2);
    expect(subscriber.queuedMessages).toBe(5);
    socket.drain();
    expect(socket.sent).toHaveLength(7);
    expect(socket.sent.slice(2).map((m) => (m as { prevSeq: number }).prevSeq)).toEqual([0, 1, 2, 3, 4]);
    expect(socket.closedWith).toBeNull();
  });

  it('given a subscriber that never drains, when its buffer would overflow, then it is closed 1013 and publishing goes on', async () => {
    const ex = exchange();
    const metrics = new Registry();
    const hub = new MarketDataHub({
      source: ex.source,
      metrics,
      startedAtMs: t0,
      sendBuffer: { socketHighWaterBytes: 100, sendBufferBytesMax: 2_000, sendQueueMessagesMax: 1_000 },
    });
    const slow = new FakeSocket();
    const fast = new FakeSocket();
    const slowSubscriber = hub.connect(slow);
    hub.subscribe(slowSubscriber, channels('book.L2.AMZN'));
    hub.subscribe(hub.connect(fast), channels('book.L2.AMZN'));
    slow.bufferedAmount = 1_000;
    expect(hub.subscriberCount).toBe(2);
    for (let i = 1; i <= 40; i++) {
      hub.onSequenced(ex.run(limit(i, 'buy', 10_000 - i, 1)));
      fast.drain();
    }
    expect(slow.closedWith).toEqual(slowConsumerClose);
    expect(slowSubscriber.closed).toBe(true);
    expect(hub.subscriberCount).toBe(1);
    expect(fast.sent).toHaveLength(2 + 40);
    const text = await metrics.metrics();
    expect(text).toMatch(/kinyu_marketdata_slow_consumer_disconnects_total 1/);
    expect(text).toMatch(/kinyu_marketdata_subscribers 1/);
  });

  it('given a queue at its message limit, then the next message drops the subscriber', () => {
    const ex = exchange();
    const hub = new MarketDataHub({
      source: ex.source,
      metrics: new Registry(),
      startedAtMs: t0,
      sendBuffer: { socketHighWaterBytes: 1, sendBufferBytesMax: 1_000_000, sendQueueMessagesMax: 3 },
    });
    const socket = new FakeSocket();
    const subscriber = hub.connect(socket);
    socket.bufferedAmount = 10;
    expect([1, 2, 3].map(() => subscriber.send({ type: 'pong' }))).toEqual([true, true, true]);
    expect(subscriber.send({ type: 'pong' })).toBe(false);
    expect(socket.closedWith?.code).toBe(1013);
    expect(socket.sent).toEqual([]);
  });

  it('given trades, then candle channels publish the changed candle at every resolution', () => {
    const ex = exchange();
    const hub = new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    const socket = new FakeSocket();
    hub.subscribe(hub.connect(socket), channels('candles.1m.AMZN', 'candles.1d.AMZN'));
    hub.onSequenced(ex.run(limit(1, 'sell', 10_050, 3), t0 + 5_000));
    hub.onSequenced(ex.run(limit(2, 'buy', 10_050, 2), t0 + 6_000));
    const candle = {
      startTime: '',
      open: '100.50',
      high: '100.50',
      low: '100.50',
      close: '100.50',
      volume: '20',
    };
    expect(socket.sent.slice(3)).toEqual([
      {
        type: 'update',
        channel: 'candles.1m.AMZN',
        seq: 2,
        prevSeq: 0,
        data: { candles: [{ ...candle, startTime: new Date(t0).toISOString() }] },
      },
      {
        type: 'update',
        channel: 'candles.1d.AMZN',
        seq: 2,
        prevSeq: 0,
        data: { candles: [{ ...candle, startTime: '2026-01-05T00:00:00.000Z' }] },
      },
    ]);
  });
});

describe('MarketDataHub after a restart, seeded from the trade history', () => {
  // Restarted at 10:30; at 10:05 (before it) 5 lots traded at 100.00, in every resolution's bucket
  // in progress except 1m, 5m and 15m.
  const restartedAt = Date.UTC(2026, 0, 5, 10, 30);
  const earlier = {
    tradeId: '7-1',
    seq: 7,
    priceTicks: 10_000,
    quantityLots: 5,
    takerSide: 'buy' as const,
    timeMs: Date.UTC(2026, 0, 5, 10, 5),
  };
  const ohlcv = {
    openTicks: 10_000,
    highTicks: 10_000,
    lowTicks: 10_000,
    closeTicks: 10_000,
    volumeLots: 5n,
  };
  const seedOf = (lastSeq: number): MarketDataSeed => ({
    lastSeq,
    startedAtMs: restartedAt,
    candles: new Map([
      [
        'AMZN',
        {
          '1h': { startMs: Date.UTC(2026, 0, 5, 10), ...ohlcv },
          '1d': { startMs: Date.UTC(2026, 0, 5), ...ohlcv },
        },
      ],
    ]),
    trades: new Map([['AMZN', [earlier]]]),
  });

  it('given the bucket in progress and the tape from before, then snapshots and updates show them whole', () => {
    const ex = exchange();
    ex.run(limit(1, 'sell', 10_100, 3));
    const hub = new MarketDataHub({
      source: ex.source,
      metrics: new Registry(),
      startedAtMs: restartedAt,
      seed: seedOf(ex.source.lastSeq),
    });
    // At 10:40 one lot trades at 101.00.
    hub.onSequenced(ex.run(limit(2, 'buy', 10_100, 1), Date.UTC(2026, 0, 5, 10, 40)));
    const socket = new FakeSocket();
    hub.subscribe(hub.connect(socket), channels('candles.1d.AMZN', 'candles.1m.AMZN', 'trades.AMZN'));

    const day = { startTime: '2026-01-05T00:00:00.000Z', open: '100.00', high: '101.00', low: '100.00' };
    expect(socket.sent.slice(1)).toEqual([
      {
        type: 'snapshot',
        channel: 'candles.1d.AMZN',
        seq: 2,
        data: { candles: [{ ...day, close: '101.00', volume: '60' }] },
      },
      {
        type: 'snapshot',
        channel: 'candles.1m.AMZN',
        seq: 2,
        data: {
          candles: [
            {
              startTime: '2026-01-05T10:40:00.000Z',
              open: '101.00',
              high: '101.00',
              low: '101.00',
              close: '101.00',
              volume: '10',
            },
          ],
        },
      },
      {
        type: 'snapshot',
        channel: 'trades.AMZN',
        seq: 2,
        data: {
          trades: [
            expect.objectContaining({ tradeId: '2-1', price: '101.00' }),
            expect.objectContaining({ tradeId: '7-1', price: '100.00', quantity: 50 }),
          ],
        },
      },
    ]);
    socket.sent.length = 0;
    hub.onSequenced(ex.run(limit(3, 'buy', 10_100, 2), Date.UTC(2026, 0, 5, 10, 41)));
    expect(socket.sent.find((m) => (m as { channel: string }).channel === 'candles.1d.AMZN')).toMatchObject({
      channel: 'candles.1d.AMZN',
      data: { candles: [{ ...day, close: '101.00', volume: '80' }] },
    });
    // The seeded bucket is whole, so REST candles take it from the ring.
    const { market } = hub.market('AMZN')!;
    expect(market.candles.series['1d'].completeFromMs).toBe(Date.UTC(2026, 0, 5));
    expect(market.candles.series['1m'].completeFromMs).toBe(restartedAt);
  });

  it('given a seed read at another seq than the books, then the hub refuses to start', () => {
    const ex = exchange();
    ex.run(limit(1, 'sell', 10_100, 3));
    expect(
      () =>
        new MarketDataHub({
          source: ex.source,
          metrics: new Registry(),
          startedAtMs: restartedAt,
          seed: seedOf(0),
        }),
    ).toThrow(/seed read at seq 0/);
  });
});

describe('a replica that no longer matches the book', () => {
  it('given an event the replica cannot apply, then its symbol closes its subscribers, is refused from then on and publishes nothing more', () => {
    const ex = exchange();
    ex.run(limit(1, 'sell', 10_050, 3));
    // A replica seeded without order 1, as a bug would leave it.
    const source = { ...ex.source, book: () => ({ l3: () => ({ bids: [], asks: [] }) }) };
    const hub = new MarketDataHub({ source, metrics: new Registry(), startedAtMs: t0 });
    const socket = new FakeSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels('book.L2.AMZN', 'trades.AMZN'));

    expect(() => hub.onSequenced(ex.run({ type: 'cancel', orderId: 1 }))).toThrow(/does not rest/);

    expect(socket.closedWith).toEqual(marketDataFailedClose);
    expect(subscriber.closed).toBe(true);
    expect(hub.subscriberCount).toBe(0);
    expect(() => hub.market('AMZN')).toThrow(expect.objectContaining({ code: 'service_unavailable' }));
    const { socket: later, send } = wsSession(hub);
    send({ op: 'subscribe', channels: ['bbo.AMZN'] });
    expect(later.sent).toEqual([
      { type: 'error', problem: expect.objectContaining({ code: 'service_unavailable', status: 503 }) },
    ]);
    // Later commands of the symbol are skipped, not folded into the diverged copy.
    expect(() => hub.onSequenced(ex.run(limit(2, 'buy', 10_000, 1)))).not.toThrow();
    expect(hub.lastSeq).toBe(3);
  });
});

describe('an update or snapshot that cannot be built', () => {
  // A lot size no listed instrument may have (the service caps order shares so that book totals stay
  // safe integers); here it makes a level of 8 lots overflow 2^53 shares, as a bug would.
  const huge: MarketInstrument = { symbol: 'AMZN', currency: 'USD', tickSize: '0.01', lotSize: 2 ** 50 };
  function hugeExchange() {
    const ex = exchange();
    return { ...ex, source: { ...ex.source, instrument: () => huge, instruments: () => [huge] } };
  }

  it("given one channel's update overflows, then the command's other channels still publish and onSequenced throws for the service to log", () => {
    const ex = hugeExchange();
    const hub = new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    const socket = new FakeSocket();
    hub.subscribe(hub.connect(socket), channels('book.L2.AMZN', 'book.L3.AMZN'));
    hub.onSequenced(ex.run(limit(1, 'sell', 10_050, 4)));
    socket.sent.length = 0;

    expect(() => hub.onSequenced(ex.run(limit(2, 'sell', 10_050, 4)))).toThrow(/overflows/);

    expect(socket.sent).toEqual([
      expect.objectContaining({ type: 'update', channel: 'book.L3.AMZN', seq: 2, prevSeq: 1 }),
    ]);
    // The L2 channel's seq moved on without an update: the next one shows the gap (prevSeq 2).
    hub.onSequenced(ex.run({ type: 'cancel', orderId: 2 }));
    expect(socket.sent.at(-2)).toMatchObject({ channel: 'book.L2.AMZN', seq: 3, prevSeq: 2 });
  });

  it('given a snapshot overflows, when a WebSocket subscribes, then it gets internal_error naming the channel, the channel is not joined and the session goes on', () => {
    const ex = hugeExchange();
    ex.run(limit(1, 'sell', 10_050, 4));
    ex.run(limit(2, 'sell', 10_050, 4));
    const hub = new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    const { socket, session, send, logged } = wsSession(hub);

    expect(() => send({ op: 'subscribe', channels: ['book.L2.AMZN'] })).not.toThrow();
    send({ op: 'ping' });

    expect(socket.sent).toEqual([
      { type: 'subscribed', channels: ['book.L2.AMZN'] },
      {
        type: 'error',
        channel: 'book.L2.AMZN',
        problem: expect.objectContaining({ code: 'internal_error' }),
      },
      { type: 'pong' },
    ]);
    expect(logged).toHaveLength(1);
    expect(session.subscriber.channels.size).toBe(0);
  });
});

/** A WsSession on a FakeSocket; order operations resolve when the test says so. */
function wsSession(hub: MarketDataHub, principal: Principal = anonymous) {
  const socket = new FakeSocket();
  const logged: unknown[] = [];
  const placing: Array<(order: unknown) => void> = [];
  const keyChecks: Array<(principal: Principal) => void> = [];
  const session = new WsSession(socket, principal, {
    hub,
    orders: {
      placeOrder: (_member, input) => new Promise((resolve) => placing.push(() => resolve(input))),
      cancelOrder: async () => ({}),
      replaceOrder: async () => ({}),
    },
    authenticateApiKey: () => new Promise((resolve) => keyChecks.push(resolve)),
    clock: systemClock,
    limits: webSocketLimits,
    logError: (error) => logged.push(error),
  });
  const send = (message: unknown) => session.receive(Buffer.from(JSON.stringify(message)), false);
  return { socket, session, send, logged, placing, keyChecks };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('WebSocket answers', () => {
  const member: Principal = { kind: 'member', memberId: 'm1', roles: ['member'], apiKeyName: 'k' };
  const order = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '100.00', quantity: 1 };
  const hub = () =>
    new MarketDataHub({ source: exchange().source, metrics: new Registry(), startedAtMs: t0 });

  it('given an order still pending, when a later order message is refused, then its error waits its turn', async () => {
    const { socket, send, placing } = wsSession(hub(), member);
    send({ op: 'order.new', id: 'r1', order });
    send({ op: 'order.new', id: 'r2', order: { ...order, quantity: '1' } });
    send({ op: 'order.new', id: 'r3', order });
    await settle();
    expect(socket.sent).toEqual([]);

    placing[1]!(null);
    await settle();
    expect(socket.sent).toEqual([]);
    placing[0]!(null);
    await settle();

    expect(socket.sent.map((m) => [(m as { type: string }).type, (m as { id: string }).id])).toEqual([
      ['order', 'r1'],
      ['error', 'r2'],
      ['order', 'r3'],
    ]);
  });

  it('given a message refused for a float or a repeated key, then its error carries its id, in its turn', async () => {
    const { socket, session, send, placing } = wsSession(hub(), member);
    send({ op: 'order.new', id: 'r1', order });
    const orderJson = JSON.stringify(order);
    for (const text of [
      `{"op":"order.new","id":"r2","order":${orderJson.replace('"100.00"', '100.5')}}`,
      `{"op":"order.new","id":"r3","order":${orderJson},"order":${orderJson}}`,
      '{"op":"order.new","id":"r4","order":',
    ]) {
      session.receive(Buffer.from(text), false);
    }
    await settle();
    placing[0]!(null);
    await settle();
    expect(socket.sent.map((m) => [(m as { type: string }).type, (m as { id?: string }).id ?? null])).toEqual(
      [
        // Not JSON: no id to read, so its error goes out at once.
        ['error', null],
        ['order', 'r1'],
        ['error', 'r2'],
        ['error', 'r3'],
      ],
    );
  });

  it('checks one auth message at a time: another while one is checked is refused with conflict', async () => {
    const { socket, send, keyChecks } = wsSession(hub());
    send({ op: 'auth', apiKey: 'kyu_first' });
    send({ op: 'auth', apiKey: 'kyu_second' });
    expect(keyChecks).toHaveLength(1);
    expect(socket.sent).toEqual([{ type: 'error', problem: expect.objectContaining({ code: 'conflict' }) }]);

    keyChecks[0]!(member);
    await settle();
    send({ op: 'auth', apiKey: 'kyu_third' });
    expect(keyChecks).toHaveLength(2);
    expect(socket.sent.at(-1)).toEqual({ type: 'auth', member: 'm1' });
  });
});

describe('Units', () => {
  it('writes prices as order views do: the tick’s decimals, at least the currency’s', () => {
    const cases = [
      { currency: 'USD', tickSize: '0.5', ticks: 201, price: '100.50' },
      { currency: 'USD', tickSize: '0.0001', ticks: 1_000_005, price: '100.0005' },
      { currency: 'JPY', tickSize: '1', ticks: 2_800, price: '2800' },
      { currency: 'JPY', tickSize: '0.1', ticks: 28_001, price: '2800.1' },
    ];
    for (const { currency, tickSize, ticks, price } of cases) {
      const instrument = { symbol: 'X', name: 'X', currency, tickSize, lotSize: 1 };
      const units = new Units(instrument);
      expect(units.price(ticks)).toBe(price);
      expect(units.level({ priceTicks: ticks, quantityLots: 3 })).toEqual({ price, quantity: 3 });
      expect(priceFromTicks(instrument, ticks)).toBe(price);
    }
  });
});
