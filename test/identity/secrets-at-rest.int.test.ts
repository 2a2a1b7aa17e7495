import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKey } from '../../src/identity/api-key-format.ts';
import { createLogger } from '../../src/platform/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { buildTestApp, createTestIdentity, type TestApp, type TestIdentity } from './support.ts';

/** Every secret we handed out or typed in during the scenario. None may appear at rest or in logs. */
const secrets: string[] = [];

describe('no plaintext secret at rest or in logs', () => {
  let db: TestDatabase;
  let identity: TestIdentity;
  let app: TestApp;
  const logLines: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const logger = createLogger(
      'trace',
      new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      }),
    );
    identity = createTestIdentity(db.pool, { log: logger });
    app = await buildTestApp(identity.module, { logger });
    await runScenario();
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  /** Bootstrap, password changes, a reset, failed logins, API keys: everything that touches a secret. */
  async function runScenario() {
    const bootstrap = await identity.service.ensureAdmin();
    if (bootstrap.outcome !== 'created_with_generated_password')
      throw new Error('expected a generated password');
    secrets.push(bootstrap.temporaryPassword);
    const first = await post('/api/auth/login', { loginId: 'admin', password: bootstrap.temporaryPassword });
    const adminPassword = 'Secret-Admin-Pass-9';
    secrets.push(adminPassword);
    const changed = await post(
      '/api/auth/password',
      { currentPassword: bootstrap.temporaryPassword, newPassword: adminPassword },
      first.token,
    );
    secrets.push(first.token, changed.token);
    const { temporaryPassword } = await identity.service.createUserWithTemporaryPassword({
      loginId: 'carol',
      roles: ['customer'],
    });
    const reset = await identity.service.resetPassword('carol');
    secrets.push(temporaryPassword, reset.temporaryPassword);
    const wrongGuess = 'Wrong-Guess-Pass-1';
    secrets.push(wrongGuess);
    await post('/api/auth/login', { loginId: 'carol', password: wrongGuess });
    await post('/api/auth/login', { loginId: 'nobody', password: wrongGuess });
    const carol = await post('/api/auth/login', { loginId: 'carol', password: reset.temporaryPassword });
    secrets.push(carol.token);
    await post('/api/auth/logout', {}, carol.token);
    const key = await post('/admin/api-keys', { name: 'Broker A', role: 'member' }, changed.token);
    secrets.push(key.apiKey, parseApiKey(key.apiKey)!.secret);
    await app.inject({ method: 'GET', url: '/admin/api-keys', headers: { 'x-api-key': key.apiKey } });
  }

  async function post(url: string, payload: object, token?: string) {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const response = await app.inject({ method: 'POST', url, payload, headers });
    return response.body === '' ? {} : response.json();
  }

  it('every identity table, every column, holds none of them', async () => {
    const { rows: tables } = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'identity\\_%'`,
    );
    expect(tables.map((t) => t.table_name).sort()).toEqual([
      'identity_api_keys',
      'identity_events',
      'identity_revoked_tokens',
      'identity_users',
    ]);
    let dump = '';
    for (const { table_name: table } of tables) {
      // row_to_json covers every column, text, jsonb and bytea (as hex) alike.
      const { rows } = await db.pool.query<{ row: string }>(
        `SELECT row_to_json(t)::text AS row FROM ${table} t`,
      );
      dump += rows.map((r) => r.row).join('\n');
    }
    expect(dump).toContain('Broker A');
    expect(secrets).toHaveLength(10);
    for (const secret of secrets) expect(secret).toMatch(/^\S{12,}$/);
    for (const secret of secrets) expect(dump).not.toContain(secret);
  });

  it('the log lines hold none of them', () => {
    const log = logLines.join('');
    expect(log).toContain('login succeeded');
    expect(log).toContain('"url":"/api/auth/login"');
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
