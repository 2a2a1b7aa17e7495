import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  csvField,
  csvRecord,
  exchangeQueryRoutes,
  type QueryInstrument,
} from '../../../src/exchange/http/queries.ts';
import { bookAccount } from '../../../src/exchange/orders/order-state.ts';
import { ExecutionsProjector } from '../../../src/exchange/projector/index.ts';
import { executionExportEnd, listExecutions } from '../../../src/exchange/projector/read-model.ts';
import { Sequencer, type UnsequencedCommand } from '../../../src/exchange/sequencer/index.ts';
import { invalidCredentialError } from '../../../src/identity/access.ts';
import type { MemberPrincipal } from '../../../src/identity/domain/types.ts';
import { type Authenticator, identityAuthPlugin } from '../../../src/identity/http/auth-plugin.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import { type App, buildApp } from '../../../src/platform/http/app.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

function listed(symbol: string, tickSize: string, lotSize: number): QueryInstrument {
  return {
    symbol,
    name: symbol,
    currency: 'USD',
    tickSize,
    lotSize,
    referencePrice: '100.00',
    priceBandPercent: null,
    maxOrderQuantity: null,
  };
}

const instruments: Record<string, QueryInstrument> = {
  AAPL: listed('AAPL', '0.01', 1),
  MSFT: listed('MSFT', '0.05', 10),
};
const startTime = Date.UTC(2026, 2, 2, 9, 0, 0);
const timeOf = (seq: number) => new Date(startTime + seq * 1000).toISOString();

// The real auth plugin and access table; only the API-key lookup is a table here (identity's own
// tests cover the key store).
const apiKeys: Record<string, MemberPrincipal> = {
  'key-alpha': { kind: 'member', memberId: 'alpha', roles: ['member'], apiKeyName: 'alpha' },
  'key-beta': { kind: 'member', memberId: 'beta', roles: ['member'], apiKeyName: 'beta' },
};
const authenticator: Authenticator = {
  authenticateApiKey: async (apiKey) => {
    const principal = apiKeys[apiKey];
    if (!principal) throw invalidCredentialError('Unknown API key');
    return principal;
  },
  authenticateToken: async () => {
    throw invalidCredentialError('No tokens in this test');
  },
};

describe('exchange query routes', () => {
  let db: TestDatabase;
  let dir: string;
  let sequencer: Sequencer;
  let projector: ExecutionsProjector;
  let app: App;
  let lastSeqAhead = 0;
  let alphaPairs: number[] = [];

  const submit = (symbol: string, member: string, command: UnsequencedCommand, clientOrderId?: string) =>
    sequencer.submit(symbol, command, {
      time: startTime + (sequencer.lastSeq + 1) * 1000,
      member,
      ...(clientOrderId ? { clientOrderId } : {}),
    });
  const limit = (
    member: string,
    side: 'buy' | 'sell',
    priceTicks: number,
    quantityLots: number,
    account = '',
  ) => ({
    type: 'new' as const,
    account: bookAccount(member, account),
    side,
    orderType: 'limit' as const,
    priceTicks,
    quantityLots,
    timeInForce: 'GTC' as const,
  });
  const get = (url: string, member: 'alpha' | 'beta' | null = 'alpha') =>
    app.inject({ method: 'GET', url, headers: member ? { 'x-api-key': `key-${member}` } : {} });

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'kinyu-queries-'));
    sequencer = await Sequencer.open(dir, { durability: 'none', snapshotEveryCommands: 0 });
    await submit('AAPL', 'alpha', limit('alpha', 'buy', 10_000, 5, 'desk'), 'a,1 "first"'); // 1
    await submit('AAPL', 'beta', limit('beta', 'sell', 9_990, 3)); // 2: trade 2-1 at 100.00 × 3
    await submit('MSFT', 'beta', limit('beta', 'sell', 2_000, 4)); // 3
    await submit('MSFT', 'alpha', {
      type: 'new',
      account: bookAccount('alpha', ''),
      side: 'buy',
      orderType: 'market',
      quantityLots: 6,
      timeInForce: 'IOC',
    }); // 4: trade 4-1 at 100.00 × 4 lots (40 shares), remainder canceled
    alphaPairs = [];
    for (let i = 0; i < 30; i++) {
      const resting = await submit('AAPL', 'alpha', limit('alpha', 'sell', 10_100 + i, 1));
      alphaPairs.push(resting.seq);
      await submit('AAPL', 'beta', limit('beta', 'buy', 10_200, 1));
    }
    projector = await ExecutionsProjector.open({ pool: db.pool, dir, pollIntervalMs: 60_000 });
    await projector.catchUp();
    projector.start();
    app = await buildApp({
      logger: false,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      pool: db.pool,
      clock: new ManualClock('2026-03-02T09:00:00Z'),
      rateLimit: { max: 10_000, windowMs: 60_000 },
      idempotencyTtlHours: 24,
      readiness: [],
      hooks: [identityAuthPlugin({ service: authenticator })],
      modules: [
        exchangeQueryRoutes({
          pool: db.pool,
          instrument: (symbol) => instruments[symbol],
          lastSeq: () => sequencer.lastSeq + lastSeqAhead,
          projector,
          readYourWritesTimeoutMs: 500,
        }),
      ],
    });
  });
  afterAll(async () => {
    await app?.close();
    await projector?.stop();
    await sequencer?.close();
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  describe('GET /v1/order/{id}', () => {
    it('shows the member its own order with decimal prices and quantities in shares', async () => {
      const response = await get('/v1/order/1');
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-kinyu-projection-lag']).toBeUndefined();
      expect(response.json()).toEqual({
        id: '1',
        clientOrderId: 'a,1 "first"',
        creationTime: timeOf(1),
        symbol: 'AAPL',
        side: 'buy',
        orderType: 'limit',
        price: '100.00',
        quantity: 5,
        filledQuantity: 3,
        remainingQuantity: 2,
        status: 'partially_filled',
        timeInForce: 'GTC',
        postOnly: false,
        account: 'desk',
        updateTime: timeOf(2),
      });
      const market = (await get('/v1/order/4')).json();
      expect(market).toMatchObject({
        price: null,
        quantity: 60,
        filledQuantity: 40,
        remainingQuantity: 0,
        status: 'canceled',
      });
    });

    it("answers 404 for another member's order, exactly as for a missing one", async () => {
      const foreign = await get('/v1/order/2', 'alpha');
      const missing = await get('/v1/order/999999', 'alpha');
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json()).toMatchObject({ code: 'order_not_found', status: 404 });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().title).toBe(foreign.json().title);
      expect((await get('/v1/order/2', 'beta')).statusCode).toBe(200);
    });

    it('refuses a malformed id and an anonymous caller', async () => {
      expect((await get('/v1/order/abc')).json()).toMatchObject({ status: 400, code: 'validation_failed' });
      expect((await get('/v1/order/1', null)).statusCode).toBe(401);
    });

    it('reads its own writes: an order placed just now is found at once', async () => {
      const placed = await submit('AAPL', 'alpha', limit('alpha', 'buy', 9_000, 2));
      const response = await get(`/v1/order/${placed.seq}`);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: String(placed.seq), status: 'new', price: '90.00' });
      expect(response.headers['x-kinyu-projection-lag']).toBeUndefined();
    });

    it('answers from what is there, with X-Kinyu-Projection-Lag, when the projection does not catch up in time', async () => {
      lastSeqAhead = 3;
      try {
        const started = projector.appliedSeq;
        const response = await get('/v1/order/1');
        expect(response.statusCode).toBe(200);
        expect(response.headers['x-kinyu-projection-lag']).toBe(String(sequencer.lastSeq + 3 - started));
      } finally {
        lastSeqAhead = 0;
      }
    });
  });

  describe('GET /v1/orders', () => {
    it('lists only the member’s orders, filtered by symbol and status', async () => {
      const msft = (await get('/v1/orders?symbol=MSFT')).json();
      expect(msft.orders.map((o: { id: string }) => o.id)).toEqual(['4']);
      expect(msft.nextCursor).toBeNull();
      const filled = (await get('/v1/orders?status=filled&limit=500')).json();
      expect(filled.orders).toHaveLength(30);
      expect(filled.orders.every((o: { status: string }) => o.status === 'filled')).toBe(true);
      const open = (await get('/v1/orders?status=open')).json();
      expect(open.orders.map((o: { id: string }) => o.id)).toContain('1');
      const beta = (await get('/v1/orders?limit=500', 'beta')).json();
      expect(beta.orders.every((o: { id: string }) => !alphaPairs.includes(Number(o.id)))).toBe(true);
    });

    it('pages with an opaque cursor without gaps or repeats', async () => {
      const all = (await get('/v1/orders?limit=500')).json().orders.map((o: { id: string }) => o.id);
      const walked: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { orders: { id: string }[]; nextCursor: string | null } = (
          await get(`/v1/orders?limit=7${cursor ? `&cursor=${cursor}` : ''}`)
        ).json();
        walked.push(...page.orders.map((o: { id: string }) => o.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(walked).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / 7));
      const bad = await get('/v1/orders?cursor=not-a-cursor');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors).toEqual([
        { field: 'querystring.cursor', reason: 'is not a cursor from GET /v1/orders' },
      ]);
    });
  });

  describe('GET /v1/execution', () => {
    it('gives each side its own record: the member sees only its side', async () => {
      const alpha = (await get('/v1/execution?symbol=MSFT')).json();
      expect(alpha).toEqual({
        executions: [
          {
            id: '4-1-T',
            tradeId: '4-1',
            orderId: '4',
            symbol: 'MSFT',
            side: 'buy',
            price: '100.00',
            quantity: 40,
            orderType: 'market',
            liquidity: 'taker',
            sequence: 4,
            time: timeOf(4),
          },
        ],
        nextCursor: null,
      });
      const beta = (await get('/v1/execution?symbol=MSFT', 'beta')).json();
      expect(beta.executions).toEqual([
        expect.objectContaining({
          id: '4-1-M',
          orderId: '3',
          side: 'sell',
          orderType: 'limit',
          liquidity: 'maker',
          quantity: 40,
        }),
      ]);
    });

    it('filters by order id and by a half-open time range', async () => {
      const byOrder = (await get('/v1/execution?orderId=1')).json().executions;
      expect(byOrder).toEqual([
        expect.objectContaining({ id: '2-1-M', price: '100.00', quantity: 3, liquidity: 'maker' }),
      ]);
      expect((await get('/v1/execution?orderId=2')).json().executions).toEqual([]);
      const from = timeOf(alphaPairs[0]! + 1);
      const to = timeOf(alphaPairs[5]! + 1);
      const ranged = (await get(`/v1/execution?startTime=${from}&endTime=${to}`)).json().executions;
      expect(ranged.map((e: { sequence: number }) => e.sequence)).toEqual(
        alphaPairs.slice(0, 5).map((seq) => seq + 1),
      );
      const reversed = await get(`/v1/execution?startTime=${to}&endTime=${from}`);
      expect(reversed.json().errors).toEqual([{ field: 'endTime', reason: 'must not be before startTime' }]);
      const leapSecond = await get('/v1/execution?startTime=2016-12-31T23:59:60Z');
      expect(leapSecond.statusCode).toBe(400);
      expect(leapSecond.json().errors).toEqual([
        {
          field: 'querystring.startTime',
          reason:
            'must be an RFC 3339 date-time with a time zone, e.g. 2026-03-02T09:00:00Z (years 0001 to 9999, no leap second)',
        },
      ]);
    });

    it('pages in sequence order without gaps or repeats', async () => {
      const all = (await get('/v1/execution?limit=500')).json().executions;
      expect(all).toHaveLength(32);
      const walked: unknown[] = [];
      let cursor: string | null = null;
      do {
        const page: { executions: unknown[]; nextCursor: string | null } = (
          await get(`/v1/execution?limit=5${cursor ? `&cursor=${cursor}` : ''}`)
        ).json();
        walked.push(...page.executions);
        cursor = page.nextCursor;
      } while (cursor && walked.length < 100);
      expect(walked).toEqual(all);
      expect((await get('/v1/execution?limit=501')).statusCode).toBe(400);
      expect(
        (await get(`/v1/execution?cursor=${Buffer.from('{"o":3}').toString('base64url')}`)).statusCode,
      ).toBe(400);
    });
  });

  describe('GET /v1/execution.csv', () => {
    it('streams a header row and one CRLF-terminated record per execution, matching the JSON', async () => {
      const response = await get('/v1/execution.csv?symbol=AAPL');
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(response.headers['x-kinyu-next-cursor']).toBeUndefined();
      const lines = response.body.split('\r\n');
      expect(lines[0]).toBe(
        'id,tradeId,orderId,symbol,side,price,quantity,orderType,liquidity,sequence,time',
      );
      expect(lines.at(-1)).toBe('');
      expect(lines[1]).toBe(`2-1-M,2-1,1,AAPL,buy,100.00,3,limit,maker,2,${timeOf(2)}`);
      const json = (await get('/v1/execution?symbol=AAPL&limit=500')).json().executions;
      expect(lines.slice(1, -1)).toEqual(
        json.map((e: Record<string, string | number>) =>
          [
            e.id,
            e.tradeId,
            e.orderId,
            e.symbol,
            e.side,
            e.price,
            e.quantity,
            e.orderType,
            e.liquidity,
            e.sequence,
            e.time,
          ].join(','),
        ),
      );
    });

    it('stops at the requested rows and names the cursor for the next part', async () => {
      const whole = (await get('/v1/execution.csv')).body.split('\r\n').slice(1, -1);
      const parts: string[] = [];
      let cursor: string | undefined;
      let requests = 0;
      do {
        const response = await get(`/v1/execution.csv?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
        const rows = response.body.split('\r\n').slice(1, -1);
        expect(rows.length).toBeLessThanOrEqual(10);
        parts.push(...rows);
        cursor = response.headers['x-kinyu-next-cursor'] as string | undefined;
        requests++;
      } while (cursor && requests < 20);
      expect(requests).toBe(Math.ceil(whole.length / 10));
      expect(parts).toEqual(whole);
    });

    it('quotes fields per RFC 4180', () => {
      expect(csvField('plain')).toBe('plain');
      expect(csvField(12)).toBe('12');
      expect(csvField('a,b')).toBe('"a,b"');
      expect(csvField('say "hi"')).toBe('"say ""hi"""');
      expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
      expect(csvRecord(['x', 'y,z', 3])).toBe('x,"y,z",3\r\n');
    });
  });

  // Last: it adds a trade, which the counts of the tests above do not expect.
  it('pins the end of a CSV part before it streams: a trade committed meanwhile waits for the next export', async () => {
    const filter = { member: 'alpha' };
    const before = await listExecutions(db.pool, filter, null, 500, null);
    const end = await executionExportEnd(db.pool, filter, null, 1_000);
    const last = before.at(-1)!;
    expect(end).toEqual({ through: { time: last.time, seq: last.seq, fill: last.fill }, more: false });

    await submit('AAPL', 'alpha', limit('alpha', 'sell', 10_500, 1));
    await submit('AAPL', 'beta', limit('beta', 'buy', 10_500, 1));
    await projector.catchUp();

    expect(await listExecutions(db.pool, filter, null, 500, null)).toHaveLength(before.length + 1);
    expect(await listExecutions(db.pool, filter, null, 1_000, end.through)).toEqual(before);
    expect(await executionExportEnd(db.pool, { member: 'nobody' }, null, 10)).toEqual({
      through: null,
      more: false,
    });
  });

  describe('given one command that trades twelve times', () => {
    let sweep = 0;
    const ids = (executions: { id: string }[]) => executions.map((e) => e.id);
    const inOrder = (suffix: 'M' | 'T') =>
      Array.from({ length: 12 }, (_, i) => `${sweep}-${i + 1}-${suffix}`);
    beforeAll(async () => {
      for (let i = 0; i < 12; i++) await submit('AAPL', 'beta', limit('beta', 'sell', 11_000, 1));
      sweep = (await submit('AAPL', 'alpha', limit('alpha', 'buy', 11_000, 12))).seq;
      await projector.catchUp();
    });

    it('lists its executions in the order they happened (trade 2 before trade 10), on every page', async () => {
      expect(ids((await get(`/v1/execution?orderId=${sweep}`)).json().executions)).toEqual(inOrder('T'));
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { executions: { id: string }[]; nextCursor: string | null } = (
          await get(`/v1/execution?orderId=${sweep}&limit=5${cursor ? `&cursor=${cursor}` : ''}`)
        ).json();
        walked.push(...ids(page.executions));
        cursor = page.nextCursor;
      } while (cursor && walked.length < 100);
      expect(walked).toEqual(inOrder('T'));
      const makers = (await get(`/v1/execution?startTime=${timeOf(sweep)}`, 'beta')).json().executions;
      expect(ids(makers)).toEqual(inOrder('M'));
      const csv = (await get(`/v1/execution.csv?orderId=${sweep}`)).body.trim().split('\r\n').slice(1);
      expect(csv.map((line) => line.split(',')[0])).toEqual(inOrder('T'));
    });

    it('rounds a sub-millisecond window edge up, so the window holds exactly the executions inside it', async () => {
      const justAfter = timeOf(sweep).replace('.000Z', '.0005Z');
      const reversed = await get(
        `/v1/execution?startTime=${justAfter}&endTime=${timeOf(sweep).replace('.000Z', '.0001Z')}`,
      );
      expect(reversed.json().errors).toEqual([{ field: 'endTime', reason: 'must not be before startTime' }]);
      expect((await get(`/v1/execution?orderId=${sweep}&startTime=${justAfter}`)).json().executions).toEqual(
        [],
      );
      expect(
        (await get(`/v1/execution?orderId=${sweep}&endTime=${justAfter}`)).json().executions,
      ).toHaveLength(12);
    });

    it('refuses a cursor from before executions were keyed by time (seq and text id)', async () => {
      const old = Buffer.from(JSON.stringify({ s: sweep, i: `${sweep}-2-T` })).toString('base64url');
      const response = await get(`/v1/execution?cursor=${old}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().errors).toEqual([
        { field: 'querystring.cursor', reason: 'is not a cursor from GET /v1/execution' },
      ]);
    });
  });
});
