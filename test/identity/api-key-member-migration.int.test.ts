import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/platform/sql/migrate.ts';
import { createEmptyDatabase, migrationsThrough, type TestDatabase } from '../support/db.ts';

const identityMigrations = fileURLToPath(new URL('../../src/identity/migrations', import.meta.url));

describe('migration 0002_api_key_member on a database that already has keys', () => {
  const before = migrationsThrough(identityMigrations, '0001_identity.sql');
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(async () => {
    await db.drop();
    before.remove();
  });

  it('given keys issued before members existed, when it applies, then each key trades as its own id', async () => {
    await migrate(db.pool, [{ module: 'identity', dir: before.dir }]);
    const ids = ['01960000-0000-7000-8000-000000000001', '01960000-0000-7000-8000-000000000002'];
    for (const [i, id] of ids.entries()) {
      await db.pool.query(
        `INSERT INTO identity_api_keys (id, name, role, secret_sha256, created_at)
         VALUES ($1, $2, 'member', $3, now())`,
        [id, `Old key ${i}`, Buffer.alloc(32, i)],
      );
    }

    await migrate(db.pool, [{ module: 'identity', dir: identityMigrations }]);

    const { rows } = await db.pool.query('SELECT id::text, member FROM identity_api_keys ORDER BY id');
    expect(rows).toEqual(ids.map((id) => ({ id, member: id })));
    await expect(
      db.pool.query(
        `INSERT INTO identity_api_keys (id, name, role, member, secret_sha256, created_at)
         VALUES ('01960000-0000-7000-8000-000000000003', 'Bad', 'member', 'has:colon', $1, now())`,
        [Buffer.alloc(32)],
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
