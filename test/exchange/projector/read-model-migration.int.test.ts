import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listExecutions } from '../../../src/exchange/projector/read-model.ts';
import { migrate } from '../../../src/platform/sql/migrate.ts';
import { createPool, type Pool } from '../../../src/platform/sql/pool.ts';
import { withDatabase } from '../../support/global-setup.ts';

const exchangeMigrations = fileURLToPath(new URL('../../../src/exchange/migrations', import.meta.url));

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('migration 0003_read_model_keys on a database that already has executions', () => {
  const name = `kinyu_t_${inject('runTag')}_readkeys_${process.pid}`;
  const beforeDir = mkdtempSync(path.join(tmpdir(), 'kinyu-exchange-0002-'));
  let pool: Pool;

  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE ${name}`);
    pool = createPool(withDatabase(inject('adminDatabaseUrl'), name), 2);
    for (const file of ['0001_exchange.sql', '0002_projections.sql']) {
      copyFileSync(path.join(exchangeMigrations, file), path.join(beforeDir, file));
    }
  });
  afterAll(async () => {
    await pool.end();
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    rmSync(beforeDir, { recursive: true, force: true });
  });

  it('given executions keyed by text id, when it applies, then each gets its numeric place and they list in trade order', async () => {
    await migrate(pool, [{ module: 'exchange', dir: beforeDir }]);
    const trades = [2, 10, 1];
    for (const n of trades) {
      for (const [suffix, liquidity] of [
        ['M', 'maker'],
        ['T', 'taker'],
      ] as const) {
        await pool.query(
          `INSERT INTO exchange_executions (id, trade_id, order_id, member, account, symbol, side, price_ticks,
             quantity_lots, order_type, liquidity, seq, time)
           VALUES ($1, $2, 18, 'ACME', '', 'AAPL', 'buy', 100, 1, 'limit', $3, 18, '2026-03-02T09:00:00Z')`,
          [`18-${n}-${suffix}`, `18-${n}`, liquidity],
        );
      }
    }

    await migrate(pool, [{ module: 'exchange', dir: exchangeMigrations }]);

    const { rows } = await pool.query('SELECT id, fill FROM exchange_executions ORDER BY fill');
    expect(rows).toEqual([
      { id: '18-1-M', fill: 1 },
      { id: '18-1-T', fill: 2 },
      { id: '18-2-M', fill: 3 },
      { id: '18-2-T', fill: 4 },
      { id: '18-10-M', fill: 19 },
      { id: '18-10-T', fill: 20 },
    ]);
    const listed = await listExecutions(pool, { member: 'ACME' }, null, 10);
    expect(listed.map((row) => row.id)).toEqual(rows.map((row) => row.id));
    // A fill that contradicts the side is refused.
    await expect(
      pool.query(
        `INSERT INTO exchange_executions (id, trade_id, order_id, member, account, symbol, side, price_ticks,
           quantity_lots, order_type, liquidity, seq, fill, time)
         VALUES ('19-1-M', '19-1', 19, 'ACME', '', 'AAPL', 'buy', 100, 1, 'limit', 'maker', 19, 2, now())`,
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
