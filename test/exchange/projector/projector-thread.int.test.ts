import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ProjectorThread, readCheckpoint } from '../../../src/exchange/projector/index.ts';
import { listSnapshots, Sequencer, verifyDataDirectory } from '../../../src/exchange/sequencer/index.ts';
import { defaultInstruments, ExchangeService, ExchangeStore } from '../../../src/exchange/service/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import { createLogger } from '../../../src/platform/log.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { removeDir, tempDataDir } from '../service/support.ts';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose lines the test can read. */
function capturedLogger() {
  const lines: LogLine[] = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the executions projector on its own thread, behind a real sequencer and service', () => {
  let db: TestDatabase;
  let store: ExchangeStore;
  const dirs: string[] = [];
  const threads: ProjectorThread[] = [];
  const exchanges: Array<{ service: ExchangeService; sequencer: Sequencer }> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new ExchangeStore(db.pool);
    await store.insertDefaultsIfEmpty(defaultInstruments, new Date('2026-03-02T09:00:00Z'));
  });
  afterEach(async () => {
    for (const thread of threads.splice(0)) await thread.stop();
    for (const { service, sequencer } of exchanges.splice(0)) {
      await service.drain();
      await sequencer.close();
    }
    for (const dir of dirs.splice(0)) removeDir(dir);
    await db.pool.query(
      'TRUNCATE exchange_orders, exchange_trades, exchange_executions, exchange_projector_checkpoint',
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  async function startExchange(snapshotEveryCommands = 25) {
    const dir = tempDataDir();
    dirs.push(dir);
    const sequencer = await Sequencer.open(dir, { durability: 'none', snapshotEveryCommands });
    const service = new ExchangeService({
      sequencer,
      store,
      clock: new ManualClock('2026-03-02T09:00:00Z'),
      instruments: await store.listInstruments(),
      sessions: await store.loadSessions(),
      openOrders: [],
    });
    exchanges.push({ service, sequencer });
    return { dir, service, sequencer };
  }

  async function openThread(options: Parameters<typeof ProjectorThread.open>[0]) {
    const thread = await ProjectorThread.open(options);
    threads.push(thread);
    return thread;
  }

  /** `pairs` buys and sells of one lot at the same price: every pair is one trade. */
  async function trade(service: ExchangeService, pairs: number) {
    for (let i = 0; i < pairs; i++) {
      const order = { symbol: 'AMZN', orderType: 'limit', price: '221.00', quantity: 1 } as const;
      await service.placeOrder('firm-s', { ...order, side: 'sell' });
      await service.placeOrder('firm-b', { ...order, side: 'buy' });
    }
  }

  const count = async (table: string) =>
    (await db.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;
  const maxOrderId = async () =>
    Number((await db.pool.query('SELECT coalesce(max(order_id), 0) AS n FROM exchange_orders')).rows[0].n);
  /** Backends on this test's database: only the test's own pool once the worker's pool is closed. */
  const backends = async () =>
    (
      await db.pool.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()',
      )
    ).rows[0].n as number;

  it('opens caught up, then follows the service: waitFor resolves once the rows are in PostgreSQL', async () => {
    const { dir, service, sequencer } = await startExchange();
    await trade(service, 5);
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const thread = await openThread({
      databaseUrl: db.url,
      dir,
      durableSeq: sequencer.lastSeq,
      pollIntervalMs: 5,
      metrics,
    });
    expect(thread.state).toBe('open');
    expect(thread.appliedSeq).toBe(10);
    expect(await readCheckpoint(db.pool)).toBe(10);
    expect(await count('exchange_executions')).toBe(10);

    service.subscribe({ onSequenced: (result) => thread.setDurableSeq(result.seq) });
    thread.start();
    await trade(service, 20);
    expect(service.lastSeq).toBe(50);
    expect(await thread.waitFor(50, 10_000)).toBe(true);
    expect(thread.appliedSeq).toBe(50);
    expect(thread.lagRecords).toBe(0);
    expect(await count('exchange_orders')).toBe(50);
    expect(await count('exchange_trades')).toBe(25);
    expect(await count('exchange_executions')).toBe(50);
    const text = await metrics.metrics();
    expect(text).toContain('kinyu_exchange_projector_applied_seq 50');
    expect(text).toContain('kinyu_exchange_projector_lag_records 0');
    expect(text).toContain('kinyu_exchange_projector_thread_failures_total 0');
    expect(await thread.waitFor(51, 30)).toBe(false);
  });

  it('never projects past the durable seq, on open or while polling', async () => {
    const { dir, service } = await startExchange();
    await trade(service, 10);
    const thread = await openThread({ databaseUrl: db.url, dir, durableSeq: 7, pollIntervalMs: 5 });
    expect(thread.appliedSeq).toBe(7);
    expect(thread.lagRecords).toBe(0);
    thread.start();
    expect(await thread.waitFor(8, 200)).toBe(false);
    expect(thread.appliedSeq).toBe(7);
    expect(await readCheckpoint(db.pool)).toBe(7);
    expect(await maxOrderId()).toBe(7);

    thread.setDurableSeq(15);
    expect(thread.lagRecords).toBe(8);
    expect(await thread.waitFor(15, 10_000)).toBe(true);
    await pause(100);
    expect(thread.appliedSeq).toBe(15);
    expect(await maxOrderId()).toBe(15);
  });

  it('stops cleanly: the last batch is committed, the worker pool is closed and waiters get false', async () => {
    const { dir, service, sequencer } = await startExchange();
    const thread = await openThread({ databaseUrl: db.url, dir, durableSeq: 0, pollIntervalMs: 5 });
    service.subscribe({ onSequenced: (result) => thread.setDurableSeq(result.seq) });
    thread.start();
    await trade(service, 15);
    expect(await thread.waitFor(sequencer.lastSeq, 10_000)).toBe(true);
    const waiting = thread.waitFor(sequencer.lastSeq + 1, 10_000);
    await thread.stop();
    expect(await waiting).toBe(false);
    expect(thread.state).toBe('stopped');
    expect(await readCheckpoint(db.pool)).toBe(thread.appliedSeq);
    expect(await backends()).toBe(db.pool.totalCount);
    expect(await thread.waitFor(sequencer.lastSeq + 1, 1_000)).toBe(false);
    await thread.stop();
  });

  it('a worker that dies is logged and counted, order entry goes on, and a new worker resumes from the checkpoint', async () => {
    const { dir, service } = await startExchange();
    const { logger, lines } = capturedLogger();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const thread = await openThread({
      databaseUrl: db.url,
      dir,
      durableSeq: 0,
      pollIntervalMs: 5,
      restartDelayMs: 50,
      metrics,
      logger,
    });
    service.subscribe({ onSequenced: (result) => thread.setDurableSeq(result.seq) });
    thread.start();
    await trade(service, 5);
    expect(await thread.waitFor(10, 10_000)).toBe(true);

    await thread.terminateWorker();
    expect(thread.state).toBe('restarting');
    expect(thread.failures).toBe(1);
    expect(lines.some((line) => line.level === 50 && /projector thread died/.test(line.msg))).toBe(true);
    expect(await metrics.metrics()).toContain('kinyu_exchange_projector_thread_failures_total 1');

    await trade(service, 5);
    expect(service.lastSeq).toBe(20);
    expect(await thread.waitFor(20, 10_000)).toBe(true);
    // The new worker commits while it catches up, before it reports itself open.
    await vi.waitFor(() => expect(thread.state).toBe('open'));
    expect(await count('exchange_executions')).toBe(20);
  });

  it('stop() returns at once when the worker is dead and not yet restarted', async () => {
    const { dir, service } = await startExchange();
    const thread = await openThread({
      databaseUrl: db.url,
      dir,
      durableSeq: 0,
      restartDelayMs: 60_000,
      logger: capturedLogger().logger,
    });
    await trade(service, 2);
    await thread.terminateWorker();
    expect(thread.state).toBe('restarting');
    const started = performance.now();
    await thread.stop();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(thread.state).toBe('stopped');
  });

  it('open rejects with the worker error when the projection belongs to another journal, and leaves no worker', async () => {
    const first = await startExchange();
    await trade(first.service, 3);
    const thread = await openThread({ databaseUrl: db.url, dir: first.dir, durableSeq: 6 });
    await thread.stop();
    const other = await startExchange();
    await expect(
      ProjectorThread.open({ databaseUrl: db.url, dir: other.dir, durableSeq: 0 }),
    ).rejects.toMatchObject({ name: 'ProjectionAheadOfJournalError' });
    expect(await backends()).toBe(db.pool.totalCount);
  });

  it('writes the snapshots in the worker, up to the durable seq, when the sequencer writes none', async () => {
    const { dir, service, sequencer } = await startExchange(0);
    await trade(service, 10);
    const thread = await openThread({
      databaseUrl: db.url,
      dir,
      durableSeq: sequencer.lastSeq,
      pollIntervalMs: 5,
      snapshotEveryCommands: 15,
      logger: capturedLogger().logger,
    });
    service.subscribe({ onSequenced: (result) => thread.setDurableSeq(result.seq) });
    thread.start();
    // Opened at seq 20 with no snapshot yet: one is due at once.
    await vi.waitFor(() => expect(listSnapshots(dir).map((s) => s.seq)).toEqual([20]), { timeout: 5_000 });
    await trade(service, 10);
    // The next one once 15 more are durable: at seq 35 to 40, depending on when the worker steps.
    await vi.waitFor(() => expect(listSnapshots(dir)[0]!.seq).toBeGreaterThanOrEqual(35), { timeout: 5_000 });
    const [newest] = listSnapshots(dir);
    expect(newest!.seq).toBeLessThanOrEqual(40);
    expect(verifyDataDirectory(dir)).toMatchObject({ match: true, snapshotSeq: newest!.seq, lastSeq: 40 });
  });
});
