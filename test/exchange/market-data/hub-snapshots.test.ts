import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type Channel, parseChannel } from '../../../src/exchange/market-data/channels.ts';
import { marketDataErrors } from '../../../src/exchange/market-data/errors.ts';
import {
  type HubSocket,
  l3Data,
  MarketDataHub,
  type MarketDataSource,
  type Subscriber,
} from '../../../src/exchange/market-data/hub.ts';
import { marketDataLimits, webSocketLimits } from '../../../src/exchange/market-data/limits.ts';
import type { MarketInstrument } from '../../../src/exchange/market-data/views.ts';
import { matchingLimits } from '../../../src/exchange/matching/index.ts';
import { sequencerLimits } from '../../../src/exchange/sequencer/index.ts';
import { exchangeServiceLimits } from '../../../src/exchange/service/limits.ts';
import { registerErrors } from '../../../src/platform/errors.ts';
import { RateWindow } from '../../../src/platform/rate-window.ts';
import { exchangesOf, fillBooks, t0 } from './hub-support.ts';

/*
 * Snapshots of deep books against a connection's bounded send buffer, with the shipped limits
 * (4 MiB per connection, 256 KiB high-water mark) and books deeper than a snapshot (more than
 * l3OrdersMax orders per side), so that each book.L3 snapshot is about 1 MB of JSON.
 */

interface Message {
  type: string;
  channel?: string;
  seq?: number;
  prevSeq?: number;
  data?: { bids: { orderId: string }[]; asks: unknown[]; truncated?: true };
  problem?: { code: string; status: number; detail: string };
}

/**
 * A socket as `ws` shows it to the hub before its client has read: every frame sent stays in
 * `bufferedAmount` (ws counts what the OS has not taken) and its write completes only when the
 * client reads. `read()` is a prompt reader: it takes everything sent so far, and the writes
 * complete (the hub may then send more, which waits for the next read).
 */
class WireSocket implements HubSocket {
  bufferedAmount = 0;
  readonly received: Message[] = [];
  closedWith: { code: number; reason: string } | null = null;
  #unread: { data: string; sent: ((error?: Error) => void) | undefined }[] = [];

  send(data: string, sent?: (error?: Error) => void): void {
    this.bufferedAmount += Buffer.byteLength(data);
    this.#unread.push({ data, sent });
  }

  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }

  get unread(): number {
    return this.#unread.length;
  }

  read(): void {
    const frames = this.#unread;
    this.#unread = [];
    this.bufferedAmount = 0;
    for (const frame of frames) this.received.push(JSON.parse(frame.data) as Message);
    for (const frame of frames) frame.sent?.();
  }

  /** Reads until nothing more comes; returns the most the socket and queue ever held meanwhile. */
  readAll(subscriber: Subscriber): number {
    let mostBuffered = subscriber.bufferedBytes;
    while (this.unread > 0) {
      this.read();
      mostBuffered = Math.max(mostBuffered, subscriber.bufferedBytes);
    }
    return mostBuffered;
  }
}

const symbols = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH', 'III', 'JJJ'];
const instrument = (symbol: string): MarketInstrument => ({
  symbol,
  currency: 'USD',
  tickSize: '0.01',
  lotSize: 1,
});
const perSide = marketDataLimits.l3OrdersMax + 1;

function channels(...names: string[]): Channel[] {
  return names.map((name) => parseChannel(name) as Channel);
}

function bid(orderId: number, priceTicks: number) {
  return {
    type: 'new',
    orderId,
    account: 'b',
    side: 'buy',
    orderType: 'limit',
    priceTicks,
    quantityLots: 7,
    timeInForce: 'GTC',
  } as const;
}

describe('snapshots of deep books and the send buffer', () => {
  let exchange: ReturnType<typeof exchangesOf>;
  let nextOrderId = 2 * perSide;
  const hubOf = (source: MarketDataSource = exchange.source, sendBuffer = {}) =>
    new MarketDataHub({ source, metrics: new Registry(), startedAtMs: t0, sendBuffer });

  beforeAll(() => {
    registerErrors(marketDataErrors);
    exchange = exchangesOf(symbols.map(instrument));
    fillBooks(exchange, perSide);
  });

  it('given one subscribe naming ten deep L3 books (2.4 times the buffer), then a client that reads gets every snapshot and is never dropped', () => {
    const hub = hubOf();
    const socket = new WireSocket();
    const subscriber = hub.connect(socket);
    const names = symbols.map((s) => `book.L3.${s}`);

    hub.subscribe(subscriber, channels(...names));

    // Before the client has read a byte: one snapshot is out, the other nine wait for the socket.
    expect(socket.closedWith).toBeNull();
    expect(subscriber.awaitedSnapshots).toBe(9);
    // Meanwhile a joined channel gets its updates; an awaited one gets none before its snapshot.
    // Both orders are the new best bid, so the (cut) snapshots would show them.
    const awaitedOrderId = ++nextOrderId;
    const onAwaited = exchange.run('BBB', bid(awaitedOrderId, 22_050));
    hub.onSequenced(onAwaited);
    const onJoined = exchange.run('AAA', bid(++nextOrderId, 22_050));
    hub.onSequenced(onJoined);

    const mostBuffered = socket.readAll(subscriber);

    expect(socket.closedWith).toBeNull();
    const snapshots = socket.received.filter((m) => m.type === 'snapshot');
    expect(snapshots.map((m) => m.channel)).toEqual(names);
    let bytes = 0;
    for (const snapshot of snapshots) {
      expect(snapshot.data?.bids).toHaveLength(marketDataLimits.l3OrdersMax);
      expect(snapshot.data?.truncated).toBe(true);
      bytes += JSON.stringify(snapshot).length;
    }
    expect(bytes).toBeGreaterThan(2.4 * webSocketLimits.sendBufferBytesMax);
    // The buffer never held more than the high-water mark plus one snapshot.
    expect(mostBuffered).toBeLessThan(webSocketLimits.socketHighWaterBytes + bytes / names.length + 50_000);

    // No update of a channel before its snapshot; each chains to it.
    const seen = new Map<string, number>();
    for (const message of socket.received.slice(1)) {
      if (message.type === 'snapshot') seen.set(message.channel!, message.seq!);
      else {
        expect(message).toMatchObject({ type: 'update', prevSeq: seen.get(message.channel!) });
        seen.set(message.channel!, message.seq!);
      }
    }
    expect(socket.received.filter((m) => m.type === 'update').map((m) => m.channel)).toEqual(['book.L3.AAA']);
    // BBB's snapshot was taken after its command: it shows the order, at that seq.
    expect(snapshots[1]).toMatchObject({ channel: 'book.L3.BBB', seq: onAwaited.seq });
    expect(snapshots[1]!.data!.bids[0]).toMatchObject({ orderId: String(awaitedOrderId) });
    const later = exchange.run('BBB', { type: 'cancel', orderId: awaitedOrderId });
    hub.onSequenced(later);
    socket.read();
    expect(socket.received.at(-1)).toMatchObject({
      type: 'update',
      channel: 'book.L3.BBB',
      seq: later.seq,
      prevSeq: onAwaited.seq,
    });
  });

  it('given a channel unsubscribed while its snapshot waits, then neither its snapshot nor its updates come', () => {
    const hub = hubOf();
    const socket = new WireSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels('book.L3.AAA', 'book.L3.BBB', 'book.L3.CCC'));
    hub.unsubscribe(subscriber, ['book.L3.BBB']);
    hub.onSequenced(exchange.run('BBB', bid(++nextOrderId, 21_000)));

    socket.readAll(subscriber);

    expect(socket.received.filter((m) => m.type !== 'subscribed').map((m) => m.channel)).toEqual([
      'book.L3.AAA',
      'book.L3.CCC',
    ]);
    expect([...subscriber.channels]).toEqual(['book.L3.AAA', 'book.L3.CCC']);
    expect(socket.closedWith).toBeNull();
  });

  it('given a snapshot larger than the whole send buffer, then that channel is refused with snapshot_too_large naming it and the others are served', () => {
    const hub = hubOf(exchange.source, { sendBufferBytesMax: 500_000 });
    const socket = new WireSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels('bbo.AAA', 'book.L3.AAA', 'book.L2.AAA'));

    socket.readAll(subscriber);

    expect(socket.closedWith).toBeNull();
    expect(socket.received.map((m) => [m.type, m.channel])).toEqual([
      ['subscribed', undefined],
      ['snapshot', 'bbo.AAA'],
      ['error', 'book.L3.AAA'],
      ['snapshot', 'book.L2.AAA'],
    ]);
    expect(socket.received[2]!.problem).toMatchObject({ code: 'snapshot_too_large', status: 422 });
    expect(socket.received[2]!.problem!.detail).toMatch(/^The book\.L3\.AAA snapshot is \d+ bytes/);
    expect([...subscriber.channels]).toEqual(['bbo.AAA', 'book.L2.AAA']);
    // Nothing of the refused channel follows.
    hub.onSequenced(exchange.run('AAA', bid(++nextOrderId, 21_000)));
    socket.read();
    expect(socket.received.slice(4).map((m) => m.channel)).toEqual(['book.L2.AAA']);
  });

  it('given the symbol’s market data fails while its snapshot waits, then that channel is refused with service_unavailable naming it and the connection stays', () => {
    // BBB's replica is seeded without its first order, as a bug would leave it.
    const source: MarketDataSource = {
      ...exchange.source,
      instruments: exchange.source.instruments,
      book: (symbol) => {
        const book = exchange.source.book(symbol);
        if (symbol !== 'BBB' || !book) return book;
        return {
          l3: (max) => {
            const orders = book.l3(max);
            return { bids: orders.bids.filter((o) => o.orderId !== 1), asks: orders.asks };
          },
        };
      },
      get lastSeq() {
        return exchange.source.lastSeq;
      },
    };
    const hub = hubOf(source);
    const socket = new WireSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels('book.L3.AAA', 'book.L3.BBB'));
    expect(() => hub.onSequenced(exchange.run('BBB', { type: 'cancel', orderId: 1 }))).toThrow(
      /does not rest/,
    );

    socket.readAll(subscriber);

    expect(socket.closedWith).toBeNull();
    expect(socket.received.at(-1)).toMatchObject({
      type: 'error',
      channel: 'book.L3.BBB',
      problem: { code: 'service_unavailable', status: 503 },
    });
    expect([...subscriber.channels]).toEqual(['book.L3.AAA']);
  });
});

describe('the largest snapshot', () => {
  it('fits below the high-water mark with about 2 MiB of the send buffer to spare', () => {
    // The longest JSON every field can have: a 32-character symbol, 16-digit seq and order ids,
    // 29-character prices (a tick of 9999999.99999999 at -10^12 ticks) and 10-digit quantities.
    const symbol = 'W'.repeat(sequencerLimits.symbolLengthMax);
    const exchange = exchangesOf(
      [{ symbol, currency: 'USD', tickSize: '9999999.99999999', lotSize: 1 }],
      Number.MAX_SAFE_INTEGER - 3 * perSide,
    );
    let orderId = Number.MAX_SAFE_INTEGER - 2 * perSide;
    for (const side of ['buy', 'sell'] as const) {
      for (let i = 0; i < perSide; i++) {
        const priceTicks = -matchingLimits.priceTicksMax + (side === 'buy' ? i : perSide + i);
        exchange.run(symbol, {
          type: 'new',
          orderId: orderId++,
          account: 'a',
          side,
          orderType: 'limit',
          priceTicks,
          quantityLots: matchingLimits.quantityLotsMax,
          timeInForce: 'GTC',
        });
      }
    }
    expect(String(matchingLimits.quantityLotsMax).length).toBe(
      String(exchangeServiceLimits.orderSharesMax).length,
    );
    const hub = new MarketDataHub({ source: exchange.source, metrics: new Registry(), startedAtMs: t0 });
    const socket = new WireSocket();
    hub.subscribe(hub.connect(socket), channels(`book.L3.${symbol}`));
    socket.read();
    const snapshot = socket.received[1]!;
    expect(snapshot).toMatchObject({ type: 'snapshot', data: { truncated: true } });
    const longest = {
      orderId: expect.stringMatching(/^\d{16}$/),
      price: expect.stringMatching(/^-\d{19}\.\d{8}$/),
      quantity: matchingLimits.quantityLotsMax,
    };
    expect(snapshot.data?.bids.at(-1)).toEqual(longest);
    expect(snapshot.data?.asks[0]).toEqual(longest);
    expect(String(snapshot.seq)).toHaveLength(16);
    const snapshotBytes = Buffer.byteLength(JSON.stringify(snapshot));
    // The figures in docs/exchange-market-data.md.
    expect(snapshotBytes).toBeLessThan(1_870_000);
    const spare = webSocketLimits.sendBufferBytesMax - webSocketLimits.socketHighWaterBytes - snapshotBytes;
    expect(spare).toBeGreaterThan(1.9 * 1_048_576);
    // A kept snapshot goes out with at most half its size of updates after it: that fits too.
    expect(spare - snapshotBytes / 2).toBeGreaterThan(1_048_576);
  });
});

describe('book.L3 snapshots kept for later subscribers', () => {
  const symbol = 'KKK';
  type Change = { action: string; orderId: string; side: string; price: string; quantity?: number };
  type Order = { orderId: string; price: string; quantity: number };

  /** A book of `perSide` orders a side (under the cap), a hub on it, and a spy on its L3 builds. */
  function setUp(perSide: number) {
    const exchange = exchangesOf([instrument(symbol)]);
    fillBooks(exchange, perSide, 10);
    const hub = new MarketDataHub({ source: exchange.source, metrics: new Registry(), startedAtMs: t0 });
    const builds = vi.spyOn(hub.market(symbol)!.market.book, 'l3');
    let orderId = 2 * perSide;
    /** Folds a few commands that change the L3 book: a new order, a partial fill, a cancel. */
    const churn = () => {
      for (const command of [
        { ...bid(++orderId, 21_995), account: 'c' },
        { ...bid(++orderId, 22_100), account: 'c', orderType: 'limit', timeInForce: 'IOC', quantityLots: 3 },
        { type: 'cancel', orderId: orderId - 1 },
      ] as const) {
        hub.onSequenced(exchange.run(symbol, command));
      }
    };
    return { hub, builds, churn };
  }

  /** What a client holds after a snapshot and the updates that follow it (adds join the back of their price). */
  function clientBook(messages: Message[]): { bids: Order[]; asks: Order[] } {
    const snapshot = messages.find((m) => m.type === 'snapshot')!;
    const orders = new Map<string, Order & { side: string }>();
    for (const side of ['bids', 'asks'] as const) {
      const list = snapshot.data![side] as Order[];
      for (const order of list)
        orders.set(order.orderId, { ...order, side: side === 'bids' ? 'buy' : 'sell' });
    }
    for (const message of messages.filter((m) => m.type === 'update')) {
      for (const change of (message.data as unknown as { changes: Change[] }).changes) {
        if (change.action === 'delete') orders.delete(change.orderId);
        else if (change.action === 'add')
          orders.set(change.orderId, { ...change, quantity: change.quantity! });
        else orders.get(change.orderId)!.quantity = change.quantity!;
      }
    }
    const ticks = (order: Order) => Number(order.price.replace('.', ''));
    const side = (name: string, direction: number) =>
      [...orders.values()]
        .filter((o) => o.side === name)
        .sort((a, b) => direction * (ticks(b) - ticks(a)))
        .map(({ orderId, price, quantity }) => ({ orderId, price, quantity }));
    return { bids: side('buy', 1), asks: side('sell', -1) };
  }

  function subscribeAndRead(hub: MarketDataHub): Message[] {
    const socket = new WireSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels(`book.L3.${symbol}`));
    socket.readAll(subscriber);
    hub.unsubscribe(subscriber, [`book.L3.${symbol}`]);
    return socket.received.filter((m) => m.channel === `book.L3.${symbol}`);
  }

  beforeAll(() => registerErrors(marketDataErrors));

  it('given a book that does not change, when clients subscribe and unsubscribe in a loop, then the snapshot is built once', () => {
    const { hub, builds } = setUp(2_000);
    const first = subscribeAndRead(hub);
    for (let i = 0; i < 20; i++) expect(subscribeAndRead(hub)).toEqual(first);
    expect(first.map((m) => m.type)).toEqual(['snapshot']);
    expect(builds).toHaveBeenCalledTimes(1);
  });

  it('given a kept snapshot and changes since, then a later subscriber gets it and every update since, chained, and holds the book a fresh snapshot shows', () => {
    const { hub, builds, churn } = setUp(200);
    const first = subscribeAndRead(hub);
    for (let i = 0; i < 5; i++) churn();

    const later = subscribeAndRead(hub);

    expect(builds).toHaveBeenCalledTimes(1);
    expect(later[0]).toEqual(first[0]);
    expect(later.length).toBeGreaterThan(10);
    for (let i = 1; i < later.length; i++) {
      expect(later[i]).toMatchObject({ type: 'update', prevSeq: later[i - 1]!.seq });
    }
    const { market, units } = hub.market(symbol)!;
    expect(later.at(-1)!.seq).toBe(market.channelSeq(`book.L3.${symbol}`));
    const fresh = l3Data(market, units);
    expect(clientBook(later)).toEqual({ bids: fresh.bids, asks: fresh.asks });
    // Live updates go on from the last one sent.
    const socket = new WireSocket();
    const subscriber = hub.connect(socket);
    hub.subscribe(subscriber, channels(`book.L3.${symbol}`));
    socket.readAll(subscriber);
    churn();
    socket.read();
    const sent = socket.received.filter((m) => m.channel === `book.L3.${symbol}`);
    expect(sent.at(-3)).toMatchObject({ type: 'update', prevSeq: later.at(-1)!.seq });
  });

  it('given a cut book, then its kept snapshot serves while no order on a cut side goes, and a resubscribe after one goes shows what a new snapshot shows', () => {
    const exchange = exchangesOf([instrument(symbol)]);
    fillBooks(exchange, marketDataLimits.l3OrdersMax + 500, 100);
    const hub = new MarketDataHub({ source: exchange.source, metrics: new Registry(), startedAtMs: t0 });
    const builds = vi.spyOn(hub.market(symbol)!.market.book, 'l3');
    const first = subscribeAndRead(hub);
    expect(first[0]!.data).toMatchObject({ truncated: true });

    // An order joins past the cut: a new snapshot would show the same orders.
    hub.onSequenced(exchange.run(symbol, bid(900_001, 1_000)));
    const served = subscribeAndRead(hub);
    expect(builds).toHaveBeenCalledTimes(1);
    expect(served[0]).toEqual(first[0]);

    // The best bid goes: the first order past the cut now belongs in the view.
    const best = (first[0]!.data!.bids as Order[])[0]!;
    hub.onSequenced(exchange.run(symbol, { type: 'cancel', orderId: Number(best.orderId) }));
    const later = subscribeAndRead(hub);

    expect(builds).toHaveBeenCalledTimes(2);
    expect(later.map((m) => m.type)).toEqual(['snapshot']);
    const { market, units } = hub.market(symbol)!;
    const fresh = l3Data(market, units);
    expect(later[0]!.data).toEqual(fresh);
    expect(clientBook(later)).toEqual({ bids: fresh.bids, asks: fresh.asks });
  });

  it('given a per-client allowance of new L3 snapshots, then builds past it are refused rate_limited for that channel, kept ones are not counted, and the next window allows again', () => {
    const exchange = exchangesOf([instrument(symbol)]);
    fillBooks(exchange, marketDataLimits.l3OrdersMax + 50, 100);
    let nowMs = t0;
    const hub = new MarketDataHub({
      source: exchange.source,
      metrics: new Registry(),
      startedAtMs: t0,
      l3SnapshotBuilds: new RateWindow({ max: 2, windowMs: 60_000, now: () => nowMs }),
    });
    let nextBest = 1;
    /** Removes the best bid: the kept snapshot of the cut book no longer serves. */
    const removeBest = () => hub.onSequenced(exchange.run(symbol, { type: 'cancel', orderId: nextBest++ }));
    const subscribeAs = (client: string) => {
      const socket = new WireSocket();
      const subscriber = hub.connect(socket, undefined, client);
      hub.subscribe(subscriber, channels(`book.L3.${symbol}`));
      socket.readAll(subscriber);
      hub.unsubscribe(subscriber, [`book.L3.${symbol}`]);
      return socket.received.find((m) => m.channel === `book.L3.${symbol}`)!;
    };

    expect(subscribeAs('ip:a').type).toBe('snapshot');
    expect(subscribeAs('ip:a').type).toBe('snapshot'); // kept: not a build
    removeBest();
    expect(subscribeAs('ip:a').type).toBe('snapshot');
    removeBest();
    const refused = subscribeAs('ip:a');
    expect(refused).toMatchObject({ type: 'error', problem: { code: 'rate_limited', status: 429 } });
    expect(refused.problem!.detail).toMatch(/^At most 2 new book\.L3 snapshots per 60 s for one client/);
    // Another client has its own allowance; and what it built is kept for the first one.
    expect(subscribeAs('ip:b').type).toBe('snapshot');
    expect(subscribeAs('ip:a').type).toBe('snapshot');
    removeBest();
    expect(subscribeAs('ip:a').type).toBe('error');
    nowMs += 60_000;
    expect(subscribeAs('ip:a').type).toBe('snapshot');
  });

  it('given kept snapshots of more symbols than l3KeptBytesMax holds, then the oldest are dropped and rebuilt for their next subscriber', () => {
    const names = ['LLL', 'MMM', 'NNN'];
    const exchange = exchangesOf(names.map(instrument));
    fillBooks(exchange, 300, 10);
    const probe = new MarketDataHub({ source: exchange.source, metrics: new Registry(), startedAtMs: t0 });
    const socket = new WireSocket();
    probe.subscribe(probe.connect(socket), channels('book.L3.LLL'));
    socket.read();
    const snapshotBytes = Buffer.byteLength(JSON.stringify(socket.received[1]));
    // Room for two of the three snapshots.
    const hub = new MarketDataHub({
      source: exchange.source,
      metrics: new Registry(),
      startedAtMs: t0,
      l3KeptBytesMax: Math.floor(2.5 * snapshotBytes),
    });
    const builds = names.map((name) => vi.spyOn(hub.market(name)!.market.book, 'l3'));
    const subscribeTo = (name: string) => {
      const reader = new WireSocket();
      const subscriber = hub.connect(reader);
      hub.subscribe(subscriber, channels(`book.L3.${name}`));
      reader.readAll(subscriber);
      hub.unsubscribe(subscriber, [`book.L3.${name}`]);
    };

    for (const name of names) subscribeTo(name);
    for (const name of [...names].reverse()) subscribeTo(name);

    // LLL was dropped when NNN was kept; MMM and NNN were served from what was kept.
    expect(builds.map((spy) => spy.mock.calls.length)).toEqual([2, 1, 1]);
  });

  it('given more updates since the kept snapshot than half its size (64 KiB at least), then the next subscriber gets a new snapshot at the current seq', () => {
    const { hub, builds, churn } = setUp(200);
    const first = subscribeAndRead(hub);
    const keptBytes = () => Buffer.byteLength(JSON.stringify(first[0]));
    expect(keptBytes() / 2).toBeLessThan(marketDataLimits.l3CatchUpBytesMin);
    let updateBytes = 0;
    const watcher = new WireSocket();
    hub.subscribe(hub.connect(watcher), channels(`book.L3.${symbol}`));
    while (updateBytes <= marketDataLimits.l3CatchUpBytesMin) {
      churn();
      watcher.read();
      updateBytes = watcher.received
        .filter((m) => m.type === 'update')
        .reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0);
    }

    const later = subscribeAndRead(hub);

    expect(builds).toHaveBeenCalledTimes(2);
    expect(later.map((m) => m.type)).toEqual(['snapshot']);
    expect(later[0]!.seq).toBe(hub.market(symbol)!.market.channelSeq(`book.L3.${symbol}`));
  });
});
