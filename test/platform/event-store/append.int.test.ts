import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.ts';
import { ConcurrencyError } from '../../../src/platform/errors.ts';
import { EventStore } from '../../../src/platform/event-store/event-store.ts';
import type { ExpectedVersion, NewEvent } from '../../../src/platform/event-store/types.ts';
import { isUuid, uuidv7Time } from '../../../src/platform/ids.ts';
import { limits } from '../../../src/platform/limits.ts';
import { withTransaction } from '../../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

type CounterEvent = NewEvent<'Incremented', { by: number }> | NewEvent<'Reset', { reason: string }>;

let db: TestDatabase;
let store: EventStore;
let clock: ManualClock;
let streamNumber = 0;

function newStream(): string {
  streamNumber++;
  return `counter-${streamNumber}`;
}

function incremented(by: number): CounterEvent {
  return { type: 'Incremented', data: { by } };
}

async function countRows(sql: string, values: unknown[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return rows[0]!.n;
}

beforeAll(async () => {
  db = await createTestDatabase();
  clock = new ManualClock('2026-03-01T09:00:00.000Z');
  store = new EventStore(db.pool, clock);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

describe('appendToStream and readStream', () => {
  it('given no stream, when two events are appended, then they are versions 1 and 2 with increasing positions', async () => {
    const stream = newStream();
    const result = await store.appendToStream(stream, [incremented(1), incremented(2)], {
      expectedVersion: 'no_stream',
    });
    expect(result.nextExpectedVersion).toBe(2n);
    const events = await store.readStream<CounterEvent>(stream);
    expect(events.map((e) => [e.version, e.type, e.data])).toEqual([
      [1n, 'Incremented', { by: 1 }],
      [2n, 'Incremented', { by: 2 }],
    ]);
    expect(events[1]!.globalPosition).toBe(result.lastPosition);
    expect(events[0]!.globalPosition).toBeLessThan(events[1]!.globalPosition);
    expect(events[0]!.transactionId).toBe(events[1]!.transactionId);
  });

  it('given a clock, then events get UUIDv7 ids of that time and recorded_at from it', async () => {
    const stream = newStream();
    clock.set('2026-03-02T10:11:12.345Z');
    await store.appendToStream(stream, [incremented(1)], { expectedVersion: 'no_stream' });
    const [event] = await store.readStream(stream);
    expect(isUuid(event!.id)).toBe(true);
    expect(event!.id[14]).toBe('7');
    expect(uuidv7Time(event!.id).toISOString()).toBe('2026-03-02T10:11:12.345Z');
    expect(event!.recordedAt.toISOString()).toBe('2026-03-02T10:11:12.345Z');
  });

  it('given metadata and nested data, then both read back exactly', async () => {
    const stream = newStream();
    const data = { amountMinor: '123456789012345678', lines: [{ a: 'x', b: null, c: true, d: 1.5 }] };
    const metadata = { correlationId: 'c-1', causationId: 'k-9', user: { id: 'u1' } };
    await store.appendToStream(stream, [{ type: 'Paid', data, metadata }], { expectedVersion: 'any' });
    const [event] = await store.readStream(stream);
    expect(event!.data).toEqual(data);
    expect(event!.metadata).toEqual(metadata);
  });

  it('given an event without metadata, then it reads back as an empty object', async () => {
    const stream = newStream();
    await store.appendToStream(stream, [incremented(1)], { expectedVersion: 'any' });
    const [event] = await store.readStream(stream);
    expect(event!.metadata).toEqual({});
  });

  it('given a long stream, when read from a version with a limit, then that page comes back', async () => {
    const stream = newStream();
    await store.appendToStream(
      stream,
      Array.from({ length: 10 }, (_, i) => incremented(i + 1)),
      { expectedVersion: 'no_stream' },
    );
    const page = await store.readStream(stream, { fromVersion: 4n, limit: 3 });
    expect(page.map((e) => e.version)).toEqual([4n, 5n, 6n]);
    expect(await store.readStream('no-such-stream')).toEqual([]);
  });

  it('given a bigint in the data, then the append is refused naming the field, and nothing is written', async () => {
    const stream = newStream();
    const bad = { type: 'Deposited', data: { amountMinor: 100n } };
    await expect(store.appendToStream(stream, [bad], { expectedVersion: 'any' })).rejects.toThrow(
      `event 0 (Deposited) of stream ${stream} data.amountMinor is a bigint (100n); encode minor units as a decimal string`,
    );
    expect(await store.readStream(stream)).toEqual([]);
  });

  it('given no events or too many, then the append is refused', async () => {
    await expect(store.appendToStream(newStream(), [], { expectedVersion: 'any' })).rejects.toThrow(
      RangeError,
    );
    const tooMany = Array.from({ length: limits.appendBatchEventsMax + 1 }, () => incremented(1));
    await expect(store.appendToStream(newStream(), tooMany, { expectedVersion: 'any' })).rejects.toThrow(
      RangeError,
    );
  });

  it('given an empty or overlong stream id or type, then the append is refused', async () => {
    await expect(store.appendToStream('', [incremented(1)], { expectedVersion: 'any' })).rejects.toThrow(
      /stream id/,
    );
    await expect(
      store.appendToStream(newStream(), [{ type: '', data: {} }], { expectedVersion: 'any' }),
    ).rejects.toThrow(/type must be/);
  });
});

describe('optimistic concurrency', () => {
  const cases: { name: string; version: bigint; expected: ExpectedVersion; ok: boolean }[] = [
    { name: 'no_stream on a new stream', version: 0n, expected: 'no_stream', ok: true },
    { name: '0n on a new stream', version: 0n, expected: 0n, ok: true },
    { name: 'any on a new stream', version: 0n, expected: 'any', ok: true },
    { name: 'stream_exists on a new stream', version: 0n, expected: 'stream_exists', ok: false },
    { name: '1n on a new stream', version: 0n, expected: 1n, ok: false },
    { name: 'no_stream on a stream at 2', version: 2n, expected: 'no_stream', ok: false },
    { name: '0n on a stream at 2', version: 2n, expected: 0n, ok: false },
    { name: 'any on a stream at 2', version: 2n, expected: 'any', ok: true },
    { name: 'stream_exists on a stream at 2', version: 2n, expected: 'stream_exists', ok: true },
    { name: '2n on a stream at 2', version: 2n, expected: 2n, ok: true },
    { name: '1n on a stream at 2', version: 2n, expected: 1n, ok: false },
    { name: '3n on a stream at 2', version: 2n, expected: 3n, ok: false },
  ];

  it.each(cases)('given $name, then the append succeeds: $ok', async ({ version, expected, ok }) => {
    const stream = newStream();
    if (version > 0n) {
      await store.appendToStream(stream, [incremented(1), incremented(2)], { expectedVersion: 'no_stream' });
    }
    const append = store.appendToStream(stream, [incremented(9)], {
      expectedVersion: expected,
      outbox: [{ topic: 'counters', key: stream, payload: { by: 9 } }],
    });
    if (ok) {
      expect((await append).nextExpectedVersion).toBe(version + 1n);
    } else {
      const error = await append.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect(error).toMatchObject({ code: 'concurrency_conflict', status: 409, expected });
      expect((error as ConcurrencyError).actual).toBe(version === 0n ? null : version);
    }
    const events = await store.readStream(stream);
    expect(events.length).toBe(Number(version) + (ok ? 1 : 0));
    expect(await countRows('outbox WHERE key = $1', [stream])).toBe(ok ? 1 : 0);
  });

  it('given 20 writers at the same expected version, then exactly one wins and the rest conflict', async () => {
    const stream = newStream();
    await store.appendToStream(stream, [incremented(1)], { expectedVersion: 'no_stream' });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.appendToStream(stream, [incremented(i + 10)], {
          expectedVersion: 1n,
          outbox: [{ topic: 'counters', key: stream, payload: { i } }],
        }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won.length).toBe(1);
    for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(stream)).map((e) => e.version)).toEqual([1n, 2n]);
    expect(await countRows('outbox WHERE key = $1', [stream])).toBe(1);
  });

  it('given 20 writers creating the same stream, then exactly one wins', async () => {
    const stream = newStream();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        store.appendToStream(stream, [incremented(1)], { expectedVersion: 'no_stream' }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect((await store.readStream(stream)).length).toBe(1);
  });

  it('given 20 writers with any, then all succeed with distinct consecutive versions', async () => {
    const stream = newStream();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.appendToStream(stream, [incremented(i)], { expectedVersion: 'any' }),
      ),
    );
    expect(results.map((r) => r.nextExpectedVersion).sort((a, b) => Number(a - b))).toEqual(
      Array.from({ length: 20 }, (_, i) => BigInt(i + 1)),
    );
    const events = await store.readStream(stream);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
  });
});

describe('every statement shape', () => {
  // Each combination is its own generated SQL statement (append-sql.ts); run each once, both ways.
  const expectations = ['no_stream', 'exact', 'any', 'stream_exists'] as const;
  const shapes = expectations.flatMap((expectation) =>
    [1, 3].flatMap((events) =>
      [0, 2].flatMap((messages) =>
        (['none', 'store', 'raw'] as const).map((transaction) => ({
          expectation,
          events,
          messages,
          transaction,
        })),
      ),
    ),
  );

  it.each(shapes)(
    'given $expectation with $events event(s), $messages outbox message(s), transaction $transaction, then it appends, and a conflict writes nothing',
    async ({ expectation, events, messages, transaction }) => {
      const stream = newStream();
      const exists = expectation === 'exact' || expectation === 'stream_exists';
      if (exists) await store.appendToStream(stream, [incremented(0)], { expectedVersion: 'no_stream' });
      const before = exists ? 1n : 0n;
      const good: ExpectedVersion = expectation === 'exact' ? 1n : expectation;
      // After the good append the stream exists, so these must conflict ('any' never does: use a version).
      const bad: ExpectedVersion = {
        no_stream: 'no_stream',
        exact: 5n,
        any: 7n,
        stream_exists: 'no_stream',
      }[expectation] as ExpectedVersion;
      const append = (expectedVersion: ExpectedVersion) => {
        const batch = Array.from({ length: events }, (_, i) => incremented(i + 1));
        const outbox = Array.from({ length: messages }, (_, i) => ({
          topic: 'shapes',
          key: stream,
          payload: { i },
        }));
        const options = { expectedVersion, outbox };
        if (transaction === 'none') return store.appendToStream(stream, batch, options);
        if (transaction === 'store')
          return store.transaction((tx) => store.appendToStream(stream, batch, { ...options, tx }));
        return withTransaction(db.pool, (tx) => store.appendToStream(stream, batch, { ...options, tx }));
      };
      const result = await append(good);
      expect(result.nextExpectedVersion).toBe(before + BigInt(events));
      await expect(append(bad)).rejects.toBeInstanceOf(ConcurrencyError);
      const stored = await store.readStream(stream);
      expect(stored.map((e) => e.version)).toEqual(
        Array.from({ length: Number(before) + events }, (_, i) => BigInt(i + 1)),
      );
      expect(stored.at(-1)!.globalPosition).toBe(result.lastPosition);
      expect(await countRows('outbox WHERE key = $1', [stream])).toBe(messages);
    },
  );
});

describe('appending inside the caller transaction', () => {
  beforeAll(async () => {
    await db.pool.query('CREATE TABLE counter_view (stream_id text PRIMARY KEY, total int NOT NULL)');
  });

  it('given a projection row written in the same transaction, when it commits, then both are there', async () => {
    const stream = newStream();
    await withTransaction(db.pool, async (tx) => {
      await store.appendToStream(stream, [incremented(5)], { expectedVersion: 'no_stream', tx });
      await tx.query('INSERT INTO counter_view VALUES ($1, 5)', [stream]);
    });
    expect((await store.readStream(stream)).length).toBe(1);
    expect(await countRows('counter_view WHERE stream_id = $1', [stream])).toBe(1);
  });

  it('given the caller rolls back, then neither the events nor the outbox rows nor the projection remain', async () => {
    const stream = newStream();
    await expect(
      withTransaction(db.pool, async (tx) => {
        await store.appendToStream(stream, [incremented(5)], {
          expectedVersion: 'no_stream',
          tx,
          outbox: [{ topic: 'counters', key: stream, payload: {} }],
        });
        await tx.query('INSERT INTO counter_view VALUES ($1, 5)', [stream]);
        throw new Error('business rule failed after the append');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await store.readStream(stream)).toEqual([]);
    expect(await countRows('outbox WHERE key = $1', [stream])).toBe(0);
    expect(await countRows('counter_view WHERE stream_id = $1', [stream])).toBe(0);
    expect(await countRows('streams WHERE stream_id = $1', [stream])).toBe(0);
  });

  it('given a conflict inside the caller transaction, then it throws ConcurrencyError and the transaction stays usable', async () => {
    const stream = newStream();
    await store.appendToStream(stream, [incremented(1)], { expectedVersion: 'no_stream' });
    const outcome = await withTransaction(db.pool, async (tx) => {
      const error = await store
        .appendToStream(stream, [incremented(2)], { expectedVersion: 'no_stream', tx })
        .catch((e: unknown) => e);
      const { rows } = await tx.query<{ one: number }>('SELECT 1 AS one');
      return { error, one: rows[0]!.one };
    });
    expect(outcome.error).toBeInstanceOf(ConcurrencyError);
    expect(outcome.one).toBe(1);
    expect((await store.readStream(stream)).length).toBe(1);
  });

  it('given REPEATABLE READ and a concurrent append, then the loser gets ConcurrencyError', async () => {
    const stream = newStream();
    await store.appendToStream(stream, [incremented(1)], { expectedVersion: 'no_stream' });
    const error = await withTransaction(db.pool, async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await tx.query('SELECT 1'); // takes the snapshot before the competing append commits
      await store.appendToStream(stream, [incremented(2)], { expectedVersion: 1n });
      return store
        .appendToStream(stream, [incremented(3)], { expectedVersion: 1n, tx })
        .catch((e: unknown) => e);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(stream)).map((e) => e.version)).toEqual([1n, 2n]);
  });
});

describe('EventStore.transaction', () => {
  it('given events and a projection row in store.transaction, when it commits, then both are there', async () => {
    const stream = newStream();
    const result = await store.transaction(async (tx) => {
      const appended = await store.appendToStream(stream, [incremented(4)], {
        expectedVersion: 'no_stream',
        tx,
      });
      await tx.query('INSERT INTO counter_view VALUES ($1, 4)', [stream]);
      return appended.nextExpectedVersion;
    });
    expect(result).toBe(1n);
    expect((await store.readStream(stream)).length).toBe(1);
    expect(await countRows('counter_view WHERE stream_id = $1', [stream])).toBe(1);
  });

  it('given store.transaction throws after the append, then nothing remains', async () => {
    const stream = newStream();
    await expect(
      store.transaction(async (tx) => {
        await store.appendToStream(stream, [incremented(4)], { expectedVersion: 'no_stream', tx });
        throw new Error('rule broken');
      }),
    ).rejects.toThrow('rule broken');
    expect(await store.readStream(stream)).toEqual([]);
  });
});

describe('aggregateStream', () => {
  const evolve = (total: number, event: { type: string; data: unknown }) =>
    event.type === 'Incremented' ? total + (event.data as { by: number }).by : 0;

  it('given no stream, then it returns the initial state at version 0n', async () => {
    expect(await store.aggregateStream('never-written', { evolve, initialState: () => 0 })).toEqual({
      state: 0,
      version: 0n,
    });
  });

  it('given events, then it folds them and returns the last version', async () => {
    const stream = newStream();
    await store.appendToStream(stream, [incremented(2), incremented(3)], { expectedVersion: 'no_stream' });
    await store.appendToStream(stream, [{ type: 'Reset', data: { reason: 'x' } }, incremented(7)], {
      expectedVersion: 2n,
    });
    expect(await store.aggregateStream(stream, { evolve, initialState: () => 0 })).toEqual({
      state: 7,
      version: 4n,
    });
  });

  it('given a stream longer than one page, then every page is folded', async () => {
    const stream = newStream();
    const batch = Array.from({ length: limits.appendBatchEventsMax }, () => incremented(1));
    const first = await store.appendToStream(stream, batch, { expectedVersion: 'no_stream' });
    await store.appendToStream(stream, batch.slice(0, 500), { expectedVersion: first.nextExpectedVersion });
    const { state, version } = await store.aggregateStream(stream, { evolve, initialState: () => 0 });
    expect(version).toBe(BigInt(limits.appendBatchEventsMax + 500));
    expect(state).toBe(limits.appendBatchEventsMax + 500);
  });
});

describe('immutability', () => {
  it.each([
    ['UPDATE', "UPDATE events SET type = 'Tampered'"],
    ['DELETE', 'DELETE FROM events'],
    ['TRUNCATE', 'TRUNCATE events'],
    ['UPDATE of no row', "UPDATE events SET type = 'x' WHERE false"],
  ])('given stored events, when %s runs, then the database refuses it', async (_name, sql) => {
    const stream = newStream();
    await store.appendToStream(stream, [incremented(1)], { expectedVersion: 'no_stream' });
    await expect(db.pool.query(sql)).rejects.toThrow(/events are immutable/);
    expect((await store.readStream(stream))[0]!.type).toBe('Incremented');
  });
});
