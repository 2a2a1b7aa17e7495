import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.ts';
import { EventStore } from '../../../src/platform/event-store/event-store.ts';
import { enqueueOutbox } from '../../../src/platform/outbox/enqueue.ts';
import {
  OutboxPublishError,
  OutboxRelay,
  type OutboxRelayOptions,
} from '../../../src/platform/outbox/relay.ts';
import { createPool, type Pool, withTransaction } from '../../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { eventually } from '../../support/eventually.ts';
import { RecordingBus } from './recording-bus.ts';

let db: TestDatabase;
let number = 0;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  db = await createTestDatabase(20);
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  // Each test leaves the outbox fully published, so the next one starts clean.
  await db.pool.query('UPDATE outbox SET published_at = now() WHERE published_at IS NULL');
});
afterAll(() => db.drop());

function key(): string {
  return `order-${++number}`;
}

function relay(bus: RecordingBus, options: OutboxRelayOptions = {}, pool: Pool = db.pool): OutboxRelay {
  const made = new OutboxRelay(pool, bus, () => {}, { pollIntervalMs: 20, ...options });
  relays.push(made);
  return made;
}

/** Enqueues messages with payload {n} for n = from … from+count-1, in one committed transaction. */
async function enqueue(k: string, from: number, count: number, topic = 'orders'): Promise<string[]> {
  return withTransaction(db.pool, (tx) =>
    enqueueOutbox(
      tx,
      Array.from({ length: count }, (_, i) => ({
        topic,
        key: k,
        payload: { n: from + i },
        headers: { h: 'v' },
      })),
    ),
  );
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** The backend holding the relay's advisory lock in this database (the leader's connection). */
async function leaderPid(lockKey = 7_264_911_002n): Promise<number | undefined> {
  const { rows } = await db.pool.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
       AND classid = $1 AND objid = $2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [Number(lockKey >> 32n), Number(lockKey & 0xffffffffn)],
  );
  return rows[0]?.pid;
}

describe('enqueueOutbox', () => {
  it('given a committed transaction, then its messages are stored with fresh message ids', async () => {
    const k = key();
    const ids = await enqueue(k, 1, 2);
    const { rows } = await db.pool.query(
      'SELECT message_id, topic, key, payload, headers FROM outbox WHERE key = $1 ORDER BY id',
      [k],
    );
    expect(rows).toEqual([
      { message_id: ids[0], topic: 'orders', key: k, payload: { n: 1 }, headers: { h: 'v' } },
      { message_id: ids[1], topic: 'orders', key: k, payload: { n: 2 }, headers: { h: 'v' } },
    ]);
  });

  it('given a rolled-back transaction, then no message remains', async () => {
    const k = key();
    await expect(
      withTransaction(db.pool, async (tx) => {
        await enqueueOutbox(tx, [{ topic: 'orders', key: k, payload: {} }]);
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    const { rows } = await db.pool.query('SELECT 1 FROM outbox WHERE key = $1', [k]);
    expect(rows).toEqual([]);
  });

  it('given a bigint payload or an empty topic, then the messages are refused', async () => {
    await expect(
      enqueueOutbox(db.pool, [{ topic: 'orders', key: 'k', payload: { amountMinor: 5n } }]),
    ).rejects.toThrow(/payload.amountMinor is a bigint/);
    await expect(enqueueOutbox(db.pool, [{ topic: '', key: 'k', payload: {} }])).rejects.toThrow(
      /topic must be/,
    );
  });
});

describe('OutboxRelay', () => {
  it('given unpublished rows, when run once, then it publishes them in id order with their message ids and marks them', async () => {
    const bus = new RecordingBus();
    const k = key();
    const ids = await enqueue(k, 1, 3);
    const r = relay(bus);
    expect(await r.runOnce()).toBe(3);
    expect(bus.published).toEqual(
      ids.map((id, i) => ({ topic: 'orders', id, key: k, payload: { n: i + 1 }, headers: { h: 'v' } })),
    );
    const { rows } = await db.pool.query('SELECT 1 FROM outbox WHERE key = $1 AND published_at IS NULL', [k]);
    expect(rows).toEqual([]);
    expect(await r.runOnce()).toBe(0);
    expect(r.publishedCount).toBe(3);
  });

  it('given more rows than a batch, when drained, then all are published in order', async () => {
    const bus = new RecordingBus();
    const k = key();
    await enqueue(k, 1, 10);
    const r = relay(bus, { batchSize: 3 });
    expect(await r.drain()).toBe(10);
    expect(bus.sequence(k)).toEqual(range(1, 10));
    expect(r.stats()).toMatchObject({ published: 10, publishFailures: 0, leaderTerms: 1 });
  });

  it('given an append with outbox messages, then the relay publishes them', async () => {
    const store = new EventStore(db.pool);
    const bus = new RecordingBus();
    const k = key();
    await store.appendToStream(k, [{ type: 'Placed', data: {} }], {
      expectedVersion: 'no_stream',
      outbox: [{ topic: 'orders.placed', key: k, payload: { n: 1 } }],
    });
    await relay(bus).drain();
    expect(bus.published.filter((m) => m.key === k).map((m) => [m.topic, m.payload])).toEqual([
      ['orders.placed', { n: 1 }],
    ]);
  });

  it('given the bus fails inside a batch, then the batch stays unmarked and is published again later, first-seen order kept', async () => {
    const bus = new RecordingBus();
    const k = key();
    await enqueue(k, 1, 6);
    let failing = true;
    bus.beforePublish = async (_topic, message) => {
      if (failing && (message.payload as { n: number }).n === 4) throw new Error('bus unavailable');
    };
    const r = relay(bus);
    await expect(r.runOnce()).rejects.toBeInstanceOf(OutboxPublishError);
    expect(bus.sequence(k)).toEqual([1, 2, 3]);
    expect(r.stats()).toMatchObject({ published: 0, publishFailures: 1 });
    failing = false;
    expect(await r.drain()).toBe(6);
    expect(bus.sequence(k)).toEqual([1, 2, 3, ...range(1, 6)]);
    const firstSeen = [...new Map(bus.published.map((m) => [m.id, m.payload])).values()];
    expect(firstSeen).toEqual(range(1, 6).map((n) => ({ n })));
  });

  it('given the leader connection dies after publishing but before marking, then a new round republishes: at least once, order kept', async () => {
    const bus = new RecordingBus();
    const k = key();
    await enqueue(k, 1, 5);
    let killed = false;
    bus.beforePublish = async (_topic, message) => {
      if (!killed && (message.payload as { n: number }).n === 3) {
        killed = true;
        const pid = await leaderPid();
        // pg_terminate_backend only signals: wait until the backend is gone, so marking fails.
        await db.pool.query('SELECT pg_terminate_backend($1, 10000)', [pid]);
      }
    };
    const r = relay(bus);
    await expect(r.runOnce()).rejects.toThrow();
    expect(r.isLeader).toBe(false);
    expect(bus.sequence(k)).toEqual(range(1, 5)); // published, but not marked
    await r.drain();
    expect(bus.sequence(k)).toEqual([...range(1, 5), ...range(1, 5)]);
    const firstSeen = [...new Map(bus.published.map((m) => [m.id, m.payload])).values()];
    expect(firstSeen).toEqual(range(1, 5).map((n) => ({ n })));
    expect(r.stats().leaderTerms).toBe(2);
  });

  it('given two started relays, then only the leader publishes', async () => {
    const busA = new RecordingBus();
    const busB = new RecordingBus();
    const a = relay(busA);
    const b = relay(busB);
    a.start();
    b.start();
    await eventually(async () => (a.isLeader || b.isLeader ? true : undefined));
    const k = key();
    await enqueue(k, 1, 20);
    await eventually(async () => (busA.published.length + busB.published.length >= 20 ? true : undefined));
    expect([a.isLeader, b.isLeader].filter(Boolean)).toEqual([true]);
    const [leader, follower] = a.isLeader ? [busA, busB] : [busB, busA];
    expect(leader.sequence(k)).toEqual(range(1, 20));
    expect(follower.published).toEqual([]);
  });

  it('given the leader dies, then the waiting relay takes over and publishes what is left', async () => {
    const crashingPool = createPool(db.url, 2);
    const busA = new RecordingBus();
    const busB = new RecordingBus();
    const a = relay(busA, {}, crashingPool);
    a.start();
    await eventually(async () => (a.isLeader ? true : undefined));
    const b = relay(busB);
    b.start();
    const k = key();
    await enqueue(k, 1, 3);
    await eventually(async () => (busA.published.length >= 3 ? true : undefined));

    // A crash: the leader's connection goes, and its process can no longer reach the database.
    await db.pool.query('SELECT pg_terminate_backend($1)', [await leaderPid()]);
    await crashingPool.end();
    await enqueue(k, 4, 3);
    await eventually(async () => (busB.published.length >= 3 ? true : undefined));
    expect(b.isLeader).toBe(true);
    expect(busA.sequence(k)).toEqual([1, 2, 3]);
    expect(busB.sequence(k)).toEqual([4, 5, 6]);
  });

  it('given the leader stops, when another relay starts with a long poll interval, then it leads at once', async () => {
    const first = relay(new RecordingBus());
    first.start();
    await eventually(async () => (first.isLeader ? true : undefined));
    await first.stop();
    // stop() unlocks before closing, so the first try of the successor already succeeds.
    const second = relay(new RecordingBus(), { pollIntervalMs: 60_000 });
    second.start();
    await eventually(async () => (second.isLeader ? true : undefined));
  });

  it('given a long poll interval, when a message is enqueued, then NOTIFY wakes the leader', async () => {
    const bus = new RecordingBus();
    const r = relay(bus, { pollIntervalMs: 60_000 });
    r.start();
    await eventually(async () => (r.isLeader ? true : undefined));
    const k = key();
    await enqueue(k, 1, 1);
    // 10 s deadline against a 60 s poll: only the notification can make this pass.
    await eventually(async () => (bus.sequence(k).length === 1 ? true : undefined));
  });

  it('given a long poll interval, when an append without caller transaction writes outbox messages, then the after-commit NOTIFY wakes the leader', async () => {
    const store = new EventStore(db.pool);
    const bus = new RecordingBus();
    const r = relay(bus, { pollIntervalMs: 60_000 });
    r.start();
    await eventually(async () => (r.isLeader ? true : undefined));
    const k = key();
    await store.appendToStream(k, [{ type: 'Placed', data: {} }], {
      expectedVersion: 'no_stream',
      outbox: [{ topic: 'orders.placed', key: k, payload: { n: 1 } }],
    });
    await eventually(async () => (bus.sequence(k).length === 1 ? true : undefined));
    await store.close();
  });

  it('given published rows older than the retention, then the relay prunes them', async () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const bus = new RecordingBus();
    const k = key();
    await enqueue(k, 1, 4);
    const r = relay(bus, { clock, publishedRetentionMs: 3_600_000 });
    await r.drain();
    const count = async () =>
      (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE key = $1', [k]))
        .rows[0]!.n;
    expect(await count()).toBe(4);
    clock.advance(2 * 3_600_000);
    await r.runOnce();
    expect(await count()).toBe(0);
    expect(r.stats().pruned).toBeGreaterThanOrEqual(4);
  });
});
