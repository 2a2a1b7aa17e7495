import { describe, expect, it } from 'vitest';
import { FastOrderBook, fastOrderBooks, ReferenceOrderBook } from '../../../src/exchange/matching/index.ts';
import { BookScenario, buy, cancel, sell } from './book-scenario.ts';
import { orderBookContract } from './order-book.contract.ts';

describe('FastOrderBook', () => {
  orderBookContract(fastOrderBooks);

  it('grows its order and level slots past their initial sizes and recycles them', () => {
    const book = new FastOrderBook();
    let seq = 0;
    // Invariants are checked at the end only: checking after each of thousands of commands is slow.
    for (let i = 0; i < 3000; i++)
      book.apply({ ...buy(i, 10_000 - (i % 700) * 7, 1 + (i % 5)), seq: seq++ } as never);
    expect(book.l2(10_000).bids).toHaveLength(700);
    for (let i = 0; i < 3000; i += 2)
      expect(book.apply({ ...cancel(i), seq: seq++ })[0]?.type).toBe('cancelled');
    book.assertInvariants();
    const lotsLeft = book.l2(10_000).bids.reduce((sum, level) => sum + level.quantityLots, 0);
    book.apply({ ...sell(5000, 0, 100_000), seq: seq++ } as never);
    book.assertInvariants();
    expect(book.l3().bids).toEqual([]);
    expect(book.l3().asks.map((o) => o.quantityLots)).toEqual([100_000 - lotsLeft]);
  });

  it('keeps best prices right across ladder chunk boundaries and wide, negative ranges', () => {
    const s = new BookScenario(fastOrderBooks);
    const prices = [
      -1_000_000, -1025, -1024, -1023, -1, 0, 1, 1023, 1024, 1025, 65_365, 27_506, 1_000_000_000,
    ];
    for (const [i, p] of prices.entries()) s.given(buy(i, p, 1));
    expect(s.book.l2(100).bids.map((l) => l.priceTicks)).toEqual([...prices].sort((a, b) => b - a));
    for (const [i] of prices.entries()) s.given(sell(100 + i, -2_000_000, 1, { timeInForce: 'IOC' }));
    expect(s.book.l1()).toEqual({ bid: null, ask: null });
  });

  it('agrees with the reference book on a deep book built from a snapshot', () => {
    const reference = new ReferenceOrderBook();
    for (let i = 0; i < 400; i++) {
      reference.apply({ ...sell(i, 1000 + (i % 37) * 13, 1 + (i % 4)), seq: i } as never);
    }
    const fast = FastOrderBook.restore(reference.snapshot());
    expect(fast.stateHash()).toBe(reference.stateHash());
    const sweep = { ...buy(1000, 1200, 900), seq: 400 } as never;
    expect(fast.apply(sweep)).toEqual(reference.apply(sweep));
    expect(fast.stateHash()).toBe(reference.stateHash());
  });

  it('keeps a retired id retired when its slot, home or not, holds another order', () => {
    const fast = new FastOrderBook();
    const reference = new ReferenceOrderBook();
    let seq = 0;
    const both = (command: object) => {
      const c = { ...command, seq: seq++ } as never;
      expect(fast.apply(c)).toEqual(reference.apply(c));
    };
    // With 1,024 slots, ids 1, 1025, 2049 and 3073 share home slot 1.
    both(buy(1, 100, 1)); // home slot 1
    both(buy(1025, 101, 1)); // home taken: a slot from the free stack
    both(cancel(1));
    both(buy(2049, 98, 1)); // takes id 1's slot as its home
    both(cancel(1025));
    both(buy(3073, 97, 1)); // home taken: takes id 1025's slot from the stack
    for (const orderId of [1, 1025]) {
      both(cancel(orderId));
      both(buy(orderId, 95, 1));
      both({ type: 'replace', orderId, priceTicks: 94 });
    }
    both(sell(7, 90, 10));
    expect(fast.stateHash()).toBe(reference.stateHash());
    expect(fast.snapshot().retiredOrderIdRanges).toEqual([1, 1, 1025, 1025, 2049, 2049, 3073, 3073]);
    expect(fast.order(7)?.quantityLots).toBe(8);
    fast.assertInvariants();
  });
});
