import { randomBytes } from 'node:crypto';
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
export async function createTestDatabase(poolMax = 10): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `kinyu_t_${inject('runTag')}_${randomBytes(5).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
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
