import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { freePort, startKinyu } from '../../support/process.ts';

// The bank as `kinyu start` runs it: wired into the runtime, demo customers on the first start,
// their passwords printed once; `kinyu projections rebuild` afterwards.
describe('kinyu start with the bank and its demo customers', () => {
  let db: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    dataDir = mkdtempSync(path.join(tmpdir(), 'kinyu-bank-e2e-'));
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (port: number) => ({
    DATABASE_URL: db.url,
    KINYU_DATA_DIR: dataDir,
    KINYU_PORT: String(port),
    KINYU_ADMIN_LOGIN: 'ops',
    KINYU_ADMIN_PASSWORD: 'Ops-Password-1234',
    KINYU_DEMO: '1',
  });

  it('creates funded demo logins once, printing their temporary passwords, and rebuilds projections', async () => {
    const port = await freePort();
    const first = startKinyu(['start'], env(port));
    try {
      await first.waitForOutput(/Kinyu is running at/);
      const output = first.output();
      const alice = output.match(/login: demo-alice {3}password: (\S+)/)?.[1];
      const bob = output.match(/login: demo-bob {3}password: (\S+)/)?.[1];
      expect(alice, output).toBeDefined();
      expect(bob).toBeDefined();
      const base = `http://127.0.0.1:${port}`;
      const json = async (url: string, init: RequestInit = {}) => {
        const response = await fetch(`${base}${url}`, {
          ...init,
          headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
        });
        // biome-ignore lint/suspicious/noExplicitAny: test reads loosely typed JSON
        return { status: response.status, body: (await response.json()) as any };
      };
      const login = await json('/api/auth/login', {
        method: 'POST',
        body: JSON.stringify({ loginId: 'demo-alice', password: alice }),
      });
      expect(login.body.user.mustChangePassword).toBe(true);
      const changed = await json('/api/auth/password', {
        method: 'POST',
        headers: { authorization: `Bearer ${login.body.token}` },
        body: JSON.stringify({ currentPassword: alice, newPassword: 'Alice-Changed-Password-1' }),
      });
      const auth = { authorization: `Bearer ${changed.body.token}` };
      const accounts = await json('/api/me/accounts', { headers: auth });
      const [account] = accounts.body.accounts;
      const balance = await json(`/api/accounts/${account.accountId}/balance`, { headers: auth });
      expect(balance.body).toMatchObject({ currency: 'JPY', posted: '1000000', available: '1000000' });
      const history = await json(`/api/accounts/${account.accountId}/transactions`, { headers: auth });
      expect(history.body.transactions).toEqual([
        expect.objectContaining({ type: 'deposit', amount: '1000000' }),
      ]);
      expect(first.output()).not.toContain('alice@example.com');
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }

    const rebuild = startKinyu(['projections', 'rebuild'], env(port));
    expect((await rebuild.exited).code).toBe(0);
    expect(rebuild.output()).toMatch(/rebuilt 2 rows for 2 accounts/);

    const second = startKinyu(['start'], env(port));
    try {
      await second.waitForOutput(/Kinyu is running at/);
      expect(second.output()).not.toMatch(/demo-alice/);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
