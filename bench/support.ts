import pg from 'pg';
import { type MigrationSource, migrate } from '../src/platform/sql/migrate.ts';
import { createPool, type Pool } from '../src/platform/sql/pool.ts';

/** The server benchmarks create their scratch databases on. */
export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs `work` on a fresh database with `migrations` applied, and drops it afterwards whatever happens. */
export async function withScratchDatabase<T>(
  name: string,
  poolMax: number,
  migrations: MigrationSource[],
  work: (pool: Pool, url: string) => Promise<T>,
): Promise<T> {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), poolMax);
  try {
    await migrate(pool, migrations);
    return await work(pool, url.toString());
  } finally {
    await pool.end();
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
