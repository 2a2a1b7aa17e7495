import { assert } from '../matching/assert.ts';
import { RingBuffer } from './ring-buffer.ts';

/** Candle resolutions and their length in ms; every bucket starts at a multiple of it since the epoch (UTC). */
export const candleResolutions = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
} as const;

export type CandleResolution = keyof typeof candleResolutions;
export const candleResolutionNames = Object.keys(candleResolutions) as CandleResolution[];

export function isCandleResolution(value: string): value is CandleResolution {
  return Object.hasOwn(candleResolutions, value);
}

/**
 * OHLC in ticks and volume in lots over one bucket; only buckets with trades have a candle. Volume is
 * a bigint: it is the one unbounded sum in market data (a day of the largest orders passes 2^53).
 */
export interface Candle {
  startMs: number;
  openTicks: number;
  highTicks: number;
  lowTicks: number;
  closeTicks: number;
  volumeLots: bigint;
}

/** A trade as candles need it. */
export interface CandleTrade {
  priceTicks: number;
  quantityLots: number;
  timeMs: number;
}

/**
 * What became of a trade: it opened a new candle, updated one the series holds, or was older than
 * anything the series can still change (then the series no longer claims to cover its bucket).
 */
export type CandleOutcome = 'opened' | 'updated' | 'too_old';

/** Start of the bucket holding `timeMs`. */
export function bucketStartMs(timeMs: number, resolutionMs: number): number {
  return Math.floor(timeMs / resolutionMs) * resolutionMs;
}

/**
 * The newest candles of one symbol at one resolution, in a ring buffer. `completeFromMs` is where
 * the series is known to hold every trade: the first whole bucket after market data started (or
 * the bucket in progress then, when seeded with it), moved up as old candles are evicted. Ranges
 * starting earlier need the trade history (SQL).
 */
export class CandleSeries {
  readonly resolutionMs: number;
  readonly #candles: RingBuffer<Candle>;
  #completeFromMs: number;

  /**
   * `current`, when given, is the bucket holding `startedAtMs` as the trade history had it when
   * market data started (null: no trade in it yet). Every later trade is folded in, so the series
   * covers that bucket too, and its candle is whole from the start rather than only what traded
   * since a restart.
   */
  constructor(resolution: CandleResolution, capacity: number, startedAtMs: number, current?: Candle | null) {
    this.resolutionMs = candleResolutions[resolution];
    this.#candles = new RingBuffer(capacity);
    if (current === undefined) {
      this.#completeFromMs = Math.ceil(startedAtMs / this.resolutionMs) * this.resolutionMs;
      return;
    }
    this.#completeFromMs = bucketStartMs(startedAtMs, this.resolutionMs);
    if (current === null) return;
    assert(
      current.startMs === this.#completeFromMs,
      `seeded candle at ${current.startMs}, not the bucket of ${startedAtMs}`,
    );
    this.#candles.push({ ...current });
  }

  get completeFromMs(): number {
    return this.#completeFromMs;
  }

  /** Folds one trade in; returns the outcome and the candle as it now is. */
  add(trade: CandleTrade): { outcome: CandleOutcome; candle: Candle | null } {
    assert(trade.quantityLots > 0, 'a trade without quantity');
    const startMs = bucketStartMs(trade.timeMs, this.resolutionMs);
    const last = this.#candles.last();
    if (last === undefined || startMs > last.startMs) {
      const candle: Candle = {
        startMs,
        openTicks: trade.priceTicks,
        highTicks: trade.priceTicks,
        lowTicks: trade.priceTicks,
        closeTicks: trade.priceTicks,
        volumeLots: BigInt(trade.quantityLots),
      };
      const evicted = this.#candles.push(candle);
      if (evicted) this.#completeFromMs = Math.max(this.#completeFromMs, evicted.startMs + this.resolutionMs);
      return { outcome: 'opened', candle: { ...candle } };
    }
    const candle = this.#find(startMs);
    if (!candle) {
      // A clock step backwards across a restart; the trade history still has it.
      this.#completeFromMs = Math.max(this.#completeFromMs, startMs + this.resolutionMs);
      return { outcome: 'too_old', candle: null };
    }
    // Trades of one bucket arrive in seq order, so the latest one closes it even after a clock step.
    candle.highTicks = Math.max(candle.highTicks, trade.priceTicks);
    candle.lowTicks = Math.min(candle.lowTicks, trade.priceTicks);
    candle.closeTicks = trade.priceTicks;
    candle.volumeLots += BigInt(trade.quantityLots);
    return { outcome: 'updated', candle: { ...candle } };
  }

  /** Every candle held, oldest first. */
  candles(): Candle[] {
    return this.#candles.newest().map((c) => ({ ...c }));
  }

  /** Candles with startMs in [fromMs, toMs), oldest first. */
  range(fromMs: number, toMs: number): Candle[] {
    return this.candles().filter((c) => c.startMs >= fromMs && c.startMs < toMs);
  }

  #find(startMs: number): Candle | undefined {
    for (let i = this.#candles.size - 1; i >= 0; i--) {
      const candle = this.#candles.at(i)!;
      if (candle.startMs === startMs) return candle;
      if (candle.startMs < startMs) return undefined;
    }
    return undefined;
  }
}

/** One symbol's candles at every resolution. */
export class CandleSet {
  readonly series: Record<CandleResolution, CandleSeries>;

  /**
   * `current`, when given, holds per resolution the candle of the bucket in progress at start (see
   * CandleSeries); a resolution it leaves out had no trade in that bucket.
   */
  constructor(capacity: number, startedAtMs: number, current?: Partial<Record<CandleResolution, Candle>>) {
    this.series = Object.fromEntries(
      candleResolutionNames.map((r) => [
        r,
        new CandleSeries(r, capacity, startedAtMs, current === undefined ? undefined : (current[r] ?? null)),
      ]),
    ) as Record<CandleResolution, CandleSeries>;
  }

  /** Folds trades into every resolution; returns per resolution the candles they changed. */
  add(trades: readonly CandleTrade[]): Map<CandleResolution, Candle[]> {
    const changed = new Map<CandleResolution, Candle[]>();
    if (trades.length === 1) {
      // The usual case (one trade per command): no per-resolution map.
      for (const resolution of candleResolutionNames) {
        const { candle } = this.series[resolution].add(trades[0]!);
        if (candle) changed.set(resolution, [candle]);
      }
      return changed;
    }
    for (const resolution of candleResolutionNames) {
      const byStart = new Map<number, Candle>();
      for (const trade of trades) {
        const { candle } = this.series[resolution].add(trade);
        if (candle) byStart.set(candle.startMs, candle);
      }
      if (byStart.size > 0) changed.set(resolution, [...byStart.values()]);
    }
    return changed;
  }
}
