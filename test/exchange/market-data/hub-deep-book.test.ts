import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { type Channel, parseChannel } from '../../../src/exchange/market-data/channels.ts';
import { type HubSocket, l3Data, MarketDataHub } from '../../../src/exchange/market-data/hub.ts';
import type { MarketInstrument } from '../../../src/exchange/market-data/views.ts';
import { exchangeOf, t0 } from './hub-support.ts';

/*
 * Books deeper than the caps of the engine's l3() (1,000,000 orders per side) and of market-data
 * snapshots (10,000 levels or orders per side), with the caps made small so that a few orders
 * exceed them.
 */
vi.mock('../../../src/exchange/matching/limits.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/exchange/matching/limits.ts')>();
  return { ...original, matchingLimits: { ...original.matchingLimits, l3OrdersMax: 2 } };
});
vi.mock('../../../src/exchange/market-data/limits.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/exchange/market-data/limits.ts')>();
  return { ...original, marketDataLimits: { ...original.marketDataLimits, l2DepthMax: 2, l3OrdersMax: 3 } };
});

const amzn: MarketInstrument = { symbol: 'AMZN', currency: 'USD', tickSize: '0.01', lotSize: 1 };

const exchange = () => exchangeOf(amzn);

function bid(orderId: number, priceTicks: number) {
  return {
    type: 'new',
    orderId,
    account: 'a',
    side: 'buy',
    orderType: 'limit',
    priceTicks,
    quantityLots: 1,
    timeInForce: 'GTC',
  } as const;
}

function snapshots(hub: MarketDataHub, ...names: string[]): Record<string, Record<string, unknown>> {
  const sent: { type: string; channel: string; data: Record<string, unknown> }[] = [];
  const socket: HubSocket = { bufferedAmount: 0, send: (data) => sent.push(JSON.parse(data)), close() {} };
  hub.subscribe(
    hub.connect(socket),
    names.map((name) => parseChannel(name) as Channel),
  );
  return Object.fromEntries(sent.filter((m) => m.type === 'snapshot').map((m) => [m.channel, m.data]));
}

describe('MarketDataHub with a book deeper than the caps', () => {
  it('given more resting orders than the engine’s l3() lists, then the replica is seeded with every one', () => {
    const ex = exchange();
    for (let id = 1; id <= 5; id++) ex.run(bid(id, 10_000));
    expect(ex.book.l3().bids).toHaveLength(2);
    const hub = new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    const { market } = hub.market('AMZN')!;
    expect(market.book.sideSize('buy')).toEqual({ levels: 1, orders: 5 });

    // The last order in the queue, which l3() leaves out, can still be cancelled.
    expect(() => hub.onSequenced(ex.run({ type: 'cancel', orderId: 5 }))).not.toThrow();
    expect(market.book.l2(10)).toEqual(ex.book.l2(10));
  });

  it('given a side past the snapshot cap, then the L2 or L3 snapshot says truncated; under it, it does not', () => {
    const ex = exchange();
    const hubOf = () => new MarketDataHub({ source: ex.source, metrics: new Registry(), startedAtMs: t0 });
    let hub = hubOf();
    hub.onSequenced(ex.run(bid(1, 10_000)));
    hub.onSequenced(ex.run(bid(2, 9_990)));
    hub.onSequenced(ex.run(bid(3, 9_990)));
    // Two levels and three orders: exactly at both caps.
    let data = snapshots(hub, 'book.L2.AMZN', 'book.L3.AMZN');
    expect(data['book.L2.AMZN']).not.toHaveProperty('truncated');
    expect(data['book.L3.AMZN']).not.toHaveProperty('truncated');
    // REST L3 answers from the same l3Data.
    const rest = () => {
      const { market, units } = hub.market('AMZN')!;
      return l3Data(market, units);
    };
    expect(rest()).not.toHaveProperty('truncated');

    hub.onSequenced(ex.run(bid(4, 9_980)));
    expect(rest()).toMatchObject({ truncated: true });
    // A new hub: this one would serve its L3 snapshot of three orders and the update since.
    hub = hubOf();
    data = snapshots(hub, 'book.L2.AMZN', 'book.L3.AMZN');
    expect(data['book.L2.AMZN']).toMatchObject({ truncated: true });
    expect((data['book.L2.AMZN']!.bids as unknown[]).length).toBe(2);
    expect(data['book.L3.AMZN']).toMatchObject({ truncated: true });
    expect((data['book.L3.AMZN']!.bids as unknown[]).length).toBe(3);
    expect(rest()).toMatchObject({ truncated: true });
  });
});
