import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../../src/exchange/market-data/ring-buffer.ts';
import { TradeTape, tapeTrades } from '../../../src/exchange/market-data/trade-tape.ts';
import type { BookEvent, TradeEvent } from '../../../src/exchange/matching/index.ts';

function trade(seq: number, priceTicks: number, quantityLots: number, makerSide: 'buy' | 'sell'): TradeEvent {
  return {
    type: 'trade',
    seq,
    makerOrderId: 1,
    takerOrderId: seq,
    priceTicks,
    quantityLots,
    makerAccount: 'm:',
    takerAccount: 't:',
    makerSide,
    makerRemainingLots: 0,
    takerRemainingLots: 0,
  };
}

describe('RingBuffer', () => {
  it('given a full buffer, when an item is pushed, then the oldest is evicted and order is kept', () => {
    const ring = new RingBuffer<number>(3);
    expect([1, 2, 3].map((n) => ring.push(n))).toEqual([undefined, undefined, undefined]);
    expect(ring.push(4)).toBe(1);
    expect(ring.newest()).toEqual([2, 3, 4]);
    expect(ring.newest(2)).toEqual([3, 4]);
    expect(ring.last()).toBe(4);
    expect(ring.at(3)).toBeUndefined();
  });
});

describe('tapeTrades', () => {
  it('given a command with two trades, then they are numbered <seq>-<n> and carry the taker side', () => {
    const events: BookEvent[] = [
      {
        type: 'accepted',
        seq: 7,
        orderId: 7,
        account: 't:',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 11,
        quantityLots: 5,
        timeInForce: 'GTC',
      },
      trade(7, 10, 2, 'sell'),
      trade(7, 11, 3, 'sell'),
    ];
    expect(tapeTrades(7, 1_000, events)).toEqual([
      { tradeId: '7-1', seq: 7, priceTicks: 10, quantityLots: 2, takerSide: 'buy', timeMs: 1_000 },
      { tradeId: '7-2', seq: 7, priceTicks: 11, quantityLots: 3, takerSide: 'buy', timeMs: 1_000 },
    ]);
  });
});

describe('TradeTape', () => {
  it('given more trades than its capacity, when read, then only the newest are kept, newest first', () => {
    const tape = new TradeTape(3);
    for (let seq = 1; seq <= 5; seq++) tape.add(tapeTrades(seq, seq * 10, [trade(seq, 100 + seq, 1, 'buy')]));
    expect(tape.size).toBe(3);
    expect(tape.latest(10).map((t) => t.tradeId)).toEqual(['5-1', '4-1', '3-1']);
    expect(tape.latest(2).map((t) => t.takerSide)).toEqual(['sell', 'sell']);
  });
});
