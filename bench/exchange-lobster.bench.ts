/*
 * LOBSTER replay: `npm run bench:exchange:lobster` (`npx tsx bench/exchange-lobster.bench.ts`).
 *
 * For the AMZN and GOOG days of ../shared/data/lobster (2012-06-21, NASDAQ, level 1): decode the
 * message file and the first order-book row, map the messages to engine commands as order flow
 * (src/exchange/lobster/order-flow.ts; executions re-created as aggressor IOC orders, level 1
 * before the first message seeded), all before timing; then replay the commands through a fresh
 * FastOrderBook per run with `applyTo` and a counting sink, single-threaded, median of several runs.
 * Sanity: every reject is classified: deletes of orders that rested before the file started (and
 * are not covered by the seed) → 'unknown_order'; cancels of orders the engine already filled
 * because its level-1 queue differed from the exchange's → 'order_not_resting'; anything else is
 * printed as unexplained. Two contrast mappings (executions skipped; no level-1 reconciliation)
 * run once each.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  decodeLobsterMessages,
  decodeLobsterOrderBook,
  type ExecutionMapping,
  levelOneBefore,
  type OrderFlow,
  toOrderFlow,
} from '../src/exchange/lobster/index.ts';
import { FastOrderBook } from '../src/exchange/matching/index.ts';
import {
  CountingSink,
  grouped,
  loadLine,
  machineLine,
  median,
  millions,
  sharedDataDir,
} from './exchange-support.ts';

const runs = Number(process.env.BENCH_RUNS ?? 21);
const days = ['AMZN', 'GOOG'] as const;
const fileOf = (symbol: string, kind: 'message' | 'orderbook') =>
  `${symbol}_2012-06-21_34200000_57600000_${kind}_1.csv`;
const dataDir = sharedDataDir(
  'lobster',
  days.flatMap((d) => [fileOf(d, 'message'), fileOf(d, 'orderbook')]),
);
/** LOBSTER prices are dollars × 10,000; the engine's tick is one cent. */
const priceUnitsPerTick = 100;

interface Replay {
  seconds: number;
  sink: CountingSink;
  /** Rejects by `<command kind>/<reason>`: deletes of orders from before the file ('unknown_order'). */
  beforeFile: Map<string, number>;
  /** Cancels of an order the engine already filled ('order_not_resting'): level-1 queue divergence. */
  divergence: Map<string, number>;
  /** Anything else: must stay empty. */
  unexplained: Map<string, number>;
  iocRemainders: number;
}

/** The counting sink plus IOC remainder cancels (an aggressor that found less than the file did). */
class ReplaySink extends CountingSink {
  iocRemainders = 0;
  override cancelled(...args: unknown[]): void {
    super.cancelled();
    if (args[6] === 'ioc_remainder') this.iocRemainders++;
  }
}

function replay(flow: OrderFlow, classify: boolean): Replay {
  const book = new FastOrderBook();
  const sink = new ReplaySink();
  const beforeFile = new Map<string, number>();
  const divergence = new Map<string, number>();
  const unexplained = new Map<string, number>();
  if (classify) {
    sink.onReject = (seq, _orderId, reason) => {
      const note = flow.notes[seq]!;
      const isCancel =
        note.kind === 'delete' || note.kind === 'implied_cancel' || note.kind === 'partial_cancel';
      const bucket =
        note.beforeFile && reason === 'unknown_order'
          ? beforeFile
          : isCancel && !note.beforeFile && reason === 'order_not_resting'
            ? divergence
            : unexplained;
      const key = `${note.kind}/${reason}`;
      bucket.set(key, (bucket.get(key) ?? 0) + 1);
    };
  }
  const { commands } = flow;
  const started = process.hrtime.bigint();
  for (let i = 0; i < commands.length; i++) book.applyTo(commands[i]!, sink);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  book.assertInvariants();
  return { seconds, sink, beforeFile, divergence, unexplained, iocRemainders: sink.iocRemainders };
}

function loadFlow(
  symbol: string,
  executions: ExecutionMapping,
  reconcile = true,
): { flow: OrderFlow; rows: number } {
  const decoded = decodeLobsterMessages(readFileSync(path.join(dataDir, fileOf(symbol, 'message')), 'utf8'));
  if (!decoded.ok) throw new Error(`${symbol} message file line ${decoded.line}: ${decoded.problem}`);
  const book = decodeLobsterOrderBook(readFileSync(path.join(dataDir, fileOf(symbol, 'orderbook')), 'utf8'));
  if (!book.ok) throw new Error(`${symbol} order-book file line ${book.line}: ${book.problem}`);
  const seed = levelOneBefore(decoded.rows[0]!, book.rows[0]!);
  const levelOne = reconcile ? book.rows : null;
  const mapped = toOrderFlow(decoded.rows, {
    executions,
    priceUnitsPerTick,
    seed,
    account: 'lobster',
    levelOne,
  });
  if (!mapped.ok) throw new Error(`${symbol} message ${mapped.message + 1}: ${mapped.problem}`);
  return { flow: mapped.flow, rows: decoded.rows.length };
}

const listed = (m: Map<string, number>) =>
  m.size === 0 ? 'none' : [...m].map(([key, n]) => `${key} ${grouped(n)}`).join(', ');

function benchDay(symbol: string): void {
  const { flow, rows } = loadFlow(symbol, 'aggressor');
  const seconds: number[] = [];
  // Run 0 warms the JIT up and is not counted.
  for (let run = 0; run <= runs; run++) {
    const r = replay(flow, false);
    if (run > 0) seconds.push(r.seconds);
  }
  const checked = replay(flow, true);
  const t = median(seconds);
  const kinds = new Map<string, number>();
  for (const note of flow.notes) kinds.set(note.kind, (kinds.get(note.kind) ?? 0) + 1);
  const { sink } = checked;
  console.log(
    `${symbol}: ${grouped(rows)} messages → ${grouped(flow.commands.length)} commands (${listed(kinds)})`,
  );
  console.log(
    `  ${millions(flow.commands.length / t)} commands, ${millions(rows / t)} file messages ` +
      `(median of ${runs} runs after a warm-up, ${(t * 1e3).toFixed(1)} ms per day)`,
  );
  console.log(`  skipped messages: ${listed(new Map(Object.entries(flow.skipped)))}`);
  console.log(
    `  trades ${grouped(sink.trades)} for ${grouped(sink.tradedLots)} shares; the file's visible executions of ` +
      `orders the replay holds: ${grouped(flow.knownExecutions)} for ${grouped(flow.knownExecutedShares)} shares ` +
      `(all visible: ${grouped(flow.visibleExecutions)} for ${grouped(flow.visibleExecutedShares)}); ` +
      `aggressors cut short (IOC remainder cancelled): ${grouped(checked.iocRemainders)}`,
  );
  console.log(`  rejects, delete of an order resting before the file: ${listed(checked.beforeFile)}`);
  console.log(
    `  rejects, cancel of an order the engine already filled (queue divergence): ${listed(checked.divergence)}`,
  );
  console.log(`  rejects, unexplained: ${listed(checked.unexplained)}`);
  for (const [label, executions, reconcile] of [
    ['executions skipped instead of re-created', 'skip', true],
    ['no level-1 reconciliation', 'aggressor', false],
  ] as const) {
    const contrast = replay(loadFlow(symbol, executions, reconcile).flow, true);
    const divergent = [...contrast.divergence.values()].reduce((a, b) => a + b, 0);
    console.log(
      `  contrast, ${label}: ${grouped(contrast.sink.trades)} trades for ${grouped(contrast.sink.tradedLots)} shares, ` +
        `${grouped(divergent)} divergence rejects, unexplained: ${listed(contrast.unexplained)}`,
    );
  }
}

function main(): void {
  console.log(machineLine());
  for (const symbol of days) benchDay(symbol);
  console.log(`done (${loadLine()})`);
}

main();
