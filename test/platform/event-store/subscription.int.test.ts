import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/platform/clock.ts';
import { EventStore, eventsPast } from '../../../src/platform/event-store/event-store.ts';
import { ChannelListener } from '../../../src/platform/event-store/notifications.ts';
import { AllSubscription } from '../../../src/platform/event-store/subscription.ts';
import type { RecordedEvent } from '../../../src/platform/event-store/types.ts';
import { type PoolClient, withTransaction } from '../../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { eventually } from '../../support/eventually.ts';
import { settlesWithin } from './support.ts';

let db: TestDatabase;
let store: EventStore;
let number = 0;
const running: AllSubscription[] = [];

beforeAll(async () => {
  db = await createTestDatabase(20);
  store = new EventStore(db.pool);
  // The projection's primary key makes a second effect for one event fail loudly.
  await db.pool.query(`CREATE TABLE effects (
    subscription text NOT NULL, event_id uuid NOT NULL, stream_id text NOT NULL, type text NOT NULL,
    PRIMARY KEY (subscription, event_id))`);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

function names(): { subscription: string; stream: string } {
  number++;
  return { subscription: `projection-${number}`, stream: `orders-${number}` };
}

/** A handler whose effect is one row in `effects`, written through the subscription's transaction. */
function recordEffect(subscription: string) {
  return async (event: RecordedEvent, tx: PoolClient) => {
    await tx.query('INSERT INTO effects (subscription, event_id, stream_id, type) VALUES ($1, $2, $3, $4)', [
      subscription,
      event.id,
      event.streamId,
      event.type,
    ]);
  };
}

function subscribe(...args: Parameters<EventStore['subscribeToAll']>): AllSubscription {
  const subscription = store.subscribeToAll(...args);
  running.push(subscription);
  return subscription;
}

/** The effects one subscription had for one stream (a new subscription also handles older tests' events). */
async function effectsOf(subscription: string, stream: string): Promise<{ n: number; type: string }[]> {
  const { rows } = await db.pool.query(
    `SELECT (e.data->>'n')::int AS n, f.type FROM effects f JOIN events e ON e.event_id = f.event_id
     WHERE f.subscription = $1 AND f.stream_id = $2 ORDER BY e.transaction_id, e.global_position`,
    [subscription, stream],
  );
  return rows;
}

async function effectsReach(subscription: string, stream: string, count: number) {
  return eventually(async () => {
    const rows = await effectsOf(subscription, stream);
    return rows.length >= count ? rows : undefined;
  });
}

async function appendNumbered(
  stream: string,
  from: number,
  count: number,
  expectedVersion: bigint | 'no_stream',
) {
  const events = Array.from({ length: count }, (_, i) => ({ type: 'Placed', data: { n: from + i } }));
  return store.appendToStream(stream, events, { expectedVersion });
}

describe('subscribeToAll', () => {
  it('given events, then the handler applies each once, in order, and the checkpoint follows', async () => {
    const { subscription, stream } = names();
    await appendNumbered(stream, 1, 25, 'no_stream');
    const sub = subscribe(subscription, recordEffect(subscription), { batchSize: 7, pollIntervalMs: 20 });
    const rows = await effectsReach(subscription, stream, 25);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const [last] = await store.readStream(stream, { fromVersion: 25n });
    await eventually(async () => {
      const checkpoint = await store.readCheckpoint(subscription);
      return checkpoint && checkpoint.position >= last!.globalPosition ? true : undefined;
    });
    expect(sub.handledCount).toBeGreaterThanOrEqual(25);
  });

  it('given a handler that fails once mid-batch, then the batch rolls back and is retried with no double effect', async () => {
    const { subscription, stream } = names();
    await appendNumbered(stream, 1, 10, 'no_stream');
    const [sixth] = await store.readStream(stream, { fromVersion: 6n, limit: 1 });
    const errors: unknown[] = [];
    let failed = false;
    const record = recordEffect(subscription);
    const sub = subscribe(
      subscription,
      async (event, tx) => {
        await record(event, tx);
        if (event.id === sixth!.id && !failed) {
          failed = true;
          throw new Error('projection hiccup');
        }
      },
      { batchSize: 100, pollIntervalMs: 20, onError: (e) => errors.push(e) },
    );
    const rows = await effectsReach(subscription, stream, 10);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(sub.failedBatches).toBe(1);
    expect(String(errors[0])).toContain('projection hiccup');
  });

  it('given a stopped subscription, when restarted under the same name, then it resumes after its checkpoint', async () => {
    const { subscription, stream } = names();
    await appendNumbered(stream, 1, 5, 'no_stream');
    const first = subscribe(subscription, recordEffect(subscription), { pollIntervalMs: 20 });
    await effectsReach(subscription, stream, 5);
    await first.stop();
    await appendNumbered(stream, 6, 3, 5n);
    subscribe(subscription, recordEffect(subscription), { pollIntervalMs: 20 });
    const rows = await effectsReach(subscription, stream, 8);
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('given two instances with one name, then every event is handled exactly once between them', async () => {
    const { subscription, stream } = names();
    subscribe(subscription, recordEffect(subscription), { batchSize: 3, pollIntervalMs: 5 });
    subscribe(subscription, recordEffect(subscription), { batchSize: 3, pollIntervalMs: 5 });
    let version: bigint | 'no_stream' = 'no_stream';
    for (let i = 0; i < 10; i++)
      version = (await appendNumbered(stream, i * 4, 4, version)).nextExpectedVersion;
    const rows = await effectsReach(subscription, stream, 40);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('given a filter, then only those types reach the handler', async () => {
    const { subscription, stream } = names();
    await store.appendToStream(
      stream,
      [
        { type: 'Placed', data: {} },
        { type: 'Cancelled', data: {} },
        { type: 'Placed', data: {} },
      ],
      { expectedVersion: 'no_stream' },
    );
    const [last] = await store.readStream(stream, { fromVersion: 3n });
    subscribe(subscription, recordEffect(subscription), { pollIntervalMs: 20, filter: ['Cancelled'] });
    await eventually(async () => {
      const checkpoint = await store.readCheckpoint(subscription);
      return checkpoint && checkpoint.position >= last!.globalPosition ? true : undefined;
    });
    expect((await effectsOf(subscription, stream)).map((r) => r.type)).toEqual(['Cancelled']);
  });

  it('given a long poll interval, when an event is appended, then NOTIFY wakes the subscription', async () => {
    const { subscription, stream } = names();
    const sub = subscribe(subscription, recordEffect(subscription), { pollIntervalMs: 60_000 });
    // The first batch runs at once; once the checkpoint row exists the subscription is idle or about to be.
    await eventually(async () => (await store.readCheckpoint(subscription)) ?? undefined);
    await appendNumbered(stream, 1, 1, 'no_stream');
    // 10 s deadline against a 60 s poll: only the notification can make this pass.
    await effectsReach(subscription, stream, 1);
    expect(sub.handledCount).toBeGreaterThanOrEqual(1);
  });

  it('given a long poll interval, when an append commits in a caller transaction, then its NOTIFY wakes the subscription', async () => {
    const { subscription, stream } = names();
    subscribe(subscription, recordEffect(subscription), { pollIntervalMs: 60_000 });
    await eventually(async () => (await store.readCheckpoint(subscription)) ?? undefined);
    await withTransaction(db.pool, (tx) =>
      store.appendToStream(stream, [{ type: 'Placed', data: { n: 1 } }], {
        expectedVersion: 'no_stream',
        tx,
      }),
    );
    await effectsReach(subscription, stream, 1);
  });

  it('given a long poll interval, when store.transaction commits an append, then the after-commit NOTIFY wakes the subscription', async () => {
    const { subscription, stream } = names();
    subscribe(subscription, recordEffect(subscription), { pollIntervalMs: 60_000 });
    await eventually(async () => (await store.readCheckpoint(subscription)) ?? undefined);
    await store.transaction((tx) =>
      store.appendToStream(stream, [{ type: 'Placed', data: { n: 1 } }], {
        expectedVersion: 'no_stream',
        tx,
      }),
    );
    await effectsReach(subscription, stream, 1);
  });

  it('given a handler that appends (a process manager), then each reaction is written once and wakes its readers', async () => {
    const { subscription, stream } = names();
    const reactions = `${stream}-reactions`;
    subscribe(
      subscription,
      async (event, tx) => {
        if (event.streamId !== stream) return;
        await store.appendToStream(reactions, [{ type: 'Shipped', data: event.data }], {
          expectedVersion: 'any',
          tx,
        });
      },
      { pollIntervalMs: 60_000 },
    );
    const follower = `${subscription}-follower`;
    subscribe(follower, recordEffect(follower), { pollIntervalMs: 60_000 });
    await eventually(async () => (await store.readCheckpoint(follower)) ?? undefined);
    await appendNumbered(stream, 1, 3, 'no_stream');
    const rows = await eventually(async () => {
      const found = await effectsOf(follower, reactions);
      return found.length >= 3 ? found : undefined;
    });
    expect(rows.map((r) => [r.type, r.n])).toEqual([
      ['Shipped', 1],
      ['Shipped', 2],
      ['Shipped', 3],
    ]);
  });

  it('given an event held back by an older open transaction, when that transaction ends without a NOTIFY, then the subscription still picks the event up soon', async () => {
    const { subscription, stream } = names();
    await db.pool.query('CREATE TABLE IF NOT EXISTS unrelated (id int)');
    const sub = subscribe(subscription, recordEffect(subscription), { pollIntervalMs: 60_000 });
    await eventually(async () => (await store.readCheckpoint(subscription)) ?? undefined);
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('INSERT INTO unrelated VALUES (1)');
      await appendNumbered(stream, 1, 1, 'no_stream');
      await eventually(async () => (sub.heldBackRounds > 0 ? true : undefined));
      expect(await effectsOf(subscription, stream)).toEqual([]);
      await other.query('COMMIT');
    } finally {
      other.release();
    }
    // No NOTIFY follows that commit and the poll is 60 s away: only the held-back retry finds it.
    // The visibility horizon is cluster-wide, so transactions of test files running in parallel on the
    // same server (CREATE DATABASE … TEMPLATE holds an xid while it copies) can delay it by seconds.
    await eventually(async () => ((await effectsOf(subscription, stream)).length >= 1 ? true : undefined), {
      what: 'the held-back event to be handled',
      timeoutMs: 30_000,
    });
  });

  it('given a held-back event, when the older transaction ends between the read and the held-back check, then the next round reads it', async () => {
    // Built by hand to put the older transaction's end between the two statements of one batch, and
    // to listen on a channel nobody notifies: only the held-back retry can find the event.
    const { subscription, stream } = names();
    await db.pool.query('CREATE TABLE IF NOT EXISTS unrelated (id int)');
    const other = await db.pool.connect();
    const listener = new ChannelListener(db.pool, 'kinyu_test_silent');
    let reads = 0;
    const sub = new AllSubscription({
      name: subscription,
      handler: recordEffect(subscription),
      options: { pollIntervalMs: 60_000 },
      pool: db.pool,
      transaction: (work) => store.transaction(work),
      clock: systemClock,
      listener,
      readAll: async (from, limit, tx) => {
        const page = await store.readAll(from, limit, { tx });
        // The first round's wait is cut short by the wake-up LISTEN gives; end it in the second.
        if (++reads === 2) await other.query('COMMIT');
        return page;
      },
      heldBack: (from, tx) => eventsPast(tx, from),
      onStopped: () => listener.close(),
    });
    try {
      await other.query('BEGIN');
      await other.query('INSERT INTO unrelated VALUES (1)');
      await appendNumbered(stream, 1, 1, 'no_stream');
      sub.start();
      const rows = await eventually(async () => {
        const found = await effectsOf(subscription, stream);
        return found.length >= 1 ? found : undefined;
      });
      expect(rows).toEqual([{ n: 1, type: 'Placed' }]);
      expect(reads).toBeGreaterThanOrEqual(3);
    } finally {
      await sub.stop();
      await other.query('ROLLBACK').catch(() => {});
      other.release();
    }
  });

  it('given a batch in flight, when stop() is called, then it waits for the batch to commit', async () => {
    const { subscription, stream } = names();
    await appendNumbered(stream, 1, 1, 'no_stream');
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = false;
    const record = recordEffect(subscription);
    const sub = subscribe(
      subscription,
      async (event, tx) => {
        if (event.streamId !== stream) return;
        entered = true;
        await gate;
        await record(event, tx);
      },
      { pollIntervalMs: 20 },
    );
    await eventually(async () => (entered ? true : undefined));
    const stopping = sub.stop();
    expect(await settlesWithin(stopping)).toBe(false);
    release();
    await stopping;
    expect((await effectsOf(subscription, stream)).length).toBe(1);
    const [event] = await store.readStream(stream);
    expect((await store.readCheckpoint(subscription))!.position).toBeGreaterThanOrEqual(
      event!.globalPosition,
    );
  });

  it('given an out-of-range batch size or poll interval, then subscribing is refused', () => {
    expect(() => store.subscribeToAll('bad', async () => {}, { batchSize: 0 })).toThrow(RangeError);
    expect(() => store.subscribeToAll('bad', async () => {}, { batchSize: 1001 })).toThrow(RangeError);
    expect(() => store.subscribeToAll('bad', async () => {}, { pollIntervalMs: 60_001 })).toThrow(RangeError);
  });
});
