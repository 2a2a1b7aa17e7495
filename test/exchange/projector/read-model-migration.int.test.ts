import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listExecutions } from '../../../src/exchange/projector/read-model.ts';
import { migrate } from '../../../src/platform/sql/migrate.ts';
import { createEmptyDatabase, migrationsThrough, type TestDatabase } from '../../support/db.ts';

const exchangeMigrations = fileURLToPath(new URL('../../../src/exchange/migrations', import.meta.url));

describe('migration 0003_read_model_keys on a database that already has executions', () => {
  const before = migrationsThrough(exchangeMigrations, '0002_projections.sql');
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(async () => {
    await db.drop();
    before.remove();
  });

  it('given executions keyed by text id, when it applies, then each gets its numeric place and they list in trade order', async () => {
    await migrate(db.pool, [{ module: 'exchange', dir: before.dir }]);
    const trades = [2, 10, 1];
    for (const n of trades) {
      for (const [suffix, liquidity] of [
        ['M', 'maker'],
        ['T', 'taker'],
      ] as const) {
        await db.pool.query(
          `INSERT INTO exchange_executions (id, trade_id, order_id, member, account, symbol, side, price_ticks,
             quantity_lots, order_type, liquidity, seq, time)
           VALUES ($1, $2, 18, 'ACME', '', 'AAPL', 'buy', 100, 1, 'limit', $3, 18, '2026-03-02T09:00:00Z')`,
          [`18-${n}-${suffix}`, `18-${n}`, liquidity],
        );
      }
    }

    await migrate(db.pool, [{ module: 'exchange', dir: exchangeMigrations }]);

    const { rows } = await db.pool.query('SELECT id, fill FROM exchange_executions ORDER BY fill');
    expect(rows).toEqual([
      { id: '18-1-M', fill: 1 },
      { id: '18-1-T', fill: 2 },
      { id: '18-2-M', fill: 3 },
      { id: '18-2-T', fill: 4 },
      { id: '18-10-M', fill: 19 },
      { id: '18-10-T', fill: 20 },
    ]);
    const listed = await listExecutions(db.pool, { member: 'ACME' }, null, 10);
    expect(listed.map((row) => row.id)).toEqual(rows.map((row) => row.id));
    // A fill that contradicts the side is refused.
    await expect(
      db.pool.query(
        `INSERT INTO exchange_executions (id, trade_id, order_id, member, account, symbol, side, price_ticks,
           quantity_lots, order_type, liquidity, seq, fill, time)
         VALUES ('19-1-M', '19-1', 19, 'ACME', '', 'AAPL', 'buy', 100, 1, 'limit', 'maker', 19, 2, now())`,
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
