import { describe, expect, it } from 'vitest';
import { bucketStartMs, CandleSeries, CandleSet } from '../../../src/exchange/market-data/candles.ts';
import { Units } from '../../../src/exchange/market-data/views.ts';

const t0 = Date.UTC(2026, 0, 5, 9, 30, 0); // a minute boundary
const minute = 60_000;

describe('CandleSeries', () => {
  it('given trades in one minute, then one candle holds open, high, low, close and volume', () => {
    const series = new CandleSeries('1m', 10, t0);
    series.add({ priceTicks: 100, quantityLots: 1, timeMs: t0 + 1_000 });
    series.add({ priceTicks: 105, quantityLots: 2, timeMs: t0 + 2_000 });
    series.add({ priceTicks: 98, quantityLots: 3, timeMs: t0 + 3_000 });
    const { outcome } = series.add({ priceTicks: 101, quantityLots: 4, timeMs: t0 + 59_999 });
    expect(outcome).toBe('updated');
    expect(series.candles()).toEqual([
      { startMs: t0, openTicks: 100, highTicks: 105, lowTicks: 98, closeTicks: 101, volumeLots: 10n },
    ]);
  });

  it('given a trade in the next bucket, then a new candle opens aligned to UTC', () => {
    const series = new CandleSeries('5m', 10, t0);
    series.add({ priceTicks: 100, quantityLots: 1, timeMs: t0 + 1_000 });
    const { outcome, candle } = series.add({ priceTicks: 90, quantityLots: 1, timeMs: t0 + 5 * minute + 7 });
    expect(outcome).toBe('opened');
    expect(candle?.startMs).toBe(t0 + 5 * minute);
    expect(series.candles().map((c) => c.startMs)).toEqual([t0, t0 + 5 * minute]);
  });

  it('given a daily series, then buckets start at UTC midnight', () => {
    expect(bucketStartMs(Date.UTC(2026, 2, 3, 23, 59, 59, 999), 86_400_000)).toBe(Date.UTC(2026, 2, 3));
    const series = new CandleSeries('1d', 3, Date.UTC(2026, 2, 3, 12));
    series.add({ priceTicks: 5, quantityLots: 1, timeMs: Date.UTC(2026, 2, 4, 0, 0, 0, 1) });
    expect(series.candles()[0]?.startMs).toBe(Date.UTC(2026, 2, 4));
  });

  it('given a full ring, when a new bucket opens, then the oldest is evicted and coverage moves up', () => {
    const series = new CandleSeries('1m', 2, t0);
    expect(series.completeFromMs).toBe(t0);
    for (let i = 0; i < 3; i++) series.add({ priceTicks: 100 + i, quantityLots: 1, timeMs: t0 + i * minute });
    expect(series.candles().map((c) => c.openTicks)).toEqual([101, 102]);
    expect(series.completeFromMs).toBe(t0 + minute);
  });

  it('given it started mid-bucket, then coverage starts at the next whole bucket', () => {
    expect(new CandleSeries('1h', 2, t0 + 1).completeFromMs).toBe(bucketStartMs(t0, 3_600_000) + 3_600_000);
  });

  it('given the bucket in progress from the trade history, then it is held whole and covered from its start', () => {
    const hour = bucketStartMs(t0, 3_600_000);
    const before = {
      startMs: hour,
      openTicks: 90,
      highTicks: 95,
      lowTicks: 90,
      closeTicks: 95,
      volumeLots: 4n,
    };
    const series = new CandleSeries('1h', 2, t0 + 1, before);
    expect(series.completeFromMs).toBe(hour);
    expect(series.add({ priceTicks: 100, quantityLots: 1, timeMs: t0 + 2 }).outcome).toBe('updated');
    expect(series.candles()).toEqual([{ ...before, highTicks: 100, closeTicks: 100, volumeLots: 5n }]);
    // No trade in it before start: still covered from its start.
    expect(new CandleSeries('1h', 2, t0 + 1, null).completeFromMs).toBe(hour);
    expect(() => new CandleSeries('1h', 2, t0 + 1, { ...before, startMs: hour - 3_600_000 })).toThrow(
      /seeded candle/,
    );
  });

  it('given volume past 2^53 lots, then it stays exact, and so do its shares in the public view', () => {
    const hour = bucketStartMs(t0, 3_600_000);
    const heavy = { startMs: hour, openTicks: 90, highTicks: 90, lowTicks: 90, closeTicks: 90 };
    const series = new CandleSeries('1h', 2, t0, { ...heavy, volumeLots: 2n ** 53n - 1n });
    series.add({ priceTicks: 90, quantityLots: 2, timeMs: t0 + 1 });
    const [candle] = series.candles();
    // 2^53 + 1 is the first integer a double cannot hold.
    expect(candle?.volumeLots).toBe(2n ** 53n + 1n);
    const units = new Units({ symbol: 'AMZN', currency: 'USD', tickSize: '0.01', lotSize: 100 });
    expect(units.candle(candle!).volume).toBe('900719925474099300');
  });

  it('given a trade older than every held bucket, then it is too_old and that bucket is no longer covered', () => {
    const series = new CandleSeries('1m', 5, t0 - 10 * minute);
    series.add({ priceTicks: 100, quantityLots: 1, timeMs: t0 });
    const { outcome } = series.add({ priceTicks: 1, quantityLots: 1, timeMs: t0 - 3 * minute });
    expect(outcome).toBe('too_old');
    expect(series.completeFromMs).toBe(t0 - 2 * minute);
    expect(series.candles()).toHaveLength(1);
  });

  it('given candles, when a range is asked, then only buckets starting inside [from, to) come back', () => {
    const series = new CandleSeries('1m', 10, t0);
    for (let i = 0; i < 4; i++) series.add({ priceTicks: 100 + i, quantityLots: 1, timeMs: t0 + i * minute });
    expect(series.range(t0 + minute, t0 + 3 * minute).map((c) => c.openTicks)).toEqual([101, 102]);
  });
});

describe('CandleSet', () => {
  it('given trades of one command, then every resolution reports the candle they changed', () => {
    const set = new CandleSet(10, t0);
    const changed = set.add([
      { priceTicks: 100, quantityLots: 2, timeMs: t0 + 1 },
      { priceTicks: 101, quantityLots: 3, timeMs: t0 + 1 },
    ]);
    expect([...changed.keys()]).toEqual(['1m', '5m', '15m', '1h', '1d']);
    expect(changed.get('1m')).toEqual([
      { startMs: t0, openTicks: 100, highTicks: 101, lowTicks: 100, closeTicks: 101, volumeLots: 5n },
    ]);
    expect(changed.get('1d')?.[0]?.startMs).toBe(Date.UTC(2026, 0, 5));
  });
});
