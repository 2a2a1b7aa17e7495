import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrationSources } from '../../src/app/migrations.ts';
import { startEmbeddedPostgres } from '../../src/platform/sql/embedded.ts';
import { migrate } from '../../src/platform/sql/migrate.ts';
import { createPool } from '../../src/platform/sql/pool.ts';

/**
 * Runs once per `vitest` run. PostgreSQL: DATABASE_URL if set, otherwise an embedded server in
 * .tmp/test-postgres, so PostgreSQL-backed tests always run. A template database with every migration
 * applied is built once; each test file clones it. Redis: REDIS_URL (default 127.0.0.1:6379) is probed;
 * when absent, Redis-backed tests skip with a line saying so, unless KINYU_REQUIRE_SERVICES=1.
 */
interface Shared {
  adminUrl: string;
  template: string;
  runTag: string;
  redisUrl: string;
  users: number;
  teardown: () => Promise<void>;
}

// Vitest runs a global setup once per project; the three tiers share one server and template.
const sharedKey = Symbol.for('kinyu.test.globalSetup');
type GlobalWithShared = typeof globalThis & { [sharedKey]?: Promise<Shared> };

export default async function setup(project: TestProject) {
  const holder = globalThis as GlobalWithShared;
  holder[sharedKey] ??= prepare();
  const shared = await holder[sharedKey];
  shared.users++;
  project.provide('adminDatabaseUrl', shared.adminUrl);
  project.provide('templateDatabase', shared.template);
  project.provide('runTag', shared.runTag);
  project.provide('redisUrl', shared.redisUrl);
  return async () => {
    shared.users--;
    if (shared.users === 0) {
      delete holder[sharedKey];
      await shared.teardown();
    }
  };
}

async function prepare(): Promise<Shared> {
  const runTag = `${process.pid}`;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    // A directory and port of its own, so two test runs on one machine never meet.
    const dir = path.resolve(`.tmp/test-postgres-${runTag}`);
    mkdirSync(dir, { recursive: true });
    const port = 40_000 + (process.pid % 20_000);
    const server = await startEmbeddedPostgres(dir, port);
    adminUrl = server.url;
    stopEmbedded = async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    console.log(`[kinyu tests] DATABASE_URL not set: using embedded PostgreSQL on 127.0.0.1:${port}`);
  }
  const template = `kinyu_tpl_${runTag}`;
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${template}`);
  await adminQuery(adminUrl, `CREATE DATABASE ${template}`);
  const pool = createPool(withDatabase(adminUrl, template), 2);
  try {
    await migrate(pool, migrationSources);
  } finally {
    await pool.end();
  }
  const redisUrl = await probeRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  if (!redisUrl) {
    const message = '[kinyu tests] Redis not reachable: Redis-backed tests are skipped (set REDIS_URL)';
    if (process.env.KINYU_REQUIRE_SERVICES === '1') {
      throw new Error(`${message}; KINYU_REQUIRE_SERVICES=1 forbids skipping`);
    }
    console.log(message);
  }
  const url = adminUrl;
  return {
    adminUrl: url,
    template,
    runTag,
    redisUrl: redisUrl ?? '',
    users: 0,
    async teardown() {
      const { rows } = await adminQuery(
        url,
        `SELECT datname FROM pg_database WHERE datname LIKE 'kinyu_t_${runTag}_%' OR datname = '${template}'`,
      );
      for (const row of rows) await adminQuery(url, `DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
      await stopEmbedded?.();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function probeRedis(url: string): Promise<string | undefined> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return url;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    runTag: string;
    redisUrl: string;
  }
}
