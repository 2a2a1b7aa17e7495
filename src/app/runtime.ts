import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import pg from 'pg';
import { Gauge } from 'prom-client';
import { createIdentityModule, type IdentityModule } from '../identity/index.ts';
import { createBus } from '../platform/bus/index.ts';
import type { Bus } from '../platform/bus/types.ts';
import { type Clock, systemClock } from '../platform/clock.ts';
import type { Config } from '../platform/config.ts';
import { buildApp } from '../platform/http/app.ts';
import { purgeExpiredIdempotencyKeys } from '../platform/http/idempotency.ts';
import { newId } from '../platform/ids.ts';
import { createLogger, type Logger } from '../platform/log.ts';
import { createMetricsRegistry } from '../platform/metrics.ts';
import { OutboxRelay } from '../platform/outbox/index.ts';
import { startEmbeddedPostgres } from '../platform/sql/embedded.ts';
import { migrate } from '../platform/sql/migrate.ts';
import { createPool, databaseReachable, type Pool } from '../platform/sql/pool.ts';
import { migrationSources } from './migrations.ts';
import type { ModuleContext, StartedModule } from './module.ts';
import { moduleStarters } from './modules.ts';
import { configuredOrStoredSecret } from './secrets.ts';

/** The database the system uses: external from DATABASE_URL, or the embedded server in dataDir. */
export interface Database {
  url: string;
  pool: Pool;
  close(): Promise<void>;
}

const embeddedDatabaseName = 'kinyu';

/** Opens (starting the embedded server if needed) and migrates the database. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const dir = path.join(config.dataDir, 'postgres');
    mkdirSync(dir, { recursive: true });
    logger.info({ dir, port: config.embeddedPostgresPort }, 'starting embedded PostgreSQL');
    const server = await startEmbeddedPostgres(dir, config.embeddedPostgresPort, (line) =>
      logger.debug({ postgres: line }),
    );
    stopEmbedded = server.stop;
    url = await ensureDatabase(server.url, embeddedDatabaseName);
  }
  const pool = createPool(url, config.pgPoolMax);
  try {
    const applied = await migrate(pool, migrationSources);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } catch (error) {
    await pool.end();
    await stopEmbedded?.();
    throw error;
  }
  return {
    url,
    pool,
    async close() {
      await pool.end();
      await stopEmbedded?.();
    },
  };
}

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Everything one process runs, and how to stop it. */
export interface RunningSystem {
  /** The HTTP base URL when this process runs the `api` role. */
  url: string | undefined;
  identity: IdentityModule;
  bus: Bus;
  database: Database;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  clock?: Clock;
  /** Where a generated first admin password goes: the console, never the log. */
  announce?: (text: string) => void;
}

const idempotencyPurgeIntervalMs = 15 * 60_000;

/** Opens the database and bus, makes sure an admin exists, and starts this process's roles. */
export async function startSystem(config: Config, options: StartOptions): Promise<RunningSystem> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const announce = options.announce ?? ((text: string) => process.stdout.write(`${text}\n`));
  const database = await openDatabase(config, logger);
  const stack: Array<{ name: string; stop: () => Promise<unknown> }> = [
    { name: 'database', stop: database.close },
  ];
  const stopAll = async () => {
    for (const { name, stop } of stack.reverse()) {
      await stop().catch((error: unknown) => logger.error({ err: error }, `stopping ${name} failed`));
    }
  };
  try {
    const bus = createBus({
      redisUrl: config.redisUrl,
      clock,
      logger,
      defaults: { ackTimeoutMs: config.busAckTimeoutMs, maxDeliveries: config.busMaxDeliveries },
    });
    stack.push({ name: 'bus', stop: () => bus.close() });
    const identity = identityModule(config, database, logger, clock);
    await bootstrapAdmin(identity, config, announce);
    const metrics = createMetricsRegistry();
    const context: ModuleContext = {
      config,
      pool: database.pool,
      bus,
      identity,
      logger,
      clock,
      metrics,
      announce,
    };
    const modules: StartedModule[] = [];
    for (const start of moduleStarters) {
      const started = await start(context);
      modules.push(started);
      stack.push({ name: started.name, stop: () => started.stop() });
    }
    if (config.roles.includes('relay')) {
      const relay = new OutboxRelay(database.pool, bus, (level, message, fields) =>
        logger[level](fields ?? {}, message),
      );
      relay.start();
      stack.push({ name: 'outbox relay', stop: () => relay.stop() });
      new Gauge({
        name: 'kinyu_outbox_published_messages',
        help: 'Outbox messages this process has published (and, on the in-process bus, seen handled)',
        registers: [metrics],
        collect() {
          this.set(relay.publishedCount);
        },
      });
    }
    let url: string | undefined;
    if (config.roles.includes('api') || config.roles.includes('exchange')) {
      const app = await buildApp({
        logger,
        metrics,
        pool: database.pool,
        clock,
        rateLimit: { max: config.rateLimitMax, windowMs: config.rateLimitWindowMs },
        idempotencyTtlHours: config.idempotencyTtlHours,
        readiness: [
          { name: 'database', check: () => databaseReachable(database.pool) },
          { name: 'bus', check: () => bus.ping() },
          ...modules.flatMap((module) => module.readiness ?? []),
        ],
        hooks: [identity.authPlugin],
        modules: [identity.routes, ...modules.flatMap((module) => module.routes ?? [])],
        callerOf,
        rateLimitKeyOf: identity.knownCaller,
      });
      // Stopped first: no new requests, in-flight ones finish while the database is still there.
      stack.push({ name: 'http', stop: () => withTimeout(app.close(), config.shutdownTimeoutMs) });
      const purge = setInterval(() => {
        purgeExpiredIdempotencyKeys(database.pool, clock.now()).catch((error: unknown) =>
          logger.warn({ err: error }, 'purging idempotency keys failed'),
        );
      }, idempotencyPurgeIntervalMs);
      purge.unref();
      stack.push({ name: 'idempotency purge', stop: async () => clearInterval(purge) });
      url = await app.listen({ host: config.host, port: config.port });
      logger.info({ url, roles: config.roles, bus: bus.kind }, `listening on ${url}`);
    }
    return { url, identity, bus, database, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Rate-limit and idempotency scopes follow the authenticated caller, else the client address. */
function callerOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind === 'user') return `user:${principal.userId}`;
  if (principal?.kind === 'member') return `member:${principal.memberId}`;
  return `ip:${request.ip}`;
}

function identityModule(config: Config, database: Database, logger: Logger, clock: Clock): IdentityModule {
  return createIdentityModule({
    pool: database.pool,
    clock,
    ids: newId,
    settings: config,
    tokenSecret: configuredOrStoredSecret(config.tokenSecret, config.dataDir, 'token-secret'),
    log: logger,
  });
}

async function bootstrapAdmin(identity: IdentityModule, config: Config, announce: (text: string) => void) {
  const result = await identity.service.ensureAdmin({
    login: config.adminLogin,
    password: config.adminPassword,
  });
  if (result.outcome === 'created_with_generated_password') {
    announce(
      [
        '',
        '  First start: an administrator was created. This password is shown once and never stored:',
        `    admin login: ${result.loginId}   password: ${result.temporaryPassword}`,
        '  You will be asked to change it at the first login.',
        '',
      ].join('\n'),
    );
  }
}

function withTimeout(work: Promise<unknown>, timeoutMs: number): Promise<unknown> {
  return Promise.race([work, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}

/** `kinyu start`: runs until SIGINT/SIGTERM, then drains and stops everything cleanly. */
export async function runUntilSignalled(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const system = await startSystem(config, { logger });
  if (system.url) {
    process.stdout.write(
      `Kinyu is running at ${system.url} (API docs at ${system.url}/docs). Ctrl-C stops it.\n`,
    );
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`${signal} again: exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      logger.info(`${signal} received: draining and stopping`);
      system.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  logger.info('stopped cleanly');
}

export async function migrateOnly(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, logger);
  await database.close();
  logger.info('migrations are up to date');
}

/** `kinyu admin create|reset-password <loginId>`; secrets go to the console once. */
export async function adminCommand(config: Config, command: 'create' | 'reset-password', loginId: string) {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, logger);
  try {
    const identity = identityModule(config, database, logger, systemClock);
    if (command === 'create') {
      if (config.adminPassword) {
        await identity.service.createAdmin(loginId, config.adminPassword);
        process.stdout.write(`Admin ${loginId} created with the password from KINYU_ADMIN_PASSWORD.\n`);
      } else {
        const created = await identity.service.createUserWithTemporaryPassword({ loginId, roles: ['admin'] });
        process.stdout.write(
          `Admin ${loginId} created. Temporary password (shown once; must be changed at login): ${created.temporaryPassword}\n`,
        );
      }
    } else {
      const reset = await identity.service.resetPassword(loginId);
      process.stdout.write(
        `Temporary password for ${loginId} (shown once; must be changed at login): ${reset.temporaryPassword}\n`,
      );
    }
  } finally {
    await database.close();
  }
}
