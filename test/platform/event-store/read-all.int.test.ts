import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  compareCheckpoints,
  startCheckpoint,
} from '../../../src/platform/event-store/checkpoint.ts';
import { EventStore } from '../../../src/platform/event-store/event-store.ts';
import type { RecordedEvent } from '../../../src/platform/event-store/types.ts';
import type { PoolClient } from '../../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { eventually } from '../../support/eventually.ts';

let db: TestDatabase;
let store: EventStore;
let streamNumber = 0;

beforeAll(async () => {
  db = await createTestDatabase(20);
  store = new EventStore(db.pool);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

/** A reader following readAll from its own checkpoint, remembering every event it was given. */
class Reader {
  checkpoint: Checkpoint = startCheckpoint;
  seen: RecordedEvent[] = [];

  /** Reads everything readable now, page by page. */
  async read(pageSize = 3): Promise<RecordedEvent[]> {
    const got: RecordedEvent[] = [];
    for (;;) {
      const page = await store.readAll(this.checkpoint, pageSize);
      got.push(...page.events);
      this.checkpoint = page.checkpoint;
      if (page.scanned < pageSize) break;
    }
    this.seen.push(...got);
    return got;
  }

  /** Reads until it has seen `count` events; other tests' open transactions may hold them back a while. */
  async readUntilSeen(count: number): Promise<void> {
    await eventually(async () => {
      await this.read();
      return this.seen.length >= count ? true : undefined;
    });
  }

  streamsSeen(): string[] {
    return this.seen.map((e) => e.streamId);
  }
}

/** A reader positioned after every event committed so far (earlier tests' events are not its business). */
async function caughtUpReader(): Promise<Reader> {
  const marker = `marker-${++streamNumber}`;
  await store.appendToStream(marker, [{ type: 'Marker', data: {} }], { expectedVersion: 'no_stream' });
  const reader = new Reader();
  await eventually(async () => {
    await reader.read(1000);
    return reader.streamsSeen().includes(marker) ? true : undefined;
  });
  reader.seen = [];
  return reader;
}

async function begin(): Promise<PoolClient> {
  const client = await db.pool.connect();
  await client.query('BEGIN');
  return client;
}

async function end(client: PoolClient, how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  try {
    await client.query(how);
  } finally {
    client.release();
  }
}

async function appendIn(tx: PoolClient, stream: string, count = 1): Promise<bigint> {
  const events = Array.from({ length: count }, (_, i) => ({ type: 'Happened', data: { i } }));
  return (await store.appendToStream(stream, events, { expectedVersion: 'any', tx })).lastPosition;
}

function stream(name: string): string {
  return `${name}-${++streamNumber}`;
}

describe('readAll and the sequence-gap problem', () => {
  let reader: Reader;
  beforeEach(async () => {
    reader = await caughtUpReader();
  });

  it('given a position-only reader, when a lower position commits last, then it is skipped (the problem)', async () => {
    const a = await begin();
    const b = await begin();
    const streamA = stream('a');
    const streamB = stream('b');
    const positionA = await appendIn(a, streamA);
    const positionB = await appendIn(b, streamB);
    await end(b, 'COMMIT');
    const { rows: first } = await db.pool.query<{ global_position: bigint }>(
      'SELECT global_position FROM events WHERE global_position >= $1 ORDER BY global_position',
      [positionA],
    );
    expect(first.map((r) => BigInt(r.global_position))).toEqual([positionB]);
    await end(a, 'COMMIT');
    const { rows: after } = await db.pool.query('SELECT 1 FROM events WHERE global_position > $1', [
      positionB,
    ]);
    expect(after).toEqual([]); // a reader continuing after positionB never sees positionA
  });

  it('given A appends, B appends and commits, when the reader reads, then it does not see B until A has committed', async () => {
    const a = await begin();
    const streamA = stream('a');
    const streamB = stream('b');
    const positionA = await appendIn(a, streamA);
    const b = await begin();
    const positionB = await appendIn(b, streamB);
    expect(positionA).toBeLessThan(positionB);
    await end(b, 'COMMIT');

    await reader.read();
    expect(reader.streamsSeen()).toEqual([]);

    await end(a, 'COMMIT');
    await reader.readUntilSeen(2);
    expect(reader.streamsSeen()).toEqual([streamA, streamB]);
  });

  it('given B took its transaction id first but A drew the lower position, then B is read first and A is not skipped', async () => {
    const b = await begin();
    await b.query('SELECT pg_current_xact_id()');
    const a = await begin();
    const streamA = stream('a');
    const streamB = stream('b');
    const positionA = await appendIn(a, streamA);
    const positionB = await appendIn(b, streamB);
    expect(positionA).toBeLessThan(positionB);
    await end(b, 'COMMIT');

    await reader.readUntilSeen(1);
    expect(reader.streamsSeen()).toEqual([streamB]);
    expect(reader.checkpoint.position).toBe(positionB);

    await end(a, 'COMMIT');
    await reader.readUntilSeen(2);
    expect(reader.streamsSeen()).toEqual([streamB, streamA]);
  });

  it('given A rolls back after B committed, then the reader sees B and the gap stays empty', async () => {
    const a = await begin();
    const streamA = stream('a');
    const streamB = stream('b');
    await appendIn(a, streamA, 2);
    const b = await begin();
    await appendIn(b, streamB);
    await end(b, 'COMMIT');
    await reader.read();
    expect(reader.streamsSeen()).toEqual([]);
    await end(a, 'ROLLBACK');
    await reader.readUntilSeen(1);
    expect(reader.streamsSeen()).toEqual([streamB]);
  });

  it('given an unrelated open transaction, then committed events wait for it and are then read', async () => {
    await db.pool.query('CREATE TABLE IF NOT EXISTS unrelated (id int)');
    const other = await begin();
    await other.query('INSERT INTO unrelated VALUES (1)');
    const streamB = stream('b');
    await store.appendToStream(streamB, [{ type: 'Happened', data: {} }], { expectedVersion: 'no_stream' });
    await reader.read();
    expect(reader.streamsSeen()).toEqual([]);
    await end(other, 'COMMIT');
    await reader.readUntilSeen(1);
    expect(reader.streamsSeen()).toEqual([streamB]);
  });

  it('given a type filter, then only those types come back and the checkpoint still passes the others', async () => {
    const s = stream('filtered');
    await store.appendToStream(
      s,
      [
        { type: 'Kept', data: { n: 1 } },
        { type: 'Dropped', data: { n: 2 } },
        { type: 'Dropped', data: { n: 3 } },
      ],
      { expectedVersion: 'no_stream' },
    );
    const page = await eventually(async () => {
      const result = await store.readAll(reader.checkpoint, 10, { types: ['Kept'] });
      return result.scanned === 3 ? result : undefined;
    });
    expect(page.events.map((e) => [e.type, e.data])).toEqual([['Kept', { n: 1 }]]);
    const [last] = await store.readStream(s, { fromVersion: 3n });
    expect(page.checkpoint).toEqual({ transactionId: last!.transactionId, position: last!.globalPosition });
  });

  it('given a page limit out of range, then readAll refuses it', async () => {
    await expect(store.readAll(startCheckpoint, 0)).rejects.toThrow(RangeError);
    await expect(store.readAll(startCheckpoint, 1001)).rejects.toThrow(RangeError);
  });
});

describe('readAll under random interleavings', () => {
  type Step = { kind: 'append'; tx: number; count: number } | { kind: 'end'; tx: number } | { kind: 'read' };
  const writers = 3;
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant('append' as const),
      tx: fc.nat(writers - 1),
      count: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ kind: fc.constant('end' as const), tx: fc.nat(writers - 1) }),
    fc.record({ kind: fc.constant('read' as const) }),
  );
  const scenario = fc.record({
    steps: fc.array(step, { minLength: 1, maxLength: 14 }),
    commits: fc.array(fc.boolean(), { minLength: writers, maxLength: writers }),
  });

  it('given any interleaving of appends, commits, rollbacks and reads, then every committed event is read exactly once, in increasing checkpoint order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ steps, commits }) => {
        const reader = await caughtUpReader();
        const open = new Map<number, PoolClient>();
        const written = new Map<number, string[]>();
        const committed: string[] = [];
        const finish = async (tx: number) => {
          const client = open.get(tx);
          if (!client) return;
          open.delete(tx);
          await end(client, commits[tx] ? 'COMMIT' : 'ROLLBACK');
          if (commits[tx]) committed.push(...(written.get(tx) ?? []));
          written.delete(tx);
        };
        try {
          for (const s of steps) {
            if (s.kind === 'read') await reader.read();
            else if (s.kind === 'end') await finish(s.tx);
            else {
              if (!open.has(s.tx)) open.set(s.tx, await begin());
              const name = stream(`w${s.tx}`);
              await appendIn(open.get(s.tx)!, name, s.count);
              written.set(s.tx, [...(written.get(s.tx) ?? []), ...Array(s.count).fill(name)]);
            }
          }
        } finally {
          for (const tx of [...open.keys()]) await finish(tx);
        }
        await eventually(async () => {
          await reader.read();
          return reader.seen.length >= committed.length ? true : undefined;
        });
        expect([...reader.streamsSeen()].sort()).toEqual([...committed].sort());
        const order = reader.seen.map((e) => ({
          transactionId: e.transactionId,
          position: e.globalPosition,
        }));
        for (let i = 1; i < order.length; i++) expect(compareCheckpoints(order[i - 1]!, order[i]!)).toBe(-1);
      }),
      { numRuns: 40 },
    );
  });
});

describe('readAll across a power of ten of transaction ids', () => {
  it('given events of transactions 9 and 10, which sort the other way round as text, then pages return them in transaction order, each once', async () => {
    // PostgreSQL assigns transaction ids, so these two rows are written directly, below every real
    // id (a cluster has used thousands by now): as if committed just before and just after the
    // counter reached 10. The same happens at 1,000, 10,000, …: a CI run once crossed one.
    const s = stream('xid-boundary');
    const ids = [9n, 10n];
    for (const [index, transactionId] of ids.entries()) {
      await db.pool.query(
        `INSERT INTO events (transaction_id, event_id, stream_id, version, type, data, recorded_at)
         VALUES ($1::text::xid8, gen_random_uuid(), $2, $3, 'Happened', '{}', now())`,
        [transactionId, s, index + 1],
      );
    }
    const first = await store.readAll(startCheckpoint, 1);
    const second = await store.readAll(first.checkpoint, 1);
    expect([first, second].map((page) => [page.events[0]!.streamId, page.events[0]!.transactionId])).toEqual([
      [s, 9n],
      [s, 10n],
    ]);
    expect(compareCheckpoints(first.checkpoint, second.checkpoint)).toBe(-1);
  });
});
