import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { AppError, registerErrors } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import { compareInstants, instantRoundedUp } from '../../platform/http/validation.ts';
import { type CandleHistory, queryCandles } from '../market-data/candle-history.ts';
import { candleResolutions } from '../market-data/candles.ts';
import { marketDataErrors } from '../market-data/errors.ts';
import { l3Data, type MarketDataHub, type SymbolMarket } from '../market-data/hub.ts';
import { marketDataLimits } from '../market-data/limits.ts';
import type { Units } from '../market-data/views.ts';

export interface MarketDataRoutesDeps {
  hub: MarketDataHub;
  /** Trade history for candle ranges older than the in-memory ring (`sqlCandleHistory(pool)`). */
  history?: CandleHistory;
  /**
   * `orderBook/L3` requests one client may make per rate-limit window, counted apart from its
   * other requests (`l3RequestsPerWindow`); without it the route draws on the global limit.
   */
  l3RequestsPerWindowMax?: number;
}

/**
 * An L3 answer of a deep book is about 1 MB, built in milliseconds on the thread that runs the
 * engine: it counts as this many requests of a client's allowance.
 */
export const l3RequestWeight = 10;

/** The L3 route's allowance per client and window for a global limit of `rateLimitMax`. */
export function l3RequestsPerWindow(rateLimitMax: number): number {
  return Math.max(1, Math.floor(rateLimitMax / l3RequestWeight));
}

const tags = ['exchange market data'];
const SymbolParam = Type.String({ minLength: 1, maxLength: 32, description: 'Instrument symbol, e.g. AMZN' });
const Price = Type.String({ description: 'Decimal string at the instrument tick size' });
const Quantity = Type.Integer({ description: 'Shares (lots × lot size)' });
const Level = Type.Object({ price: Price, quantity: Quantity });
const Sequence = Type.Integer({
  description: 'Seq of the last command that changed this view (the WebSocket channel seq)',
});
const Trade = Type.Object({
  tradeId: Type.String(),
  price: Price,
  quantity: Quantity,
  side: Type.Union([Type.Literal('buy'), Type.Literal('sell')], {
    description: 'The taker (aggressor) side',
  }),
  time: Type.String({ format: 'date-time' }),
  sequence: Type.Integer(),
});
const Candle = Type.Object({
  startTime: Type.String({ format: 'date-time' }),
  open: Price,
  high: Price,
  low: Price,
  close: Price,
  volume: Type.String({
    pattern: '^(0|[1-9][0-9]*)$',
    description: 'Shares traded in the bucket, as a decimal string (a sum with no bound, exact at any size)',
  }),
});
const Resolution = Type.Union(
  [Type.Literal('1m'), Type.Literal('5m'), Type.Literal('15m'), Type.Literal('1h'), Type.Literal('1d')],
  { description: 'Candle length; buckets are aligned to UTC' },
);

/**
 * Public market data over REST, read from the hub (durable state only): L2, L3 (anonymous), BBO,
 * the trade tape and candles. Prices are decimal strings, quantities lots × lot size.
 */
export function marketDataRoutes(deps: MarketDataRoutesDeps): FastifyPluginAsyncTypebox {
  registerErrors(marketDataErrors);
  const { hub } = deps;
  const find = (symbol: string): { market: SymbolMarket; units: Units } => {
    const found = hub.market(symbol);
    if (!found) {
      throw new AppError('not_found', `No instrument is listed under ${symbol}`, {
        errors: [{ field: 'symbol', reason: 'is not a listed instrument' }],
      });
    }
    return found;
  };
  return async (app) => {
    app.get(
      '/v1/marketdata/orderBook/L2',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'Aggregated depth per price (L2), best first',
          querystring: Type.Object({
            symbol: SymbolParam,
            depth: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: marketDataLimits.l2DepthMax,
                default: marketDataLimits.l2DepthDefault,
              }),
            ),
          }),
          response: {
            200: Type.Object({
              symbol: Type.String(),
              sequence: Sequence,
              bids: Type.Array(Level),
              asks: Type.Array(Level),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { symbol, depth = marketDataLimits.l2DepthDefault } = request.query;
        const { market, units } = find(symbol);
        return {
          symbol,
          sequence: market.channelSeq(`book.L2.${symbol}`),
          ...units.depth(market.book.l2(depth)),
        };
      },
    );

    const Order = Type.Object({ orderId: Type.String(), price: Price, quantity: Quantity });
    app.get(
      '/v1/marketdata/orderBook/L3',
      {
        // Fastify's automatic HEAD route would build the same answer on an allowance of its own.
        exposeHeadRoute: false,
        config: {
          access: 'public',
          ...(deps.l3RequestsPerWindowMax === undefined
            ? {}
            : { rateLimit: { max: deps.l3RequestsPerWindowMax } }),
        },
        schema: {
          tags,
          summary: `Every resting order (L3, anonymous), best price first and FIFO within a price; at most ${marketDataLimits.l3OrdersMax} per side`,
          querystring: Type.Object({ symbol: SymbolParam }),
          response: {
            200: Type.Object({
              symbol: Type.String(),
              sequence: Sequence,
              bids: Type.Array(Order),
              asks: Type.Array(Order),
              truncated: Type.Optional(
                Type.Literal(true, {
                  description: `Present when a side had more than ${marketDataLimits.l3OrdersMax} orders`,
                }),
              ),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { symbol } = request.query;
        const { market, units } = find(symbol);
        return {
          symbol,
          sequence: market.channelSeq(`book.L3.${symbol}`),
          ...l3Data(market, units),
        };
      },
    );

    app.get(
      '/v1/marketdata/bbo',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'Best bid and offer (L1)',
          querystring: Type.Object({ symbol: SymbolParam }),
          response: {
            200: Type.Object({
              symbol: Type.String(),
              sequence: Sequence,
              bid: Type.Union([Level, Type.Null()]),
              ask: Type.Union([Level, Type.Null()]),
            }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { symbol } = request.query;
        const { market, units } = find(symbol);
        return { symbol, sequence: market.channelSeq(`bbo.${symbol}`), ...units.bbo(market.book.l1()) };
      },
    );

    app.get(
      '/v1/marketdata/trades',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: `The newest trades, newest first (the last ${marketDataLimits.tradeTapeTradesMax} are kept in memory)`,
          querystring: Type.Object({
            symbol: SymbolParam,
            limit: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: marketDataLimits.tradesPerQueryMax,
                default: marketDataLimits.tradesPerQueryDefault,
              }),
            ),
          }),
          response: {
            200: Type.Object({ symbol: Type.String(), trades: Type.Array(Trade) }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { symbol, limit = marketDataLimits.tradesPerQueryDefault } = request.query;
        const { market, units } = find(symbol);
        return { symbol, trades: market.tape.latest(limit).map((t) => units.trade(t)) };
      },
    );

    app.get(
      '/v1/marketdata/candles',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary:
            'OHLC candles with a start in [startTime, endTime), oldest first; only buckets with trades',
          querystring: Type.Object({
            symbol: SymbolParam,
            resolution: Resolution,
            startTime: Type.String({ format: 'date-time' }),
            endTime: Type.String({ format: 'date-time' }),
          }),
          response: {
            200: Type.Object({ symbol: Type.String(), resolution: Resolution, candles: Type.Array(Candle) }),
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const { symbol, resolution, startTime, endTime } = request.query;
        const { market, units } = find(symbol);
        const { fromMs, toMs } = candleRange(startTime, endTime, candleResolutions[resolution]);
        const candles = await queryCandles(market.candles.series[resolution], deps.history, {
          symbol,
          resolution,
          fromMs,
          toMs,
          limit: marketDataLimits.candlesPerQueryMax,
        });
        return { symbol, resolution, candles: candles.map((c) => units.candle(c)) };
      },
    );
  };
}

/**
 * `[startTime, endTime)` in epoch ms, refused when empty or wider than candlesPerQueryMax. Candles
 * start on whole milliseconds, so bounds rounded up keep exactly the starts inside the range, and the
 * order is checked on the exact instants: Date.parse drops digits finer than a millisecond, which
 * would let a bound take one candle too many or too few and refuse `.0001Z` to `.0009Z`.
 */
function candleRange(
  startTime: string,
  endTime: string,
  resolutionMs: number,
): { fromMs: number; toMs: number } {
  if (!(compareInstants(endTime, startTime) > 0)) {
    throw new AppError('invalid_time_range', 'endTime must be after startTime', {
      errors: [{ field: 'endTime', reason: 'must be after startTime' }],
    });
  }
  const fromMs = instantRoundedUp(startTime).getTime();
  const toMs = instantRoundedUp(endTime).getTime();
  const buckets = Math.ceil((toMs - fromMs) / resolutionMs);
  if (buckets > marketDataLimits.candlesPerQueryMax) {
    throw new AppError(
      'invalid_time_range',
      `The range spans ${buckets} candles; at most ${marketDataLimits.candlesPerQueryMax} per request`,
      {
        errors: [
          {
            field: 'endTime',
            reason: `must be within ${marketDataLimits.candlesPerQueryMax} candles of startTime`,
          },
        ],
      },
    );
  }
  return { fromMs, toMs };
}
