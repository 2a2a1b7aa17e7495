import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { marketDataRoutes } from '../../../src/exchange/http/market-data.ts';
import { exchangeWebSocket } from '../../../src/exchange/http/ws.ts';
import { MarketDataHub } from '../../../src/exchange/market-data/hub.ts';
import { marketDataLimits, webSocketLimits } from '../../../src/exchange/market-data/limits.ts';
import type { MarketInstrument } from '../../../src/exchange/market-data/views.ts';
import type { WsOrderInput } from '../../../src/exchange/market-data/ws-protocol.ts';
import type { OrderOperations } from '../../../src/exchange/market-data/ws-session.ts';
import { Sequencer, type UnsequencedCommand } from '../../../src/exchange/sequencer/index.ts';
import { anonymous } from '../../../src/identity/domain/types.ts';
import { systemClock } from '../../../src/platform/clock.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { type App, buildApp } from '../../../src/platform/http/app.ts';
import { parseDecimal } from '../../../src/platform/money.ts';
import { createTestIdentity, createUser } from '../../identity/support.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { exchangesOf, fillBooks } from '../market-data/hub-support.ts';

/*
 * The WebSocket through a real server and a real `ws` client. Matching is never faked: a real
 * Sequencer (temp dir) runs the commands and the hub gets its real durable results. The order
 * operations below are a thin adapter from the protocol to the sequencer (the exchange service
 * does this in production); only its answer shape is simplified.
 */

const amzn: MarketInstrument = { symbol: 'AMZN', currency: 'USD', tickSize: '0.01', lotSize: 1 };
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kinyu-ws-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Exchange {
  sequencer: Sequencer;
  hub: MarketDataHub;
  submit(command: UnsequencedCommand, member?: string): Promise<number>;
}

async function openExchange(
  dir: string,
  sendBuffer?: ConstructorParameters<typeof MarketDataHub>[0]['sendBuffer'],
): Promise<Exchange> {
  const sequencer = await Sequencer.open(dir, { durability: 'batch', snapshotEveryCommands: 0 });
  // A resting order from before market data started: the hub must seed it from the live book.
  await sequencer.submit('AMZN', limit('sell', 10_100, 5), { time: Date.now(), member: 'seed' });
  const hub = new MarketDataHub({
    source: {
      instrument: (s) => (s === 'AMZN' ? amzn : undefined),
      instruments: () => [amzn],
      book: (s) => sequencer.book(s),
      symbols: () => sequencer.symbols(),
      get lastSeq() {
        return sequencer.lastSeq;
      },
    },
    metrics: new Registry(),
    startedAtMs: Date.now(),
    ...(sendBuffer ? { sendBuffer } : {}),
  });
  return {
    sequencer,
    hub,
    async submit(command, member = 'm1') {
      const result = await sequencer.submit('AMZN', command, { time: Date.now(), member });
      hub.onSequenced(result);
      return result.seq;
    },
  };
}

function limit(
  side: 'buy' | 'sell',
  priceTicks: number,
  quantityLots: number,
  account = 'x:',
): UnsequencedCommand {
  return { type: 'new', account, side, orderType: 'limit', priceTicks, quantityLots, timeInForce: 'GTC' };
}

/** Protocol → sequencer; `gate` lets a test hold one operation back to make answers resolve out of order. */
function sequencerOrders(exchange: Exchange, gate: { cancel: Promise<void> }): OrderOperations {
  const view = (seq: number, status: string) => ({ id: String(seq), status });
  return {
    async placeOrder(member: string, input: WsOrderInput) {
      if (input.symbol !== 'AMZN') throw new AppError('not_found', 'unknown symbol');
      const price = input.price === undefined ? undefined : parseDecimal(input.price, { scale: 2 });
      if (price && !price.ok) throw new AppError('validation_failed', price.detail);
      const priceTicks = price?.ok ? Number(price.value) : undefined;
      const seq = await exchange.submit(
        {
          type: 'new',
          account: `${member}:`,
          side: input.side,
          orderType: input.orderType,
          priceTicks,
          quantityLots: input.quantity,
          timeInForce: input.timeInForce ?? 'GTC',
        },
        member,
      );
      return view(seq, 'accepted');
    },
    async cancelOrder(member: string, orderId: string) {
      await gate.cancel;
      const seq = await exchange.submit({ type: 'cancel', orderId: Number(orderId) }, member);
      return view(seq, 'canceled');
    },
    async replaceOrder() {
      throw new AppError('conflict', 'replace is not part of this test');
    },
  };
}

/** A ws client that records every message and can wait for one. */
class Client {
  readonly messages: Record<string, unknown>[] = [];
  readonly #waiters: {
    match: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }[] = [];
  closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      this.messages.push(message);
      for (const waiter of [...this.#waiters]) {
        if (waiter.match(message)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<Client> {
    const ws = new WebSocket(url, ['kinyu.v1'], { headers });
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message (already received or still to come) that matches. */
  next(match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Waits for `count` messages matching, in arrival order. */
  async collect(
    match: (m: Record<string, unknown>) => boolean,
    count: number,
  ): Promise<Record<string, unknown>[]> {
    for (;;) {
      const found = this.messages.filter(match);
      if (found.length >= count) return found.slice(0, count);
      await new Promise<void>((resolve) => this.#waiters.push({ match, resolve: () => resolve() }));
    }
  }
}

/** The status, content type and JSON body of a refused upgrade. */
function refusedUpgrade(ws: WebSocket): Promise<{ status: number; contentType: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'] ?? '',
          body: JSON.parse(text),
        }),
      );
    });
  });
}

/** `/v1/ws` alone on a listening app where nobody authenticates (market data for everyone). */
async function anonymousWebSocketApp(
  db: TestDatabase,
  hub: MarketDataHub,
  orders: OrderOperations,
): Promise<{ app: App; url: string }> {
  const app = await buildApp({
    logger: false,
    metrics: new Registry(),
    pool: db.pool,
    clock: systemClock,
    rateLimit: { max: 10_000, windowMs: 60_000 },
    idempotencyTtlHours: 24,
    readiness: [],
    modules: [
      exchangeWebSocket({
        hub,
        orders,
        authenticateHandshake: async () => anonymous,
        authenticateApiKey: async () => {
          throw new AppError('unauthenticated');
        },
        clock: systemClock,
      }),
    ],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/ws` };
}

describe('/v1/ws end to end', () => {
  let db: TestDatabase;
  let app: App;
  let exchange: Exchange;
  let url: string;
  let apiKey: string;
  let releaseCancel: () => void;
  let identity: ReturnType<typeof createTestIdentity>;
  let admin: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    db = await createTestDatabase(4);
    identity = createTestIdentity(db.pool);
    admin = await createUser(identity.service, 'ws-admin', undefined, ['admin']);
    apiKey = (
      await identity.service.issueApiKey(admin.principal, { name: 'ws', role: 'member', member: 'm1' })
    ).apiKey;
    exchange = await openExchange(tempDir());
    const gate = { cancel: new Promise<void>((resolve) => (releaseCancel = resolve)) };
    app = await buildApp({
      logger: false,
      metrics: new Registry(),
      pool: db.pool,
      clock: systemClock,
      rateLimit: { max: 10_000, windowMs: 60_000 },
      idempotencyTtlHours: 24,
      readiness: [],
      hooks: [identity.module.authPlugin],
      rateLimitKeyOf: identity.module.knownCaller,
      modules: [
        marketDataRoutes({ hub: exchange.hub }),
        exchangeWebSocket({
          hub: exchange.hub,
          orders: sequencerOrders(exchange, gate),
          authenticateHandshake: identity.module.authenticateHandshake,
          authenticateApiKey: (key) => identity.service.authenticateApiKey(key),
          clock: systemClock,
        }),
      ],
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/ws`;
  });

  afterAll(async () => {
    await app?.close();
    await exchange?.sequencer.close();
    await db?.drop();
  });

  it('sends subscribed and snapshots, then updates whose prevSeq chains to the snapshot seq', async () => {
    const watcher = await Client.open(url);
    watcher.send({ op: 'subscribe', channels: ['book.L2.AMZN', 'trades.AMZN', 'bbo.AMZN', 'book.L3.AMZN'] });
    const subscribed = await watcher.next((m) => m.type === 'subscribed');
    expect(subscribed.channels).toEqual(['book.L2.AMZN', 'trades.AMZN', 'bbo.AMZN', 'book.L3.AMZN']);
    const l2 = await watcher.next((m) => m.type === 'snapshot' && m.channel === 'book.L2.AMZN');
    expect(l2).toEqual({
      type: 'snapshot',
      channel: 'book.L2.AMZN',
      seq: 1,
      data: { bids: [], asks: [{ price: '101.00', quantity: 5 }] },
    });
    const l3 = await watcher.next((m) => m.type === 'snapshot' && m.channel === 'book.L3.AMZN');
    expect(l3.data).toEqual({ bids: [], asks: [{ orderId: '1', price: '101.00', quantity: 5 }] });

    const trader = await Client.open(url, { 'x-api-key': apiKey });
    trader.send({
      op: 'order.new',
      id: 'n1',
      order: { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '101.00', quantity: 2 },
    });
    const answer = await trader.next((m) => m.id === 'n1');
    expect(answer).toEqual({ type: 'order', id: 'n1', order: { id: '2', status: 'accepted' } });

    const update = await watcher.next((m) => m.type === 'update' && m.channel === 'book.L2.AMZN');
    expect(update).toEqual({
      type: 'update',
      channel: 'book.L2.AMZN',
      seq: 2,
      prevSeq: 1,
      data: { changes: [{ side: 'sell', price: '101.00', quantity: 3 }] },
    });
    const trades = await watcher.next((m) => m.type === 'update' && m.channel === 'trades.AMZN');
    expect(trades).toMatchObject({
      seq: 2,
      prevSeq: 1,
      data: { trades: [{ tradeId: '2-1', price: '101.00', quantity: 2, side: 'buy', sequence: 2 }] },
    });

    watcher.send({ op: 'unsubscribe', channels: ['trades.AMZN'] });
    expect(await watcher.next((m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      channels: ['trades.AMZN'],
    });
    watcher.ws.close();
    trader.ws.close();
  });

  it('answers order operations in the order received even when they resolve out of order', async () => {
    const trader = await Client.open(url, { 'x-api-key': apiKey });
    const resting = exchange.sequencer.lastSeq + 1;
    trader.send({
      op: 'order.new',
      id: 'a',
      order: { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '90.00', quantity: 1 },
    });
    await trader.next((m) => m.id === 'a');
    // The cancel is held at the gate; the new order behind it completes first.
    trader.send({ op: 'order.cancel', id: 'b', orderId: String(resting) });
    trader.send({
      op: 'order.new',
      id: 'c',
      order: { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '89.00', quantity: 1 },
    });
    // 'c' goes through the sequencer while 'b' waits (each op first checks the member's key again).
    for (let tries = 0; exchange.sequencer.lastSeq < resting + 1 && tries < 500; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(exchange.sequencer.lastSeq).toBe(resting + 1);
    expect(trader.messages.some((m) => m.id === 'c')).toBe(false); // its answer waits for b's
    releaseCancel();
    const answers = await trader.collect((m) => m.id === 'b' || m.id === 'c', 2);
    expect(answers.map((m) => m.id)).toEqual(['b', 'c']);
    expect(answers.map((m) => (m.order as { id: string }).id)).toEqual([
      String(resting + 2),
      String(resting + 1),
    ]);
    trader.ws.close();
  });

  it('answers bad JSON, unknown ops, oversized messages and unauthenticated orders with problem+json errors', async () => {
    const client = await Client.open(url);
    client.send('{not json');
    client.send({ op: 'dance' });
    client.send({ op: 'subscribe', channels: ['book.L2.NOPE'] });
    client.send({ op: 'order.cancel', id: 'x1', orderId: '5' });
    client.send({ op: 'ping', padding: 'x'.repeat(20_000) });
    client.send({ op: 'order.cancel', id: 'x2', orderId: 5 });
    client.send('{"op":"order.cancel","id":"x3","orderId":"5","orderId":"6"}');
    client.send({ op: 'order.cancel', id: 'x4', orderId: '0005' });
    const errors = await client.collect((m) => m.type === 'error', 8);
    const problem = (i: number) =>
      errors[i]!.problem as { code: string; status: number; errors: { field: string }[] };
    expect(problem(0).code).toBe('malformed_json');
    expect(problem(1)).toMatchObject({ code: 'validation_failed', status: 400, errors: [{ field: 'op' }] });
    expect(problem(2)).toMatchObject({ code: 'not_found', errors: [{ field: 'channels.0' }] });
    // The order answer waits for any auth in flight; the refusals without an id may overtake it.
    expect(errors.find((m) => m.id === 'x1')).toMatchObject({
      problem: { code: 'unauthenticated', status: 401 },
    });
    expect(
      errors.filter((m) => m.id === undefined).map((m) => (m.problem as { code: string }).code),
    ).toContain('payload_too_large');
    expect(errors.find((m) => m.id === 'x2')).toMatchObject({
      problem: {
        code: 'validation_failed',
        errors: [
          { field: 'orderId', reason: 'must be a string, not the JSON number 5; send it quoted, e.g. "5"' },
        ],
      },
    });
    // A repeated key is refused by the strict parser; the id, read leniently, still comes back.
    expect(errors.find((m) => m.id === 'x3')).toMatchObject({
      problem: {
        code: 'validation_failed',
        errors: [{ field: 'orderId', reason: 'appears twice in the same object; send each key once' }],
      },
    });
    // An id with a leading zero is malformed, as on REST, not an unknown order.
    expect(errors.find((m) => m.id === 'x4')).toMatchObject({
      problem: { code: 'validation_failed', status: 400, errors: [{ field: 'orderId' }] },
    });
    client.ws.close();
  });

  it('authenticates with an auth message and closes a client that keeps sending refused messages', async () => {
    const client = await Client.open(url);
    client.send({ op: 'auth', apiKey });
    expect(await client.next((m) => m.type === 'auth')).toEqual({ type: 'auth', member: 'm1' });
    for (let i = 0; i < 25; i++) client.send('nope');
    expect(await client.closed).toEqual({ code: 1008, reason: 'too many refused messages' });
  });

  it('given an open socket whose API key is revoked, then its next order operation is refused 401, however the key came', async () => {
    const order = { symbol: 'AMZN', side: 'buy', orderType: 'limit', price: '90.00', quantity: 1 };
    const issue = async (name: string) =>
      identity.service.issueApiKey(admin.principal, { name, role: 'member', member: 'm3' });
    const inHeader = await issue('ws revoked in header');
    const inMessage = await issue('ws revoked in auth message');
    const byHeader = await Client.open(url, { 'x-api-key': inHeader.apiKey });
    const byMessage = await Client.open(url);
    byMessage.send({ op: 'auth', apiKey: inMessage.apiKey });
    expect(await byMessage.next((m) => m.type === 'auth')).toEqual({ type: 'auth', member: 'm3' });
    for (const [client, id] of [
      [byHeader, 'h1'],
      [byMessage, 'm1'],
    ] as const) {
      client.send({ op: 'order.new', id, order });
      expect(await client.next((m) => m.id === id)).toMatchObject({ type: 'order', id });
    }

    await identity.service.revokeApiKey(admin.principal, inHeader.id);
    await identity.service.revokeApiKey(admin.principal, inMessage.id);
    for (const [client, id] of [
      [byHeader, 'h2'],
      [byMessage, 'm2'],
    ] as const) {
      client.send({ op: 'order.new', id, order });
      client.send({ op: 'order.cancel', id: `${id}-cancel`, orderId: '2' });
      expect(await client.next((m) => m.id === id)).toMatchObject({
        type: 'error',
        id,
        problem: { status: 401, code: 'unauthenticated' },
      });
      expect(await client.next((m) => m.id === `${id}-cancel`)).toMatchObject({
        type: 'error',
        problem: { status: 401 },
      });
      client.ws.close();
    }
  });

  it('refuses the upgrade with 401 when the handshake carries a bad API key', async () => {
    const ws = new WebSocket(url, { headers: { 'x-api-key': 'kinyu_bad_key' } });
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });

  it('answers a plain GET (no upgrade) with 426 problem+json and Upgrade: websocket', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/ws' });
    expect(response.statusCode).toBe(426);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers.upgrade).toBe('websocket');
    expect(response.json()).toMatchObject({ status: 426, code: 'upgrade_required', instance: '/v1/ws' });
    expect(response.json().detail).toMatch(/Upgrade: websocket/);
  });

  it('refuses an upgrade offering subprotocols without kinyu.v1 with 400 naming Sec-WebSocket-Protocol', async () => {
    for (const protocols of [['foo'], [`kinyu.api-key.${apiKey}`]]) {
      const refusal = await refusedUpgrade(new WebSocket(url, protocols));
      expect(refusal.status).toBe(400);
      expect(refusal.contentType).toMatch(/^application\/problem\+json/);
      expect(refusal.body).toMatchObject({
        code: 'validation_failed',
        errors: [
          {
            field: 'headers.sec-websocket-protocol',
            reason: expect.stringMatching(/Sec-WebSocket-Protocol/),
          },
        ],
      });
    }
  });

  it('upgrades a client that offers no subprotocol, and one that offers kinyu.v1 with its API key', async () => {
    const plain = new Client(new WebSocket(url));
    await new Promise((resolve) => plain.ws.once('open', resolve));
    expect(plain.ws.protocol).toBe('');
    plain.send({ op: 'ping' });
    expect(await plain.next((m) => m.type === 'pong')).toEqual({ type: 'pong' });
    plain.ws.close();

    const member = new Client(new WebSocket(url, ['kinyu.v1', `kinyu.api-key.${apiKey}`]));
    await new Promise((resolve) => member.ws.once('open', resolve));
    expect(member.ws.protocol).toBe('kinyu.v1');
    member.send({
      op: 'order.new',
      id: 'p1',
      order: { symbol: 'NOPE', side: 'buy', orderType: 'limit', price: '1.00', quantity: 1 },
    });
    // Authenticated by the subprotocol: the order reaches the order operations (not a 401).
    expect(await member.next((m) => m.id === 'p1')).toMatchObject({ problem: { code: 'not_found' } });
    member.ws.close();
  });

  it('serves REST market data from the same hub', async () => {
    const l2 = await app.inject({ method: 'GET', url: '/v1/marketdata/orderBook/L2?symbol=AMZN&depth=5' });
    expect(l2.statusCode).toBe(200);
    expect(l2.json().asks).toEqual([{ price: '101.00', quantity: 3 }]);
    const missing = await app.inject({ method: 'GET', url: '/v1/marketdata/bbo?symbol=NOPE' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().errors).toEqual([{ field: 'symbol', reason: 'is not a listed instrument' }]);
  });
});

describe('/v1/ws slow consumer', () => {
  let db: TestDatabase;
  let app: App;
  let exchange: Exchange;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    exchange = await openExchange(tempDir(), {
      socketHighWaterBytes: 16 * 1024,
      sendBufferBytesMax: 256 * 1024,
      sendQueueMessagesMax: 10_000,
    });
    ({ app, url } = await anonymousWebSocketApp(
      db,
      exchange.hub,
      sequencerOrders(exchange, { cancel: Promise.resolve() }),
    ));
  });

  afterAll(async () => {
    await app?.close();
    await exchange?.sequencer.close();
    await db?.drop();
  });

  it('disconnects a client that never reads with 1013 while publishing to the others goes on', async () => {
    const channels = ['book.L2.AMZN', 'book.L3.AMZN', 'trades.AMZN'];
    const slow = await Client.open(url);
    const fast = await Client.open(url);
    for (const client of [slow, fast]) client.send({ op: 'subscribe', channels });
    await slow.next((m) => m.type === 'snapshot' && m.channel === 'trades.AMZN');
    await fast.next((m) => m.type === 'snapshot' && m.channel === 'trades.AMZN');
    slow.ws.pause();
    expect(exchange.hub.subscriberCount).toBe(2);

    const roundsMax = 400;
    const levels = 100;
    let rounds = 0;
    let price = 20_000;
    while (exchange.hub.subscriberCount === 2 && rounds < roundsMax) {
      // Many resting sells, then one market buy sweeping them: large trade and book updates.
      await Promise.all(
        Array.from({ length: levels }, (_, i) => exchange.submit(limit('sell', price + i, 1))),
      );
      await exchange.submit({
        type: 'new',
        account: 'b:',
        side: 'buy',
        orderType: 'market',
        quantityLots: levels,
        timeInForce: 'IOC',
      });
      price += levels;
      rounds++;
    }
    expect(exchange.hub.subscriberCount, `still subscribed after ${rounds} rounds`).toBe(1);
    expect(await exchange.hub.metrics.slowConsumerDisconnects.get()).toMatchObject({
      values: [{ value: 1 }],
    });

    // Publishing went on: one more command reaches the reading client with an unbroken chain.
    const lastSeq = await exchange.submit(limit('sell', price + 5_000, 1));
    const updates = await fast.collect(
      (m) => m.type === 'update' && m.channel === 'book.L2.AMZN' && m.seq === lastSeq,
      1,
    );
    expect(updates[0]?.seq).toBe(lastSeq);
    const l2Updates = fast.messages.filter((m) => m.channel === 'book.L2.AMZN');
    for (let i = 1; i < l2Updates.length; i++) expect(l2Updates[i]!.prevSeq).toBe(l2Updates[i - 1]!.seq);

    // Once the slow client reads again it finds the close frame behind everything it was sent.
    slow.ws.resume();
    expect(await slow.closed).toEqual({ code: 1013, reason: 'slow consumer: send buffer full' });
    fast.ws.close();
  });
});

describe('/v1/ws subscribing to several deep books in one message', () => {
  // Books deeper than an L3 snapshot (l3OrdersMax orders per side), with USD prices such as
  // "220.00": each book.L3 snapshot is about 1 MB of JSON, so ten of them are more than twice the
  // 4 MiB a connection may buffer. The books are the engine's FastOrderBooks, as the sequencer holds
  // them, filled directly (200,000 orders without a journal) before the hub seeds from them.
  const symbols = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH', 'III', 'JJJ'];
  const perSide = marketDataLimits.l3OrdersMax + 1;
  let db: TestDatabase;
  let app: App;
  let books: ReturnType<typeof exchangesOf>;
  let hub: MarketDataHub;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    books = exchangesOf(symbols.map((symbol) => ({ ...amzn, symbol })));
    fillBooks(books, perSide);
    hub = new MarketDataHub({ source: books.source, metrics: new Registry(), startedAtMs: Date.now() });
    ({ app, url } = await anonymousWebSocketApp(db, hub, {
      placeOrder: () => Promise.reject(new AppError('forbidden')),
      cancelOrder: () => Promise.reject(new AppError('forbidden')),
      replaceOrder: () => Promise.reject(new AppError('forbidden')),
    }));
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('sends every L3 snapshot to a client that reads, keeps it connected, and chains updates to them', async () => {
    const channels = symbols.map((symbol) => `book.L3.${symbol}`);
    const client = await Client.open(url);
    let closed: { code: number; reason: string } | undefined;
    void client.closed.then((close) => {
      closed = close;
    });
    client.send({ op: 'subscribe', channels });
    const snapshots = await Promise.race([
      client.collect((m) => m.type === 'snapshot', channels.length),
      client.closed.then((close) => {
        throw new Error(`closed ${close.code} ${close.reason} after ${client.messages.length - 1} snapshots`);
      }),
    ]);

    expect(snapshots.map((m) => m.channel)).toEqual(channels);
    let bytes = 0;
    for (const snapshot of snapshots) {
      const data = snapshot.data as { bids: unknown[]; asks: unknown[]; truncated?: boolean };
      expect(data.bids).toHaveLength(marketDataLimits.l3OrdersMax);
      expect(data.asks).toHaveLength(marketDataLimits.l3OrdersMax);
      expect(data.truncated).toBe(true);
      bytes += JSON.stringify(snapshot).length;
    }
    // Together far more than the connection may buffer at once.
    expect(bytes).toBeGreaterThan(2 * webSocketLimits.sendBufferBytesMax);

    // Still connected, and the next update chains to its channel's snapshot.
    const last = books.run('JJJ', {
      type: 'new',
      orderId: 2 * perSide + 1,
      account: 'b',
      side: 'buy',
      orderType: 'limit',
      priceTicks: 21_000,
      quantityLots: 1,
      timeInForce: 'GTC',
    });
    hub.onSequenced(last);
    const update = await client.next((m) => m.type === 'update' && m.channel === 'book.L3.JJJ');
    expect(update).toMatchObject({ seq: last.seq, prevSeq: snapshots.at(-1)!.seq });
    client.send({ op: 'ping' });
    await client.next((m) => m.type === 'pong');
    expect(closed).toBeUndefined();
    client.ws.close();
  });
});
