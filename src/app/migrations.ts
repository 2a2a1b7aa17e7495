import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '../platform/sql/migrate.ts';

const srcDir = fileURLToPath(new URL('..', import.meta.url));

/** Every module's migrations, in the order they apply. A module that has none yet is skipped. */
export const migrationSources: MigrationSource[] = [
  { module: 'platform', dir: `${srcDir}platform/migrations` },
  { module: 'platform-http', dir: `${srcDir}platform/http/migrations` },
  ...['identity', 'banking', 'exchange'].map((module) => ({ module, dir: `${srcDir}${module}/migrations` })),
];
