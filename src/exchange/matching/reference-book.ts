import { assert, fail } from './assert.ts';
import { assertNextSeq, canRest, checkNewOrder, checkReplace, isValidOrderId } from './command-checks.ts';
import { emitEvent } from './event-collector.ts';
import { forEachIdInRanges, idRanges } from './id-ranges.ts';
import { bookLimits, matchingLimits } from './limits.ts';
import { assertValidSnapshot, currentSnapshot, hashSnapshot } from './snapshot.ts';
import type {
  BookCommand,
  BookDepth,
  BookEvent,
  BookLimits,
  BookOrders,
  BookSnapshot,
  CancelCommand,
  EventSink,
  NewOrderCommand,
  OrderBook,
  PriceLevelView,
  RejectReason,
  ReplaceCommand,
  RestingOrder,
  Side,
  StoredBookSnapshot,
  StpMode,
  TopOfBook,
} from './types.ts';

/*
 * The reference book: plain arrays, linear scans, clarity first. It defines the semantics the fast
 * book must reproduce event for event; the differential fuzz test holds the two together.
 */

interface Level {
  priceTicks: number;
  /** FIFO: index 0 is the oldest order. */
  orders: RestingOrder[];
}

/** The aggressing order while it matches. */
interface Taker {
  orderId: number;
  account: string;
  side: Side;
  /** null for market orders: every price is acceptable. */
  limitTicks: number | null;
  stp: StpMode;
  remainingLots: number;
}

/** What became of a taker after matching. */
type MatchEnd = 'filled' | 'stp_cancelled' | 'remainder';

/** Obviously correct order book: arrays sorted best first, orders found by linear search. */
export class ReferenceOrderBook implements OrderBook {
  #lastSeq = -1;
  /** Highest price first. */
  #bids: Level[] = [];
  /** Lowest price first. */
  #asks: Level[] = [];
  /** This session's ids that no longer rest. */
  #retired = new Set<number>();
  #events: BookEvent[] = [];
  #seq = -1;
  readonly #limits: BookLimits;

  constructor(limits: Partial<BookLimits> = {}) {
    this.#limits = bookLimits(limits);
  }

  /** Rebuilds a book from a snapshot taken from either implementation. */
  static restore(stored: StoredBookSnapshot, limits: Partial<BookLimits> = {}): ReferenceOrderBook {
    const snapshot = currentSnapshot(stored);
    assertValidSnapshot(snapshot, bookLimits(limits));
    const book = new ReferenceOrderBook(limits);
    for (const order of [...snapshot.bids, ...snapshot.asks]) book.#rest({ ...order });
    forEachIdInRanges(snapshot.retiredOrderIdRanges, (orderId) => book.#retired.add(orderId));
    book.#lastSeq = snapshot.lastSeq;
    book.assertInvariants();
    return book;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  apply(command: BookCommand): BookEvent[] {
    assertNextSeq(this.#lastSeq, command.seq);
    this.#lastSeq = command.seq;
    this.#seq = command.seq;
    this.#events = [];
    switch (command.type) {
      case 'new':
        this.#newOrder(command);
        break;
      case 'cancel':
        this.#cancel(command);
        break;
      case 'replace':
        this.#replace(command);
        break;
      case 'expire_day_orders':
        this.#expireDayOrders();
        break;
      default: {
        const unreachable: never = command;
        throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
      }
    }
    return this.#events;
  }

  applyTo(command: BookCommand, sink: EventSink): void {
    for (const event of this.apply(command)) emitEvent(sink, event);
  }

  stateHash(): string {
    return hashSnapshot(this.snapshot());
  }

  snapshot(): BookSnapshot {
    return {
      version: 2,
      lastSeq: this.#lastSeq,
      bids: this.#bids.flatMap((level) => level.orders.map((o) => ({ ...o }))),
      asks: this.#asks.flatMap((level) => level.orders.map((o) => ({ ...o }))),
      retiredOrderIdRanges: idRanges([...this.#retired].sort((a, b) => a - b)),
    };
  }

  l1(): TopOfBook {
    const [bid] = this.l2(1).bids;
    const [ask] = this.l2(1).asks;
    return { bid: bid ?? null, ask: ask ?? null };
  }

  l2(depth: number): BookDepth {
    assert(Number.isSafeInteger(depth) && depth >= 0, `L2 depth ${depth}`);
    const n = Math.min(depth, matchingLimits.l2DepthMax);
    return { bids: this.#bids.slice(0, n).map(levelView), asks: this.#asks.slice(0, n).map(levelView) };
  }

  l3(ordersPerSideMax: number = matchingLimits.l3OrdersMax): BookOrders {
    const { bids, asks } = this.snapshot();
    return { bids: bids.slice(0, ordersPerSideMax), asks: asks.slice(0, ordersPerSideMax) };
  }

  order(orderId: number): RestingOrder | null {
    const found = this.#find(orderId);
    return found ? { ...found.order } : null;
  }

  assertInvariants(): void {
    assertSideInvariants(this.#bids, 'buy');
    assertSideInvariants(this.#asks, 'sell');
    const bestBid = this.#bids[0];
    const bestAsk = this.#asks[0];
    if (bestBid && bestAsk) assert(bestBid.priceTicks < bestAsk.priceTicks, 'book is crossed');
    const resting = [...this.#bids, ...this.#asks].flatMap((level) => level.orders.map((o) => o.orderId));
    assert(new Set(resting).size === resting.length, 'an order id rests twice');
    for (const id of resting) {
      if (this.#retired.has(id)) fail(`order ${id} rests and is retired`);
    }
  }

  #newOrder(cmd: NewOrderCommand): void {
    const reason = checkNewOrder(cmd) ?? this.#stateRejectReason(cmd);
    if (reason !== null) {
      this.#reject(cmd.orderId, reason);
      return;
    }
    const limitTicks = cmd.orderType === 'market' ? null : cmd.priceTicks!;
    this.#emit({
      type: 'accepted',
      seq: this.#seq,
      orderId: cmd.orderId,
      account: cmd.account,
      side: cmd.side,
      orderType: cmd.orderType,
      priceTicks: limitTicks,
      quantityLots: cmd.quantityLots,
      timeInForce: cmd.timeInForce,
    });
    const taker: Taker = {
      orderId: cmd.orderId,
      account: cmd.account,
      side: cmd.side,
      limitTicks,
      stp: cmd.stp ?? 'none',
      remainingLots: cmd.quantityLots,
    };
    if (this.#match(taker) !== 'remainder') {
      this.#retired.add(cmd.orderId);
      return;
    }
    if (canRest(cmd)) {
      this.#rest({
        orderId: cmd.orderId,
        account: cmd.account,
        side: cmd.side,
        priceTicks: limitTicks!,
        quantityLots: taker.remainingLots,
        timeInForce: cmd.timeInForce === 'DAY' ? 'DAY' : 'GTC',
        postOnly: cmd.postOnly === true,
        stp: taker.stp,
      });
      return;
    }
    assert(cmd.timeInForce !== 'FOK', 'a FOK order was left with a remainder');
    this.#cancelTaker(taker, cmd.orderType === 'market' ? 'market_remainder' : 'ioc_remainder');
    this.#retired.add(cmd.orderId);
  }

  /** Rejections that depend on the book, in precedence order. */
  #stateRejectReason(cmd: NewOrderCommand): RejectReason | null {
    if (this.#find(cmd.orderId) || this.#retired.has(cmd.orderId)) return 'duplicate_order_id';
    if (this.#restingCount() + this.#retired.size >= this.#limits.sessionOrderIdsMax) {
      return 'session_order_ids_exhausted';
    }
    if (canRest(cmd) && this.#restingCount() >= this.#limits.restingOrdersMax) return 'book_full';
    const opposite = cmd.side === 'buy' ? this.#asks : this.#bids;
    if (cmd.orderType === 'market' && opposite.length === 0) return 'no_liquidity';
    const limitTicks = cmd.orderType === 'market' ? null : cmd.priceTicks!;
    if (cmd.postOnly === true && this.#wouldCross(cmd.side, limitTicks)) return 'post_only_would_take';
    if (cmd.timeInForce === 'FOK' && !this.#canFillCompletely(cmd, limitTicks)) return 'fok_not_fillable';
    return null;
  }

  /**
   * Walks the opposite side exactly as matching would, STP included: an own order under
   * cancel_oldest is skipped (it would be cancelled), and under cancel_newest/cancel_both it ends
   * the fill (the taker would be cancelled). So a FOK accepted here always fills completely.
   */
  #canFillCompletely(cmd: NewOrderCommand, limitTicks: number | null): boolean {
    const stp = cmd.stp ?? 'none';
    let neededLots = cmd.quantityLots;
    for (const level of cmd.side === 'buy' ? this.#asks : this.#bids) {
      if (!crosses(cmd.side, limitTicks, level.priceTicks)) return false;
      for (const maker of level.orders) {
        if (stp !== 'none' && maker.account === cmd.account) {
          if (stp === 'cancel_oldest') continue;
          return false;
        }
        neededLots -= maker.quantityLots;
        if (neededLots <= 0) return true;
      }
    }
    return false;
  }

  #match(taker: Taker): MatchEnd {
    const opposite = taker.side === 'buy' ? this.#asks : this.#bids;
    while (taker.remainingLots > 0) {
      const level = opposite[0];
      if (!level || !crosses(taker.side, taker.limitTicks, level.priceTicks)) return 'remainder';
      const maker = level.orders[0]!;
      if (taker.stp !== 'none' && maker.account === taker.account) {
        if (taker.stp !== 'cancel_newest') this.#cancelResting(maker, 'stp');
        if (taker.stp === 'cancel_oldest') continue;
        this.#cancelTaker(taker, 'stp');
        return 'stp_cancelled';
      }
      this.#fill(maker, taker);
    }
    return 'filled';
  }

  #fill(maker: RestingOrder, taker: Taker): void {
    const quantityLots = Math.min(maker.quantityLots, taker.remainingLots);
    maker.quantityLots -= quantityLots;
    taker.remainingLots -= quantityLots;
    this.#emit({
      type: 'trade',
      seq: this.#seq,
      makerOrderId: maker.orderId,
      takerOrderId: taker.orderId,
      priceTicks: maker.priceTicks,
      quantityLots,
      makerAccount: maker.account,
      takerAccount: taker.account,
      makerSide: maker.side,
      makerRemainingLots: maker.quantityLots,
      takerRemainingLots: taker.remainingLots,
    });
    if (maker.quantityLots === 0) this.#remove(maker);
  }

  #cancel(cmd: CancelCommand): void {
    if (!isValidOrderId(cmd.orderId)) {
      this.#reject(cmd.orderId, 'invalid_order_id');
      return;
    }
    const found = this.#find(cmd.orderId);
    if (!found) {
      this.#reject(cmd.orderId, this.#notRestingReason(cmd.orderId));
      return;
    }
    this.#cancelResting(found.order, 'user');
  }

  #replace(cmd: ReplaceCommand): void {
    const invalid = checkReplace(cmd);
    if (invalid !== null) {
      this.#reject(cmd.orderId, invalid);
      return;
    }
    const order = this.#find(cmd.orderId)?.order;
    if (!order) {
      this.#reject(cmd.orderId, this.#notRestingReason(cmd.orderId));
      return;
    }
    const priceTicks = cmd.priceTicks ?? order.priceTicks;
    const quantityLots = cmd.quantityLots ?? order.quantityLots;
    if (order.postOnly && this.#wouldCross(order.side, priceTicks)) {
      this.#reject(cmd.orderId, 'post_only_would_take');
      return;
    }
    const keptPriority = priceTicks === order.priceTicks && quantityLots < order.quantityLots;
    this.#emit({
      type: 'replaced',
      seq: this.#seq,
      orderId: order.orderId,
      account: order.account,
      side: order.side,
      priceTicks,
      quantityLots,
      previousPriceTicks: order.priceTicks,
      previousQuantityLots: order.quantityLots,
      keptPriority,
    });
    if (keptPriority) {
      order.quantityLots = quantityLots;
      return;
    }
    this.#unlink(order);
    this.#reinsert(order, priceTicks, quantityLots);
  }

  /** Cancel-and-reinsert: the order goes to the back of the queue and may trade as the taker. */
  #reinsert(order: RestingOrder, priceTicks: number, quantityLots: number): void {
    const taker: Taker = {
      orderId: order.orderId,
      account: order.account,
      side: order.side,
      limitTicks: priceTicks,
      stp: order.stp,
      remainingLots: quantityLots,
    };
    if (this.#match(taker) !== 'remainder') {
      this.#retired.add(order.orderId);
      return;
    }
    this.#rest({ ...order, priceTicks, quantityLots: taker.remainingLots });
  }

  #expireDayOrders(): void {
    const dayOrders = [...this.#bids, ...this.#asks].flatMap((level) =>
      level.orders.filter((o) => o.timeInForce === 'DAY'),
    );
    for (const order of dayOrders) {
      this.#remove(order);
      this.#emit({
        type: 'expired',
        seq: this.#seq,
        orderId: order.orderId,
        account: order.account,
        side: order.side,
        priceTicks: order.priceTicks,
        quantityLots: order.quantityLots,
      });
    }
    // Session close: ids of finished orders are forgotten, so they may be used again next session.
    this.#retired.clear();
  }

  #cancelResting(order: RestingOrder, reason: 'user' | 'stp'): void {
    this.#remove(order);
    this.#emit({
      type: 'cancelled',
      seq: this.#seq,
      orderId: order.orderId,
      account: order.account,
      side: order.side,
      priceTicks: order.priceTicks,
      quantityLots: order.quantityLots,
      reason,
    });
  }

  #cancelTaker(taker: Taker, reason: 'stp' | 'ioc_remainder' | 'market_remainder'): void {
    this.#emit({
      type: 'cancelled',
      seq: this.#seq,
      orderId: taker.orderId,
      account: taker.account,
      side: taker.side,
      priceTicks: taker.limitTicks,
      quantityLots: taker.remainingLots,
      reason,
    });
  }

  #rest(order: RestingOrder): void {
    const levels = order.side === 'buy' ? this.#bids : this.#asks;
    const better = (p: number) => (order.side === 'buy' ? p > order.priceTicks : p < order.priceTicks);
    let at = 0;
    while (at < levels.length && better(levels[at]!.priceTicks)) at++;
    if (levels[at]?.priceTicks !== order.priceTicks) {
      levels.splice(at, 0, { priceTicks: order.priceTicks, orders: [] });
    }
    levels[at]!.orders.push(order);
  }

  /** Takes a resting order out of the book for good. */
  #remove(order: RestingOrder): void {
    this.#unlink(order);
    this.#retired.add(order.orderId);
  }

  #unlink(order: RestingOrder): void {
    const levels = order.side === 'buy' ? this.#bids : this.#asks;
    const at = levels.findIndex((level) => level.priceTicks === order.priceTicks);
    const level = levels[at]!;
    level.orders.splice(level.orders.indexOf(order), 1);
    if (level.orders.length === 0) levels.splice(at, 1);
  }

  #find(orderId: number): { order: RestingOrder } | undefined {
    for (const level of [...this.#bids, ...this.#asks]) {
      const order = level.orders.find((o) => o.orderId === orderId);
      if (order) return { order };
    }
    return undefined;
  }

  #notRestingReason(orderId: number): RejectReason {
    return this.#retired.has(orderId) ? 'order_not_resting' : 'unknown_order';
  }

  #wouldCross(side: Side, limitTicks: number | null): boolean {
    const best = (side === 'buy' ? this.#asks : this.#bids)[0];
    return best !== undefined && crosses(side, limitTicks, best.priceTicks);
  }

  #restingCount(): number {
    return [...this.#bids, ...this.#asks].reduce((n, level) => n + level.orders.length, 0);
  }

  #reject(orderId: number, reason: RejectReason): void {
    this.#emit({ type: 'rejected', seq: this.#seq, orderId, reason });
  }

  #emit(event: BookEvent): void {
    this.#events.push(event);
  }
}

/** True when a taker on `side` with this limit (null: market) accepts a maker at `makerTicks`. */
function crosses(side: Side, limitTicks: number | null, makerTicks: number): boolean {
  if (limitTicks === null) return true;
  return side === 'buy' ? makerTicks <= limitTicks : makerTicks >= limitTicks;
}

function levelView(level: Level): PriceLevelView {
  const quantityLots = level.orders.reduce((sum, o) => sum + o.quantityLots, 0);
  return { priceTicks: level.priceTicks, quantityLots, orderCount: level.orders.length };
}

function assertSideInvariants(levels: Level[], side: Side): void {
  levels.forEach((level, i) => {
    if (level.orders.length === 0) fail(`empty ${side} level at ${level.priceTicks}`);
    const previous = levels[i - 1];
    if (previous) {
      const sorted =
        side === 'buy' ? previous.priceTicks > level.priceTicks : previous.priceTicks < level.priceTicks;
      if (!sorted) fail(`${side} levels not strictly sorted at ${level.priceTicks}`);
    }
    for (const o of level.orders) {
      if (o.side !== side || o.priceTicks !== level.priceTicks) fail(`order ${o.orderId} in the wrong level`);
      assert(
        Number.isSafeInteger(o.quantityLots) && o.quantityLots > 0,
        `order ${o.orderId} has no quantity`,
      );
    }
  });
}
