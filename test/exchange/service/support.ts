import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { type ExchangeModule, startExchange } from '../../../src/exchange/module.ts';
import { createBus } from '../../../src/platform/bus/index.ts';
import type { ManualClock } from '../../../src/platform/clock.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { type App, buildApp } from '../../../src/platform/http/app.ts';
import { createLogger } from '../../../src/platform/log.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import { createTestIdentity, createUser, type TestIdentity } from '../../identity/support.ts';
import type { TestDatabase } from '../../support/db.ts';

/** A data directory under os.tmpdir(); the caller removes it with `removeDir`. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'kinyu-exchange-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface TestExchange {
  app: App;
  exchange: ExchangeModule;
  identity: TestIdentity;
  clock: ManualClock;
  /** Stops HTTP, then the exchange (drains and closes the sequencer), then the bus. */
  stop(): Promise<void>;
}

/**
 * The exchange module as the runtime starts it (startExchange with a config from the environment
 * variables given), behind the platform's buildApp with identity's auth plugin: real rate limits,
 * validation and problem+json, on a test database and a temp data directory.
 */
export async function startTestExchange(
  db: TestDatabase,
  dataDir: string,
  env: Record<string, string> = {},
  identity: TestIdentity = createTestIdentity(db.pool),
): Promise<TestExchange> {
  const config = loadConfig({
    KINYU_DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    KINYU_EXCHANGE_DURABILITY: 'none',
    ...env,
  });
  const logger = createLogger(process.env.KINYU_TEST_LOG_LEVEL ?? 'silent');
  const clock = identity.clock;
  const bus = createBus({ redisUrl: undefined, clock, logger, defaults: {} });
  const metrics = createMetricsRegistry();
  const exchange = await startExchange({
    config,
    pool: db.pool,
    bus,
    identity: identity.module,
    logger,
    clock,
    metrics,
    announce: () => undefined,
  });
  const app = await buildApp({
    logger,
    metrics,
    pool: db.pool,
    clock,
    rateLimit: { max: config.rateLimitMax, windowMs: config.rateLimitWindowMs },
    idempotencyTtlHours: config.idempotencyTtlHours,
    readiness: exchange.readiness ?? [],
    hooks: [identity.module.authPlugin],
    modules: [identity.module.routes, ...(exchange.routes ?? [])],
    callerOf,
    rateLimitKeyOf: identity.module.knownCaller,
  });
  await app.ready();
  return {
    app,
    exchange,
    identity,
    clock,
    async stop() {
      await app.close();
      await exchange.stop();
      await bus.close();
    },
  };
}

function callerOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind === 'user') return `user:${principal.userId}`;
  if (principal?.kind === 'member') return `member:${principal.memberId}`;
  return `ip:${request.ip}`;
}

/** An admin's bearer header (created through identity's service, logged in over HTTP). */
export async function adminHeader(app: App, identity: TestIdentity, loginId: string) {
  await createUser(identity.service, loginId, undefined, ['admin']);
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { loginId, password: 'Correct-Horse-42' },
  });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.body}`);
  return { authorization: `Bearer ${response.json().token as string}` };
}

/** An API key header for `member`, issued by the admin over HTTP. */
export async function memberHeader(app: App, admin: Record<string, string>, name: string, member: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/admin/api-keys',
    headers: admin,
    payload: { name, role: 'member', member },
  });
  if (response.statusCode !== 201) throw new Error(`issuing a key failed: ${response.body}`);
  return { 'x-api-key': response.json().apiKey as string };
}
