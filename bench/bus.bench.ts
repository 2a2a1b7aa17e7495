/**
 * Messages per second through the outbox relay and the bus, end to end: rows already committed in the
 * outbox are relayed (one leader), delivered to one consumer group and applied with handleOnce (one
 * transaction each), for the in-process bus and for Redis Streams. Beside it, the raw bus figure
 * (publish → handler, no database) from bench/bus-raw.bench.ts.
 *
 *   npm run bench:bus [-- messages]   (DATABASE_URL default postgres://postgres@127.0.0.1:5432/postgres,
 *                                      REDIS_URL default redis://127.0.0.1:6379)
 */

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { migrationSources } from '../src/app/migrations.ts';
import { createBus } from '../src/platform/bus/index.ts';
import type { Bus } from '../src/platform/bus/types.ts';
import { handleOnce } from '../src/platform/consumer/handle-once.ts';
import { enqueueOutbox, OutboxRelay } from '../src/platform/outbox/index.ts';
import { type Pool, withTransaction } from '../src/platform/sql/pool.ts';
import { withScratchDatabase } from './support.ts';

const messageCount = Number(process.argv[2] ?? 20_000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function fillOutbox(pool: Pool, count: number): Promise<void> {
  for (let offset = 0; offset < count; offset += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, count - offset) }, (_, n) => ({
      topic: 'bench.transfer',
      key: `account-${(offset + n) % 1_000}`,
      payload: { n: offset + n, amountMinor: String(1_000 + n), currency: 'JPY' },
    }));
    await withTransaction(pool, (tx) => enqueueOutbox(tx, batch));
  }
}

async function run(name: string, pool: Pool, bus: Bus): Promise<number> {
  await pool.query('TRUNCATE outbox, processed_messages');
  await fillOutbox(pool, messageCount);
  let applied = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const subscription = bus.subscribe(
    'bench.transfer',
    'bench',
    async (message) => {
      const result = await handleOnce(pool, 'bench', message.id, async () => undefined);
      if (result.processed && ++applied === messageCount) done();
    },
    { concurrency: 16 },
  );
  const relay = new OutboxRelay(pool, bus, () => {}, { batchSize: 500, pollIntervalMs: 20 });
  const started = performance.now();
  relay.start();
  await finished;
  const elapsedMs = performance.now() - started;
  await relay.stop();
  await subscription.close();
  const rate = Math.round((messageCount / elapsedMs) * 1000);
  console.log(
    `${name.padEnd(40)} ${messageCount} msgs  ${rate.toLocaleString('en-US').padStart(8)} msgs/s  (${Math.round(elapsedMs)} ms)`,
  );
  return rate;
}

const cpu = os.cpus()[0]?.model ?? 'unknown';
console.log(
  `machine: ${os.cpus().length} cores, ${cpu}, node ${process.version}, ${new Date().toISOString()}`,
);
console.log(
  `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
await withScratchDatabase(`kinyu_bench_bus_${process.pid}`, 20, migrationSources, async (pool) => {
  const memory = createBus({});
  await run('outbox → relay → in-process bus → handleOnce', pool, memory);
  await memory.close();
  const redis = createBus({ redisUrl, namespace: `bench-${randomBytes(4).toString('hex')}:` });
  await run('outbox → relay → Redis Streams → handleOnce', pool, redis);
  await redis.close();
});
