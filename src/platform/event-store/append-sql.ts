/**
 * The single statement that performs an append: a chain of data-modifying CTEs. The first moves the
 * stream's row in `streams` only if the expected version holds (waiting for a competing append to
 * finish first), and everything after joins on its result, so a conflicting append writes nothing.
 * One round trip, one plan; prepared once per connection for each shape.
 */

/** What the writer expects of the stream, as the SQL distinguishes it. */
export type Expectation = 'no_stream' | 'exact' | 'any' | 'stream_exists';

export interface AppendShape {
  expectation: Expectation;
  /** One event without outbox: scalar parameters instead of arrays (about a fifth cheaper). */
  single: boolean;
  outbox: boolean;
  /** NOTIFY at commit from inside the transaction (see EventStore.transaction for why it is avoided). */
  notify: boolean;
}

/** Everything an append statement may take; each shape uses a subset. */
export interface AppendInputs {
  streamId: string;
  count: number;
  expected: bigint;
  recordedAt: Date;
  eventIds: string[];
  types: string[];
  data: string[];
  metadata: string[];
  messageIds: string[];
  topics: string[];
  keys: string[];
  payloads: string[];
  headers: string[];
}

export interface AppendStatement {
  name: string;
  text: string;
  /** Builds the parameter list in the statement's order. */
  values: (inputs: AppendInputs) => unknown[];
}

/** Row returned by every append statement; `previous` is NULL when the expectation failed. */
export interface AppendRow {
  previous: bigint | string | null;
  last_position: bigint | string | null;
}

/** Parameters in order of first use, each with its SQL type. */
class Parameters {
  readonly #order: ((inputs: AppendInputs) => unknown)[] = [];
  readonly #numbers = new Map<string, number>();

  ref(key: string, type: string, read: (inputs: AppendInputs) => unknown): string {
    let number = this.#numbers.get(key);
    if (number === undefined) {
      this.#order.push(read);
      number = this.#order.length;
      this.#numbers.set(key, number);
    }
    return `$${number}::${type}`;
  }

  values(inputs: AppendInputs): unknown[] {
    return this.#order.map((read) => read(inputs));
  }
}

const statements = new Map<string, AppendStatement>();

/** The statement for `shape`, built on first use. */
export function appendStatement(shape: AppendShape): AppendStatement {
  const key = `${shape.expectation}_${shape.single ? 'one' : 'many'}${shape.outbox ? '_outbox' : ''}${shape.notify ? '_notify' : ''}`;
  let statement = statements.get(key);
  if (!statement) {
    statement = buildStatement(`kinyu_append_${key}`, shape);
    statements.set(key, statement);
  }
  return statement;
}

function buildStatement(name: string, shape: AppendShape): AppendStatement {
  const p = new Parameters();
  const ctes = [
    `stream AS (${streamStep(shape.expectation, p)})`,
    `appended AS (${eventsStep(shape.single, p)})`,
  ];
  if (shape.outbox) ctes.push(`queued AS (${outboxStep(p)})`);
  const columns = [
    '(SELECT previous FROM stream) AS previous',
    '(SELECT max(global_position) FROM appended) AS last_position',
  ];
  if (shape.notify) {
    // A plain CTE runs only when referenced, hence the count in the final SELECT.
    const channels = shape.outbox
      ? "pg_notify('kinyu_events', ''), pg_notify('kinyu_outbox', '')"
      : "pg_notify('kinyu_events', '')";
    ctes.push(`notified AS (SELECT ${channels} FROM stream)`);
    columns.push('(SELECT count(*) FROM notified) AS notified');
  }
  const text = `WITH ${ctes.join(',\n')}\nSELECT ${columns.join(', ')}`;
  return { name, text, values: (inputs) => p.values(inputs) };
}

/** Moves the stream's version by `count` if the expectation holds; returns the version before. */
function streamStep(expectation: Expectation, p: Parameters): string {
  const stream = p.ref('streamId', 'text', (i) => i.streamId);
  const count = p.ref('count', 'bigint', (i) => i.count);
  switch (expectation) {
    case 'no_stream':
      return `INSERT INTO streams (stream_id, version) VALUES (${stream}, ${count})
        ON CONFLICT DO NOTHING RETURNING 0::bigint AS previous`;
    case 'exact': {
      const expected = p.ref('expected', 'bigint', (i) => i.expected);
      return `UPDATE streams SET version = version + ${count} WHERE stream_id = ${stream} AND version = ${expected}
        RETURNING version - ${count} AS previous`;
    }
    case 'any':
      return `INSERT INTO streams AS s (stream_id, version) VALUES (${stream}, ${count})
        ON CONFLICT (stream_id) DO UPDATE SET version = s.version + excluded.version
        RETURNING s.version - ${count} AS previous`;
    case 'stream_exists':
      return `UPDATE streams SET version = version + ${count} WHERE stream_id = ${stream}
        RETURNING version - ${count} AS previous`;
  }
}

function eventsStep(single: boolean, p: Parameters): string {
  const stream = p.ref('streamId', 'text', (i) => i.streamId);
  const columns = 'INSERT INTO events (event_id, stream_id, version, type, data, metadata, recorded_at)';
  if (single) {
    const id = p.ref('eventId', 'uuid', (i) => i.eventIds[0]);
    const type = p.ref('type', 'text', (i) => i.types[0]);
    const data = p.ref('data', 'jsonb', (i) => i.data[0]);
    const metadata = p.ref('metadata', 'jsonb', (i) => i.metadata[0]);
    const at = p.ref('recordedAt', 'timestamptz', (i) => i.recordedAt);
    return `${columns} SELECT ${id}, ${stream}, s.previous + 1, ${type}, ${data}, ${metadata}, ${at}
      FROM stream s RETURNING global_position`;
  }
  const rows = [
    p.ref('eventIds', 'uuid[]', (i) => i.eventIds),
    p.ref('types', 'text[]', (i) => i.types),
    p.ref('data', 'jsonb[]', (i) => i.data),
    p.ref('metadata', 'jsonb[]', (i) => i.metadata),
  ];
  const at = p.ref('recordedAt', 'timestamptz', (i) => i.recordedAt);
  // ORDER BY ordinal: positions are drawn as rows leave the sort, so they follow version order.
  return `${columns} SELECT e.event_id, ${stream}, s.previous + e.ordinal, e.type, e.data, e.metadata, ${at}
    FROM stream s, unnest(${rows.join(', ')}) WITH ORDINALITY AS e(event_id, type, data, metadata, ordinal)
    ORDER BY e.ordinal RETURNING global_position`;
}

function outboxStep(p: Parameters): string {
  const rows = [
    p.ref('messageIds', 'uuid[]', (i) => i.messageIds),
    p.ref('topics', 'text[]', (i) => i.topics),
    p.ref('keys', 'text[]', (i) => i.keys),
    p.ref('payloads', 'jsonb[]', (i) => i.payloads),
    p.ref('headers', 'jsonb[]', (i) => i.headers),
  ];
  const at = p.ref('recordedAt', 'timestamptz', (i) => i.recordedAt);
  return `INSERT INTO outbox (message_id, topic, key, payload, headers, created_at)
    SELECT o.message_id, o.topic, o.key, o.payload, o.headers, ${at}
    FROM stream s, unnest(${rows.join(', ')}) WITH ORDINALITY AS o(message_id, topic, key, payload, headers, ordinal)
    ORDER BY o.ordinal RETURNING 1`;
}
