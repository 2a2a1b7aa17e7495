import { fail } from '../matching/assert.ts';
import {
  type BookDepth,
  type BookEvent,
  type BookOrders,
  matchingLimits,
  type OrderType,
  type PriceLevelView,
  type RestingOrder,
  type Side,
  type TimeInForce,
  type TopOfBook,
} from '../matching/index.ts';
import { PriceLadder } from '../matching/price-ladder.ts';

/*
 * An event-sourced replica of one symbol's book, for publishing. The sequencer's live book may be
 * ahead of the last durable seq (it applies a command before its journal record is durable), so
 * market data never reads it after start: it folds durable results into this replica instead, and
 * subscribers only ever see durable state.
 */

/**
 * One resting order as the replica knows it. Events carry no post-only or STP flag, so the replica
 * holds the engine's RestingOrder without those two fields.
 */
export type ReplicaOrder = Omit<RestingOrder, 'postOnly' | 'stp'>;

/** L3 as the replica shows it: best price first, FIFO within a price. */
export interface ReplicaOrders {
  bids: ReplicaOrder[];
  asks: ReplicaOrder[];
}

/** One changed L2 level: `quantityLots` is the level's new total, 0 when the level is gone. */
export interface L2Delta {
  side: Side;
  priceTicks: number;
  quantityLots: number;
}

/**
 * One changed order. `add` always joins the back of its level (a new order resting, or a replace
 * that lost priority); `modify` changes the open quantity in place; `delete` takes it out.
 */
export type L3Delta =
  | { action: 'add'; orderId: number; side: Side; priceTicks: number; quantityLots: number }
  | { action: 'modify'; orderId: number; side: Side; priceTicks: number; quantityLots: number }
  | { action: 'delete'; orderId: number; side: Side; priceTicks: number };

/** What one command changed. */
export interface BookChanges {
  l2: L2Delta[];
  l3: L3Delta[];
  /** True when the best bid or ask (price, quantity or order count) changed. */
  l1Changed: boolean;
}

interface Level {
  priceTicks: number;
  /** Insertion order is FIFO: re-inserting an id moves it to the back. */
  orders: Map<number, ReplicaOrder>;
  quantityLots: number;
}

/** The order the current command is working: a new order or a replace that lost priority. */
interface WorkingOrder {
  orderId: number;
  account: string;
  side: Side;
  orderType: OrderType;
  priceTicks: number | null;
  timeInForce: TimeInForce;
  remainingLots: number;
  cancelled: boolean;
}

class BookSide {
  readonly levels = new Map<number, Level>();
  /**
   * The prices with a level, ordered: the engine's ladder, so adding or dropping a level costs the
   * same with 10 levels or 500,000 (a sorted array's splice cost O(levels) on the engine's thread).
   */
  readonly #prices = new PriceLadder();
  /** Orders resting on this side (over every level). */
  orderCount = 0;

  constructor(readonly side: Side) {}

  level(priceTicks: number): Level {
    const existing = this.levels.get(priceTicks);
    if (existing) return existing;
    const level: Level = { priceTicks, orders: new Map(), quantityLots: 0 };
    this.levels.set(priceTicks, level);
    this.#prices.add(priceTicks, 0);
    return level;
  }

  dropIfEmpty(level: Level): void {
    if (level.orders.size > 0) return;
    this.levels.delete(level.priceTicks);
    this.#prices.remove(level.priceTicks);
  }

  get levelCount(): number {
    return this.#prices.count;
  }

  /** The levels, best price first; `limit` of them at most. */
  *bestFirst(limit = Number.POSITIVE_INFINITY): Generator<Level> {
    const buy = this.side === 'buy';
    let price = buy ? this.#prices.max() : this.#prices.min();
    for (let n = 0; n < limit && Number.isFinite(price); n++) {
      yield this.levels.get(price)!;
      price = buy ? this.#prices.nextBelow(price) : this.#prices.nextAbove(price);
    }
  }
}

/**
 * The publishing replica of one book. `apply` folds one durable command's events and returns its
 * L2/L3 deltas; `l1`/`l2`/`l3` answer like the engine's OrderBook for the same state (L3 without
 * the post-only and STP flags, which events do not carry).
 */
export class MarketDataBook {
  #lastSeq: number;
  readonly #bids = new BookSide('buy');
  readonly #asks = new BookSide('sell');
  readonly #orders = new Map<number, ReplicaOrder>();

  private constructor(lastSeq: number) {
    this.#lastSeq = lastSeq;
  }

  /** An empty book: its symbol had no book when market data started. */
  static empty(lastSeq: number): MarketDataBook {
    return new MarketDataBook(lastSeq);
  }

  /**
   * A replica of a live book read at start, before any submit: `orders` is every order resting in
   * it, best first and FIFO within a price (its `snapshot()`: `l3()` is capped below what may rest),
   * and `lastSeq` the sequencer's seq at that moment.
   */
  static seed(orders: BookOrders | ReplicaOrders, lastSeq: number): MarketDataBook {
    const book = new MarketDataBook(lastSeq);
    for (const side of [orders.bids, orders.asks]) {
      for (const order of side) {
        book.#rest({
          orderId: order.orderId,
          account: order.account,
          side: order.side,
          priceTicks: order.priceTicks,
          quantityLots: order.quantityLots,
          timeInForce: order.timeInForce,
        });
      }
    }
    return book;
  }

  /** Seq of the last command folded in (or the seq the replica was seeded at). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Folds one durable command's events (all carrying `seq`) and returns what changed. */
  apply(seq: number, events: readonly BookEvent[]): BookChanges {
    if (!(Number.isSafeInteger(seq) && seq > this.#lastSeq))
      fail(`seq ${seq} must be above ${this.#lastSeq}`);
    this.#lastSeq = seq;
    const topBefore = this.#top();
    const levelsBefore = new Map<string, L2Delta>();
    const l3: L3Delta[] = [];
    let working: WorkingOrder | null = null;
    for (const event of events) {
      if (event.seq !== seq) fail(`event of seq ${event.seq} in the result of seq ${seq}`);
      switch (event.type) {
        case 'accepted':
          if (working !== null) fail(`order ${event.orderId} accepted while another order works`);
          working = {
            orderId: event.orderId,
            account: event.account,
            side: event.side,
            orderType: event.orderType,
            priceTicks: event.priceTicks,
            timeInForce: event.timeInForce,
            remainingLots: event.quantityLots,
            cancelled: false,
          };
          break;
        case 'rejected':
          break;
        case 'trade': {
          if (working?.orderId !== event.takerOrderId)
            fail(`trade of taker ${event.takerOrderId} not working`);
          working.remainingLots -= event.quantityLots;
          if (working.remainingLots !== event.takerRemainingLots)
            fail(`taker ${event.takerOrderId} lots drift`);
          const maker = this.#resting(event.makerOrderId);
          this.#touch(levelsBefore, maker.side, maker.priceTicks);
          this.#reduce(maker, event.quantityLots, l3);
          if (maker.quantityLots !== event.makerRemainingLots) fail(`maker ${event.makerOrderId} lots drift`);
          break;
        }
        case 'cancelled':
          if (working?.orderId === event.orderId) {
            working.cancelled = true;
            break;
          }
          this.#removeResting(event.orderId, levelsBefore, l3);
          break;
        case 'replaced': {
          const order = this.#resting(event.orderId);
          this.#touch(levelsBefore, order.side, order.priceTicks);
          if (event.keptPriority) {
            this.#reduce(order, order.quantityLots - event.quantityLots, l3);
            break;
          }
          if (working !== null) fail(`order ${event.orderId} replaced while another order works`);
          this.#removeResting(event.orderId, levelsBefore, l3);
          working = {
            orderId: order.orderId,
            account: order.account,
            side: order.side,
            orderType: 'limit',
            priceTicks: event.priceTicks,
            timeInForce: order.timeInForce,
            remainingLots: event.quantityLots,
            cancelled: false,
          };
          break;
        }
        case 'expired':
          this.#removeResting(event.orderId, levelsBefore, l3);
          break;
        default: {
          const unknown: never = event;
          fail(`unknown event ${JSON.stringify(unknown)}`);
        }
      }
    }
    if (working !== null && !working.cancelled && working.remainingLots > 0) {
      this.#restWorking(working, levelsBefore, l3);
    }
    return { l2: this.#l2Deltas(levelsBefore), l3, l1Changed: !sameTop(topBefore, this.#top()) };
  }

  l1(): TopOfBook {
    return { bid: bestLevel(this.#bids), ask: bestLevel(this.#asks) };
  }

  /** Aggregated depth, best first; `depth` is capped like the engine's (matchingLimits.l2DepthMax). */
  l2(depth: number): BookDepth {
    if (!(Number.isSafeInteger(depth) && depth >= 0)) fail(`L2 depth ${depth}`);
    const n = Math.min(depth, matchingLimits.l2DepthMax);
    return { bids: levelViews(this.#bids, n), asks: levelViews(this.#asks, n) };
  }

  /** Every resting order, best price first and FIFO within a price, capped like the engine's. */
  l3(limit: number = matchingLimits.l3OrdersMax): ReplicaOrders {
    return { bids: orderViews(this.#bids, limit), asks: orderViews(this.#asks, limit) };
  }

  /** Orders resting in the replica. */
  get orderCount(): number {
    return this.#orders.size;
  }

  /** Price levels and orders resting on one side: a capped view that shows fewer was cut. */
  sideSize(side: Side): { levels: number; orders: number } {
    const bookSide = this.#side(side);
    return { levels: bookSide.levelCount, orders: bookSide.orderCount };
  }

  /** Remembers a level's quantity before this command first changes it (for the L2 deltas). */
  #touch(levelsBefore: Map<string, L2Delta>, side: Side, priceTicks: number): void {
    const key = `${side}:${priceTicks}`;
    if (levelsBefore.has(key)) return;
    const level = this.#side(side).levels.get(priceTicks);
    levelsBefore.set(key, { side, priceTicks, quantityLots: level?.quantityLots ?? 0 });
  }

  #restWorking(working: WorkingOrder, levelsBefore: Map<string, L2Delta>, l3: L3Delta[]): void {
    const { timeInForce, priceTicks } = working;
    if (
      working.orderType !== 'limit' ||
      priceTicks === null ||
      (timeInForce !== 'GTC' && timeInForce !== 'DAY')
    ) {
      fail(`order ${working.orderId} (${working.orderType} ${timeInForce}) left open without a cancel`);
    }
    this.#touch(levelsBefore, working.side, priceTicks);
    const order: ReplicaOrder = {
      orderId: working.orderId,
      account: working.account,
      side: working.side,
      priceTicks,
      quantityLots: working.remainingLots,
      timeInForce,
    };
    this.#rest(order);
    l3.push({ action: 'add', ...pickDelta(order) });
  }

  #rest(order: ReplicaOrder): void {
    if (this.#orders.has(order.orderId)) fail(`order ${order.orderId} rests twice`);
    if (!(order.quantityLots > 0)) fail(`order ${order.orderId} rests without quantity`);
    const side = this.#side(order.side);
    const level = side.level(order.priceTicks);
    level.orders.set(order.orderId, order);
    level.quantityLots += order.quantityLots;
    side.orderCount++;
    this.#orders.set(order.orderId, order);
  }

  /** Takes `lots` off a resting order; a fully filled order leaves the book. */
  #reduce(order: ReplicaOrder, lots: number, l3: L3Delta[]): void {
    if (!(lots > 0 && lots <= order.quantityLots)) fail(`order ${order.orderId} reduced by ${lots}`);
    const side = this.#side(order.side);
    const level = side.levels.get(order.priceTicks)!;
    order.quantityLots -= lots;
    level.quantityLots -= lots;
    if (order.quantityLots > 0) {
      l3.push({ action: 'modify', ...pickDelta(order) });
      return;
    }
    level.orders.delete(order.orderId);
    side.orderCount--;
    this.#orders.delete(order.orderId);
    side.dropIfEmpty(level);
    l3.push({ action: 'delete', orderId: order.orderId, side: order.side, priceTicks: order.priceTicks });
  }

  #removeResting(orderId: number, levelsBefore: Map<string, L2Delta>, l3: L3Delta[]): void {
    const order = this.#resting(orderId);
    this.#touch(levelsBefore, order.side, order.priceTicks);
    this.#reduce(order, order.quantityLots, l3);
  }

  #resting(orderId: number): ReplicaOrder {
    const order = this.#orders.get(orderId);
    if (!order) fail(`order ${orderId} does not rest in the replica`);
    return order;
  }

  #side(side: Side): BookSide {
    return side === 'buy' ? this.#bids : this.#asks;
  }

  #top(): TopOfBook {
    return this.l1();
  }

  #l2Deltas(levelsBefore: Map<string, L2Delta>): L2Delta[] {
    const deltas: L2Delta[] = [];
    for (const before of levelsBefore.values()) {
      const now = this.#side(before.side).levels.get(before.priceTicks)?.quantityLots ?? 0;
      if (now !== before.quantityLots) deltas.push({ ...before, quantityLots: now });
    }
    return deltas;
  }
}

function pickDelta(order: ReplicaOrder): {
  orderId: number;
  side: Side;
  priceTicks: number;
  quantityLots: number;
} {
  return {
    orderId: order.orderId,
    side: order.side,
    priceTicks: order.priceTicks,
    quantityLots: order.quantityLots,
  };
}

/** The best level of a side, or null (read twice per command: before and after it). */
function bestLevel(side: BookSide): PriceLevelView | null {
  for (const level of side.bestFirst(1)) return levelView(level);
  return null;
}

function levelViews(side: BookSide, n: number): PriceLevelView[] {
  return [...side.bestFirst(n)].map(levelView);
}

function levelView(level: Level): PriceLevelView {
  return { priceTicks: level.priceTicks, quantityLots: level.quantityLots, orderCount: level.orders.size };
}

function orderViews(side: BookSide, limit: number): ReplicaOrder[] {
  const out: ReplicaOrder[] = [];
  for (const level of side.bestFirst()) {
    for (const order of level.orders.values()) {
      if (out.length >= limit) return out;
      out.push({ ...order });
    }
  }
  return out;
}

function sameTop(a: TopOfBook, b: TopOfBook): boolean {
  return sameLevel(a.bid, b.bid) && sameLevel(a.ask, b.ask);
}

function sameLevel(a: PriceLevelView | null, b: PriceLevelView | null): boolean {
  if (a === null || b === null) return a === b;
  return a.priceTicks === b.priceTicks && a.quantityLots === b.quantityLots && a.orderCount === b.orderCount;
}
