/*
 * Event store append throughput on PostgreSQL, each figure beside plain INSERTs of the same rows in
 * the same run: same columns, same row count, same transaction shape (one statement and one
 * transaction per append; one multi-row INSERT per batch of 100; BEGIN/statement/COMMIT for the
 * caller-transaction row), same number of concurrent workers, into `plain_events`, a copy of `events`
 * with the same indexes (LIKE … INCLUDING ALL). The plain side has no streams table, no concurrency
 * check, no JSON validation and no NOTIFY: that is the event store's overhead being measured. The pool
 * has one connection more than there are workers, for the store's background NOTIFY.
 *
 *   npx tsx bench/eventstore.bench.ts        (npm run bench:eventstore)
 *
 * Uses a scratch database of its own on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * and drops it afterwards. BENCH_CONNECTIONS, BENCH_SINGLE, BENCH_BATCHES and BENCH_ROUNDS override sizes.
 */

import os from 'node:os';
import { EventStore } from '../src/platform/event-store/event-store.ts';
import type { NewEvent } from '../src/platform/event-store/types.ts';
import { uuidv7Generator } from '../src/platform/ids.ts';
import { type Pool, type PoolClient, type Queryable, withTransaction } from '../src/platform/sql/pool.ts';
import { withScratchDatabase } from './support.ts';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 4);
/** Single-event appends per measured run, shared out over the connections. */
const singleAppends = Number(process.env.BENCH_SINGLE ?? 800);
/** Batches of `batchEvents` per measured run. */
const batchAppends = Number(process.env.BENCH_BATCHES ?? 40);
/** Measured rounds (one run per side each); medians are reported. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 11);
const batchEvents = 100;
/** Streams each connection cycles through in the "existing stream" scenario. */
const streamsPerConnection = 50;

const newId = uuidv7Generator();
let runNumber = 0;

interface Scenario {
  name: string;
  /** Appends per measured run, and events per append. */
  appends: number;
  eventsPerAppend: number;
  /** Returns the work of one connection in one run: `count` appends through `side`. */
  store: (worker: number, count: number) => Promise<void>;
  plain: (worker: number, count: number) => Promise<void>;
}

interface Figure {
  name: string;
  eventsPerAppend: number;
  storeAppendsPerSecond: number;
  plainAppendsPerSecond: number;
  /** Median over rounds of (store rate / plain rate) measured back to back in that round. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

async function main(): Promise<void> {
  const migrations = [
    { module: 'platform', dir: new URL('../src/platform/migrations', import.meta.url).pathname },
  ];
  await withScratchDatabase(`kinyu_bench_es_${process.pid}`, connections + 1, migrations, async (pool) => {
    await pool.query('CREATE TABLE plain_events (LIKE events INCLUDING ALL)');
    await printMachine(pool);
    const store = new EventStore(pool);
    const scenarios = [
      singleNewStream(store, pool),
      singleExistingStream(store, pool),
      singleInTransaction(store, pool, 'store'),
      singleInTransaction(store, pool, 'raw'),
      batchNewStream(store, pool),
    ];
    const figures: Figure[] = [];
    for (const scenario of scenarios) figures.push(await measure(scenario));
    printFigures(figures);
    await checkCounts(pool);
    await store.close();
  });
}

/** A typical business event: ids, an amount in minor units as a string, a currency, a reference. */
function sampleEvent(): NewEvent {
  return {
    type: 'FundsDeposited',
    data: { accountId: newId(), amountMinor: '125000', currency: 'JPY', reference: `ref-${runNumber}` },
    metadata: { correlationId: newId(), causationId: newId() },
  };
}

function singleNewStream(store: EventStore, pool: Pool): Scenario {
  return {
    name: 'single event, new stream',
    appends: singleAppends,
    eventsPerAppend: 1,
    store: async (worker, count) => {
      for (let i = 0; i < count; i++) {
        await store.appendToStream(`new-${runNumber}-${worker}-${i}`, [sampleEvent()], {
          expectedVersion: 'no_stream',
        });
      }
    },
    plain: async (worker, count) => {
      for (let i = 0; i < count; i++)
        await plainInsert(pool, `new-${runNumber}-${worker}-${i}`, 1n, [sampleEvent()]);
    },
  };
}

function singleExistingStream(store: EventStore, pool: Pool): Scenario {
  // Each connection owns its streams (as a worker per partition would); versions carry over between runs.
  const storeVersions = new Map<string, bigint>();
  const plainVersions = new Map<string, bigint>();
  return {
    name: 'single event, existing stream',
    appends: singleAppends,
    eventsPerAppend: 1,
    store: async (worker, count) => {
      for (let i = 0; i < count; i++) {
        const stream = `existing-${worker}-${i % streamsPerConnection}`;
        const expectedVersion = storeVersions.get(stream) ?? 0n;
        const result = await store.appendToStream(stream, [sampleEvent()], { expectedVersion });
        storeVersions.set(stream, result.nextExpectedVersion);
      }
    },
    plain: async (worker, count) => {
      for (let i = 0; i < count; i++) {
        const stream = `existing-${worker}-${i % streamsPerConnection}`;
        const version = (plainVersions.get(stream) ?? 0n) + 1n;
        await plainInsert(pool, stream, version, [sampleEvent()]);
        plainVersions.set(stream, version);
      }
    },
  };
}

/** BEGIN, append, COMMIT: through store.transaction (NOTIFY after commit) or a raw transaction (inside). */
function singleInTransaction(store: EventStore, pool: Pool, kind: 'store' | 'raw'): Scenario {
  const begin =
    kind === 'store'
      ? store.transaction.bind(store)
      : <T>(work: (tx: PoolClient) => Promise<T>) => withTransaction(pool, work);
  return {
    name: kind === 'store' ? 'single event, store.transaction' : 'single event, other transaction',
    appends: singleAppends,
    eventsPerAppend: 1,
    store: async (worker, count) => {
      for (let i = 0; i < count; i++) {
        const stream = `tx-${runNumber}-${worker}-${i}`;
        await begin((tx) =>
          store.appendToStream(stream, [sampleEvent()], { expectedVersion: 'no_stream', tx }),
        );
      }
    },
    plain: async (worker, count) => {
      for (let i = 0; i < count; i++) {
        await withTransaction(pool, (tx) =>
          plainInsert(tx, `tx-${runNumber}-${worker}-${i}`, 1n, [sampleEvent()]),
        );
      }
    },
  };
}

function batchNewStream(store: EventStore, pool: Pool): Scenario {
  const batch = () => Array.from({ length: batchEvents }, sampleEvent);
  return {
    name: `batch of ${batchEvents} events, new stream`,
    appends: batchAppends,
    eventsPerAppend: batchEvents,
    store: async (worker, count) => {
      for (let i = 0; i < count; i++) {
        await store.appendToStream(`batch-${runNumber}-${worker}-${i}`, batch(), {
          expectedVersion: 'no_stream',
        });
      }
    },
    plain: async (worker, count) => {
      for (let i = 0; i < count; i++)
        await plainInsert(pool, `batch-${runNumber}-${worker}-${i}`, 1n, batch());
    },
  };
}

const plainColumns = 7;
const plainStatements = new Map<number, string>();

/** One INSERT statement (one implicit transaction) of `events` with consecutive versions from `firstVersion`. */
async function plainInsert(
  db: Queryable,
  stream: string,
  firstVersion: bigint,
  events: NewEvent[],
): Promise<void> {
  const recordedAt = new Date();
  const values: unknown[] = [];
  events.forEach((event, i) => {
    values.push(newId(), stream, firstVersion + BigInt(i), event.type);
    values.push(JSON.stringify(event.data), JSON.stringify(event.metadata ?? {}), recordedAt);
  });
  await db.query({ name: `plain_insert_${events.length}`, text: plainInsertSql(events.length), values });
}

function plainInsertSql(rows: number): string {
  let sql = plainStatements.get(rows);
  if (sql) return sql;
  const tuples = Array.from({ length: rows }, (_, row) => {
    const p = (column: number) => `$${row * plainColumns + column}`;
    return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)})`;
  });
  sql = `INSERT INTO plain_events (event_id, stream_id, version, type, data, metadata, recorded_at) VALUES ${tuples.join(', ')}`;
  plainStatements.set(rows, sql);
  return sql;
}

/**
 * Runs both sides back to back `rounds` times, after one small untimed warm-up each, and takes the
 * ratio within each round: the machine's speed drifts (shared disk and CPU), and a ratio of two
 * neighbouring runs cancels most of that drift. The side that goes first alternates each round.
 */
async function measure(scenario: Scenario): Promise<Figure> {
  const warmUp = Math.max(connections, Math.floor(scenario.appends / 10));
  await run(scenario.store, warmUp);
  await run(scenario.plain, warmUp);
  const storeRates: number[] = [];
  const plainRates: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const sides = round % 2 === 0 ? [scenario.store, scenario.plain] : [scenario.plain, scenario.store];
    const seconds = [];
    for (const side of sides) seconds.push(await run(side, scenario.appends));
    const [storeSeconds, plainSeconds] = round % 2 === 0 ? seconds : [seconds[1], seconds[0]];
    storeRates.push(scenario.appends / storeSeconds!);
    plainRates.push(scenario.appends / plainSeconds!);
    ratios.push(plainSeconds! / storeSeconds!);
  }
  return {
    name: scenario.name,
    eventsPerAppend: scenario.eventsPerAppend,
    storeAppendsPerSecond: median(storeRates),
    plainAppendsPerSecond: median(plainRates),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
  };
}

/** Seconds for `appends` appends spread evenly over the connections, all running at once. */
async function run(side: (worker: number, count: number) => Promise<void>, appends: number): Promise<number> {
  runNumber++;
  const perWorker = Math.ceil(appends / connections);
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, (_, worker) => side(worker, perWorker)));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function printFigures(figures: Figure[]): void {
  const rows = figures.map((f) => [
    f.name,
    `${format(f.storeAppendsPerSecond)} appends/s (${format(f.storeAppendsPerSecond * f.eventsPerAppend)} ev/s)`,
    `${format(f.plainAppendsPerSecond)} inserts/s (${format(f.plainAppendsPerSecond * f.eventsPerAppend)} rows/s)`,
    f.ratio.toFixed(2),
    `${f.ratioMin.toFixed(2)}–${f.ratioMax.toFixed(2)}`,
  ]);
  const header = ['scenario', 'event store', 'plain INSERT', 'ratio', 'range'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(line(row));
  console.log(
    `\nRates: median of ${rounds} runs per side. ratio: median over the ${rounds} rounds of event store rate / plain` +
      ' INSERT rate, both measured back to back in the round (target >= 0.80); range: lowest and highest round.',
  );
}

function format(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

async function printMachine(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ version: string; fsync: string; sync: string }>(
    `SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
            current_setting('synchronous_commit') AS sync`,
  );
  const cpus = os.cpus();
  console.log('Kinyu event store benchmark');
  console.log(`date:        ${new Date().toISOString()}`);
  console.log(
    `machine:     ${cpus.length} cores, ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  );
  console.log(`node:        ${process.version} on ${os.platform()} ${os.release()}`);
  console.log(
    `postgresql:  ${rows[0]!.version} (fsync ${rows[0]!.fsync}, synchronous_commit ${rows[0]!.sync})`,
  );
  console.log(
    `load:        ${connections} concurrent workers per side; ${singleAppends} single appends, ${batchAppends} batches per run`,
  );
}

/** Both sides wrote the same number of rows: the comparison is of like with like. */
async function checkCounts(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ events: string; plain: string }>(
    'SELECT (SELECT count(*) FROM events)::text AS events, (SELECT count(*) FROM plain_events)::text AS plain',
  );
  const { events, plain } = rows[0]!;
  if (events !== plain) throw new Error(`sides wrote different row counts: events ${events}, plain ${plain}`);
  console.log(`rows written: ${events} per side`);
}

await main();
