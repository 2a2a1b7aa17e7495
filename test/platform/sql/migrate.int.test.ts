import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../src/platform/sql/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

describe('migrate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('applies pending files once, in order, and records them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kinyu-mig-'));
    writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE mig_a (id int)');
    writeFileSync(path.join(dir, '0002_b.sql'), 'ALTER TABLE mig_a ADD COLUMN b int');
    const sources = [{ module: 'scratch', dir }];
    expect(await migrate(db.pool, sources)).toEqual(['scratch/0001_a.sql', 'scratch/0002_b.sql']);
    expect(await migrate(db.pool, sources)).toEqual([]);
  });

  it('rolls back everything when one migration fails', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kinyu-mig-'));
    writeFileSync(path.join(dir, '0001_ok.sql'), 'CREATE TABLE mig_ok (id int)');
    writeFileSync(path.join(dir, '0002_bad.sql'), 'CREATE TABLE mig_bad (id nonsense_type)');
    await expect(migrate(db.pool, [{ module: 'broken', dir }])).rejects.toThrow(/nonsense_type/);
    const { rows } = await db.pool.query("SELECT to_regclass('mig_ok') AS t");
    expect(rows[0].t).toBeNull();
  });

  it('refuses an applied migration whose file changed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kinyu-mig-'));
    writeFileSync(path.join(dir, '0001_x.sql'), 'CREATE TABLE mig_x (id int)');
    await migrate(db.pool, [{ module: 'changed', dir }]);
    writeFileSync(path.join(dir, '0001_x.sql'), 'CREATE TABLE mig_x (id bigint)');
    await expect(migrate(db.pool, [{ module: 'changed', dir }])).rejects.toThrow(
      /changed after it was applied/,
    );
  });

  it('serialises concurrent runs under the advisory lock', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kinyu-mig-'));
    writeFileSync(path.join(dir, '0001_c.sql'), 'CREATE TABLE mig_c (id int)');
    const results = await Promise.all([1, 2, 3].map(() => migrate(db.pool, [{ module: 'race', dir }])));
    expect(results.flat()).toEqual(['race/0001_c.sql']);
  });
});
