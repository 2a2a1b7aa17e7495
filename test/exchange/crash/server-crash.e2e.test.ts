import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { mulberry32 } from '../../support/prng.ts';
import { freePort, type RunningProcess, startKinyu } from '../../support/process.ts';

/*
 * The server is SIGKILLed during a burst of orders from several concurrent clients. After a restart
 * on the same data directory every acknowledged order is there with at least the fills it was
 * acknowledged with, every acknowledged fill has its executions, the journal replays (from zero and
 * from its snapshot) to the state hash the restarted server reports, and trading goes on.
 */

interface OrderView {
  id: string;
  symbol: string;
  side: string;
  price: string | null;
  quantity: number;
  filledQuantity: number;
  status: string;
}

interface Execution {
  orderId: string;
  quantity: number;
}

const admin = { loginId: 'crash-admin', password: 'Crash-test-passw0rd!' };
const symbol = 'AMZN';
const clients = 8;
const ackedBeforeKill = 300;

describe('exchange server crash during an order burst', () => {
  let db: TestDatabase;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kinyu-exchange-crash-'));
  let env: Record<string, string>;
  let base: string;
  let server: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase(4);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      DATABASE_URL: db.url,
      KINYU_DATA_DIR: dataDir,
      KINYU_PORT: String(port),
      KINYU_ADMIN_LOGIN: admin.loginId,
      KINYU_ADMIN_PASSWORD: admin.password,
      KINYU_DEMO: '0',
      KINYU_RATE_LIMIT_MAX: '1000000',
      KINYU_EXCHANGE_ORDER_RATE_MAX: '1000000',
      KINYU_EXCHANGE_SNAPSHOT_EVERY: '100',
    };
  });
  afterAll(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    server = startKinyu(['start'], env);
    await server.waitForOutput(/listening on/);
  }

  async function call<T>(method: string, url: string, headers: Record<string, string>, body?: unknown) {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${url} → ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  it('keeps every acknowledged order and trade, and replays to the same state hash', async () => {
    await start();
    const { token } = await call<{ token: string }>('POST', '/api/auth/login', {}, admin);
    const adminAuth = { authorization: `Bearer ${token}` };
    const { apiKey } = await call<{ apiKey: string }>('POST', '/admin/api-keys', adminAuth, {
      name: 'crash-member',
      role: 'member',
      member: 'CRASH',
    });
    const member = { 'x-api-key': apiKey };
    const { instruments } = await call<{ instruments: Array<{ symbol: string; referencePrice: string }> }>(
      'GET',
      '/v1/instruments',
      {},
    );
    const reference = instruments.find((instrument) => instrument.symbol === symbol)?.referencePrice;
    expect(reference, `${symbol} is a default instrument`).toMatch(/^\d+\.\d{2}$/);
    // Prices within 1% of the reference, in cents (AMZN's tick is 0.01).
    const referenceCents = Number(reference!.replace('.', ''));
    const spreadCents = Math.max(3, Math.floor(referenceCents / 100));
    const price = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

    const seed = Date.now() >>> 0;
    const acked: OrderView[] = [];
    let killed = false;
    const burst = async (client: number) => {
      const random = mulberry32(seed + client);
      while (!killed) {
        const body = {
          symbol,
          side: random() < 0.5 ? 'buy' : 'sell',
          orderType: 'limit',
          price: price(referenceCents - spreadCents + Math.floor(random() * (2 * spreadCents + 1))),
          quantity: 1 + Math.floor(random() * 20),
          account: `client-${client}`,
        };
        try {
          acked.push(await call<OrderView>('POST', '/v1/order', member, body));
        } catch {
          return; // the server is gone: this order was never acknowledged
        }
      }
    };
    const clientsDone = Promise.all(Array.from({ length: clients }, (_, client) => burst(client)));
    const deadline = Date.now() + 60_000;
    while (acked.length < ackedBeforeKill && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(acked.length, `seed ${seed}`).toBeGreaterThanOrEqual(ackedBeforeKill);
    server.child.kill('SIGKILL');
    killed = true;
    await server.exited;
    await clientsDone;
    expect(
      acked.some((order) => order.filledQuantity > 0),
      'the burst traded',
    ).toBe(true);

    await start();
    for (const before of acked) {
      const after = await call<OrderView>('GET', `/v1/order/${before.id}`, member);
      expect(after, `order ${before.id} (seed ${seed})`).toMatchObject({
        id: before.id,
        symbol: before.symbol,
        side: before.side,
        price: before.price,
        quantity: before.quantity,
      });
      expect(after.filledQuantity).toBeGreaterThanOrEqual(before.filledQuantity);
      if (!['new', 'partially_filled'].includes(before.status)) expect(after.status).toBe(before.status);
    }

    const filled = new Map<string, number>();
    let cursor: string | null = null;
    do {
      const query: string = `symbol=${symbol}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { executions: Execution[]; nextCursor: string | null } = await call(
        'GET',
        `/v1/execution?${query}`,
        member,
      );
      for (const execution of page.executions) {
        filled.set(execution.orderId, (filled.get(execution.orderId) ?? 0) + execution.quantity);
      }
      cursor = page.nextCursor;
    } while (cursor);
    for (const before of acked) {
      expect(filled.get(before.id) ?? 0, `executions of order ${before.id}`).toBeGreaterThanOrEqual(
        before.filledQuantity,
      );
    }

    const status = await call<{ lastSeq: number; stateHash: string; stateHashSeq: number }>(
      'GET',
      '/admin/exchange/status',
      adminAuth,
    );
    expect(status.stateHashSeq).toBe(status.lastSeq);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const verify = startKinyu(['exchange', 'verify', path.join(dataDir, 'exchange')], {});
    expect((await verify.exited).code).toBe(0);
    expect(verify.output()).toContain(status.stateHash);
    // Written off the order-entry thread by the projector thread's snapshot follower.
    expect(verify.output()).toMatch(/from snapshot [1-9]\d* \+/);
    expect(verify.output()).toMatch(/match: the journal and the snapshots agree/);

    await start();
    const next = await call<OrderView>('POST', '/v1/order', member, {
      symbol,
      side: 'buy',
      orderType: 'limit',
      price: price(referenceCents - spreadCents * 2),
      quantity: 1,
    });
    expect(Number(next.id)).toBeGreaterThan(status.lastSeq);
  }, 240_000);
});
