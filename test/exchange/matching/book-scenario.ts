import { expect } from 'vitest';
import type {
  BookCommand,
  BookEvent,
  CancelCommand,
  ExpireDayOrdersCommand,
  NewOrderCommand,
  OrderBook,
  OrderBookFactory,
  RejectReason,
  ReplaceCommand,
  RestingOrder,
  Side,
} from '../../../src/exchange/matching/index.ts';

/*
 * Given / when / then for order books. Commands are written without seq (the scenario numbers
 * them); events are compared in a compact one-line form that names every field a rule is about,
 * e.g. `trade maker #1 taker #3 5@100 left 0/2` (`.thenEmits(...)`). After every command the scenario checks that all
 * events carry the command's seq and that the book's invariants hold.
 */

type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
export type CommandInput = WithoutSeq<BookCommand>;

export const defaultAccount = 'acct-a';

/** A GTC limit order for the default account unless `extra` says otherwise. */
export function limit(
  side: Side,
  orderId: number,
  priceTicks: number,
  quantityLots: number,
  extra: Partial<Omit<NewOrderCommand, 'type' | 'seq'>> = {},
): CommandInput {
  return {
    type: 'new',
    orderId,
    account: defaultAccount,
    side,
    orderType: 'limit',
    priceTicks,
    quantityLots,
    timeInForce: 'GTC',
    ...extra,
  };
}

export const buy = (id: number, price: number, qty: number, extra: Parameters<typeof limit>[4] = {}) =>
  limit('buy', id, price, qty, extra);
export const sell = (id: number, price: number, qty: number, extra: Parameters<typeof limit>[4] = {}) =>
  limit('sell', id, price, qty, extra);

/** A market order (IOC unless `extra` says FOK etc.). */
export function market(
  side: Side,
  orderId: number,
  quantityLots: number,
  extra: Partial<Omit<NewOrderCommand, 'type' | 'seq'>> = {},
): CommandInput {
  return {
    type: 'new',
    orderId,
    account: defaultAccount,
    side,
    orderType: 'market',
    quantityLots,
    timeInForce: 'IOC',
    ...extra,
  };
}

export const cancel = (orderId: number): WithoutSeq<CancelCommand> => ({ type: 'cancel', orderId });
export const replace = (
  orderId: number,
  change: { priceTicks?: number; quantityLots?: number },
): WithoutSeq<ReplaceCommand> => ({ type: 'replace', orderId, ...change });
export const expireDayOrders = (): WithoutSeq<ExpireDayOrdersCommand> => ({ type: 'expire_day_orders' });

/** One-line description of an event, seq left out. */
export function describeEvent(e: BookEvent): string {
  switch (e.type) {
    case 'accepted':
      return `accepted #${e.orderId} ${e.side} ${e.orderType} ${e.quantityLots}@${e.priceTicks ?? 'market'} ${e.timeInForce}`;
    case 'rejected':
      return `rejected #${e.orderId} ${e.reason}`;
    case 'trade':
      return `trade maker #${e.makerOrderId} taker #${e.takerOrderId} ${e.quantityLots}@${e.priceTicks} left ${e.makerRemainingLots}/${e.takerRemainingLots}`;
    case 'cancelled':
      return `cancelled #${e.orderId} ${e.reason} ${e.quantityLots}@${e.priceTicks ?? 'market'}`;
    case 'replaced': {
      const priority = e.keptPriority ? 'kept' : 'lost';
      return `replaced #${e.orderId} ${e.previousQuantityLots}@${e.previousPriceTicks} -> ${e.quantityLots}@${e.priceTicks} ${priority} priority`;
    }
    case 'expired':
      return `expired #${e.orderId} ${e.side} ${e.quantityLots}@${e.priceTicks}`;
  }
}

/** Compact form of a resting order: `#1 5@100`, plus account/flags when not the defaults. */
export function describeOrder(o: RestingOrder): string {
  const extras = [
    o.account === defaultAccount ? '' : ` ${o.account}`,
    o.timeInForce === 'GTC' ? '' : ` ${o.timeInForce}`,
    o.postOnly ? ' post-only' : '',
  ].join('');
  return `#${o.orderId} ${o.quantityLots}@${o.priceTicks}${extras}`;
}

/** A book under test plus the seq counter. */
export class BookScenario {
  readonly book: OrderBook;
  private nextSeq: number;
  private lastEvents: BookEvent[] = [];
  private lastSeq = 0;

  constructor(factory: OrderBookFactory, book?: OrderBook) {
    this.book = book ?? factory.create();
    this.nextSeq = this.book.lastSeq + 1;
  }

  /** Applies commands that must not be rejected (set-up errors fail loudly). */
  given(...commands: CommandInput[]): this {
    for (const command of commands) {
      const events = this.apply(command);
      const rejected = events.find((e) => e.type === 'rejected');
      expect(rejected, `given ${JSON.stringify(command)} was rejected`).toBeUndefined();
    }
    return this;
  }

  /** Applies the command under test. */
  when(command: CommandInput): this {
    this.lastEvents = this.apply(command);
    return this;
  }

  /** The events of `when`, in compact form, in order. (Not named `then`: that would make it a thenable.) */
  thenEmits(...expected: string[]): this {
    expect(this.lastEvents.map(describeEvent)).toEqual(expected);
    return this;
  }

  /** `when` was rejected with this reason and nothing else happened. */
  thenRejected(reason: RejectReason): this {
    expect(this.lastEvents).toHaveLength(1);
    expect(this.lastEvents[0]).toMatchObject({ type: 'rejected', seq: this.lastSeq, reason });
    return this;
  }

  /** Resting orders (L3) in priority order, best first, in compact form. */
  thenBook(expected: { bids?: string[]; asks?: string[] }): this {
    const l3 = this.book.l3();
    expect({ bids: l3.bids.map(describeOrder), asks: l3.asks.map(describeOrder) }).toEqual({
      bids: expected.bids ?? [],
      asks: expected.asks ?? [],
    });
    return this;
  }

  /** The raw events of `when`, for checks on every field. */
  get events(): BookEvent[] {
    return this.lastEvents;
  }

  get seq(): number {
    return this.lastSeq;
  }

  private apply(command: CommandInput): BookEvent[] {
    const seq = this.nextSeq++;
    this.lastSeq = seq;
    const events = this.book.apply({ ...command, seq } as BookCommand);
    for (const e of events) expect(e.seq).toBe(seq);
    this.book.assertInvariants();
    return events;
  }
}
