import type { Queryable } from '../../platform/sql/pool.ts';
import type { Side } from '../matching/index.ts';
import { candleOfRow, type OhlcvRow, ohlcvColumnsSql } from './candle-history.ts';
import {
  bucketStartMs,
  type Candle,
  type CandleResolution,
  candleResolutionNames,
  candleResolutions,
} from './candles.ts';
import { marketDataLimits } from './limits.ts';
import type { TapeTrade } from './trade-tape.ts';

/**
 * What the trade history held when market data started. The hub's candles and tape live in memory,
 * so after a restart they would hold only what traded since, and present the bucket in progress
 * (a whole day, for 1d) as if that were all of it.
 */
export interface MarketDataSeed {
  /** The exchange seq the history was read at: the hub's replicas must start there too. */
  lastSeq: number;
  /** Epoch ms market data starts at: every candle is of the bucket holding it. */
  startedAtMs: number;
  /** Per symbol and resolution, the candle of the bucket in progress; left out when it had no trade. */
  candles: Map<string, Partial<Record<CandleResolution, Candle>>>;
  /** Per symbol, its newest trades (at most tradeTapeTradesMax), oldest first; left out when none. */
  trades: Map<string, TapeTrade[]>;
}

const bucketCandlesSql = `
  SELECT symbol, ${ohlcvColumnsSql}
    FROM exchange_trades
   WHERE symbol = ANY($1::text[]) AND time >= $2::timestamptz AND time < $3::timestamptz
   GROUP BY symbol`;

/*
 * Newest by time, as the (symbol, time, seq) index reads them without sorting a symbol's whole
 * history; that is newest by seq too unless the clock stepped back across a restart.
 */
const latestTradesSql = `
  SELECT t.symbol, t.trade_id, t.seq, t.price_ticks, t.quantity_lots, t.maker_side,
         (extract(epoch FROM t.time) * 1000)::int8 AS time_ms
    FROM unnest($1::text[]) AS s(symbol)
   CROSS JOIN LATERAL (
         SELECT * FROM exchange_trades
          WHERE symbol = s.symbol
          ORDER BY time DESC, seq DESC, split_part(trade_id, '-', 2)::int DESC
          LIMIT $2) AS t`;

interface TradeRow {
  symbol: string;
  trade_id: string;
  seq: bigint;
  price_ticks: bigint;
  quantity_lots: bigint;
  maker_side: Side;
  time_ms: bigint;
}

/**
 * Reads the seed from `exchange_trades`, for `symbols` (every symbol that ever traded has a book, so
 * the sequencer's symbols will do). Call it once the projector has caught up with the journal and
 * before any new command: the table is then exact at `lastSeq`.
 */
export async function loadMarketDataSeed(
  db: Queryable,
  at: { symbols: readonly string[]; lastSeq: number; startedAtMs: number },
  tradesPerSymbolMax: number = marketDataLimits.tradeTapeTradesMax,
): Promise<MarketDataSeed> {
  const symbols = [...at.symbols];
  const candles = new Map<string, Partial<Record<CandleResolution, Candle>>>();
  for (const resolution of candleResolutionNames) {
    const resolutionMs = candleResolutions[resolution];
    const startMs = bucketStartMs(at.startedAtMs, resolutionMs);
    const { rows } = await db.query<OhlcvRow & { symbol: string }>(bucketCandlesSql, [
      symbols,
      new Date(startMs).toISOString(),
      new Date(startMs + resolutionMs).toISOString(),
    ]);
    for (const row of rows) {
      const bySymbol = candles.get(row.symbol) ?? {};
      bySymbol[resolution] = candleOfRow(startMs, row);
      candles.set(row.symbol, bySymbol);
    }
  }
  const { rows } = await db.query<TradeRow>(latestTradesSql, [symbols, tradesPerSymbolMax]);
  const trades = new Map<string, TapeTrade[]>();
  for (const row of rows) {
    const list = trades.get(row.symbol) ?? [];
    list.push({
      tradeId: row.trade_id,
      seq: Number(row.seq),
      priceTicks: Number(row.price_ticks),
      quantityLots: Number(row.quantity_lots),
      takerSide: row.maker_side === 'buy' ? 'sell' : 'buy',
      timeMs: Number(row.time_ms),
    });
    trades.set(row.symbol, list);
  }
  // The tape grows in seq order, then by trade index within a command.
  for (const list of trades.values()) list.sort((a, b) => a.seq - b.seq || tradeIndex(a) - tradeIndex(b));
  return { lastSeq: at.lastSeq, startedAtMs: at.startedAtMs, candles, trades };
}

function tradeIndex(trade: TapeTrade): number {
  return Number(trade.tradeId.slice(trade.tradeId.indexOf('-') + 1));
}
