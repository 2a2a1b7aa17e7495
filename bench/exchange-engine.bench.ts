/*
 * Matching-engine benchmark: `npx tsx bench/exchange-engine.bench.ts`.
 *
 * 1. The cross-engine workloads (normal, flash-crash; ../shared/data/matching-bench, or
 *    KINYU_SHARED_DIR): decoded first (not timed), then replayed through FastOrderBook's
 *    allocation-free path (applyTo + a counting sink), single-threaded, several runs.
 * 2. The same through apply(), which builds event objects, for comparison.
 * 3. Deep book: the same 1,000,000-message stream of cancels, new passive orders, marketable IOC
 *    orders and replaces against a book of 1,000 and of 1,000,000 resting orders, with cancel
 *    targets picked uniformly (worst case) or mostly among recent orders, plain and with warm();
 *    the ratio of the two throughputs must stay ≥ 0.5.
 * Figures go to stdout; docs/exchange-matching.md records them.
 */

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  allocateWorkload,
  decodeWorkload,
  type Workload,
  WorkloadCommands,
  workloadKinds,
} from '../src/exchange/matching/bench-workload.ts';
import { type EventSink, FastOrderBook } from '../src/exchange/matching/index.ts';
import { mulberry32 } from '../test/support/prng.ts';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.resolve(
  process.env.KINYU_SHARED_DIR ?? path.resolve(repoRoot, '../shared'),
  'data/matching-bench',
);

/** Counts events so the engine's work cannot be optimised away; allocates nothing. */
class CountingSink implements EventSink {
  events = 0;
  trades = 0;
  accepted(): void {
    this.events++;
  }
  rejected(): void {
    this.events++;
  }
  trade(): void {
    this.events++;
    this.trades++;
  }
  cancelled(): void {
    this.events++;
  }
  replaced(): void {
    this.events++;
  }
  expired(): void {
    this.events++;
  }
}

interface Timing {
  messagesPerSecond: number;
  events: number;
}

/**
 * How messages reach the book: `applyTo` one by one (allocation-free), the same with `warm()` on
 * each batch of 16 upcoming order ids first (what a sequencer draining its ring buffer can do; a
 * no-op below 65,536 resting orders), or `apply` building event objects.
 */
type Mode = 'applyTo' | 'applyTo+warm' | 'apply';
const warmBatch = 16;

/** Replays `workload` into `book` and returns its throughput. */
function replay(book: FastOrderBook, workload: Workload, mode: Mode = 'applyTo'): Timing {
  const commands = new WorkloadCommands(workload);
  const sink = new CountingSink();
  let events = 0;
  const started = process.hrtime.bigint();
  if (mode === 'apply') {
    for (let i = 0; i < workload.count; i++) events += book.apply(commands.command(i)).length;
  } else if (mode === 'applyTo+warm') {
    for (let i = 0; i < workload.count; i += warmBatch) {
      const end = Math.min(i + warmBatch, workload.count);
      book.warm(workload.orderIds, i, end);
      for (let j = i; j < end; j++) book.applyTo(commands.command(j), sink);
    }
    events = sink.events;
  } else {
    for (let i = 0; i < workload.count; i++) book.applyTo(commands.command(i), sink);
    events = sink.events;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { messagesPerSecond: workload.count / seconds, events };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const millions = (n: number) => `${(n / 1e6).toFixed(2)} M msg/s`;
const grouped = (n: number) => n.toLocaleString('en-US');

function benchWorkload(name: string, file: string): void {
  const workload = decodeWorkload(gunzipSync(readFileSync(path.join(benchDir, file))));
  const timings: number[] = [];
  let events = 0;
  // Run 0 warms the JIT up and is not counted.
  for (let run = 0; run <= runs; run++) {
    const timing = replay(new FastOrderBook(), workload);
    if (run > 0) timings.push(timing.messagesPerSecond);
    events = timing.events;
  }
  console.log(
    `${name.padEnd(12)} ${grouped(workload.count)} messages, ${grouped(events)} events: ` +
      `median ${millions(median(timings))}, best ${millions(Math.max(...timings))} (${runs} runs after a warm-up, applyTo)`,
  );
  if (name === 'normal') {
    const withObjects = replay(new FastOrderBook(), workload, 'apply');
    console.log(
      `${''.padEnd(12)} apply() building event objects: ${millions(withObjects.messagesPerSecond)}`,
    );
  }
}

// ---- deep book ----

const midTicks = 100_000;
const bookSpanTicks = 5_000;
const streamMessages = 1_000_000;

/** Columns in the workload format, filled row by row. */
class WorkloadBuilder {
  readonly w: Workload;
  private i = 0;

  constructor(count: number) {
    this.w = allocateWorkload(count);
  }

  push(
    seq: number,
    kind: number,
    side: number,
    ioc: number,
    quantity: number,
    orderId: number,
    price: number,
  ): void {
    const { w, i } = this;
    w.kinds[i] = kind;
    w.sides[i] = side;
    w.iocs[i] = ioc;
    w.quantities[i] = quantity;
    w.seqs[i] = seq;
    w.orderIds[i] = orderId;
    w.prices[i] = price;
    this.i++;
  }
}

/** How the stream picks the order a cancel or replace targets. */
type Targeting = 'uniform' | 'recent';
// 'recent': this share of cancels/replaces hit one of the most recently placed orders still live.
const recentShare = 0.9;
const recentOrders = 4_096;

/**
 * A book of `resting` passive orders spread over ±5,000 ticks, then one stream (the same for every
 * depth): 40% cancels of a resting order, 40% new passive orders, 12% marketable IOC orders of 1–10
 * lots, 8% replaces to a new passive price. With 'uniform' targeting every resting order is equally
 * likely to be cancelled: each cancel in a deep book is then a cache miss by construction, so that
 * run measures memory latency as much as data structures. With 'recent', 90% of targets are among
 * the ~4,096 newest live orders, as with market makers re-quoting near the top of the book.
 */
function deepBookWorkloads(resting: number, targeting: Targeting): { build: Workload; stream: Workload } {
  const random = mulberry32(23);
  const passive = (side: number) => {
    const distance = 1 + Math.floor(random() * bookSpanTicks);
    return side === 0 ? midTicks - distance : midTicks + distance;
  };
  const build = new WorkloadBuilder(resting);
  const pool: number[] = [];
  const sideOf = new Map<number, number>();
  for (let id = 1; id <= resting; id++) {
    const side = id % 2;
    build.push(id - 1, workloadKinds.new, side, 0, 1 + Math.floor(random() * 100), id, passive(side));
    pool.push(id);
    sideOf.set(id, side);
  }
  const stream = new WorkloadBuilder(streamMessages);
  const streamRandom = mulberry32(42);
  let nextId = resting + 1;
  const takeFromPool = () => {
    const recent = targeting === 'recent' && streamRandom() < recentShare;
    const from = recent ? Math.max(0, pool.length - recentOrders) : 0;
    const at = from + Math.floor(streamRandom() * (pool.length - from));
    const id = pool[at]!;
    pool[at] = pool[pool.length - 1]!;
    pool.pop();
    return id;
  };
  for (let i = 0; i < streamMessages; i++) {
    const seq = resting + i;
    const roll = streamRandom();
    const side = streamRandom() < 0.5 ? 0 : 1;
    if (roll < 0.4) stream.push(seq, workloadKinds.cancel, 0, 0, 0, takeFromPool(), 0);
    else if (roll < 0.8) {
      const id = nextId++;
      stream.push(seq, workloadKinds.new, side, 0, 1 + Math.floor(streamRandom() * 100), id, passive(side));
      pool.push(id);
      sideOf.set(id, side);
    } else if (roll < 0.92) {
      const limit = side === 0 ? midTicks + bookSpanTicks : midTicks - bookSpanTicks;
      stream.push(seq, workloadKinds.new, side, 1, 1 + Math.floor(streamRandom() * 10), nextId++, limit);
    } else {
      const id = takeFromPool();
      const orderSide = sideOf.get(id)!;
      stream.push(
        seq,
        workloadKinds.modify,
        orderSide,
        0,
        1 + Math.floor(streamRandom() * 100),
        id,
        passive(orderSide),
      );
      pool.push(id);
    }
  }
  return { build: build.w, stream: stream.w };
}

/** Throughput of the stream against a freshly built book of `resting` orders. */
function deepBookRun(resting: number, targeting: Targeting, mode: Mode): number {
  const { build, stream } = deepBookWorkloads(resting, targeting);
  const book = new FastOrderBook();
  replay(book, build);
  return replay(book, stream, mode).messagesPerSecond;
}

/**
 * Shallow and deep runs alternate, so both see the same machine load (on a shared machine the
 * memory-bound deep run suffers most from other processes); run 0 of each warms the JIT up.
 */
function benchDeepBook(targeting: Targeting, mode: Mode): void {
  const depths = [1_000, 1_000_000];
  const timings: number[][] = [[], []];
  for (let run = 0; run <= runs; run++) {
    for (const [i, resting] of depths.entries()) {
      const messagesPerSecond = deepBookRun(resting, targeting, mode);
      if (run > 0) timings[i]!.push(messagesPerSecond);
    }
  }
  const [shallow, deep] = timings.map(median) as [number, number];
  console.log(
    `deep book, ${targeting} cancels, ${mode}: 1,000 resting ${millions(shallow)}, ` +
      `1,000,000 resting ${millions(deep)}, ratio ${(deep / shallow).toFixed(2)} (target ≥ 0.50)`,
  );
}

function main(): void {
  const cpus = os.cpus();
  console.log(
    `machine: ${cpus.length} cores × ${cpus[0]?.model ?? 'unknown'}, node ${process.version}, ` +
      `${os.platform()} ${os.arch()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${new Date().toISOString()}`,
  );
  benchWorkload('normal', 'orders_normal_s23_n1000000.bin.gz');
  benchWorkload('flash-crash', 'orders_flash-crash_s23_n1000000.bin.gz');
  for (const targeting of ['uniform', 'recent'] as const) {
    for (const mode of ['applyTo', 'applyTo+warm'] as const) benchDeepBook(targeting, mode);
  }
}

main();
