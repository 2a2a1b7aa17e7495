import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startKinyu } from '../support/process.ts';

// `npm start` as a newcomer runs it: no DATABASE_URL, no REDIS_URL, a fresh data directory.
describe('kinyu start on the embedded default', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kinyu-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts, creates an admin once, serves HTTP, stops cleanly, and restarts with everything kept', async () => {
    const env = {
      KINYU_DATA_DIR: dataDir,
      KINYU_PORT: String(await freePort()),
      KINYU_EMBEDDED_PG_PORT: String(await freePort()),
    };
    const first = startKinyu(['start'], env);
    const [, url] = await first.waitForOutput(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const [, login, password] = await first.waitForOutput(/admin login: (\S+)\s+password: (\S+)/);
    expect(login).toBe('admin');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ status: 'ready' });
    const token = await loginToken(url!, login!, password!);
    expect(token.user.mustChangePassword).toBe(true);

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.output()).toMatch(/stopped cleanly/);
    expect(existsSync(path.join(dataDir, 'postgres/cluster/postmaster.pid'))).toBe(false);

    // The one-time password went to the console only: not to any file under the data directory.
    for (const file of filesUnder(dataDir)) {
      if (statSync(file).size < 20_000_000) expect(readFileSync(file).includes(password!)).toBe(false);
    }

    const second = startKinyu(['start'], env);
    await second.waitForOutput(/listening on/);
    expect(second.output()).not.toMatch(/password:/);
    expect((await loginToken(url!, login!, password!)).user.loginId).toBe('admin');
    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
  });
});

async function loginToken(url: string, loginId: string, password: string) {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ loginId, password }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { token: string; user: { loginId: string; mustChangePassword: boolean } };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}
