import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startKinyu } from '../support/process.ts';

// The CLI against an external PostgreSQL (DATABASE_URL), as an operator runs it.
describe('kinyu CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(2);
  });
  afterAll(() => db.drop());

  async function kinyu(args: string[], env: Record<string, string> = {}) {
    const run = startKinyu(args, { DATABASE_URL: db.url, KINYU_DATA_DIR: '/tmp/kinyu-cli-test', ...env });
    const { code } = await run.exited;
    return { code, output: run.output() };
  }

  it('migrate applies nothing new on an up-to-date database and exits 0', async () => {
    const { code, output } = await kinyu(['migrate']);
    expect(code).toBe(0);
    expect(output).toMatch(/migrations are up to date/);
  });

  it('admin create prints a temporary password once; reset-password issues a new one', async () => {
    const created = await kinyu(['admin', 'create', 'ops-admin']);
    expect(created.code).toBe(0);
    const [, first] = created.output.match(/Temporary password .*: (\S+)/) ?? [];
    expect(first).toBeDefined();
    const reset = await kinyu(['admin', 'reset-password', 'ops-admin']);
    expect(reset.code).toBe(0);
    const [, second] = reset.output.match(/Temporary password for ops-admin .*: (\S+)/) ?? [];
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const { rows } = await db.pool.query(
      "SELECT row_to_json(u)::text AS row FROM identity_users u WHERE login_id = 'ops-admin'",
    );
    expect(rows[0].row).not.toContain(first);
    expect(rows[0].row).not.toContain(second);
  });

  it('refuses bad configuration with every problem listed and exit code 1', async () => {
    const { code, output } = await kinyu(['start'], { KINYU_PORT: 'x', KINYU_LOCKOUT_SECONDS: '0' });
    expect(code).toBe(1);
    expect(output).toMatch(/Invalid configuration:[\s\S]*KINYU_PORT[\s\S]*KINYU_LOCKOUT_SECONDS/);
  });

  it('explains its usage for an unknown command', async () => {
    const { code, output } = await kinyu(['frobnicate']);
    expect(code).toBe(1);
    expect(output).toMatch(/Unknown command "frobnicate"[\s\S]*Usage: kinyu/);
  });
});
