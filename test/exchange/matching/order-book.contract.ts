import { describe, expect, it } from 'vitest';
import {
  type BookSnapshotV1,
  InvariantError,
  matchingLimits,
  type OrderBookFactory,
} from '../../../src/exchange/matching/index.ts';
import { BookScenario, buy, cancel, expireDayOrders, limit, market, replace, sell } from './book-scenario.ts';

/**
 * The rules every OrderBook implementation must follow, as given / when / then scenarios. Run by
 * reference-book.test.ts and fast-book.test.ts.
 */
export function orderBookContract(factory: OrderBookFactory): void {
  const scenario = () => new BookScenario(factory);

  describe('limit orders and price-time priority', () => {
    it('rests a limit order that does not cross', () => {
      scenario()
        .given(sell(1, 105, 5))
        .when(buy(2, 100, 3))
        .thenEmits('accepted #2 buy limit 3@100 GTC')
        .thenBook({ bids: ['#2 3@100'], asks: ['#1 5@105'] });
    });

    it('fills first in, first out within a price level', () => {
      scenario()
        .given(sell(1, 100, 5), sell(2, 100, 5))
        .when(buy(3, 100, 7))
        .thenEmits(
          'accepted #3 buy limit 7@100 GTC',
          'trade maker #1 taker #3 5@100 left 0/2',
          'trade maker #2 taker #3 2@100 left 3/0',
        )
        .thenBook({ asks: ['#2 3@100'] });
    });

    it('fills the better price first, whatever the arrival order', () => {
      scenario()
        .given(sell(1, 102, 5), sell(2, 101, 5), sell(3, 103, 5))
        .when(buy(4, 102, 6))
        .thenEmits(
          'accepted #4 buy limit 6@102 GTC',
          'trade maker #2 taker #4 5@101 left 0/1',
          'trade maker #1 taker #4 1@102 left 4/0',
        )
        .thenBook({ asks: ['#1 4@102', '#3 5@103'] });
    });

    it("prints trades at the resting (maker) order's price", () => {
      scenario()
        .given(buy(1, 100, 5))
        .when(sell(2, 90, 5))
        .thenEmits('accepted #2 sell limit 5@90 GTC', 'trade maker #1 taker #2 5@100 left 0/0')
        .thenBook({});
    });

    it('rests the remainder of a GTC order that swept the opposite side up to its limit', () => {
      scenario()
        .given(sell(1, 100, 2), sell(2, 101, 2), sell(3, 103, 2))
        .when(buy(4, 102, 10))
        .thenEmits(
          'accepted #4 buy limit 10@102 GTC',
          'trade maker #1 taker #4 2@100 left 0/8',
          'trade maker #2 taker #4 2@101 left 0/6',
        )
        .thenBook({ bids: ['#4 6@102'], asks: ['#3 2@103'] });
    });

    it('keeps a partly filled maker at the front of its queue', () => {
      scenario()
        .given(sell(1, 100, 5), sell(2, 100, 5), buy(3, 100, 2))
        .when(buy(4, 100, 1))
        .thenEmits('accepted #4 buy limit 1@100 GTC', 'trade maker #1 taker #4 1@100 left 2/0');
    });

    it('reports every field of a trade', () => {
      const s = scenario().given(sell(1, 100, 5, { account: 'maker-acct' }));
      s.when(buy(2, 101, 3, { account: 'taker-acct' }));
      expect(s.events[1]).toEqual({
        type: 'trade',
        seq: s.seq,
        makerOrderId: 1,
        takerOrderId: 2,
        priceTicks: 100,
        quantityLots: 3,
        makerAccount: 'maker-acct',
        takerAccount: 'taker-acct',
        makerSide: 'sell',
        makerRemainingLots: 2,
        takerRemainingLots: 0,
      });
    });
  });

  describe('time in force', () => {
    it('IOC: fills what it can and cancels the remainder at its limit price', () => {
      scenario()
        .given(sell(1, 100, 3), sell(2, 102, 3))
        .when(buy(3, 101, 5, { timeInForce: 'IOC' }))
        .thenEmits(
          'accepted #3 buy limit 5@101 IOC',
          'trade maker #1 taker #3 3@100 left 0/2',
          'cancelled #3 ioc_remainder 2@101',
        )
        .thenBook({ asks: ['#2 3@102'] });
    });

    it('IOC: an order that cannot trade at all is accepted and cancelled, never rests', () => {
      scenario()
        .given(sell(1, 105, 3))
        .when(buy(2, 100, 5, { timeInForce: 'IOC' }))
        .thenEmits('accepted #2 buy limit 5@100 IOC', 'cancelled #2 ioc_remainder 5@100')
        .thenBook({ asks: ['#1 3@105'] });
    });

    it('FOK: fills completely across levels when enough quantity is at acceptable prices', () => {
      scenario()
        .given(sell(1, 100, 3), sell(2, 101, 3))
        .when(buy(3, 101, 6, { timeInForce: 'FOK' }))
        .thenEmits(
          'accepted #3 buy limit 6@101 FOK',
          'trade maker #1 taker #3 3@100 left 0/3',
          'trade maker #2 taker #3 3@101 left 0/0',
        )
        .thenBook({});
    });

    it('FOK: is rejected and touches nothing when the quantity within its limit is short', () => {
      scenario()
        .given(sell(1, 100, 3), sell(2, 102, 10))
        .when(buy(3, 101, 4, { timeInForce: 'FOK' }))
        .thenRejected('fok_not_fillable')
        .thenBook({ asks: ['#1 3@100', '#2 10@102'] });
    });

    it('FOK: a rejected order id is not used up', () => {
      scenario()
        .given(sell(1, 100, 3))
        .when(buy(2, 100, 4, { timeInForce: 'FOK' }))
        .thenRejected('fok_not_fillable')
        .when(buy(2, 100, 3, { timeInForce: 'FOK' }))
        .thenEmits('accepted #2 buy limit 3@100 FOK', 'trade maker #1 taker #2 3@100 left 0/0');
    });

    it('DAY: expire_day_orders expires DAY orders on both sides, best first, and keeps GTC ones', () => {
      scenario()
        .given(
          buy(1, 99, 1, { timeInForce: 'DAY' }),
          buy(2, 100, 2),
          buy(3, 100, 3, { timeInForce: 'DAY' }),
          sell(4, 105, 4, { timeInForce: 'DAY' }),
        )
        .when(expireDayOrders())
        .thenEmits('expired #3 buy 3@100', 'expired #1 buy 1@99', 'expired #4 sell 4@105')
        .thenBook({ bids: ['#2 2@100'] });
    });

    it('DAY: trades like GTC during the session', () => {
      scenario()
        .given(sell(1, 100, 5, { timeInForce: 'DAY' }))
        .when(buy(2, 100, 2))
        .thenEmits('accepted #2 buy limit 2@100 GTC', 'trade maker #1 taker #2 2@100 left 3/0')
        .thenBook({ asks: ['#1 3@100 DAY'] });
    });
  });

  describe('market orders', () => {
    it('sweeps levels at any price and cancels what is left, never resting', () => {
      scenario()
        .given(sell(1, 100, 2), sell(2, 150, 2))
        .when(market('buy', 3, 6))
        .thenEmits(
          'accepted #3 buy market 6@market IOC',
          'trade maker #1 taker #3 2@100 left 0/4',
          'trade maker #2 taker #3 2@150 left 0/2',
          'cancelled #3 market_remainder 2@market',
        )
        .thenBook({});
    });

    it('a GTC market order still never rests', () => {
      scenario()
        .given(buy(1, 100, 2))
        .when(market('sell', 2, 3, { timeInForce: 'GTC' }))
        .thenEmits(
          'accepted #2 sell market 3@market GTC',
          'trade maker #1 taker #2 2@100 left 0/1',
          'cancelled #2 market_remainder 1@market',
        )
        .thenBook({});
    });

    it('is rejected with no_liquidity when the opposite side is empty', () => {
      scenario()
        .given(buy(1, 100, 2))
        .when(market('buy', 2, 3))
        .thenRejected('no_liquidity')
        .thenBook({ bids: ['#1 2@100'] });
    });

    it('FOK market: all or nothing', () => {
      scenario()
        .given(sell(1, 100, 2))
        .when(market('buy', 2, 3, { timeInForce: 'FOK' }))
        .thenRejected('fok_not_fillable')
        .when(market('buy', 3, 2, { timeInForce: 'FOK' }))
        .thenEmits('accepted #3 buy market 2@market FOK', 'trade maker #1 taker #3 2@100 left 0/0');
    });
  });

  describe('post-only', () => {
    it('rests when it would not take', () => {
      scenario()
        .given(sell(1, 101, 5))
        .when(buy(2, 100, 5, { postOnly: true }))
        .thenEmits('accepted #2 buy limit 5@100 GTC')
        .thenBook({ bids: ['#2 5@100 post-only'], asks: ['#1 5@101'] });
    });

    it('is rejected when it would take, even at exactly the best opposite price', () => {
      scenario()
        .given(sell(1, 101, 5))
        .when(buy(2, 101, 5, { postOnly: true }))
        .thenRejected('post_only_would_take')
        .thenBook({ asks: ['#1 5@101'] });
    });

    it('is invalid with IOC, FOK or a market order', () => {
      const s = scenario();
      s.when(buy(1, 100, 1, { postOnly: true, timeInForce: 'IOC' })).thenRejected('invalid_post_only');
      s.when(buy(2, 100, 1, { postOnly: true, timeInForce: 'FOK' })).thenRejected('invalid_post_only');
      s.when(market('buy', 3, 1, { postOnly: true })).thenRejected('invalid_post_only');
    });

    it('a replace that would make a post-only order take is rejected and changes nothing', () => {
      scenario()
        .given(sell(1, 101, 5), buy(2, 100, 5, { postOnly: true }))
        .when(replace(2, { priceTicks: 101 }))
        .thenRejected('post_only_would_take')
        .thenBook({ bids: ['#2 5@100 post-only'], asks: ['#1 5@101'] });
    });
  });

  describe('cancel', () => {
    it('cancels a resting order at its price and open quantity', () => {
      scenario()
        .given(sell(1, 100, 5), buy(2, 100, 2), sell(3, 100, 1))
        .when(cancel(1))
        .thenEmits('cancelled #1 user 3@100')
        .thenBook({ asks: ['#3 1@100'] });
    });

    it('rejects an id it has never seen as unknown_order', () => {
      scenario().when(cancel(42)).thenRejected('unknown_order');
    });

    it('rejects a filled, cancelled or IOC order as order_not_resting', () => {
      const s = scenario().given(
        sell(1, 100, 5),
        buy(2, 100, 5),
        buy(3, 90, 1),
        buy(4, 80, 1, { timeInForce: 'IOC' }),
      );
      s.when(cancel(1)).thenRejected('order_not_resting');
      s.when(cancel(2)).thenRejected('order_not_resting');
      s.when(cancel(3)).thenEmits('cancelled #3 user 1@90');
      s.when(cancel(3)).thenRejected('order_not_resting');
      s.when(cancel(4)).thenRejected('order_not_resting');
    });
  });

  describe('replace', () => {
    it('a pure size decrease keeps time priority', () => {
      scenario()
        .given(sell(1, 100, 5), sell(2, 100, 5))
        .when(replace(1, { quantityLots: 3 }))
        .thenEmits('replaced #1 5@100 -> 3@100 kept priority')
        .thenBook({ asks: ['#1 3@100', '#2 5@100'] })
        .when(buy(3, 100, 1))
        .thenEmits('accepted #3 buy limit 1@100 GTC', 'trade maker #1 taker #3 1@100 left 2/0');
    });

    it('a size increase loses time priority', () => {
      scenario()
        .given(sell(1, 100, 5), sell(2, 100, 5))
        .when(replace(1, { quantityLots: 6 }))
        .thenEmits('replaced #1 5@100 -> 6@100 lost priority')
        .thenBook({ asks: ['#2 5@100', '#1 6@100'] });
    });

    it('a price change loses time priority, even back to the old price', () => {
      scenario()
        .given(sell(1, 100, 5), sell(2, 100, 5), sell(3, 101, 5))
        .when(replace(1, { priceTicks: 101 }))
        .thenEmits('replaced #1 5@100 -> 5@101 lost priority')
        .thenBook({ asks: ['#2 5@100', '#3 5@101', '#1 5@101'] })
        .when(replace(1, { priceTicks: 100 }))
        .thenBook({ asks: ['#2 5@100', '#1 5@100', '#3 5@101'] });
    });

    it('an unchanged price and quantity still loses priority (it is a cancel-and-reinsert)', () => {
      scenario()
        .given(sell(1, 100, 5), sell(2, 100, 5))
        .when(replace(1, { priceTicks: 100, quantityLots: 5 }))
        .thenEmits('replaced #1 5@100 -> 5@100 lost priority')
        .thenBook({ asks: ['#2 5@100', '#1 5@100'] });
    });

    it('the new quantity is the open quantity of a partly filled order', () => {
      scenario()
        .given(sell(1, 100, 5), buy(2, 100, 2))
        .when(replace(1, { quantityLots: 2 }))
        .thenEmits('replaced #1 3@100 -> 2@100 kept priority')
        .thenBook({ asks: ['#1 2@100'] });
    });

    it('a replace that crosses trades as the taker at the makers’ prices and rests the rest', () => {
      scenario()
        .given(buy(1, 100, 2), buy(2, 99, 2), sell(3, 105, 5))
        .when(replace(3, { priceTicks: 99 }))
        .thenEmits(
          'replaced #3 5@105 -> 5@99 lost priority',
          'trade maker #1 taker #3 2@100 left 0/3',
          'trade maker #2 taker #3 2@99 left 0/1',
        )
        .thenBook({ asks: ['#3 1@99'] });
    });

    it('a replace that fills completely leaves nothing resting', () => {
      scenario()
        .given(buy(1, 100, 5), sell(2, 101, 3))
        .when(replace(2, { priceTicks: 100 }))
        .thenEmits('replaced #2 3@101 -> 3@100 lost priority', 'trade maker #1 taker #2 3@100 left 2/0')
        .thenBook({ bids: ['#1 2@100'] })
        .when(cancel(2))
        .thenRejected('order_not_resting');
    });

    it('rejects a replace of an unknown or no longer resting order', () => {
      const s = scenario().given(sell(1, 100, 5), buy(2, 100, 5));
      s.when(replace(1, { quantityLots: 1 })).thenRejected('order_not_resting');
      s.when(replace(9, { quantityLots: 1 })).thenRejected('unknown_order');
    });

    it('rejects a replace that changes nothing or asks for a bad quantity or price', () => {
      const s = scenario().given(sell(1, 100, 5));
      s.when(replace(1, {})).thenRejected('invalid_replace');
      s.when(replace(1, { quantityLots: 0 })).thenRejected('invalid_quantity');
      s.when(replace(1, { priceTicks: 100.5 })).thenRejected('invalid_price');
      s.thenBook({ asks: ['#1 5@100'] });
    });
  });

  describe('self-trade prevention (the taker’s mode decides)', () => {
    const own = { account: 'acct-a' };
    const other = { account: 'acct-b' };

    it("none: an account's orders trade with each other", () => {
      scenario()
        .given(sell(1, 100, 5, own))
        .when(buy(2, 100, 5, { ...own, stp: 'none' }))
        .thenEmits('accepted #2 buy limit 5@100 GTC', 'trade maker #1 taker #2 5@100 left 0/0');
    });

    it('cancel_newest: the taker is cancelled when it meets its own order; earlier fills stand', () => {
      scenario()
        .given(sell(1, 100, 2, other), sell(2, 100, 5, own), sell(3, 100, 5, other))
        .when(buy(4, 100, 6, { ...own, stp: 'cancel_newest' }))
        .thenEmits(
          'accepted #4 buy limit 6@100 GTC',
          'trade maker #1 taker #4 2@100 left 0/4',
          'cancelled #4 stp 4@100',
        )
        .thenBook({ asks: ['#2 5@100', '#3 5@100 acct-b'] });
    });

    it('cancel_oldest: the resting order is cancelled and the taker goes on matching', () => {
      scenario()
        .given(sell(1, 100, 5, own), sell(2, 101, 5, other))
        .when(buy(3, 101, 6, { ...own, stp: 'cancel_oldest' }))
        .thenEmits(
          'accepted #3 buy limit 6@101 GTC',
          'cancelled #1 stp 5@100',
          'trade maker #2 taker #3 5@101 left 0/1',
        )
        .thenBook({ bids: ['#3 1@101'] });
    });

    it('cancel_both: both orders are cancelled', () => {
      scenario()
        .given(sell(1, 100, 5, own), sell(2, 100, 5, other))
        .when(buy(3, 100, 6, { ...own, stp: 'cancel_both' }))
        .thenEmits('accepted #3 buy limit 6@100 GTC', 'cancelled #1 stp 5@100', 'cancelled #3 stp 6@100')
        .thenBook({ asks: ['#2 5@100 acct-b'] });
    });

    it('orders of different accounts trade whatever the mode', () => {
      scenario()
        .given(sell(1, 100, 5, other))
        .when(buy(2, 100, 5, { ...own, stp: 'cancel_both' }))
        .thenEmits('accepted #2 buy limit 5@100 GTC', 'trade maker #1 taker #2 5@100 left 0/0');
    });

    it('applies to market orders too (cancelled with reason stp)', () => {
      scenario()
        .given(buy(1, 100, 5, own))
        .when(market('sell', 2, 3, { ...own, stp: 'cancel_newest' }))
        .thenEmits('accepted #2 sell market 3@market IOC', 'cancelled #2 stp 3@market')
        .thenBook({ bids: ['#1 5@100'] });
    });

    it('FOK with cancel_oldest counts only other accounts’ quantity', () => {
      const s = scenario().given(sell(1, 100, 5, own), sell(2, 100, 3, other));
      s.when(buy(3, 100, 4, { ...own, stp: 'cancel_oldest', timeInForce: 'FOK' })).thenRejected(
        'fok_not_fillable',
      );
      s.thenBook({ asks: ['#1 5@100', '#2 3@100 acct-b'] });
      s.when(buy(4, 100, 3, { ...own, stp: 'cancel_oldest', timeInForce: 'FOK' })).thenEmits(
        'accepted #4 buy limit 3@100 FOK',
        'cancelled #1 stp 5@100',
        'trade maker #2 taker #4 3@100 left 0/0',
      );
    });

    it('FOK with cancel_newest counts only the quantity ahead of its own first order', () => {
      const s = scenario().given(sell(1, 100, 2, other), sell(2, 100, 5, own), sell(3, 100, 5, other));
      s.when(buy(4, 100, 3, { ...own, stp: 'cancel_newest', timeInForce: 'FOK' })).thenRejected(
        'fok_not_fillable',
      );
      s.when(buy(5, 100, 2, { ...own, stp: 'cancel_newest', timeInForce: 'FOK' })).thenEmits(
        'accepted #5 buy limit 2@100 FOK',
        'trade maker #1 taker #5 2@100 left 0/0',
      );
    });

    it('a replaced order uses its own STP mode when it crosses as the taker', () => {
      scenario()
        .given(buy(1, 100, 5, own), sell(2, 101, 5, { ...own, stp: 'cancel_newest' }))
        .when(replace(2, { priceTicks: 100 }))
        .thenEmits('replaced #2 5@101 -> 5@100 lost priority', 'cancelled #2 stp 5@100')
        .thenBook({ bids: ['#1 5@100'] });
    });
  });

  describe('order ids and validation', () => {
    it('rejects the id of a resting order or of a finished one as duplicate_order_id', () => {
      const s = scenario().given(sell(1, 100, 5), buy(2, 100, 5), buy(3, 90, 1));
      s.when(buy(3, 90, 1)).thenRejected('duplicate_order_id');
      s.when(sell(2, 120, 1)).thenRejected('duplicate_order_id');
      s.thenBook({ bids: ['#3 1@90'] });
    });

    it('forgets finished ids at session close, but not resting ones', () => {
      const s = scenario().given(sell(1, 100, 5), buy(2, 100, 5), buy(3, 90, 1));
      s.when(expireDayOrders()).thenEmits();
      s.when(cancel(1)).thenRejected('unknown_order');
      s.when(buy(3, 90, 1)).thenRejected('duplicate_order_id');
      s.when(sell(1, 120, 1)).thenEmits('accepted #1 sell limit 1@120 GTC');
    });

    it('book_full: an order that could rest is rejected at restingOrdersMax; IOC still trades', () => {
      const s = new BookScenario(factory, factory.create({ restingOrdersMax: 2 }));
      s.given(sell(1, 100, 1), sell(2, 101, 1));
      s.when(sell(3, 102, 1)).thenRejected('book_full');
      s.when(buy(4, 100, 1, { timeInForce: 'IOC' })).thenEmits(
        'accepted #4 buy limit 1@100 IOC',
        'trade maker #1 taker #4 1@100 left 0/0',
      );
      s.when(sell(3, 102, 1)).thenEmits('accepted #3 sell limit 1@102 GTC');
    });

    it('session_order_ids_exhausted: at sessionOrderIdsMax ids, until session close forgets finished ones', () => {
      const s = new BookScenario(factory, factory.create({ sessionOrderIdsMax: 3 }));
      s.given(sell(1, 100, 1), buy(2, 100, 1), buy(3, 90, 1));
      s.when(buy(4, 90, 1)).thenRejected('session_order_ids_exhausted');
      s.when(expireDayOrders()).thenEmits();
      s.when(buy(4, 90, 1)).thenEmits('accepted #4 buy limit 1@90 GTC');
    });

    it('rejects malformed orders with named reasons', () => {
      const s = scenario();
      s.when(buy(-1, 100, 1)).thenRejected('invalid_order_id');
      s.when(buy(1.5, 100, 1)).thenRejected('invalid_order_id');
      s.when(buy(1, 100, 1, { account: 'x'.repeat(matchingLimits.accountLengthMax + 1) })).thenRejected(
        'invalid_account',
      );
      s.when(buy(1, 100, 0)).thenRejected('invalid_quantity');
      s.when(buy(1, 100, -3)).thenRejected('invalid_quantity');
      s.when(buy(1, 100, 1.5)).thenRejected('invalid_quantity');
      s.when(buy(1, 100, matchingLimits.quantityLotsMax + 1)).thenRejected('invalid_quantity');
      s.when(buy(1, 100.25, 1)).thenRejected('invalid_price');
      s.when(buy(1, Number.NaN, 1)).thenRejected('invalid_price');
      s.when(buy(1, 100, 1, { priceTicks: undefined })).thenRejected('invalid_price');
      s.when(market('buy', 1, 1, { priceTicks: 100 })).thenRejected('invalid_price');
      s.when(cancel(-5)).thenRejected('invalid_order_id');
      s.thenBook({});
    });

    it('accepts negative prices (e.g. spreads) and orders them correctly', () => {
      scenario()
        .given(buy(1, -5, 1), buy(2, -3, 1), sell(3, 2, 1))
        .when(sell(4, -4, 1))
        .thenEmits('accepted #4 sell limit 1@-4 GTC', 'trade maker #2 taker #4 1@-3 left 0/0')
        .thenBook({ bids: ['#1 1@-5'], asks: ['#3 1@2'] });
    });

    it('every event carries the seq of its command, and seq must increase', () => {
      const book = factory.create();
      const events = book.apply({ ...buy(1, 100, 1), seq: 7 } as never);
      expect(events.map((e) => e.seq)).toEqual([7]);
      expect(book.lastSeq).toBe(7);
      expect(() => book.apply({ ...cancel(1), seq: 7 } as never)).toThrow(InvariantError);
    });
  });

  describe('market data views', () => {
    it('L1 is null on an empty side; L2 aggregates per price up to the depth asked', () => {
      const s = scenario().given(buy(1, 100, 2), buy(2, 100, 3), buy(3, 99, 1), buy(4, 97, 4));
      expect(s.book.l1()).toEqual({ bid: { priceTicks: 100, quantityLots: 5, orderCount: 2 }, ask: null });
      expect(s.book.l2(2)).toEqual({
        bids: [
          { priceTicks: 100, quantityLots: 5, orderCount: 2 },
          { priceTicks: 99, quantityLots: 1, orderCount: 1 },
        ],
        asks: [],
      });
      expect(s.book.l2(10).bids).toHaveLength(3);
      expect(s.book.l2(0)).toEqual({ bids: [], asks: [] });
    });

    it('L3 lists every resting order with its attributes, best price first', () => {
      const s = scenario().given(
        sell(1, 101, 2, { account: 'acct-b', timeInForce: 'DAY', stp: 'cancel_both' }),
        sell(2, 100, 3, { postOnly: true }),
      );
      expect(s.book.l3().asks).toEqual([
        {
          orderId: 2,
          account: 'acct-a',
          side: 'sell',
          priceTicks: 100,
          quantityLots: 3,
          timeInForce: 'GTC',
          postOnly: true,
          stp: 'none',
        },
        {
          orderId: 1,
          account: 'acct-b',
          side: 'sell',
          priceTicks: 101,
          quantityLots: 2,
          timeInForce: 'DAY',
          postOnly: false,
          stp: 'cancel_both',
        },
      ]);
      expect(s.book.order(1)?.quantityLots).toBe(2);
      expect(s.book.order(99)).toBeNull();
    });
  });

  describe('snapshot and restore', () => {
    const history = [
      sell(1, 100, 5, { account: 'acct-b' }),
      sell(2, 101, 5, { timeInForce: 'DAY', postOnly: true }),
      buy(3, 99, 4, { stp: 'cancel_oldest' }),
      buy(4, 100, 2),
      buy(5, 90, 1, { timeInForce: 'IOC' }),
    ];

    it('a restored book has the same state hash and behaves the same afterwards', () => {
      const original = scenario().given(...history);
      const snapshot = JSON.parse(JSON.stringify(original.book.snapshot()));
      const restored = factory.restore(snapshot);
      expect(restored.stateHash()).toBe(original.book.stateHash());
      expect(restored.lastSeq).toBe(original.book.lastSeq);
      const copy = new BookScenario(factory, restored);
      for (const command of [buy(6, 101, 9), cancel(4), cancel(5), sell(4, 100, 1), expireDayOrders()]) {
        original.when(command);
        copy.when(command);
        expect(copy.events).toEqual(original.events);
        expect(copy.book.stateHash()).toBe(original.book.stateHash());
      }
    });

    it('the state hash is the same for the same history and differs when the state does', () => {
      const a = scenario().given(...history);
      const b = scenario().given(...history);
      expect(a.book.stateHash()).toBe(b.book.stateHash());
      expect(a.book.stateHash()).toMatch(/^[0-9a-f]{64}$/);
      b.when(replace(3, { quantityLots: 3 }));
      expect(b.book.stateHash()).not.toBe(a.book.stateHash());
    });

    it('refuses a corrupt snapshot loudly', () => {
      const snapshot = scenario()
        .given(...history)
        .book.snapshot();
      const crossed = {
        ...snapshot,
        bids: [{ ...snapshot.bids[0]!, priceTicks: 200 }, ...snapshot.bids.slice(1)],
      };
      expect(() => factory.restore(crossed)).toThrow(InvariantError);
    });

    it('refuses a snapshot larger than the limits it is restored with', () => {
      const snapshot = scenario()
        .given(...history)
        .book.snapshot();
      expect(() => factory.restore(snapshot, { restingOrdersMax: 1 })).toThrow(InvariantError);
    });

    it('lists retired ids as ranges and reads a version-1 snapshot (ids one by one) as the same book', () => {
      const original = scenario().given(...history, cancel(2));
      const snapshot = original.book.snapshot();
      // 4 filled, 5 (IOC) never rested, 2 cancelled; 1 (partly filled) and 3 rest.
      expect(snapshot.retiredOrderIdRanges).toEqual([2, 2, 4, 5]);
      const { retiredOrderIdRanges: _ranges, ...rest } = snapshot;
      const v1: BookSnapshotV1 = { ...rest, version: 1, retiredOrderIds: [2, 4, 5] };
      const restored = factory.restore(JSON.parse(JSON.stringify(v1)));
      expect(restored.stateHash()).toBe(original.book.stateHash());
      expect(restored.snapshot()).toEqual(snapshot);
      // A retired id is still refused after the restore.
      const copy = new BookScenario(factory, restored);
      copy.when(buy(4, 95, 1));
      expect(copy.events.map((e) => e.type)).toEqual(['rejected']);
    });

    it('refuses retired id ranges that are not canonical or hold a resting order', () => {
      const snapshot = scenario()
        .given(...history)
        .book.snapshot();
      for (const retiredOrderIdRanges of [
        [1],
        [2, 1],
        [1, 1, 2, 2],
        [1, 2, 2, 5],
        [5, 6, 1, 2],
        [1, 3],
        [-1, 0],
      ]) {
        expect(
          () => factory.restore({ ...snapshot, retiredOrderIdRanges }),
          String(retiredOrderIdRanges),
        ).toThrow(InvariantError);
      }
    });

    it('an empty book snapshot restores to an empty book', () => {
      const empty = factory.create();
      expect(factory.restore(empty.snapshot()).stateHash()).toBe(empty.stateHash());
    });
  });

  it('limit() helper sanity: the contract really runs against this factory', () => {
    expect(factory.create().apply({ ...limit('buy', 1, 1, 1), seq: 0 } as never)[0]?.type).toBe('accepted');
  });
}
