import { describe, expect, it } from 'vitest';
import { type CandleHistory, queryCandles } from '../../../src/exchange/market-data/candle-history.ts';
import { CandleSeries } from '../../../src/exchange/market-data/candles.ts';

const t0 = Date.UTC(2026, 0, 5, 9, 30, 0);
const minute = 60_000;

describe('queryCandles', () => {
  it('given the ring evicts a candle while the history is read, then that candle is still answered', async () => {
    const series = new CandleSeries('1m', 2, t0);
    series.add({ priceTicks: 100, quantityLots: 1, timeMs: t0 });
    series.add({ priceTicks: 101, quantityLots: 1, timeMs: t0 + minute });
    const history: CandleHistory = {
      async candles() {
        // A trade opening a new bucket arrives during the query and evicts the t0 candle.
        series.add({ priceTicks: 102, quantityLots: 1, timeMs: t0 + 2 * minute });
        return [];
      },
    };

    const candles = await queryCandles(series, history, {
      symbol: 'AMZN',
      resolution: '1m',
      fromMs: t0 - 10 * minute,
      toMs: t0 + 2 * minute,
      limit: 100,
    });

    expect(candles.map((c) => c.openTicks)).toEqual([100, 101]);
  });
});
