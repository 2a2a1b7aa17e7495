/*
 * Shared by the exchange benchmarks (bench/exchange-*.bench.ts): where the shared data lives, the
 * machine line every bench prints first, a counting event sink, small statistics, and the synthetic
 * deep-book stream that both our engine and the peer engine replay.
 */

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocateWorkload, type Workload, workloadKinds } from '../src/exchange/matching/bench-workload.ts';
import type { EventSink, RejectReason } from '../src/exchange/matching/index.ts';
import { mulberry32 } from '../test/support/prng.ts';

/** The repository root (the parent of bench/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `<shared>/data/<name>`, where `<shared>` is $KINYU_SHARED_DIR or `../shared` next to the repo.
 * Prints what is missing and exits non-zero when the directory or one of `files` is not there.
 */
export function sharedDataDir(name: string, files: readonly string[] = []): string {
  const dir = path.resolve(process.env.KINYU_SHARED_DIR ?? path.resolve(repoRoot, '../shared'), 'data', name);
  const missing = [dir, ...files.map((f) => path.join(dir, f))].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    console.error(
      `benchmark data missing: ${missing.join(', ')}\n` +
        'Put the shared data next to the repository (../shared/data) or set KINYU_SHARED_DIR.',
    );
    process.exit(2);
  }
  return dir;
}

/** Cores, CPU, Node, memory, the load averages and the time: printed first by every exchange bench. */
export function machineLine(): string {
  const cpus = os.cpus();
  return (
    `machine: ${cpus.length} cores × ${cpus[0]?.model ?? 'unknown'}, node ${process.version}, ` +
    `${os.platform()} ${os.arch()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${loadLine()}, ` +
    new Date().toISOString()
  );
}

/** `load 0.52 0.40 0.31` (1, 5 and 15 minute load averages, as `uptime` shows them). */
export function loadLine(): string {
  return `load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The value below which `fraction` of the ascending `sorted` samples lie (nearest rank). */
export function percentile(sorted: Float64Array | readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const millions = (n: number) => `${(n / 1e6).toFixed(2)} M msg/s`;
export const thousands = (n: number) => `${(n / 1e3).toFixed(1)} k/s`;
export const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** Counts events (so the engine's work cannot be optimised away), trades, traded lots and rejects. */
export class CountingSink implements EventSink {
  events = 0;
  trades = 0;
  tradedLots = 0;
  rejects = 0;
  /** Set by the caller to see reject reasons; null keeps the hot path allocation-free. */
  onReject: ((seq: number, orderId: number, reason: RejectReason) => void) | null = null;

  accepted(): void {
    this.events++;
  }
  rejected(seq: number, orderId: number, reason: RejectReason): void {
    this.events++;
    this.rejects++;
    if (this.onReject) this.onReject(seq, orderId, reason);
  }
  trade(_seq: number, _maker: number, _taker: number, _priceTicks: number, quantityLots: number): void {
    this.events++;
    this.trades++;
    this.tradedLots += quantityLots;
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

/** Columns in the workload format, filled row by row. */
export class WorkloadBuilder {
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

// ---- deep book ----

const midTicks = 100_000;
const bookSpanTicks = 5_000;
/** Messages in the deep-book stream (the same stream for every depth). */
export const deepStreamMessages = 1_000_000;

/** How the stream picks the order a cancel or replace targets. */
export type Targeting = 'uniform' | 'recent';
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
export function deepBookWorkloads(
  resting: number,
  targeting: Targeting,
): { build: Workload; stream: Workload } {
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
  const stream = new WorkloadBuilder(deepStreamMessages);
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
  for (let i = 0; i < deepStreamMessages; i++) {
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
