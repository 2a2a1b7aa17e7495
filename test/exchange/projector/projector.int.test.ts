import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BookCommand } from '../../../src/exchange/matching/index.ts';
import { bookAccount, type OrderState, OrderTracker } from '../../../src/exchange/orders/order-state.ts';
import {
  CheckpointMovedError,
  ExecutionsProjector,
  executionsProjectorName,
  loadOpenOrders,
  ProjectionAheadOfJournalError,
  readCheckpoint,
} from '../../../src/exchange/projector/index.ts';
import type { ExecutionRow, TradeRow } from '../../../src/exchange/projector/rows.ts';
import { writeBatch } from '../../../src/exchange/projector/store.ts';
import {
  type CommandMeta,
  type SequencedResult,
  Sequencer,
  type UnsequencedCommand,
} from '../../../src/exchange/sequencer/index.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import type { Pool } from '../../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { Prng } from '../../support/prng.ts';

const seed = Number(process.env.PROJECTOR_SEED ?? Date.now() % 1_000_000);
const symbols = ['AAPL', 'MSFT'];
const members = ['alpha', 'beta', 'gamma'];
const startTime = Date.UTC(2026, 2, 2, 9, 0, 0);

interface Item {
  symbol: string;
  command: UnsequencedCommand;
  meta: CommandMeta;
}

/**
 * Seeded commands as a member firm would send them: the sequencer gives each new order its seq as
 * id, so item i (0-based, after `firstSeq - 1` earlier commands) becomes order `firstSeq + i`.
 */
function workload(rng: Prng, firstSeq: number, count: number): Item[] {
  const items: Item[] = [];
  const known: Record<string, number[]> = {};
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    const symbol = rng.pick(symbols);
    const ids = known[symbol] ?? [];
    known[symbol] = ids;
    const member = rng.pick(members);
    const meta: CommandMeta = { time: startTime + seq * 13, member };
    const roll = rng.next();
    let command: UnsequencedCommand;
    if (roll < 0.62 || ids.length === 0) {
      const market = rng.chance(0.06);
      const side = rng.chance(0.5) ? 'buy' : 'sell';
      ids.push(seq);
      if (ids.length > 80) ids.shift();
      if (rng.chance(0.3)) meta.clientOrderId = `c-${seq}`;
      command = {
        type: 'new',
        account: bookAccount(member, rng.pick(['', 'desk'])),
        side,
        orderType: market ? 'market' : 'limit',
        priceTicks: market ? undefined : side === 'buy' ? rng.int(990, 1003) : rng.int(997, 1010),
        quantityLots: rng.int(1, 30),
        timeInForce: market ? 'IOC' : rng.pick(['GTC', 'GTC', 'DAY', 'IOC', 'FOK'] as const),
        stp: rng.pick(['none', 'cancel_newest', 'cancel_oldest'] as const),
      };
    } else if (roll < 0.82) {
      command = { type: 'cancel', orderId: rng.pick(ids) };
    } else if (roll < 0.995) {
      command = {
        type: 'replace',
        orderId: rng.pick(ids),
        quantityLots: rng.int(1, 40),
        priceTicks: rng.int(993, 1007),
      };
    } else {
      ids.length = 0;
      delete meta.member;
      command = { type: 'expire_day_orders' };
    }
    items.push({ symbol, command, meta });
  }
  return items;
}

/** What the projection must hold: a tracker fed directly with the sequencer's own results. */
class Expected {
  readonly tracker = new OrderTracker();
  readonly orders = new Map<number, OrderState>();
  readonly trades: TradeRow[] = [];
  readonly executions: ExecutionRow[] = [];
  private readonly placed = new Map<number, Pick<ExecutionRow, 'member' | 'account' | 'orderType'>>();

  add(item: Item, result: SequencedResult): void {
    const command = (
      item.command.type === 'new'
        ? { ...item.command, seq: result.seq, orderId: result.seq }
        : { ...item.command, seq: result.seq }
    ) as BookCommand;
    const record = { seq: result.seq, symbol: result.symbol, command, meta: result.meta };
    for (const state of this.tracker.apply(record, result.events)) this.orders.set(state.orderId, state);
    if (command.type === 'new') {
      this.placed.set(command.orderId, {
        member: item.meta.member ?? '',
        account: command.account.slice(command.account.indexOf(':') + 1),
        orderType: command.orderType,
      });
    }
    // Trades and executions straight from the events, independently of projectRecord.
    const time = item.meta.time;
    let n = 0;
    for (const event of result.events) {
      if (event.type !== 'trade') continue;
      const tradeId = `${result.seq}-${++n}`;
      this.trades.push({
        tradeId,
        seq: result.seq,
        symbol: item.symbol,
        priceTicks: event.priceTicks,
        quantityLots: event.quantityLots,
        makerOrderId: event.makerOrderId,
        takerOrderId: event.takerOrderId,
        makerSide: event.makerSide,
        time,
      });
      const takerSide = event.makerSide === 'buy' ? 'sell' : 'buy';
      for (const [orderId, side, liquidity, suffix] of [
        [event.makerOrderId, event.makerSide, 'maker', 'M'],
        [event.takerOrderId, takerSide, 'taker', 'T'],
      ] as const) {
        const placed = this.placed.get(orderId)!;
        this.executions.push({
          id: `${tradeId}-${suffix}`,
          tradeId,
          orderId,
          member: placed.member,
          account: placed.account,
          symbol: item.symbol,
          side,
          priceTicks: event.priceTicks,
          quantityLots: event.quantityLots,
          orderType: placed.orderType,
          liquidity,
          seq: result.seq,
          fill: suffix === 'M' ? 2 * n - 1 : 2 * n,
          time,
        });
      }
    }
  }
}

async function submitAll(sequencer: Sequencer, items: Item[], expected: Expected): Promise<void> {
  // In order, a few in flight at a time, as a busy exchange would see them.
  for (let i = 0; i < items.length; i += 25) {
    const chunk = items.slice(i, i + 25);
    const results = await Promise.all(
      chunk.map((item) => sequencer.submit(item.symbol, item.command, item.meta)),
    );
    for (const [k, result] of results.entries()) expected.add(chunk[k]!, result);
  }
}

async function projectedOrders(db: TestDatabase): Promise<Map<number, OrderState>> {
  const { rows } = await db.pool.query(
    `SELECT order_id, symbol, member, account, client_order_id, side, order_type, time_in_force, post_only,
            price_ticks, quantity_lots, filled_lots, remaining_lots, status, reject_reason, cancel_reason,
            created_at, updated_at, last_seq FROM exchange_orders ORDER BY order_id`,
  );
  return new Map(
    rows.map((r) => [
      Number(r.order_id),
      {
        orderId: Number(r.order_id),
        symbol: r.symbol,
        member: r.member,
        account: r.account,
        clientOrderId: r.client_order_id,
        side: r.side,
        orderType: r.order_type,
        timeInForce: r.time_in_force,
        postOnly: r.post_only,
        priceTicks: r.price_ticks === null ? null : Number(r.price_ticks),
        quantityLots: Number(r.quantity_lots),
        filledLots: Number(r.filled_lots),
        remainingLots: Number(r.remaining_lots),
        status: r.status,
        rejectReason: r.reject_reason,
        cancelReason: r.cancel_reason,
        createdAt: r.created_at.getTime(),
        updatedAt: r.updated_at.getTime(),
        lastSeq: Number(r.last_seq),
      } satisfies OrderState,
    ]),
  );
}

async function projectedExecutions(db: TestDatabase): Promise<ExecutionRow[]> {
  const { rows } = await db.pool.query(
    `SELECT id, trade_id, order_id, member, account, symbol, side, price_ticks, quantity_lots, order_type,
            liquidity, seq, fill, time FROM exchange_executions ORDER BY seq, fill`,
  );
  return rows.map((r) => ({
    id: r.id,
    tradeId: r.trade_id,
    orderId: Number(r.order_id),
    member: r.member,
    account: r.account,
    symbol: r.symbol,
    side: r.side,
    priceTicks: Number(r.price_ticks),
    quantityLots: Number(r.quantity_lots),
    orderType: r.order_type,
    liquidity: r.liquidity,
    seq: Number(r.seq),
    fill: r.fill,
    time: r.time.getTime(),
  }));
}

async function projectedTrades(db: TestDatabase): Promise<TradeRow[]> {
  const { rows } = await db.pool.query(
    `SELECT trade_id, seq, symbol, price_ticks, quantity_lots, maker_order_id, taker_order_id, maker_side, time
       FROM exchange_trades ORDER BY seq, trade_id`,
  );
  return rows.map((r) => ({
    tradeId: r.trade_id,
    seq: Number(r.seq),
    symbol: r.symbol,
    priceTicks: Number(r.price_ticks),
    quantityLots: Number(r.quantity_lots),
    makerOrderId: Number(r.maker_order_id),
    takerOrderId: Number(r.taker_order_id),
    makerSide: r.maker_side,
    time: r.time.getTime(),
  }));
}

/**
 * `pool`, except that after loseNextCommitReply() the next COMMIT commits and then fails, as when
 * the connection drops before the reply arrives.
 */
function poolLosingCommitReplies(pool: Pool): { pool: Pool; loseNextCommitReply(): void } {
  let armed = false;
  const bound = <T extends object>(target: T, property: string | symbol): unknown => {
    const value = Reflect.get(target, property, target);
    return typeof value === 'function' ? value.bind(target) : value;
  };
  const query =
    (client: object) =>
    (...args: unknown[]): unknown => {
      const result = (Reflect.get(client, 'query') as (...a: unknown[]) => unknown).apply(client, args);
      if (!armed || args[0] !== 'COMMIT') return result;
      armed = false;
      return (result as Promise<unknown>).then(() => {
        throw new Error('Connection terminated unexpectedly');
      });
    };
  const connect = async () => {
    const client = await pool.connect();
    return new Proxy(client, {
      get: (target, property) => (property === 'query' ? query(target) : bound(target, property)),
    });
  };
  return {
    pool: new Proxy(pool, {
      get: (target, property) => (property === 'connect' ? connect : bound(target, property)),
    }),
    loseNextCommitReply: () => {
      armed = true;
    },
  };
}

const bySeqAndId =
  <T extends { seq: number }>(key: (row: T) => string) =>
  (a: T, b: T) =>
    a.seq - b.seq || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

async function expectProjectionEquals(db: TestDatabase, expected: Expected, lastSeq: number): Promise<void> {
  const orders = await projectedOrders(db);
  expect(orders.size).toBe(expected.orders.size);
  expect(orders).toEqual(expected.orders);
  expect(await projectedTrades(db)).toEqual([...expected.trades].sort(bySeqAndId((t) => t.tradeId)));
  expect(await projectedExecutions(db)).toEqual(
    [...expected.executions].sort((a, b) => a.seq - b.seq || a.fill - b.fill),
  );
  expect(await readCheckpoint(db.pool)).toBe(lastSeq);
  const open = await loadOpenOrders(db.pool);
  expect(open).toEqual([...expected.tracker.openOrders()].sort((a, b) => a.orderId - b.orderId));
}

describe(`executions projector against PostgreSQL (PROJECTOR_SEED=${seed})`, () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  const projectors: ExecutionsProjector[] = [];
  const sequencers: Sequencer[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });
  afterEach(async () => {
    for (const projector of projectors.splice(0)) await projector.stop();
    for (const sequencer of sequencers.splice(0)) await sequencer.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    await db.pool.query(
      'TRUNCATE exchange_orders, exchange_trades, exchange_executions, exchange_projector_checkpoint',
    );
  });

  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kinyu-projector-'));
    dirs.push(dir);
    return dir;
  };
  const openSequencer = async (dir: string, snapshotEveryCommands: number) => {
    const sequencer = await Sequencer.open(dir, { durability: 'none', snapshotEveryCommands });
    sequencers.push(sequencer);
    return sequencer;
  };
  const openProjector = async (options: Omit<Parameters<typeof ExecutionsProjector.open>[0], 'pool'>) => {
    const projector = await ExecutionsProjector.open({ pool: db.pool, ...options });
    projectors.push(projector);
    return projector;
  };

  it('a straight run projects every order, trade and execution the tracker sees, with snapshots in between', async () => {
    const rng = new Prng(seed);
    const dir = tempDir();
    const sequencer = await openSequencer(dir, 150);
    const expected = new Expected();
    await submitAll(sequencer, workload(rng, 1, 1500), expected);
    const projector = await openProjector({ dir, batchRecordsMax: 97, batchRowsMax: 400 });
    expect(await projector.catchUp()).toBe(1500);
    expect(projector.appliedSeq).toBe(1500);
    expect(expected.trades.length).toBeGreaterThan(100);
    expect(expected.executions).toHaveLength(2 * expected.trades.length);
    await expectProjectionEquals(db, expected, 1500);
  });

  it('stopped mid-way and resumed by a new projector after more commands, it equals a straight run', async () => {
    const rng = new Prng(seed + 1);
    const dir = tempDir();
    const sequencer = await openSequencer(dir, 120);
    const expected = new Expected();
    await submitAll(sequencer, workload(rng, 1, 800), expected);

    // Held back at 437 as if the rest were not yet durable: a deterministic "mid-way".
    const first = await openProjector({ dir, batchRecordsMax: 50, durableSeq: () => 437 });
    expect(await first.catchUp()).toBe(437);
    await first.stop();
    expect(await readCheckpoint(db.pool)).toBe(437);

    // A second projector that polls, stopped somewhere after 600.
    const second = await openProjector({ dir, batchRecordsMax: 40, pollIntervalMs: 1 });
    expect(second.appliedSeq).toBe(437);
    second.start();
    expect(await second.waitFor(600, 10_000)).toBe(true);
    await second.stop();
    const stoppedAt = await readCheckpoint(db.pool);
    expect(stoppedAt).toBeGreaterThanOrEqual(600);

    await submitAll(sequencer, workload(rng, 801, 700), expected);
    const third = await openProjector({ dir, batchRecordsMax: 64 });
    expect(third.appliedSeq).toBe(stoppedAt);
    expect(await third.catchUp()).toBe(1500 - stoppedAt);
    await expectProjectionEquals(db, expected, 1500);
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT trade_id)::int AS t FROM exchange_executions',
    );
    expect(rows[0]).toEqual({ n: 2 * expected.trades.length, t: expected.trades.length });
  });

  it('follows a live sequencer on its timer; waitFor resolves once the checkpoint passes the seq; metrics report it', async () => {
    const rng = new Prng(seed + 2);
    const dir = tempDir();
    const sequencer = await openSequencer(dir, 200);
    const expected = new Expected();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const projector = await openProjector({
      dir,
      pollIntervalMs: 5,
      metrics,
      durableSeq: () => sequencer.lastSeq,
    });
    projector.start();
    await submitAll(sequencer, workload(rng, 1, 600), expected);
    expect(await projector.waitFor(600, 10_000)).toBe(true);
    expect(projector.lagRecords).toBe(0);
    const text = await metrics.metrics();
    expect(text).toContain('kinyu_exchange_projector_applied_seq 600');
    expect(text).toContain('kinyu_exchange_projector_lag_records 0');
    expect(await projector.waitFor(601, 30)).toBe(false);
    await expectProjectionEquals(db, expected, 600);
  });

  it('refuses to write a batch when the checkpoint is not where it expects, and writes nothing', async () => {
    const rng = new Prng(seed + 3);
    const dir = tempDir();
    const sequencer = await openSequencer(dir, 0);
    const expected = new Expected();
    await submitAll(sequencer, workload(rng, 1, 50), expected);
    const projector = await openProjector({ dir, durableSeq: () => 20 });
    await projector.catchUp();
    const before = await projectedOrders(db);
    await expect(
      writeBatch(db.pool, executionsProjectorName, 10, [
        { seq: 21, orders: [...expected.orders.values()], trades: [], executions: [] },
      ]),
    ).rejects.toThrow(CheckpointMovedError);
    expect(await projectedOrders(db)).toEqual(before);
    expect(await readCheckpoint(db.pool)).toBe(20);
  });

  it('after a lost COMMIT reply, asks the checkpoint, finds the batch in and publishes it at once', async () => {
    const rng = new Prng(seed + 5);
    const dir = tempDir();
    const sequencer = await openSequencer(dir, 0);
    const expected = new Expected();
    await submitAll(sequencer, workload(rng, 1, 40), expected);
    const flaky = poolLosingCommitReplies(db.pool);
    let durable = 20;
    const published: number[] = [];
    const projector = await ExecutionsProjector.open({
      pool: flaky.pool,
      dir,
      durableSeq: () => durable,
      onCommitted: (seq) => published.push(seq),
    });
    projectors.push(projector);
    expect(await projector.catchUp()).toBe(20);
    expect(published.at(-1)).toBe(20);
    // A reader that wrote seq 30 waits; the market is quiet, so no later batch would wake it.
    const reader = projector.waitFor(30, 2_000);

    // The batch up to 30 commits, but its reply is lost.
    durable = 30;
    flaky.loseNextCommitReply();
    expect(await projector.catchUp()).toBe(10);
    expect(await readCheckpoint(db.pool)).toBe(30);
    expect(projector.appliedSeq).toBe(30);
    expect(published.at(-1)).toBe(30);
    expect(await reader).toBe(true);

    durable = 40;
    expect(await projector.catchUp()).toBe(10);
    expect(published).toEqual([20, 30, 40]);
    await expectProjectionEquals(db, expected, 40);
  });

  it('reloads from a checkpoint another writer moved ahead and publishes it to onCommitted and to waiters', async () => {
    const rng = new Prng(seed + 6);
    const dir = tempDir();
    const sequencer = await openSequencer(dir, 0);
    await submitAll(sequencer, workload(rng, 1, 40), new Expected());
    let durable = 20;
    const published: number[] = [];
    const projector = await ExecutionsProjector.open({
      pool: db.pool,
      dir,
      durableSeq: () => durable,
      onCommitted: (seq) => published.push(seq),
    });
    projectors.push(projector);
    expect(await projector.catchUp()).toBe(20);
    const reader = projector.waitFor(30, 2_000);

    // Another projector writes up to 30 meanwhile.
    const other = await ExecutionsProjector.open({ pool: db.pool, dir, durableSeq: () => 30 });
    projectors.push(other);
    expect(await other.catchUp()).toBe(10);

    durable = 30;
    await expect(projector.catchUp()).rejects.toThrow(CheckpointMovedError);
    expect(await projector.catchUp()).toBe(0);
    expect(projector.appliedSeq).toBe(30);
    expect(published).toEqual([20, 30]);
    expect(await reader).toBe(true);
  });

  it('refuses to start on a journal that ends before its checkpoint', async () => {
    const rng = new Prng(seed + 4);
    const dir = tempDir();
    const sequencer = await openSequencer(dir, 0);
    await submitAll(sequencer, workload(rng, 1, 30), new Expected());
    const projector = await openProjector({ dir });
    await projector.catchUp();
    await expect(ExecutionsProjector.open({ pool: db.pool, dir: tempDir() })).rejects.toThrow(
      ProjectionAheadOfJournalError,
    );
  });
});
