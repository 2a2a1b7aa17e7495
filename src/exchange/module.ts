import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { ModuleContext, StartedModule } from '../app/module.ts';
import { assert } from '../platform/errors.ts';
import { RateWindow } from '../platform/rate-window.ts';
import { lockDataDirectory } from './data-dir-lock.ts';
import { exchangeAdminRoutes } from './http/admin.ts';
import { exchangeInstrumentRoutes } from './http/instruments.ts';
import { l3RequestsPerWindow, marketDataRoutes } from './http/market-data.ts';
import { exchangeOrderRoutes, rateLimitedOrderOperations } from './http/orders.ts';
import { exchangeQueryRoutes } from './http/queries.ts';
import { exchangeWebSocket } from './http/ws.ts';
import { loadMarketDataSeed, MarketDataHub, sqlCandleHistory } from './market-data/index.ts';
import { loadOpenOrders, ProjectorThread } from './projector/index.ts';
import { Sequencer } from './sequencer/index.ts';
import {
  defaultInstruments,
  ExchangeService,
  ExchangeStore,
  parseSchedule,
  ScheduleTimer,
} from './service/index.ts';

/** Where the exchange keeps its journal and snapshots, under KINYU_DATA_DIR. */
export const exchangeDirectoryName = 'exchange';

/** The started exchange; `service` is there in a process with the `exchange` role. */
export interface ExchangeModule extends StartedModule {
  service?: ExchangeService;
}

/**
 * The exchange in a process with the `exchange` role: lists the default instruments on first start,
 * opens the sequencer on `$KINYU_DATA_DIR/exchange` (one writer per directory), lets the executions
 * projector catch up with the journal so the open orders can be loaded from it, builds the service
 * and the market-data hub (which reads the books before any new command), applies the trading
 * schedule and serves order entry, queries, market data, the WebSocket and administration.
 * Without the role it does nothing.
 */
export const startExchange = async (context: ModuleContext): Promise<ExchangeModule> => {
  if (!context.config.roles.includes('exchange')) return { name: 'exchange', stop: async () => {} };
  const { config, pool, clock, logger } = context;
  const schedule = parseSchedule(config.exchangeSchedule);
  assert(
    schedule,
    `KINYU_EXCHANGE_SCHEDULE ${config.exchangeSchedule} passed config validation but does not parse`,
  );
  const store = new ExchangeStore(pool);
  const listed = await store.insertDefaultsIfEmpty(defaultInstruments, clock.now());
  if (listed > 0) logger.info({ instruments: listed }, 'first start: default instruments listed');
  const [instruments, sessions] = await Promise.all([store.listInstruments(), store.loadSessions()]);
  const dir = path.join(config.dataDir, exchangeDirectoryName);
  const lock = lockDataDirectory(dir);
  // Snapshots are written by the projector's thread (a SnapshotFollower), never on order entry's.
  const sequencer = await Sequencer.open(dir, {
    durability: config.exchangeDurability,
    snapshotEveryCommands: 0,
  }).catch((error: unknown) => {
    lock.release();
    throw error;
  });
  logger.info({ lastSeq: sequencer.lastSeq, recovery: sequencer.recovery }, 'exchange sequencer open');
  let projector: ProjectorThread | undefined;
  try {
    const databaseUrl = pool.options.connectionString;
    assert(databaseUrl, 'the exchange projector thread needs the pool built from a connection string');
    // Its own thread and pool; open() returns once it has caught up with the journal.
    projector = await ProjectorThread.open({
      databaseUrl,
      dir,
      durableSeq: sequencer.lastSeq,
      snapshotEveryCommands: config.exchangeSnapshotEvery,
      metrics: context.metrics,
      logger,
    });
    assert(
      projector.appliedSeq === sequencer.lastSeq,
      `the projector stopped at seq ${projector.appliedSeq}, the journal ends at ${sequencer.lastSeq}`,
    );
    const openOrders = await loadOpenOrders(pool);
    const live = new ExchangeService({
      sequencer,
      store,
      clock,
      instruments,
      sessions,
      openOrders,
      listeners: [],
      log: logger,
      projection: projector,
      requestKeyTtlMs: config.idempotencyTtlHours * 3_600_000,
    });
    const service = live;
    // Before any new command: the hub's replicas start from the books as the journal left them,
    // and its candles in progress and trade tape from exchange_trades, which the projector has
    // caught up with the journal (a restart would otherwise show a day's candle as what traded since).
    const startedAtMs = clock.nowMs();
    const seed = await loadMarketDataSeed(pool, {
      symbols: sequencer.symbols(),
      lastSeq: live.lastSeq,
      startedAtMs,
    });
    // A deep book's L3 view is a megabyte built on this thread: REST and WebSocket each allow a
    // client a tenth of its requests for new ones.
    const l3Allowance = l3RequestsPerWindow(config.rateLimitMax);
    const hub = new MarketDataHub({
      source: {
        instrument: (symbol) => live.instrument(symbol),
        instruments: () => live.instruments(),
        book: (symbol) => live.book(symbol),
        symbols: () => sequencer.symbols(),
        get lastSeq() {
          return live.lastSeq;
        },
      },
      metrics: context.metrics,
      startedAtMs,
      seed,
      l3SnapshotBuilds: new RateWindow({
        max: l3Allowance,
        windowMs: config.rateLimitWindowMs,
        now: () => clock.nowMs(),
      }),
    });
    live.subscribe(hub);
    const running = projector;
    // The projector never projects past what the exchange has acknowledged (shared memory, no message).
    live.subscribe({ onSequenced: (result) => running.setDurableSeq(result.seq) });
    running.start();
    const timer = new ScheduleTimer(live, schedule, clock, logger);
    await timer.start();
    // One order-entry allowance per member, whether its orders come over REST or the WebSocket.
    const memberLimit = new RateWindow({
      max: config.exchangeOrderRateMax,
      windowMs: config.rateLimitWindowMs,
      now: () => clock.nowMs(),
    });
    const unverified = {
      limit: new RateWindow({
        max: config.rateLimitMax,
        windowMs: config.rateLimitWindowMs,
        now: () => clock.nowMs(),
      }),
      knownCaller: context.identity.knownCaller,
    };
    const routes: FastifyPluginAsync[] = [
      exchangeOrderRoutes({ service, memberLimit, unverified }),
      exchangeInstrumentRoutes({ service: live }),
      exchangeAdminRoutes({ service: live, projectedSeq: () => running.appliedSeq }),
      exchangeQueryRoutes({
        pool,
        instrument: (symbol) => live.instrument(symbol),
        lastSeq: () => live.lastSeq,
        projector: running,
      }),
      marketDataRoutes({
        hub,
        history: sqlCandleHistory(pool),
        l3RequestsPerWindowMax: l3Allowance,
      }),
      exchangeWebSocket({
        hub,
        orders: rateLimitedOrderOperations(live, memberLimit),
        authenticateHandshake: context.identity.authenticateHandshake,
        authenticateApiKey: (apiKey) => context.identity.service.authenticateApiKey(apiKey),
        cachedApiKey: (apiKey, connection) => context.identity.service.cachedApiKey(apiKey, connection),
        clock,
      }),
    ];
    return {
      name: 'exchange',
      service: live,
      routes,
      readiness: [{ name: 'exchange', check: async () => !live.failed }],
      async stop() {
        await timer.stop();
        await live.drain();
        await running.stop();
        await sequencer.close();
        lock.release();
      },
    };
  } catch (error) {
    await projector?.stop().catch(() => undefined);
    await sequencer.close().catch(() => undefined);
    lock.release();
    throw error;
  }
};
