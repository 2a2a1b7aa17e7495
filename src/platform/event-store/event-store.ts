import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { assert, ConcurrencyError } from '../errors.ts';
import { type IdGenerator, uuidv7Generator } from '../ids.ts';
import { limits } from '../limits.ts';
import { outboxChannel, outboxColumns } from '../outbox/enqueue.ts';
import type { OutboxMessage } from '../outbox/types.ts';
import { type Pool, type PoolClient, type Queryable, withTransaction } from '../sql/pool.ts';
import {
  type AppendInputs,
  type AppendRow,
  type AppendStatement,
  appendStatement,
  type Expectation,
} from './append-sql.ts';
import type { Checkpoint } from './checkpoint.ts';
import { toJsonText } from './json.ts';
import { eventStoreLimits } from './limits.ts';
import { ChannelListener, CommitNotifier } from './notifications.ts';
import { AllSubscription } from './subscription.ts';
import type {
  AggregateOptions,
  AllEventHandler,
  AppendOptions,
  AppendResult,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  ReadAllPage,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
} from './types.ts';

/** Channel appends notify, so subscriptions wake without waiting for their poll. */
export const eventsChannel = 'kinyu_events';

/** How the SQL checks an expected version; `0n` is the same as 'no_stream'. Exported for tests. */
export function expectationOf(expected: ExpectedVersion): { expectation: Expectation; version: bigint } {
  if (expected === 'no_stream' || expected === 0n) return { expectation: 'no_stream', version: 0n };
  if (expected === 'any' || expected === 'stream_exists') return { expectation: expected, version: 0n };
  if (expected < 0n) throw new RangeError(`expectedVersion must be >= 0n, got ${expected}n`);
  return { expectation: 'exact', version: expected };
}

async function currentVersion(db: Queryable, streamId: string): Promise<bigint | null> {
  const { rows } = await db.query<{ version: bigint | string }>(
    'SELECT version FROM streams WHERE stream_id = $1',
    [streamId],
  );
  return rows[0] ? BigInt(rows[0].version) : null;
}

const eventColumns = `event_id, stream_id, version, global_position, transaction_id::text AS transaction_id,
  type, data, metadata, recorded_at`;

const readStreamSql = `SELECT ${eventColumns} FROM events
  WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`;

// Only transactions older than the oldest one still running are read (transaction_id < xmin): every
// such transaction has ended, so no event can still appear below the returned checkpoint. Ordering by
// global_position alone would skip an event whose transaction drew a lower position but committed
// after a reader had passed a higher one. The filtered-out rows still come back (without their
// JSON) so the checkpoint moves past them. ORDER BY names the columns with their table: unqualified,
// `transaction_id` would mean the text alias of the select list, and "1000" sorts before "999", so a
// page spanning a power of ten of transaction ids came back out of order (the checkpoint, taken from
// its last row, then fell behind events already handled, or ahead of ones not yet handled).
const readAllSql = `SELECT event_id, stream_id, version, global_position,
    transaction_id::text AS transaction_id, type,
    CASE WHEN $4::text[] IS NULL OR type = ANY($4) THEN data END AS data,
    CASE WHEN $4::text[] IS NULL OR type = ANY($4) THEN metadata END AS metadata,
    recorded_at
  FROM events
  WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
    AND transaction_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
  ORDER BY events.transaction_id, events.global_position
  LIMIT $3`;

// Any committed event past `from`, the checkpoint of a page that readAll returned short. Such an event
// was held back from that page by an older open transaction, or committed since. Not "past the horizon
// now": this statement's snapshot is newer than readAll's, and a transaction ending between the two
// would move the horizon past the held-back events, which would then be left for the next poll.
// Not EXISTS (…): the planner drops the ORDER BY … LIMIT inside it and may scan the whole table.
const eventsPastSql = `SELECT 1 FROM events
  WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
  ORDER BY events.transaction_id, events.global_position
  LIMIT 1`;

interface EventRow {
  event_id: string;
  stream_id: string;
  version: bigint | string;
  global_position: bigint | string;
  transaction_id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown> | null;
  recorded_at: Date;
}

/**
 * The PostgreSQL event store: streams of events with optimistic concurrency, a global commit-safe
 * order for readers, catch-up subscriptions and the transactional outbox. Versions count from 1:
 * a stream's first event is version 1, and a stream with no events is at version 0.
 */
export class EventStore {
  readonly #pool: Pool;
  readonly #clock: Clock;
  readonly #newId: IdGenerator;
  readonly #listener: ChannelListener;
  readonly #eventsNotifier: CommitNotifier;
  readonly #outboxNotifier: CommitNotifier;
  readonly #subscriptions = new Set<AllSubscription>();
  /** Transactions opened by transaction(): what to notify once they commit. */
  readonly #managed = new WeakMap<PoolClient, { events: boolean; outbox: boolean }>();

  constructor(pool: Pool, clock: Clock = systemClock, newId: IdGenerator = uuidv7Generator(clock)) {
    this.#pool = pool;
    this.#clock = clock;
    this.#newId = newId;
    this.#listener = new ChannelListener(pool, eventsChannel);
    this.#eventsNotifier = new CommitNotifier(pool, eventsChannel);
    this.#outboxNotifier = new CommitNotifier(pool, outboxChannel);
  }

  /**
   * Appends events (and outbox messages) atomically if the stream is at `expectedVersion`; otherwise
   * throws ConcurrencyError and writes nothing. One round trip; inside `tx` when given.
   */
  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const { expectation, version } = expectationOf(options.expectedVersion);
    const inputs = this.#appendInputs(streamId, events, options.outbox ?? [], version);
    const managed = options.tx && this.#managed.get(options.tx);
    const statement = appendStatement({
      expectation,
      single: events.length === 1,
      outbox: inputs.messageIds.length > 0,
      // Only a transaction whose commit this store does not see notifies from inside it.
      notify: options.tx !== undefined && !managed,
    });
    const db = options.tx ?? this.#pool;
    const row = await this.#runAppend(db, statement, inputs, options.expectedVersion);
    if (row.previous === null) {
      throw conflict(streamId, options.expectedVersion, await currentVersion(db, streamId));
    }
    assert(row.last_position !== null, `append to ${streamId} returned no position`);
    this.#notifyAfterCommit(options.tx, inputs.messageIds.length > 0);
    return {
      nextExpectedVersion: BigInt(row.previous) + BigInt(events.length),
      lastPosition: BigInt(row.last_position),
    };
  }

  #appendInputs(
    streamId: string,
    events: readonly NewEvent[],
    outbox: readonly OutboxMessage[],
    expected: bigint,
  ): AppendInputs {
    checkStreamId(streamId);
    if (events.length === 0 || events.length > limits.appendBatchEventsMax) {
      throw new RangeError(`append 1 to ${limits.appendBatchEventsMax} events, not ${events.length}`);
    }
    const inputs: AppendInputs = {
      ...{ streamId, count: events.length, expected, recordedAt: this.#clock.now() },
      ...{ eventIds: [], types: [], data: [], metadata: [] },
      ...outboxColumns(outbox, this.#newId),
    };
    events.forEach((event, index) => {
      const what = `event ${index} (${event.type}) of stream ${streamId}`;
      checkEventType(event.type, what);
      inputs.eventIds.push(this.#newId());
      inputs.types.push(event.type);
      inputs.data.push(toJsonText(event.data, `${what} data`, eventStoreLimits.eventJsonBytesMax));
      inputs.metadata.push(
        toJsonText(event.metadata ?? {}, `${what} metadata`, eventStoreLimits.eventJsonBytesMax),
      );
    });
    return inputs;
  }

  async #runAppend(
    db: Queryable,
    statement: AppendStatement,
    inputs: AppendInputs,
    expected: ExpectedVersion,
  ): Promise<AppendRow> {
    try {
      const { rows } = await db.query<AppendRow>({
        name: statement.name,
        text: statement.text,
        values: statement.values(inputs),
      });
      assert(rows.length === 1, 'an append statement returns one row');
      return rows[0]!;
    } catch (error) {
      // Under REPEATABLE READ or SERIALIZABLE a concurrent append surfaces as a serialization failure.
      if (sqlState(error) === '40001') throw conflict(inputs.streamId, expected, null);
      throw error;
    }
  }

  /** Without a caller transaction the statement has committed; in transaction() it is noted for later. */
  #notifyAfterCommit(tx: PoolClient | undefined, wroteOutbox: boolean): void {
    const managed = tx && this.#managed.get(tx);
    if (managed) {
      managed.events = true;
      managed.outbox ||= wroteOutbox;
    } else if (!tx) {
      this.#eventsNotifier.poke();
      if (wroteOutbox) this.#outboxNotifier.poke();
    }
  }

  /**
   * Runs `work` in a transaction (commit on success, rollback on error). Appends passed this `tx`
   * notify listeners after the commit; appends in other transactions must notify from inside theirs,
   * which makes concurrent commits queue for each other's WAL flush.
   */
  async transaction<T>(work: (tx: PoolClient) => Promise<T>): Promise<T> {
    const pending = { events: false, outbox: false };
    const result = await withTransaction(this.#pool, async (tx) => {
      this.#managed.set(tx, pending);
      try {
        return await work(tx);
      } finally {
        this.#managed.delete(tx);
      }
    });
    if (pending.events) this.#eventsNotifier.poke();
    if (pending.outbox) this.#outboxNotifier.poke();
    return result;
  }

  /** Events of one stream in version order, from `fromVersion` (default 1n), one page at most. */
  async readStream<E extends NewEvent = NewEvent>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    const limit = pageLimit(options.limit);
    const fromVersion = options.fromVersion ?? 1n;
    const { rows } = await (options.tx ?? this.#pool).query<EventRow>({
      name: 'kinyu_read_stream',
      text: readStreamSql,
      values: [streamId, fromVersion, limit],
    });
    return rows.map((row) => toRecordedEvent<E>(row));
  }

  /** Folds a whole stream into state; version is 0n when the stream has no events. */
  async aggregateStream<State, E extends NewEvent = NewEvent>(
    streamId: string,
    options: AggregateOptions<State, E>,
  ): Promise<{ state: State; version: bigint }> {
    let state = options.initialState();
    let version = 0n;
    for (;;) {
      const page = await this.readStream<E>(streamId, {
        fromVersion: version + 1n,
        limit: limits.readPageEventsMax,
        ...(options.tx ? { tx: options.tx } : {}),
      });
      for (const event of page) {
        assert(
          event.version === version + 1n,
          `stream ${streamId} jumps from ${version} to ${event.version}`,
        );
        state = options.evolve(state, event);
        version = event.version;
      }
      if (page.length < limits.readPageEventsMax) return { state, version };
    }
  }

  /** Up to `limit` events after `from` in commit-safe order, and the checkpoint to continue from. */
  async readAll<E extends NewEvent = NewEvent>(
    from: Checkpoint,
    limit: number,
    options: ReadAllOptions = {},
  ): Promise<ReadAllPage<E>> {
    const pageSize = pageLimit(limit);
    const { rows } = await (options.tx ?? this.#pool).query<EventRow>({
      name: 'kinyu_read_all',
      text: readAllSql,
      values: [from.transactionId, from.position, pageSize, options.types ?? null],
    });
    const last = rows.at(-1);
    const checkpoint = last
      ? { transactionId: BigInt(last.transaction_id), position: BigInt(last.global_position) }
      : from;
    const wanted = options.types ? new Set(options.types) : undefined;
    const kept = wanted ? rows.filter((row) => wanted.has(row.type)) : rows;
    return { events: kept.map((row) => toRecordedEvent<E>(row)), checkpoint, scanned: rows.length };
  }

  /**
   * Follows readAll from the checkpoint stored under `name`, calling `handler` for each event inside
   * a transaction that also moves the checkpoint, so each event's effects happen exactly once.
   */
  subscribeToAll<E extends NewEvent = NewEvent>(
    name: string,
    handler: AllEventHandler<E>,
    options: SubscribeToAllOptions = {},
  ): AllSubscription {
    const subscription: AllSubscription = new AllSubscription({
      name,
      handler: handler as AllEventHandler,
      options,
      pool: this.#pool,
      transaction: (work) => this.transaction(work),
      clock: this.#clock,
      listener: this.#listener,
      readAll: (from, limit, tx) =>
        this.readAll(from, limit, { tx, ...(options.filter ? { types: options.filter } : {}) }),
      heldBack: (from, tx) => eventsPast(tx, from),
      onStopped: (): Promise<void> => this.#subscriptionStopped(subscription),
    });
    this.#subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  async #subscriptionStopped(subscription: AllSubscription): Promise<void> {
    this.#subscriptions.delete(subscription);
    // The listening connection would otherwise keep pool.end() waiting.
    if (this.#subscriptions.size === 0) await this.#listener.close();
  }

  /** The stored checkpoint of subscription `name`, or undefined before its first batch. */
  async readCheckpoint(name: string): Promise<Checkpoint | undefined> {
    const { rows } = await this.#pool.query<{ transaction_id: string; global_position: bigint | string }>(
      'SELECT transaction_id::text AS transaction_id, global_position FROM subscription_checkpoints WHERE name = $1',
      [name],
    );
    const row = rows[0];
    return row && { transactionId: BigInt(row.transaction_id), position: BigInt(row.global_position) };
  }

  /** Stops every subscription, sends pending notifications and releases the listening connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.stop()));
    await Promise.all([this.#listener.close(), this.#eventsNotifier.flush(), this.#outboxNotifier.flush()]);
  }
}

/**
 * True when committed events follow `from`. After a short readAll page, with `from` its checkpoint,
 * they are events that page could not return yet: held back by an older open transaction, or
 * committed since the page was read.
 */
export async function eventsPast(db: Queryable, from: Checkpoint): Promise<boolean> {
  const { rows } = await db.query({
    name: 'kinyu_events_past',
    text: eventsPastSql,
    values: [from.transactionId, from.position],
  });
  return rows.length > 0;
}

function toRecordedEvent<E extends NewEvent>(row: EventRow): RecordedEvent<E> {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    version: BigInt(row.version),
    globalPosition: BigInt(row.global_position),
    transactionId: BigInt(row.transaction_id),
    type: row.type,
    data: row.data,
    metadata: row.metadata ?? {},
    recordedAt: row.recorded_at,
  } as unknown as RecordedEvent<E>;
}

function conflict(streamId: string, expected: ExpectedVersion, actual: bigint | null): ConcurrencyError {
  const wanted = typeof expected === 'bigint' ? `version ${expected}` : expected;
  const found = actual === null ? 'no events' : `version ${actual}`;
  return new ConcurrencyError(`stream ${streamId}: expected ${wanted}, found ${found}`, expected, actual);
}

function pageLimit(limit: number | undefined): number {
  const value = limit ?? limits.readPageEventsMax;
  if (!Number.isSafeInteger(value) || value < 1 || value > limits.readPageEventsMax) {
    throw new RangeError(`page limit must be 1 to ${limits.readPageEventsMax}, got ${value}`);
  }
  return value;
}

function checkStreamId(streamId: string): void {
  if (
    typeof streamId !== 'string' ||
    streamId.length === 0 ||
    streamId.length > eventStoreLimits.streamIdLengthMax
  ) {
    throw new TypeError(`stream id must be 1 to ${eventStoreLimits.streamIdLengthMax} characters`);
  }
}

function checkEventType(type: unknown, what: string): void {
  if (typeof type !== 'string' || type.length === 0 || type.length > eventStoreLimits.eventTypeLengthMax) {
    throw new TypeError(`${what}: type must be 1 to ${eventStoreLimits.eventTypeLengthMax} characters`);
  }
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
