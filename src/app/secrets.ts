import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A secret from configuration, or else one generated on first start and kept in
 * `dataDir/secrets/<name>` (mode 0600), so restarts on the same data directory keep it.
 * Processes that share a database on several machines must be given the same secret instead.
 */
export function configuredOrStoredSecret(
  configured: string | undefined,
  dataDir: string,
  name: string,
): string {
  if (configured) return configured;
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}
