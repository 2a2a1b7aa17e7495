/*
 * Matching-engine benchmark: `npx tsx bench/exchange-engine.bench.ts`.
 *
 * 1. The cross-engine workloads (normal, flash-crash; ../shared/data/matching-bench, or
 *    KINYU_SHARED_DIR): decoded first (not timed), then replayed through FastOrderBook's
 *    allocation-free path (applyTo + a counting sink), single-threaded, several runs.
 * 2. The same through apply(), which builds event objects, for comparison.
 * 3. Deep book: the same 1,000,000-message stream of cancels, new passive orders, marketable IOC
 *    orders and replaces against a book of 1,000 and of 1,000,000 resting orders, with cancel
 *    targets picked uniformly (worst case) or mostly among recent orders; the ratio of the two throughputs must stay ≥ 0.5.
 * The same-run comparison with nodejs-order-book (normal workload and deep book) is
 * bench/exchange-peer.bench.ts; `npm run bench:exchange` runs both. Figures go to stdout;
 * docs/performance.md and docs/exchange-matching.md record them.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeWorkload, type Workload, WorkloadCommands } from '../src/exchange/matching/bench-workload.ts';
import { FastOrderBook } from '../src/exchange/matching/index.ts';
import {
  CountingSink,
  deepBookWorkloads,
  grouped,
  machineLine,
  median,
  millions,
  sharedDataDir,
  type Targeting,
} from './exchange-support.ts';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const workloadFiles = {
  normal: 'orders_normal_s23_n1000000.bin.gz',
  'flash-crash': 'orders_flash-crash_s23_n1000000.bin.gz',
} as const;
const benchDir = sharedDataDir('matching-bench', Object.values(workloadFiles));

interface Timing {
  messagesPerSecond: number;
  events: number;
}

/** How messages reach the book: `applyTo` one by one (allocation-free), or `apply` building event objects. */
type Mode = 'applyTo' | 'apply';

/** Replays `workload` into `book` and returns its throughput. */
function replay(book: FastOrderBook, workload: Workload, mode: Mode = 'applyTo'): Timing {
  const commands = new WorkloadCommands(workload);
  const sink = new CountingSink();
  let events = 0;
  const started = process.hrtime.bigint();
  if (mode === 'apply') {
    for (let i = 0; i < workload.count; i++) events += book.apply(commands.command(i)).length;
  } else {
    for (let i = 0; i < workload.count; i++) book.applyTo(commands.command(i), sink);
    events = sink.events;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { messagesPerSecond: workload.count / seconds, events };
}

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

// ---- deep book (workloads in exchange-support.ts) ----

/** Throughput of the stream against a freshly built book of `resting` orders. */
function deepBookRun(resting: number, targeting: Targeting): number {
  const { build, stream } = deepBookWorkloads(resting, targeting);
  const book = new FastOrderBook();
  replay(book, build);
  return replay(book, stream).messagesPerSecond;
}

/**
 * Shallow and deep runs alternate, so both see the same machine load (on a shared machine the
 * memory-bound deep run suffers most from other processes); run 0 of each warms the JIT up.
 */
function benchDeepBook(targeting: Targeting): void {
  const depths = [1_000, 1_000_000];
  const timings: number[][] = [[], []];
  for (let run = 0; run <= runs; run++) {
    for (const [i, resting] of depths.entries()) {
      const messagesPerSecond = deepBookRun(resting, targeting);
      if (run > 0) timings[i]!.push(messagesPerSecond);
    }
  }
  const [shallow, deep] = timings.map(median) as [number, number];
  console.log(
    `deep book, ${targeting} cancels: 1,000 resting ${millions(shallow)}, ` +
      `1,000,000 resting ${millions(deep)}, ratio ${(deep / shallow).toFixed(2)} (target ≥ 0.50)`,
  );
}

function main(): void {
  console.log(machineLine());
  benchWorkload('normal', workloadFiles.normal);
  benchWorkload('flash-crash', workloadFiles['flash-crash']);
  for (const targeting of ['uniform', 'recent'] as const) benchDeepBook(targeting);
}

main();
