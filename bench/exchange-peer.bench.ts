/*
 * Our engine against a peer in the same run: `npx tsx bench/exchange-peer.bench.ts` (run by
 * `npm run bench:exchange` after the engine bench).
 *
 * The peer is `nodejs-order-book` (npm, red-black tree of price levels, a Denque per level, object
 * maps keyed by string order id). Both replay the same decoded commands, single-threaded, with
 * decoding and the peer's id strings prepared before the clock starts:
 * 1. The cross-engine `normal` workload: NEW → limit GTC/IOC, CANCEL → cancel, MODIFY → cancel then a
 *    new GTC limit order with the same id, side, the new price and quantity (the workload README's
 *    cancel-and-reinsert). Fills and traded lots are counted for both, so a peer that did not match
 *    shows.
 * 2. Deep book: the synthetic stream of exchange-support.ts against 1,000 and 1,000,000 resting
 *    orders, for both engines; each engine's deep/shallow ratio.
 * The peer runs against a deadline per phase; when it hits one, the figure says how far it got.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type IProcessOrder, type LimitOrderOptions, OrderBook as PeerBook, Side } from 'nodejs-order-book';
import {
  decodeWorkload,
  type Workload,
  WorkloadCommands,
  workloadKinds,
} from '../src/exchange/matching/bench-workload.ts';
import { FastOrderBook } from '../src/exchange/matching/index.ts';
import {
  CountingSink,
  deepBookWorkloads,
  grouped,
  loadLine,
  machineLine,
  median,
  millions,
  sharedDataDir,
} from './exchange-support.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
/** A peer phase (one replay) stops at this many seconds and reports how far it got. */
const peerPhaseSecondsMax = Number(process.env.PEER_PHASE_SECONDS_MAX ?? 20);
/** The deadline is checked every this many messages. */
const deadlineCheckEvery = 4_096;
const normalFile = 'orders_normal_s23_n1000000.bin.gz';
const benchDir = sharedDataDir('matching-bench', [normalFile]);

/** What one engine did with a replay. */
interface Outcome {
  messages: number;
  seconds: number;
  fills: number;
  filledLots: number;
  /** Cancels/modifies of an order that does not rest (our rejects; the peer's "not found"). */
  notResting: number;
  /** Set when the peer stopped at its deadline. */
  stoppedAt: number | null;
}

const rate = (o: Outcome) => o.messages / o.seconds;

function replayOurs(book: FastOrderBook, w: Workload): Outcome {
  const commands = new WorkloadCommands(w);
  const sink = new CountingSink();
  const started = process.hrtime.bigint();
  for (let i = 0; i < w.count; i++) book.applyTo(commands.command(i), sink);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    messages: w.count,
    seconds,
    fills: sink.trades,
    filledLots: sink.tradedLots,
    notResting: sink.rejects,
    stoppedAt: null,
  };
}

/**
 * The peer's order ids: one string per distinct id, made before timing. A cancel then passes the
 * same string object the order was placed with, which is the cheapest case for the peer's maps.
 */
function peerIds(w: Workload): string[] {
  const byId = new Map<number, string>();
  const ids = new Array<string>(w.count);
  for (let i = 0; i < w.count; i++) {
    const id = w.orderIds[i]!;
    let s = byId.get(id);
    if (s === undefined) {
      s = String(id);
      byId.set(id, s);
    }
    ids[i] = s;
  }
  return ids;
}

const ioc = 'IOC' as NonNullable<LimitOrderOptions['timeInForce']>;
const gtc = 'GTC' as NonNullable<LimitOrderOptions['timeInForce']>;

/** Counts the peer's maker fills and the taker's filled lots from one limit() response. */
class PeerCounter {
  fills = 0;
  filledLots = 0;
  rejectedNew = 0;

  count(response: IProcessOrder, size: number): void {
    if (response.err !== null) {
      this.rejectedNew++;
      return;
    }
    const filled = size - response.quantityLeft;
    if (filled === 0) return;
    this.filledLots += filled;
    // `done` holds every fully filled maker, plus the taker itself when it filled completely; then
    // `partial` is the maker left partly filled (otherwise it is the taker's resting remainder).
    this.fills +=
      response.quantityLeft === 0
        ? response.done.length - 1 + (response.partial ? 1 : 0)
        : response.done.length;
  }
}

function replayPeer(book: PeerBook, w: Workload, ids: string[]): Outcome {
  const counter = new PeerCounter();
  let notResting = 0;
  let stoppedAt: number | null = null;
  const deadline = performance.now() + peerPhaseSecondsMax * 1000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < w.count; i++) {
    if (i % deadlineCheckEvery === 0 && i > 0 && performance.now() > deadline) {
      stoppedAt = i;
      break;
    }
    const id = ids[i]!;
    const kind = w.kinds[i];
    if (kind === workloadKinds.new) {
      const size = w.quantities[i]!;
      const side = w.sides[i] === 0 ? Side.BUY : Side.SELL;
      const timeInForce = w.iocs[i] === 1 ? ioc : gtc;
      counter.count(book.limit({ id, side, size, price: w.prices[i]!, timeInForce }), size);
    } else if (kind === workloadKinds.cancel) {
      if (book.cancel(id) === undefined) notResting++;
    } else {
      const removed = book.cancel(id)?.order;
      if (removed === undefined) {
        notResting++;
        continue;
      }
      const size = w.quantities[i]!;
      counter.count(
        book.limit({ id, side: removed.side, size, price: w.prices[i]!, timeInForce: gtc }),
        size,
      );
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (counter.rejectedNew > 0) console.log(`  peer rejected ${grouped(counter.rejectedNew)} new orders`);
  return {
    messages: stoppedAt ?? w.count,
    seconds,
    fills: counter.fills,
    filledLots: counter.filledLots,
    notResting,
    stoppedAt,
  };
}

function describe(o: Outcome): string {
  const stopped =
    o.stoppedAt === null
      ? ''
      : ` — stopped at the ${peerPhaseSecondsMax} s deadline after ${grouped(o.stoppedAt)} messages`;
  return (
    `${millions(rate(o))}, ${grouped(o.fills)} fills, ${grouped(o.filledLots)} lots filled, ` +
    `${grouped(o.notResting)} cancel/modify of non-resting orders${stopped}`
  );
}

function benchNormal(): void {
  const workload = decodeWorkload(gunzipSync(readFileSync(path.join(benchDir, normalFile))));
  const ids = peerIds(workload);
  const ours: Outcome[] = [];
  const theirs: Outcome[] = [];
  // Alternate the engines so both see the same machine load; run 0 of each warms the JIT up.
  for (let run = 0; run <= runs; run++) {
    const o = replayOurs(new FastOrderBook(), workload);
    const t = replayPeer(new PeerBook(), workload, ids);
    if (run > 0) {
      ours.push(o);
      theirs.push(t);
    }
  }
  const oursRate = median(ours.map(rate));
  const theirsRate = median(theirs.map(rate));
  console.log(
    `normal workload, ${grouped(workload.count)} messages, median of ${runs} runs after a warm-up (${loadLine()}):`,
  );
  console.log(`  FastOrderBook      ${describe({ ...ours[0]!, seconds: ours[0]!.messages / oursRate })}`);
  console.log(
    `  nodejs-order-book  ${describe({ ...theirs[0]!, seconds: theirs[0]!.messages / theirsRate })}`,
  );
  console.log(`  ratio ours/theirs  ${(oursRate / theirsRate).toFixed(1)}×`);
}

/** Heap plus array buffers in use, in bytes (the fast book keeps its orders in ArrayBuffers). */
function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

interface DeepResult {
  build: Outcome;
  stream: Outcome;
  /** Memory the built book holds (measured right after building; GC noise of a few MiB). */
  bookMiB: number;
}

/** One engine's stream throughput after building a book of `resting` orders (build not timed). */
function deepRun(engine: 'ours' | 'peer', resting: number): DeepResult {
  const { build, stream } = deepBookWorkloads(resting, 'uniform');
  const before = memoryInUse();
  if (engine === 'ours') {
    const book = new FastOrderBook();
    const built = replayOurs(book, build);
    const bookMiB = (memoryInUse() - before) / 2 ** 20;
    return { build: built, stream: replayOurs(book, stream), bookMiB };
  }
  const book = new PeerBook();
  const built = replayPeer(book, build, peerIds(build));
  const bookMiB = (memoryInUse() - before) / 2 ** 20;
  if (built.stoppedAt !== null)
    return { build: built, stream: { ...built, messages: 0, seconds: 1 }, bookMiB };
  return { build: built, stream: replayPeer(book, stream, peerIds(stream)), bookMiB };
}

function benchDeep(): void {
  const depths = [1_000, 1_000_000] as const;
  console.log(
    `deep book, uniform cancels, 1,000,000-message stream after building the book (${loadLine()}):`,
  );
  for (const engine of ['ours', 'peer'] as const) {
    const name = engine === 'ours' ? 'FastOrderBook    ' : 'nodejs-order-book';
    // The peer is slow enough that a warm-up run at 1,000 and one timed run per depth is the budget.
    const rounds = engine === 'ours' ? runs : 1;
    if (engine === 'peer') deepRun('peer', 1_000);
    const rates: number[][] = [[], []];
    let deepOutcome: DeepResult | null = null;
    for (let round = 0; round < rounds; round++) {
      for (const [i, resting] of depths.entries()) {
        const result = deepRun(engine, resting);
        if (resting === 1_000_000) deepOutcome = result;
        rates[i]!.push(result.stream.messages === 0 ? 0 : rate(result.stream));
      }
    }
    const [shallow, deep] = rates.map(median) as [number, number];
    const { build, stream, bookMiB } = deepOutcome!;
    const built =
      build.stoppedAt === null
        ? `built in ${build.seconds.toFixed(1)} s, ≈ ${bookMiB.toFixed(0)} MiB`
        : `building stopped at the deadline after ${grouped(build.stoppedAt)} orders`;
    const streamNote =
      stream.stoppedAt === null ? '' : ` (stream stopped after ${grouped(stream.stoppedAt)} messages)`;
    console.log(
      `  ${name} 1,000 resting ${millions(shallow)}, 1,000,000 resting ${millions(deep)}${streamNote}, ` +
        `ratio deep/shallow ${(deep / shallow).toFixed(2)} (1M book ${built}; ${rounds === 1 ? '1 run' : `median of ${rounds}`})`,
    );
  }
}

function main(): void {
  console.log(machineLine());
  benchNormal();
  benchDeep();
}

main();
