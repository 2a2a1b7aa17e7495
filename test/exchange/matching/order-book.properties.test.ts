import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BookEvent,
  fastOrderBooks,
  type OrderBook,
  type OrderBookFactory,
  referenceOrderBooks,
} from '../../../src/exchange/matching/index.ts';
import type { CommandInput } from './book-scenario.ts';

/*
 * Properties that hold for any command sequence, checked with fast-check (which shrinks a failing
 * sequence to a minimal one) against both books.
 */

const priceTicks = fc.integer({ min: 1018, max: 1030 });
const quantityLots = fc.integer({ min: 1, max: 8 });
const orderId = fc.integer({ min: 1, max: 25 });

const newOrder: fc.Arbitrary<CommandInput> = fc
  .record({
    orderId,
    account: fc.constantFrom('a', 'b'),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    market: fc.boolean(),
    priceTicks,
    quantityLots,
    timeInForce: fc.constantFrom('GTC' as const, 'DAY' as const, 'IOC' as const, 'FOK' as const),
    postOnly: fc.boolean(),
    stp: fc.constantFrom(
      'none' as const,
      'cancel_newest' as const,
      'cancel_oldest' as const,
      'cancel_both' as const,
    ),
  })
  .map(({ market, priceTicks: price, postOnly, ...rest }) => ({
    type: 'new' as const,
    ...rest,
    orderType: market ? ('market' as const) : ('limit' as const),
    priceTicks: market ? undefined : price,
    postOnly: postOnly && !market && (rest.timeInForce === 'GTC' || rest.timeInForce === 'DAY'),
  }));

const command: fc.Arbitrary<CommandInput> = fc.oneof(
  { weight: 6, arbitrary: newOrder },
  { weight: 2, arbitrary: orderId.map((id) => ({ type: 'cancel' as const, orderId: id })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        orderId,
        priceTicks: fc.option(priceTicks, { nil: undefined }),
        quantityLots: fc.option(quantityLots, { nil: undefined }),
      })
      .map((r) => ({ type: 'replace' as const, ...r })),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'expire_day_orders' as const }) },
);

const commands = fc.array(command, { minLength: 1, maxLength: 60 });

/** Per order lifetime: quantities in and out, from the events alone. */
interface OrderLedger {
  acceptedLots: number;
  amendedLots: number;
  filledLots: number;
  closedLots: number;
  /** Current limit price (null: market). */
  priceTicks: number | null;
  side: 'buy' | 'sell';
}

function openLots(o: OrderLedger): number {
  return o.acceptedLots + o.amendedLots - o.filledLots - o.closedLots;
}

/** Checks each event against the ledger built from the events before it. */
function checkEvent(ledger: Map<number, OrderLedger>, e: BookEvent): void {
  switch (e.type) {
    case 'accepted': {
      const previous = ledger.get(e.orderId);
      // An id can only come back after its earlier life ended (session close forgot it).
      if (previous) expect(openLots(previous)).toBe(0);
      ledger.set(e.orderId, {
        acceptedLots: e.quantityLots,
        amendedLots: 0,
        filledLots: 0,
        closedLots: 0,
        priceTicks: e.priceTicks,
        side: e.side,
      });
      return;
    }
    case 'trade': {
      const maker = ledger.get(e.makerOrderId)!;
      const taker = ledger.get(e.takerOrderId)!;
      expect(e.priceTicks).toBe(maker.priceTicks);
      if (taker.priceTicks !== null) {
        expect(
          taker.side === 'buy' ? e.priceTicks <= taker.priceTicks : e.priceTicks >= taker.priceTicks,
        ).toBe(true);
      }
      maker.filledLots += e.quantityLots;
      taker.filledLots += e.quantityLots;
      expect(openLots(maker)).toBe(e.makerRemainingLots);
      expect(openLots(taker)).toBe(e.takerRemainingLots);
      return;
    }
    case 'replaced': {
      const order = ledger.get(e.orderId)!;
      expect(openLots(order)).toBe(e.previousQuantityLots);
      order.amendedLots += e.quantityLots - e.previousQuantityLots;
      order.priceTicks = e.priceTicks;
      return;
    }
    case 'cancelled':
    case 'expired': {
      const order = ledger.get(e.orderId)!;
      expect(openLots(order)).toBe(e.quantityLots);
      order.closedLots += e.quantityLots;
      return;
    }
    case 'rejected':
      return;
  }
}

function run(factory: OrderBookFactory, inputs: CommandInput[]): { book: OrderBook; events: BookEvent[][] } {
  const book = factory.create();
  const ledger = new Map<number, OrderLedger>();
  const events = inputs.map((input, seq) => {
    const out = book.apply({ ...input, seq } as never);
    for (const e of out) checkEvent(ledger, e);
    book.assertInvariants();
    return out;
  });
  // Conservation: accepted ± amendments = filled + cancelled/expired + still resting.
  for (const [id, order] of ledger) expect(openLots(order)).toBe(book.order(id)?.quantityLots ?? 0);
  return { book, events };
}

describe.each([referenceOrderBooks, fastOrderBooks])('$name properties', (factory) => {
  it('conserves quantity, prints at the maker price within the taker limit, and reports remainders right', () => {
    fc.assert(
      fc.property(commands, (inputs) => {
        run(factory, inputs);
      }),
      { numRuns: 300 },
    );
  });

  it('L2 is exactly the aggregation of L3', () => {
    fc.assert(
      fc.property(commands, (inputs) => {
        const { book } = run(factory, inputs);
        const l3 = book.l3();
        const l2 = book.l2(1000);
        for (const side of ['bids', 'asks'] as const) {
          const aggregated: { priceTicks: number; quantityLots: number; orderCount: number }[] = [];
          for (const o of l3[side]) {
            const last = aggregated.at(-1);
            if (last?.priceTicks === o.priceTicks) {
              last.quantityLots += o.quantityLots;
              last.orderCount++;
            } else aggregated.push({ priceTicks: o.priceTicks, quantityLots: o.quantityLots, orderCount: 1 });
          }
          expect(l2[side]).toEqual(aggregated);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('is deterministic, and a snapshot restores (into either book) to the same state hash', () => {
    fc.assert(
      fc.property(commands, (inputs) => {
        const first = run(factory, inputs);
        const second = run(factory, inputs);
        expect(second.events).toEqual(first.events);
        const snapshot = JSON.parse(JSON.stringify(first.book.snapshot()));
        for (const target of [referenceOrderBooks, fastOrderBooks]) {
          const restored = target.restore(snapshot);
          expect(restored.stateHash()).toBe(first.book.stateHash());
          expect(restored.l3()).toEqual(first.book.l3());
        }
      }),
      { numRuns: 150 },
    );
  });
});
