import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { repoRoot } from '../../support/process.ts';
import { testRedisUrl } from '../../support/services.ts';

const child = path.join(repoRoot, 'test/platform/crash/burst-child.ts');

function run(mode: 'burst' | 'drain', env: Record<string, string>, namespace: string) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, mode, namespace], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: string[] = [];
  let errors = '';
  let buffered = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return { proc, acked, exited, errors: () => errors };
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A restart loses nothing: SIGKILL during a burst of appends with outbox messages, then restart.
describe.each([
  ['in-process bus', () => undefined as string | undefined, false],
  ['Redis Streams bus', testRedisUrl, true],
])('crash and restart with the %s', (_name, redisUrl, needsRedis) => {
  let db: TestDatabase;
  const url = redisUrl();
  const skip = needsRedis && !url;
  beforeAll(async () => {
    db = await createTestDatabase(4);
  });
  afterAll(() => db.drop());

  it.skipIf(skip)(
    'keeps every committed event exactly once and processes every message exactly once',
    async () => {
      const env: Record<string, string> = { DATABASE_URL: db.url, ...(url ? { REDIS_URL: url } : {}) };
      const namespace = `crash-${randomBytes(4).toString('hex')}`;
      const burst = run('burst', env, namespace);
      await until(() => burst.acked.length >= 400, `400 acknowledged appends (stderr: ${burst.errors()})`);
      burst.proc.kill('SIGKILL');
      await burst.exited;
      const acknowledged = [...burst.acked];

      const drain = run('drain', env, namespace);
      try {
        const events = async () =>
          Number(
            (await db.pool.query("SELECT count(*) AS n FROM events WHERE type = 'BurstHappened'")).rows[0].n,
          );
        const effects = async () =>
          Number(
            (await db.pool.query('SELECT count(DISTINCT message_id) AS n FROM burst_effects')).rows[0].n,
          );
        const committed = await events();
        await until(async () => (await effects()) === committed, 'every committed message to be processed');

        // Every acknowledged append is there, and no stream has more than its one event.
        const { rows: streams } = await db.pool.query<{ stream_id: string; n: bigint }>(
          "SELECT stream_id, count(*) AS n FROM events WHERE type = 'BurstHappened' GROUP BY stream_id",
        );
        const present = new Set(streams.map((r) => r.stream_id));
        expect(acknowledged.filter((id) => !present.has(id))).toEqual([]);
        expect(streams.filter((r) => Number(r.n) !== 1)).toEqual([]);
        expect(committed).toBeGreaterThanOrEqual(acknowledged.length);

        // Every message was applied, and none twice.
        const { rows: twice } = await db.pool.query(
          'SELECT message_id FROM burst_effects GROUP BY message_id HAVING count(*) > 1',
        );
        expect(twice).toEqual([]);
        const { rows: missing } = await db.pool.query(
          `SELECT e.stream_id FROM events e LEFT JOIN burst_effects b ON b.stream_id = e.stream_id
         WHERE e.type = 'BurstHappened' AND b.stream_id IS NULL`,
        );
        expect(missing).toEqual([]);
      } finally {
        drain.proc.kill('SIGTERM');
        await drain.exited;
      }
    },
  );
});
