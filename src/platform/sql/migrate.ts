import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Pool, withTransaction } from './pool.ts';

/** A module's migrations: ordered `NNNN_name.sql` files in `dir`. */
export interface MigrationSource {
  module: string;
  dir: string;
}

interface Migration {
  id: string;
  sql: string;
  checksum: string;
}

const migrationFile = /^[0-9]{4}_[a-z0-9_]+\.sql$/;
const lockKey = 7_264_911_001; // pg_advisory_xact_lock key reserved for migrations

export function loadMigrations(sources: MigrationSource[]): Migration[] {
  const migrations: Migration[] = [];
  for (const source of sources) {
    if (!existsSync(source.dir)) continue;
    const files = readdirSync(source.dir)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    for (const file of files) {
      if (!migrationFile.test(file))
        throw new Error(`migration ${source.dir}/${file} must be named NNNN_name.sql`);
      const sql = readFileSync(path.join(source.dir, file), 'utf8');
      migrations.push({ id: `${source.module}/${file}`, sql, checksum: sha256(sql) });
    }
  }
  return migrations;
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so concurrent starts
 * serialise and a failing migration leaves nothing half-applied. An applied migration whose file
 * changed is an error: migrations are immutable once shipped.
 */
export async function migrate(pool: Pool, sources: MigrationSource[]): Promise<string[]> {
  const migrations = loadMigrations(sources);
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ id: string; checksum: string }>(
      'SELECT id, checksum FROM schema_migrations',
    );
    const applied = new Map(rows.map((r) => [r.id, r.checksum]));
    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.id);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.id} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)', [
        migration.id,
        migration.checksum,
      ]);
      done.push(migration.id);
    }
    return done;
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
