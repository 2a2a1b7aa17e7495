import type { Queryable } from '../../platform/sql/pool.ts';
import { type Candle, type CandleResolution, candleResolutions } from './candles.ts';

/** Candles aggregated from the durable trade history, for ranges the in-memory ring does not cover. */
export interface CandleHistory {
  /** Candles with a start in [fromMs, toMs), oldest first, at most `limit`. */
  candles(
    symbol: string,
    resolution: CandleResolution,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<Candle[]>;
}

/**
 * OHLC and volume of a group of `exchange_trades` rows. Within the group trades are ordered by seq,
 * then by their index in the command (trade id `<seq>-<n>`), so open is the first and close the
 * last trade exactly as the ring computes them.
 */
export const ohlcvColumnsSql = `
         (array_agg(price_ticks ORDER BY seq, split_part(trade_id, '-', 2)::int))[1] AS open_ticks,
         max(price_ticks) AS high_ticks,
         min(price_ticks) AS low_ticks,
         (array_agg(price_ticks ORDER BY seq DESC, split_part(trade_id, '-', 2)::int DESC))[1] AS close_ticks,
         sum(quantity_lots)::text AS volume_lots`;

/*
 * Buckets are `date_bin(resolution, time, epoch)`: aligned to UTC like the in-memory series. $3 and
 * $4 are bucket edges, so every bucket read is whole.
 */
const candlesSql = `
  SELECT (extract(epoch FROM date_bin($2::interval, time, TIMESTAMPTZ 'epoch')) * 1000)::int8 AS start_ms,
         ${ohlcvColumnsSql}
    FROM exchange_trades
   WHERE symbol = $1 AND time >= $3::timestamptz AND time < $4::timestamptz
   GROUP BY 1
   ORDER BY 1
   LIMIT $5`;

/** The columns of `ohlcvColumnsSql`. */
export interface OhlcvRow {
  open_ticks: bigint;
  high_ticks: bigint;
  low_ticks: bigint;
  close_ticks: bigint;
  /** numeric as text: a sum of int8 can pass int8. */
  volume_lots: string;
}

interface CandleRow extends OhlcvRow {
  start_ms: bigint;
}

/** The candle of the bucket starting at `startMs` from its `ohlcvColumnsSql` row. */
export function candleOfRow(startMs: number, row: OhlcvRow): Candle {
  return {
    startMs,
    openTicks: Number(row.open_ticks),
    highTicks: Number(row.high_ticks),
    lowTicks: Number(row.low_ticks),
    closeTicks: Number(row.close_ticks),
    volumeLots: BigInt(row.volume_lots),
  };
}

/** Reads candles from engineer C's `exchange_trades` projection. */
export function sqlCandleHistory(db: Queryable): CandleHistory {
  return {
    async candles(symbol, resolution, fromMs, toMs, limit) {
      // The buckets starting in [fromMs, toMs) are those from the first edge at or after fromMs up
      // to the first edge at or after toMs: filtering trades by the raw bounds would cut the first
      // and last bucket instead of leaving them out or whole.
      const resolutionMs = candleResolutions[resolution];
      const firstMs = Math.ceil(fromMs / resolutionMs) * resolutionMs;
      const endMs = Math.ceil(toMs / resolutionMs) * resolutionMs;
      if (endMs <= firstMs) return [];
      const { rows } = await db.query<CandleRow>(candlesSql, [
        symbol,
        `${resolutionMs} milliseconds`,
        new Date(firstMs).toISOString(),
        new Date(endMs).toISOString(),
        limit,
      ]);
      return rows.map((row) => candleOfRow(Number(row.start_ms), row));
    },
  };
}

/**
 * Candles for [fromMs, toMs): the part the in-memory series covers (from its `completeFromMs`) comes
 * from the ring, anything earlier from the trade history, so history survives restarts while the
 * newest buckets stay live. Without a history only the ring is used.
 */
export async function queryCandles(
  series: { completeFromMs: number; range(fromMs: number, toMs: number): Candle[] },
  history: CandleHistory | undefined,
  request: { symbol: string; resolution: CandleResolution; fromMs: number; toMs: number; limit: number },
): Promise<Candle[]> {
  const { symbol, resolution, fromMs, toMs, limit } = request;
  if (history === undefined || fromMs >= series.completeFromMs)
    return series.range(fromMs, toMs).slice(0, limit);
  const splitMs = Math.min(toMs, series.completeFromMs);
  // Read before the await: a candle evicted from the ring meanwhile would be in neither part.
  const newer = series.range(splitMs, toMs);
  const older = await history.candles(symbol, resolution, fromMs, splitMs, limit);
  return [...older, ...newer].slice(0, limit);
}
