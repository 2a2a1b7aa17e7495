import { describe, expect, it } from 'vitest';
import { type BookCommand, type BookEvent, FastOrderBook } from '../../../src/exchange/matching/index.ts';
import { bookAccount, type OrderState, OrderTracker } from '../../../src/exchange/orders/order-state.ts';
import type { UnsequencedCommand } from '../../../src/exchange/sequencer/index.ts';
import { Prng, RandomCommands, seedFromEnv } from '../matching/random-commands.ts';

/**
 * Given / when / then for the OrderTracker: commands go through a real FastOrderBook (ids = seq,
 * as the sequencer assigns them) and the tracker folds each record and its events.
 */
class Scenario {
  readonly book = new FastOrderBook();
  readonly tracker = new OrderTracker();
  private seq = 0;
  lastEvents: BookEvent[] = [];

  /** Sends a command as `member` and returns the states it changed. */
  send(command: UnsequencedCommand, member = 'm1', clientOrderId?: string): OrderState[] {
    const seq = ++this.seq;
    const sequenced = (
      command.type === 'new' && command.orderId === undefined
        ? { ...command, seq, orderId: seq }
        : { ...command, seq }
    ) as BookCommand;
    this.lastEvents = this.book.apply(sequenced);
    const meta = { time: 1_000 * seq, member, ...(clientOrderId ? { clientOrderId } : {}) };
    return this.tracker.apply({ seq, symbol: 'AMZN', command: sequenced, meta }, this.lastEvents);
  }

  /** A limit order; returns its id (its seq). */
  limit(side: 'buy' | 'sell', priceTicks: number, quantityLots: number, member = 'm1', extra = {}): number {
    this.send(
      {
        type: 'new',
        account: bookAccount(member, 'main'),
        side,
        orderType: 'limit',
        priceTicks,
        quantityLots,
        timeInForce: 'GTC',
        ...extra,
      },
      member,
    );
    return this.seq;
  }

  state(changed: OrderState[], orderId: number): OrderState {
    const found = changed.find((s) => s.orderId === orderId);
    if (!found) throw new Error(`order ${orderId} did not change`);
    return found;
  }
}

const given = () => new Scenario();

describe('OrderTracker: given / when / then', () => {
  it('a new limit order that rests is new, open, with member, account, client id and time from the record', () => {
    const s = given();
    const changed = s.send(
      {
        type: 'new',
        account: bookAccount('broker-7', 'desk-2'),
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 5,
        timeInForce: 'DAY',
        postOnly: true,
      },
      'broker-7',
      'c-1',
    );
    expect(changed).toEqual([
      {
        orderId: 1,
        symbol: 'AMZN',
        member: 'broker-7',
        account: 'desk-2',
        clientOrderId: 'c-1',
        side: 'buy',
        orderType: 'limit',
        timeInForce: 'DAY',
        postOnly: true,
        priceTicks: 1000,
        quantityLots: 5,
        filledLots: 0,
        remainingLots: 5,
        status: 'new',
        rejectReason: null,
        cancelReason: null,
        createdAt: 1000,
        updatedAt: 1000,
        lastSeq: 1,
      },
    ]);
    expect(s.tracker.get(1)?.status).toBe('new');
    expect(s.tracker.openCount).toBe(1);
  });

  it('a full fill makes both orders filled and takes them out of the open set', () => {
    const s = given();
    const maker = s.limit('sell', 1000, 5, 'm1');
    const changed = s.send(
      {
        type: 'new',
        account: 'm2:',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1001,
        quantityLots: 5,
        timeInForce: 'GTC',
      },
      'm2',
    );
    expect(s.state(changed, maker)).toMatchObject({
      status: 'filled',
      filledLots: 5,
      remainingLots: 0,
      updatedAt: 2000,
      lastSeq: 2,
    });
    expect(s.state(changed, 2)).toMatchObject({
      status: 'filled',
      filledLots: 5,
      remainingLots: 0,
      member: 'm2',
      account: '',
    });
    expect(s.tracker.openCount).toBe(0);
  });

  it('a partial fill leaves the maker partially_filled and open with the rest', () => {
    const s = given();
    const maker = s.limit('sell', 1000, 10, 'm1');
    const changed = s.send(
      {
        type: 'new',
        account: 'm2:a',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 4,
        timeInForce: 'GTC',
      },
      'm2',
    );
    expect(s.state(changed, maker)).toMatchObject({
      status: 'partially_filled',
      filledLots: 4,
      remainingLots: 6,
      quantityLots: 10,
    });
    expect(s.state(changed, 2)).toMatchObject({ status: 'filled', filledLots: 4 });
    expect(s.tracker.get(maker)?.remainingLots).toBe(6);
    expect(s.tracker.get(2)).toBeUndefined();
  });

  it('a taker that only partly fills rests with the remainder as partially_filled', () => {
    const s = given();
    s.limit('sell', 1000, 3, 'm1');
    const changed = s.send(
      {
        type: 'new',
        account: 'm2:',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 8,
        timeInForce: 'GTC',
      },
      'm2',
    );
    expect(s.state(changed, 2)).toMatchObject({
      status: 'partially_filled',
      filledLots: 3,
      remainingLots: 5,
    });
    expect(s.tracker.get(2)?.remainingLots).toBe(5);
  });

  it('an IOC remainder is canceled with reason ioc_remainder, keeping what it filled', () => {
    const s = given();
    s.limit('sell', 1000, 3, 'm1');
    const changed = s.send(
      {
        type: 'new',
        account: 'm2:',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 8,
        timeInForce: 'IOC',
      },
      'm2',
    );
    expect(s.state(changed, 2)).toMatchObject({
      status: 'canceled',
      cancelReason: 'ioc_remainder',
      filledLots: 3,
      remainingLots: 0,
      quantityLots: 8,
    });
    expect(s.tracker.openCount).toBe(0);
  });

  it('a market order on an empty opposite side is canceled with reason no_liquidity', () => {
    const s = given();
    const changed = s.send({
      type: 'new',
      account: 'm1:',
      side: 'buy',
      orderType: 'market',
      quantityLots: 5,
      timeInForce: 'IOC',
    });
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      orderId: 1,
      orderType: 'market',
      priceTicks: null,
      status: 'canceled',
      rejectReason: 'no_liquidity',
      remainingLots: 0,
      filledLots: 0,
    });
    expect(s.tracker.openCount).toBe(0);
  });

  it('a market order remainder is canceled with reason market_remainder', () => {
    const s = given();
    s.limit('sell', 1000, 2, 'm1');
    const changed = s.send(
      { type: 'new', account: 'm2:', side: 'buy', orderType: 'market', quantityLots: 5, timeInForce: 'IOC' },
      'm2',
    );
    expect(s.state(changed, 2)).toMatchObject({
      status: 'canceled',
      cancelReason: 'market_remainder',
      filledLots: 2,
      remainingLots: 0,
    });
  });

  it('a rejected new order (post-only that would take) is rejected with its reason and never open', () => {
    const s = given();
    s.limit('sell', 1000, 2, 'm1');
    const changed = s.send(
      {
        type: 'new',
        account: 'm2:',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 1,
        timeInForce: 'GTC',
        postOnly: true,
      },
      'm2',
    );
    expect(changed).toEqual([
      expect.objectContaining({
        orderId: 2,
        status: 'rejected',
        rejectReason: 'post_only_would_take',
        remainingLots: 0,
      }),
    ]);
    expect(s.tracker.get(2)).toBeUndefined();
    expect(s.tracker.get(1)?.remainingLots).toBe(2);
  });

  it('a FOK that cannot fill is rejected and leaves the book and the maker untouched', () => {
    const s = given();
    s.limit('sell', 1000, 2, 'm1');
    const changed = s.send(
      {
        type: 'new',
        account: 'm2:',
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 3,
        timeInForce: 'FOK',
      },
      'm2',
    );
    expect(changed).toEqual([
      expect.objectContaining({ orderId: 2, status: 'rejected', rejectReason: 'fok_not_fillable' }),
    ]);
    expect(s.tracker.get(1)?.status).toBe('new');
  });

  it('a user cancel makes the order canceled with reason user', () => {
    const s = given();
    const id = s.limit('buy', 990, 4);
    const changed = s.send({ type: 'cancel', orderId: id });
    expect(changed).toEqual([
      expect.objectContaining({
        orderId: id,
        status: 'canceled',
        cancelReason: 'user',
        remainingLots: 0,
        lastSeq: 2,
      }),
    ]);
    expect(s.tracker.openCount).toBe(0);
  });

  it('a rejected cancel (order not resting) leaves every order as it was', () => {
    const s = given();
    const id = s.limit('buy', 990, 4);
    s.send({ type: 'cancel', orderId: id });
    const other = s.limit('buy', 991, 1);
    const before = s.tracker.get(other);
    expect(s.send({ type: 'cancel', orderId: id })).toEqual([]);
    expect(s.send({ type: 'cancel', orderId: 999 })).toEqual([]);
    expect(s.tracker.get(other)).toBe(before);
  });

  it('a rejected replace leaves the order as it was', () => {
    const s = given();
    const id = s.limit('buy', 990, 4);
    const before = s.tracker.get(id);
    expect(s.send({ type: 'replace', orderId: id, quantityLots: 0 })).toEqual([]);
    expect(s.lastEvents).toEqual([expect.objectContaining({ type: 'rejected' })]);
    expect(s.tracker.get(id)).toBe(before);
  });

  it('a size decrease keeps priority: the replaced order fills first', () => {
    const s = given();
    const first = s.limit('buy', 1000, 10, 'm1');
    const second = s.limit('buy', 1000, 10, 'm2');
    const replaced = s.send({ type: 'replace', orderId: first, quantityLots: 6 });
    expect(replaced).toEqual([
      expect.objectContaining({ orderId: first, quantityLots: 6, remainingLots: 6, priceTicks: 1000 }),
    ]);
    const changed = s.send(
      {
        type: 'new',
        account: 'm3:',
        side: 'sell',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 6,
        timeInForce: 'GTC',
      },
      'm3',
    );
    expect(s.state(changed, first)).toMatchObject({ status: 'filled', filledLots: 6 });
    expect(changed.find((c) => c.orderId === second)).toBeUndefined();
  });

  it('a size increase loses priority, and a replace after a partial fill keeps the filled part', () => {
    const s = given();
    const first = s.limit('buy', 1000, 10, 'm1');
    s.send(
      {
        type: 'new',
        account: 'm3:',
        side: 'sell',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 4,
        timeInForce: 'GTC',
      },
      'm3',
    );
    const second = s.limit('buy', 1000, 10, 'm2');
    const replaced = s.send({ type: 'replace', orderId: first, quantityLots: 9 });
    expect(replaced).toEqual([
      expect.objectContaining({
        orderId: first,
        filledLots: 4,
        remainingLots: 9,
        quantityLots: 13,
        status: 'partially_filled',
      }),
    ]);
    const changed = s.send(
      {
        type: 'new',
        account: 'm3:',
        side: 'sell',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 3,
        timeInForce: 'GTC',
      },
      'm3',
    );
    expect(s.state(changed, second)).toMatchObject({
      status: 'partially_filled',
      filledLots: 3,
      remainingLots: 7,
    });
    expect(changed.find((c) => c.orderId === first)).toBeUndefined();
  });

  it('a price change that crosses trades at once, after the replace', () => {
    const s = given();
    const bid = s.limit('buy', 990, 5, 'm1');
    s.limit('sell', 1000, 5, 'm2');
    const changed = s.send({ type: 'replace', orderId: bid, priceTicks: 1000 });
    expect(s.state(changed, bid)).toMatchObject({
      priceTicks: 1000,
      status: 'filled',
      filledLots: 5,
      remainingLots: 0,
    });
    expect(s.tracker.openCount).toBe(0);
  });

  it('session close expires DAY orders and leaves GTC orders open', () => {
    const s = given();
    const day = s.limit('buy', 990, 5, 'm1', { timeInForce: 'DAY' });
    const gtc = s.limit('buy', 989, 5, 'm1');
    const changed = s.send({ type: 'expire_day_orders' }, '');
    expect(changed).toEqual([expect.objectContaining({ orderId: day, status: 'expired', remainingLots: 0 })]);
    expect(s.tracker.get(gtc)?.status).toBe('new');
    expect(s.tracker.get(day)).toBeUndefined();
  });

  it('self-trade prevention cancels with reason stp', () => {
    const s = given();
    const resting = s.limit('sell', 1000, 5, 'm1');
    const changed = s.send(
      {
        type: 'new',
        account: bookAccount('m1', 'main'),
        side: 'buy',
        orderType: 'limit',
        priceTicks: 1000,
        quantityLots: 5,
        timeInForce: 'GTC',
        stp: 'cancel_oldest',
      },
      'm1',
    );
    expect(s.state(changed, resting)).toMatchObject({ status: 'canceled', cancelReason: 'stp' });
    expect(s.tracker.get(2)?.status).toBe('new');
  });

  it('a new order refused as a duplicate id leaves the earlier order with that id as it was', () => {
    const s = given();
    const id = s.limit('buy', 990, 5);
    const before = s.tracker.get(id);
    const changed = s.send({
      type: 'new',
      orderId: id,
      account: 'm1:main',
      side: 'sell',
      orderType: 'limit',
      priceTicks: 1010,
      quantityLots: 1,
      timeInForce: 'GTC',
    });
    expect(s.lastEvents).toEqual([
      expect.objectContaining({ type: 'rejected', reason: 'duplicate_order_id' }),
    ]);
    expect(changed).toEqual([]);
    expect(s.tracker.get(id)).toBe(before);
  });

  it('load() takes open orders and refuses a final one', () => {
    const s = given();
    s.limit('buy', 990, 5);
    const tracker = new OrderTracker();
    tracker.load(s.tracker.openOrders());
    expect(tracker.openCount).toBe(1);
    expect(() => tracker.load([{ ...s.tracker.get(1)!, status: 'filled' }])).toThrow(RangeError);
  });
});

const seed = seedFromEnv(Date.now() % 1_000_000);

describe(`OrderTracker against the book (FUZZ_SEED=${seed})`, () => {
  it('after every command, the open set equals the book’s resting orders (id, open quantity, price)', () => {
    for (let run = 0; run < 12; run++) {
      const runSeed = seed + run;
      const rng = new Prng(runSeed);
      const commands = new RandomCommands(rng, 1024, 6, rng.chance(0.5) ? 1 : 0.3);
      const book = new FastOrderBook();
      const tracker = new OrderTracker();
      for (let step = 1; step <= 500; step++) {
        const command = commands.next();
        const events = book.apply(command);
        tracker.apply(
          { seq: command.seq, symbol: 'AMZN', command, meta: { time: step, member: 'm' } },
          events,
        );
        const resting = [...book.l3().bids, ...book.l3().asks]
          .map((o) => ({
            orderId: o.orderId,
            remainingLots: o.quantityLots,
            priceTicks: o.priceTicks,
            side: o.side,
          }))
          .sort((a, b) => a.orderId - b.orderId);
        const open = [...tracker.openOrders()]
          .map((o) => ({
            orderId: o.orderId,
            remainingLots: o.remainingLots,
            priceTicks: o.priceTicks,
            side: o.side,
          }))
          .sort((a, b) => a.orderId - b.orderId);
        if (JSON.stringify(open) !== JSON.stringify(resting)) {
          expect
            .soft(open, `seed ${runSeed}, step ${step}, command ${JSON.stringify(command)}`)
            .toEqual(resting);
          return;
        }
        for (const order of tracker.openOrders()) {
          expect(order.filledLots + order.remainingLots, `seed ${runSeed} step ${step}`).toBe(
            order.quantityLots,
          );
        }
      }
    }
  });
});
