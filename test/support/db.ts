import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { createPool, type Pool } from '../../src/platform/sql/pool.ts';
import { withDatabase } from './global-setup.ts';

export interface TestDatabase {
  pool: Pool;
  /** Connection string of this test's own database (for child processes). */
  url: string;
  drop(): Promise<void>;
}

/** A fresh database with every migration applied, cloned from the run's template; drop() removes it. */
export function createTestDatabase(poolMax = 10): Promise<TestDatabase> {
  return createDatabase(`TEMPLATE ${inject('templateDatabase')}`, poolMax);
}

/** A fresh database with no migration applied (for tests of a migration); drop() removes it. */
export function createEmptyDatabase(poolMax = 2): Promise<TestDatabase> {
  return createDatabase('', poolMax);
}

/**
 * A directory holding a copy of `dir`'s migrations up to and including `lastFile`: migrate() it to
 * get a database as it was before the migrations after it.
 */
export function migrationsThrough(dir: string, lastFile: string): { dir: string; remove(): void } {
  const copy = mkdtempSync(path.join(tmpdir(), 'kinyu-migrations-'));
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.sql') && name <= lastFile)) {
    copyFileSync(path.join(dir, file), path.join(copy, file));
  }
  return { dir: copy, remove: () => rmSync(copy, { recursive: true, force: true }) };
}

async function createDatabase(options: string, poolMax: number): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `kinyu_t_${inject('runTag')}_${randomBytes(5).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name} ${options}`);
  const url = withDatabase(adminUrl, name);
  const pool = createPool(url, poolMax);
  return {
    pool,
    url,
    async drop() {
      await pool.end();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
