import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBus } from '../../../src/platform/bus/index.ts';
import { type RedisBusOptions, RedisStreamsBus } from '../../../src/platform/bus/redis-bus.ts';
import type { BusLogger } from '../../../src/platform/bus/redis-context.ts';
import type { RedisSubscription } from '../../../src/platform/bus/redis-subscription.ts';
import { testRedisUrl } from '../../support/services.ts';
import { type BusHarness, busContract, fast, keyed, recorder, waitFor } from './bus.contract.ts';

const url = testRedisUrl();

/** Warnings are expected in crash tests; keep them for inspection instead of printing them. */
const quietLogger: BusLogger & { warnings: string[] } = {
  warnings: [],
  warn(_details, message) {
    this.warnings.push(message);
  },
};

/** Buses sharing one random namespace (like processes of one deployment); cleanup deletes its keys. */
function redisHarness(overrides: Partial<RedisBusOptions> = {}): BusHarness & {
  namespace: string;
  createRedis(options?: Partial<RedisBusOptions>): RedisStreamsBus;
} {
  const namespace = `kinyu-test:${randomBytes(6).toString('hex')}:`;
  const buses: RedisStreamsBus[] = [];
  const createRedis = (options: Partial<RedisBusOptions> = {}) => {
    const bus = new RedisStreamsBus({
      url: url!,
      namespace,
      partitions: 4,
      leaseMs: 900,
      blockMs: 1_000,
      logger: quietLogger,
      ...overrides,
      ...options,
    });
    buses.push(bus);
    return bus;
  };
  return {
    namespace,
    createRedis,
    // One partition under a backlog limit, so the per-partition limit is the topic's limit.
    async create(options = {}) {
      return createRedis(options.backlogMax ? { backlogMax: options.backlogMax, partitions: 1 } : {});
    },
    async cleanup() {
      await Promise.all(buses.map((bus) => bus.close()));
      await deleteNamespace(namespace);
    },
  };
}

async function deleteNamespace(namespace: string): Promise<void> {
  const redis = new Redis(url!);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

describe.skipIf(!url)('RedisStreamsBus', () => {
  busContract('RedisStreamsBus', () => redisHarness());

  it('is what createBus gives with a Redis URL', async () => {
    const bus = createBus({ redisUrl: url, namespace: `kinyu-test:${randomBytes(6).toString('hex')}:` });
    expect(bus.kind).toBe('redis');
    expect(await bus.ping()).toBe(true);
    await bus.close();
  });

  describe('across processes', () => {
    let harness: ReturnType<typeof redisHarness>;
    beforeEach(() => {
      harness = redisHarness();
    });
    afterEach(() => harness.cleanup());

    it('shares the partitions of a topic between the consumers of a group', async () => {
      const one = harness.createRedis();
      const two = harness.createRedis();
      const first = one.subscribe('orders', 'g', async () => {}, fast) as RedisSubscription;
      await waitFor(() => first.heldPartitions.length === 4, 'the first consumer to take every partition');
      const second = two.subscribe('orders', 'g', async () => {}, fast) as RedisSubscription;
      await waitFor(
        () => first.heldPartitions.length === 2 && second.heldPartitions.length === 2,
        'a fair share each',
      );
      expect([...first.heldPartitions, ...second.heldPartitions].sort()).toEqual([0, 1, 2, 3]);
    });

    it('a second consumer takes over the partitions of one that died', async () => {
      const doomed = harness.createRedis();
      const before = recorder();
      doomed.subscribe('orders', 'g', before.handler, fast);
      await doomed.publishBatch('orders', keyed(8, 8));
      await waitFor(() => before.seen.length === 8, 'the first consumer to work');
      doomed.simulateCrash(); // its leases stay in Redis until they expire
      const survivor = harness.createRedis();
      const after = recorder();
      const subscription = survivor.subscribe('orders', 'g', after.handler, fast) as RedisSubscription;
      const ids = await survivor.publishBatch('orders', keyed(8, 8));
      // Messages the dead one handled but had not acknowledged yet may come again (at least once).
      await waitFor(
        () => ids.every((id) => after.ids().includes(id)),
        'the survivor to handle every partition',
      );
      expect(subscription.heldPartitions).toEqual([0, 1, 2, 3]);
    });

    it('redelivers messages a crashed consumer took but never acknowledged, in key order', async () => {
      const doomed = harness.createRedis();
      const stuck = recorder(() => new Promise<void>(() => {})); // hangs: the process "dies" mid-handler
      doomed.subscribe('orders', 'g', stuck.handler, { ...fast, ackTimeoutMs: 30_000 });
      const [first, second] = await doomed.publishBatch('orders', [
        { key: 'acct-1', payload: 1 },
        { key: 'acct-1', payload: 2 },
      ]);
      await waitFor(() => stuck.seen.length === 1, 'the first handler to start');
      doomed.simulateCrash();
      const survivor = harness.createRedis();
      const after = recorder();
      survivor.subscribe('orders', 'g', after.handler, { ...fast, ackTimeoutMs: 30_000 });
      await waitFor(() => after.seen.length === 2, 'both messages on the survivor');
      expect(after.seen.map((message) => [message.id, message.deliveryCount])).toEqual([
        [first, 2],
        [second, 2],
      ]);
    });

    it('resumes after its Redis connections are killed', async () => {
      const bus = harness.createRedis();
      const { seen, handler } = recorder();
      bus.subscribe('orders', 'g', handler, fast);
      await bus.publish('orders', { key: 'k', payload: 'before' });
      await waitFor(() => seen.length === 1, 'the first message');
      const admin = new Redis(url!);
      try {
        const clients = String(await admin.call('CLIENT', 'LIST')).split('\n');
        const ours = clients.filter((line) => line.includes(`name=${harness.namespace}`));
        expect(ours.length).toBeGreaterThanOrEqual(2);
        for (const line of ours) await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
      } finally {
        admin.disconnect();
      }
      await bus.publish('orders', { key: 'k', payload: 'after' });
      await waitFor(
        () => seen.some((message) => message.payload === 'after'),
        'the message after the outage',
      );
    });

    it('trims entries every group has acknowledged', async () => {
      const bus = harness.createRedis({ partitions: 1 });
      const { seen, handler } = recorder();
      bus.subscribe('orders', 'a', handler, fast);
      bus.subscribe('orders', 'b', handler, fast);
      await bus.publishBatch('orders', keyed(20, 4));
      await waitFor(() => seen.length === 40, 'both groups');
      const redis = new Redis(url!);
      try {
        await waitFor(
          async () => (await redis.xlen(`${harness.namespace}orders:0`)) === 0,
          'the stream to be trimmed',
        );
      } finally {
        redis.disconnect();
      }
    });
  });
});
