import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/platform/sql/migrate.ts';
import { createPool, type Pool } from '../../src/platform/sql/pool.ts';
import { withDatabase } from '../support/global-setup.ts';

const identityMigrations = fileURLToPath(new URL('../../src/identity/migrations', import.meta.url));

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('migration 0002_api_key_member on a database that already has keys', () => {
  const name = `kinyu_t_${inject('runTag')}_keymember_${process.pid}`;
  const beforeDir = mkdtempSync(path.join(tmpdir(), 'kinyu-identity-0001-'));
  let pool: Pool;

  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE ${name}`);
    pool = createPool(withDatabase(inject('adminDatabaseUrl'), name), 2);
    copyFileSync(
      path.join(identityMigrations, '0001_identity.sql'),
      path.join(beforeDir, '0001_identity.sql'),
    );
  });
  afterAll(async () => {
    await pool.end();
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    rmSync(beforeDir, { recursive: true, force: true });
  });

  it('given keys issued before members existed, when it applies, then each key trades as its own id', async () => {
    await migrate(pool, [{ module: 'identity', dir: beforeDir }]);
    const ids = ['01960000-0000-7000-8000-000000000001', '01960000-0000-7000-8000-000000000002'];
    for (const [i, id] of ids.entries()) {
      await pool.query(
        `INSERT INTO identity_api_keys (id, name, role, secret_sha256, created_at)
         VALUES ($1, $2, 'member', $3, now())`,
        [id, `Old key ${i}`, Buffer.alloc(32, i)],
      );
    }

    await migrate(pool, [{ module: 'identity', dir: identityMigrations }]);

    const { rows } = await pool.query('SELECT id::text, member FROM identity_api_keys ORDER BY id');
    expect(rows).toEqual(ids.map((id) => ({ id, member: id })));
    await expect(
      pool.query(
        `INSERT INTO identity_api_keys (id, name, role, member, secret_sha256, created_at)
         VALUES ('01960000-0000-7000-8000-000000000003', 'Bad', 'member', 'has:colon', $1, now())`,
        [Buffer.alloc(32)],
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
