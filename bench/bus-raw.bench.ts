/**
 * Raw bus throughput: messages per second published and consumed end to end (one group, every
 * message acknowledged) through MemoryBus and RedisStreamsBus. No outbox, no database.
 *
 *   npx tsx bench/bus-raw.bench.ts [messages]      (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { MemoryBus } from '../src/platform/bus/memory-bus.ts';
import { RedisStreamsBus } from '../src/platform/bus/redis-bus.ts';
import type { Bus, OutgoingMessage } from '../src/platform/bus/types.ts';
import { newId } from '../src/platform/ids.ts';

const messageCount = Number(process.argv[2] ?? 50_000);
const batchSize = 1_000;
const keyCount = 1_000;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Result {
  name: string;
  messages: number;
  publishMs: number;
  endToEndMs: number;
}

/** Ids come with the messages, as from the outbox (which assigns them when the event is stored). */
function messages(count: number): OutgoingMessage[] {
  return Array.from({ length: count }, (_, n) => ({
    id: newId(),
    key: `account-${n % keyCount}`,
    payload: { n, amountMinor: String(1_000 + n), currency: 'JPY' },
  }));
}

/** Publishes `count` messages with `publish` and waits until the group has handled and acknowledged each. */
async function run(
  name: string,
  bus: Bus,
  count: number,
  publish: Publisher,
  allAcknowledged: (topic: string) => Promise<boolean> = async () => true,
): Promise<Result> {
  const topic = `bench-${randomBytes(3).toString('hex')}`;
  let handled = 0;
  const done = deferred();
  bus.subscribe(
    topic,
    'bench',
    async () => {
      if (++handled === count) done.resolve();
    },
    { concurrency: 16, ackTimeoutMs: 60_000 },
  );
  const all = messages(count);
  const started = performance.now();
  for (let offset = 0; offset < count; offset += batchSize) {
    await publish(bus, topic, all.slice(offset, offset + batchSize));
  }
  const published = performance.now();
  await done.promise;
  while (!(await allAcknowledged(topic))) await new Promise((resolve) => setTimeout(resolve, 5));
  const finished = performance.now();
  return { name, messages: count, publishMs: published - started, endToEndMs: finished - started };
}

function deferred() {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

type Publisher = (bus: Bus, topic: string, batch: OutgoingMessage[]) => Promise<unknown>;

const viaBatch: Publisher = (bus, topic, batch) => bus.publishBatch(topic, batch);
const viaConcurrentPublish: Publisher = (bus, topic, batch) =>
  Promise.all(batch.map((message) => bus.publish(topic, message)));
const viaSequentialPublish: Publisher = async (bus, topic, batch) => {
  for (const message of batch) await bus.publish(topic, message);
};

async function memoryRuns(): Promise<Result[]> {
  const results: Result[] = [];
  const runs: Array<readonly [string, Publisher]> = [
    ['publishBatch', viaBatch],
    ['publish, awaited one by one', viaSequentialPublish],
  ];
  for (const [label, publish] of runs) {
    const bus = new MemoryBus();
    results.push(await run(`memory, ${label}`, bus, messageCount, publish));
    await bus.close();
  }
  return results;
}

async function redisRuns(partitions: number): Promise<Result[]> {
  const namespace = `kinyu-bench:${randomBytes(4).toString('hex')}:`;
  const admin = new Redis(redisUrl);
  const pendingTotal = async (topic: string) => {
    const pipeline = admin.pipeline();
    for (let partition = 0; partition < partitions; partition++) {
      pipeline.call('XPENDING', `${namespace}${topic}:${partition}`, 'bench');
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.every(([error, summary]) => !error && Number((summary as [number])[0]) === 0);
  };
  const runs: Array<readonly [string, Publisher, number]> = [
    ['publishBatch (one pipeline per 1,000)', viaBatch, messageCount],
    ['publish, 1,000 concurrent (auto-pipelined)', viaConcurrentPublish, messageCount],
    ['publish, awaited one by one', viaSequentialPublish, Math.min(messageCount, 10_000)],
  ];
  const results: Result[] = [];
  try {
    for (const [label, publish, count] of runs) {
      const bus = new RedisStreamsBus({ url: redisUrl, namespace, partitions });
      const name = `redis ${partitions} partitions, ${label}`;
      results.push(await run(name, bus, count, publish, pendingTotal));
      await bus.close();
    }
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1_000);
      if (keys.length > 0) await admin.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    admin.disconnect();
  }
  return results;
}

async function redisVersion(): Promise<string | undefined> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

function print(results: Result[]): void {
  const rate = (count: number, ms: number) => Math.round((count / ms) * 1000).toLocaleString('en-US');
  for (const result of results) {
    console.log(
      `${result.name.padEnd(62)} ${result.messages.toLocaleString('en-US').padStart(7)} msgs  ` +
        `publish ${rate(result.messages, result.publishMs).padStart(9)}/s  ` +
        `end-to-end ${rate(result.messages, result.endToEndMs).padStart(9)}/s  (${Math.round(result.endToEndMs)} ms)`,
    );
  }
}

const cpus = os.cpus();
const version = await redisVersion();
console.log(
  `machine: ${cpus.length} cores, ${cpus[0]?.model ?? 'unknown CPU'}, ${os.platform()} ${os.release()}, ` +
    `node ${process.version}, redis ${version ?? 'not reachable'} at ${redisUrl}, ` +
    `load average ${os
      .loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')} (other work on the machine skews figures)`,
);
console.log(
  `workload: ${messageCount.toLocaleString('en-US')} messages, ${keyCount} keys, 1 group, concurrency 16, ack each`,
);
print(await memoryRuns());
if (version) {
  print(await redisRuns(8));
} else {
  console.log('Redis not reachable: Redis runs skipped (set REDIS_URL)');
}
