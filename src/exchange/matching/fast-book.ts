import { assert, fail } from './assert.ts';
import { assertNextSeq, canRest, checkNewOrder, checkReplace, isValidOrderId } from './command-checks.ts';
import { EventCollector } from './event-collector.ts';
import { forEachIdInRanges } from './id-ranges.ts';
import { bookLimits, matchingLimits } from './limits.ts';
import { missing, OrderIdIndex } from './order-id-index.ts';
import { noSlot, OrderSlots } from './order-slots.ts';
import { PriceLadder } from './price-ladder.ts';
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
 * The fast book. Orders (OrderSlots: one 32-byte record each) and price levels (struct-of-arrays)
 * live in typed arrays addressed by slot numbers, recycled through free lists, so the steady state
 * allocates nothing:
 *  - each level is an intrusive doubly-linked FIFO of order slots (prev/next in the records), so a
 *    cancel anywhere in the queue is O(1);
 *  - orderId → slot is an OrderIdIndex (a dense id window, or a typed-array hash table); ids that no
 *    longer rest stay in it until session close, so duplicate ids and 'order_not_resting' are
 *    answered by the same lookup. An id keeps the slot it last rested in (or `retired` if it never
 *    rested): it rests only while that slot still holds it, so taking an order out of the book
 *    never writes to the index. Most orders sit in their home slot (see OrderSlots), found
 *    without the index at all;
 *  - a PriceLadder per side maps price → level and gives the best price and the next one in O(1),
 *    whatever the price range;
 *  - the best level of each side is cached, so the matching loop touches neither structure until a
 *    level empties.
 */

const none = noSlot;
/** Index value of an id that was used this session but no longer rests. */
const retired = -1;
const buy = 0;
const sell = 1;

// Order flags: bit 0 side, bit 1 DAY, bit 2 post-only, bits 3–4 STP mode.
const flagSell = 1;
const flagDay = 2;
const flagPostOnly = 4;
const stpShift = 3;
const stpNone = 0;
const stpNewest = 1;
const stpOldest = 2;
const stpBoth = 3;
const stpModes: readonly StpMode[] = ['none', 'cancel_newest', 'cancel_oldest', 'cancel_both'];
const sideNames: readonly Side[] = ['buy', 'sell'];

const initialLevelSlots = 256;
/** Performance order book: typed-array slots, intrusive FIFO lists, bitmap price ladders. */
export class FastOrderBook implements OrderBook {
  private seqValue = -1;

  private readonly orders = new OrderSlots();
  private restingCount = 0;
  private readonly index: OrderIdIndex;

  private levelCapacity = initialLevelSlots;
  private levelPrices = new Float64Array(initialLevelSlots);
  private levelQuantities = new Float64Array(initialLevelSlots);
  private levelCounts = new Int32Array(initialLevelSlots);
  private levelHeads = new Int32Array(initialLevelSlots);
  private levelTails = new Int32Array(initialLevelSlots);
  private levelFreeHead = none;
  private levelSlotsUsed = 0;
  private readonly bidLadder = new PriceLadder();
  private readonly askLadder = new PriceLadder();
  private bestBidLevel = none;
  private bestAskLevel = none;
  private bestBidPrice = Number.NEGATIVE_INFINITY;
  private bestAskPrice = Number.POSITIVE_INFINITY;

  private readonly collector = new EventCollector();
  private readonly limits: BookLimits;

  constructor(limits: Partial<BookLimits> = {}) {
    this.limits = bookLimits(limits);
    this.index = new OrderIdIndex();
  }

  /** Rebuilds a book from a snapshot taken from either implementation. */
  static restore(stored: StoredBookSnapshot, limits: Partial<BookLimits> = {}): FastOrderBook {
    const snapshot = currentSnapshot(stored);
    assertValidSnapshot(snapshot, bookLimits(limits));
    const book = new FastOrderBook(limits);
    for (const o of [...snapshot.bids, ...snapshot.asks]) {
      const flags = encodeFlags(o.side === 'buy' ? buy : sell, o.timeInForce === 'DAY', o.postOnly, o.stp);
      const slot = book.orders.alloc(o.orderId);
      book.orders.init(slot, o.orderId, o.account, o.quantityLots, flags);
      book.enqueue(slot, o.priceTicks);
      book.index.set(o.orderId, slot);
    }
    forEachIdInRanges(snapshot.retiredOrderIdRanges, (orderId) => book.index.set(orderId, retired));
    book.seqValue = snapshot.lastSeq;
    book.assertInvariants();
    return book;
  }

  get lastSeq(): number {
    return this.seqValue;
  }

  apply(command: BookCommand): BookEvent[] {
    this.applyTo(command, this.collector);
    return this.collector.take();
  }

  applyTo(command: BookCommand, sink: EventSink): void {
    assertNextSeq(this.seqValue, command.seq);
    this.seqValue = command.seq;
    switch (command.type) {
      case 'new':
        this.newOrder(command, sink);
        return;
      case 'cancel':
        this.cancel(command, sink);
        return;
      case 'replace':
        this.replace(command, sink);
        return;
      case 'expire_day_orders':
        this.expireDayOrders(command.seq, sink);
        return;
      default: {
        const unreachable: never = command;
        fail(`unknown command ${JSON.stringify(unreachable)}`);
      }
    }
  }

  stateHash(): string {
    return hashSnapshot(this.snapshot());
  }

  snapshot(): BookSnapshot {
    return {
      version: 2,
      lastSeq: this.seqValue,
      bids: this.ordersOf(buy, Number.POSITIVE_INFINITY),
      asks: this.ordersOf(sell, Number.POSITIVE_INFINITY),
      retiredOrderIdRanges: this.index.keyRanges((orderId, slot) => !this.rests(orderId, slot)),
    };
  }

  l1(): TopOfBook {
    const bid = this.bestBidLevel === none ? null : this.levelView(this.bestBidLevel);
    const ask = this.bestAskLevel === none ? null : this.levelView(this.bestAskLevel);
    return { bid, ask };
  }

  l2(depth: number): BookDepth {
    assert(Number.isSafeInteger(depth) && depth >= 0, `L2 depth ${depth}`);
    const n = Math.min(depth, matchingLimits.l2DepthMax);
    const bids: PriceLevelView[] = [];
    const asks: PriceLevelView[] = [];
    for (let p = this.bestBidPrice; bids.length < n && p !== Number.NEGATIVE_INFINITY; ) {
      bids.push(this.levelView(this.bidLadder.levelAt(p)));
      p = this.bidLadder.nextBelow(p);
    }
    for (let p = this.bestAskPrice; asks.length < n && p !== Number.POSITIVE_INFINITY; ) {
      asks.push(this.levelView(this.askLadder.levelAt(p)));
      p = this.askLadder.nextAbove(p);
    }
    return { bids, asks };
  }

  l3(ordersPerSideMax: number = matchingLimits.l3OrdersMax): BookOrders {
    return { bids: this.ordersOf(buy, ordersPerSideMax), asks: this.ordersOf(sell, ordersPerSideMax) };
  }

  order(orderId: number): RestingOrder | null {
    if (!isValidOrderId(orderId)) return null;
    const slot = this.lookup(orderId);
    return slot < 0 ? null : this.restingOrder(slot);
  }

  // ---- commands ----

  private newOrder(cmd: NewOrderCommand, sink: EventSink): void {
    const seq = cmd.seq;
    const orderId = cmd.orderId;
    const reason = checkNewOrder(cmd) ?? this.stateRejectReason(cmd);
    if (reason !== null) {
      sink.rejected(seq, orderId, reason);
      return;
    }
    const side = cmd.side === 'buy' ? buy : sell;
    const isMarket = cmd.orderType === 'market';
    const priceTicks = isMarket ? null : cmd.priceTicks!;
    const stp = stpCode(cmd.stp);
    sink.accepted(
      seq,
      orderId,
      cmd.account,
      cmd.side,
      cmd.orderType,
      priceTicks,
      cmd.quantityLots,
      cmd.timeInForce,
    );
    const limitTicks = priceTicks ?? (side === buy ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY);
    const remaining = this.match(
      seq,
      orderId,
      cmd.account,
      side,
      limitTicks,
      priceTicks,
      cmd.quantityLots,
      stp,
      sink,
    );
    this.settleTaker(cmd, side, stp, remaining, sink);
  }

  /** What happens to a new order's remainder after matching: it rests, or is cancelled, or is done. */
  private settleTaker(
    cmd: NewOrderCommand,
    side: number,
    stp: number,
    remaining: number,
    sink: EventSink,
  ): void {
    const orderId = cmd.orderId;
    if (remaining > 0 && canRest(cmd)) {
      const flags = encodeFlagCodes(side, cmd.timeInForce === 'DAY', cmd.postOnly === true, stp);
      const slot = this.orders.alloc(orderId);
      this.orders.init(slot, orderId, cmd.account, remaining, flags);
      this.enqueue(slot, cmd.priceTicks!);
      this.index.set(orderId, slot);
      return;
    }
    if (remaining > 0) {
      if (cmd.timeInForce === 'FOK') fail(`FOK order ${orderId} was left with a remainder`);
      const isMarket = cmd.orderType === 'market';
      const priceTicks = isMarket ? null : cmd.priceTicks!;
      const why = isMarket ? 'market_remainder' : 'ioc_remainder';
      sink.cancelled(cmd.seq, orderId, cmd.account, cmd.side, priceTicks, remaining, why);
    }
    this.index.set(orderId, retired);
  }

  /** Rejections that depend on the book, in the reference book's precedence order. */
  private stateRejectReason(cmd: NewOrderCommand): RejectReason | null {
    if (this.index.get(cmd.orderId) !== missing) return 'duplicate_order_id';
    if (this.index.size >= this.limits.sessionOrderIdsMax) return 'session_order_ids_exhausted';
    const rests = canRest(cmd);
    if (rests && this.restingCount >= this.limits.restingOrdersMax) return 'book_full';
    const isBuy = cmd.side === 'buy';
    const oppositeLevel = isBuy ? this.bestAskLevel : this.bestBidLevel;
    if (cmd.orderType === 'market') {
      if (oppositeLevel === none) return 'no_liquidity';
    } else if (cmd.postOnly === true && this.wouldCross(isBuy ? buy : sell, cmd.priceTicks!)) {
      return 'post_only_would_take';
    }
    if (cmd.timeInForce === 'FOK' && !this.canFillCompletely(cmd)) return 'fok_not_fillable';
    return null;
  }

  /** The reference book's FOK walk: STP is applied exactly as matching would apply it. */
  private canFillCompletely(cmd: NewOrderCommand): boolean {
    const isBuy = cmd.side === 'buy';
    const stp = stpCode(cmd.stp);
    const limitTicks =
      cmd.orderType === 'market'
        ? isBuy
          ? Number.POSITIVE_INFINITY
          : Number.NEGATIVE_INFINITY
        : cmd.priceTicks!;
    const ladder = isBuy ? this.askLadder : this.bidLadder;
    let neededLots = cmd.quantityLots;
    let price = isBuy ? this.bestAskPrice : this.bestBidPrice;
    while (Number.isFinite(price) && (isBuy ? price <= limitTicks : price >= limitTicks)) {
      for (let o = this.levelHeads[ladder.levelAt(price)]!; o !== none; o = this.orders.next(o)) {
        if (stp !== stpNone && this.orders.account(o) === cmd.account) {
          if (stp === stpOldest) continue;
          return false;
        }
        neededLots -= this.orders.quantity(o);
        if (neededLots <= 0) return true;
      }
      price = isBuy ? ladder.nextAbove(price) : ladder.nextBelow(price);
    }
    return false;
  }

  private cancel(cmd: CancelCommand, sink: EventSink): void {
    const orderId = cmd.orderId;
    if (!isValidOrderId(orderId)) {
      sink.rejected(cmd.seq, orderId, 'invalid_order_id');
      return;
    }
    const slot = this.lookup(orderId);
    if (slot === missing) {
      sink.rejected(cmd.seq, orderId, 'unknown_order');
      return;
    }
    if (slot === retired) {
      sink.rejected(cmd.seq, orderId, 'order_not_resting');
      return;
    }
    const orders = this.orders;
    const side = sideNames[orders.flags(slot) & flagSell]!;
    const priceTicks = this.priceOf(slot);
    const quantityLots = orders.quantity(slot);
    const account = orders.account(slot);
    this.removeOrder(slot);
    sink.cancelled(cmd.seq, orderId, account, side, priceTicks, quantityLots, 'user');
  }

  private replace(cmd: ReplaceCommand, sink: EventSink): void {
    const seq = cmd.seq;
    const orderId = cmd.orderId;
    const invalid = checkReplace(cmd);
    if (invalid !== null) {
      sink.rejected(seq, orderId, invalid);
      return;
    }
    const slot = this.lookup(orderId);
    if (slot === missing) {
      sink.rejected(seq, orderId, 'unknown_order');
      return;
    }
    if (slot === retired) {
      sink.rejected(seq, orderId, 'order_not_resting');
      return;
    }
    const flags = this.orders.flags(slot);
    const side = flags & flagSell;
    const oldPrice = this.priceOf(slot);
    const oldQuantity = this.orders.quantity(slot);
    const priceTicks = cmd.priceTicks ?? oldPrice;
    const quantityLots = cmd.quantityLots ?? oldQuantity;
    if ((flags & flagPostOnly) !== 0 && this.wouldCross(side, priceTicks)) {
      sink.rejected(seq, orderId, 'post_only_would_take');
      return;
    }
    const keptPriority = priceTicks === oldPrice && quantityLots < oldQuantity;
    const account = this.orders.account(slot);
    sink.replaced(
      seq,
      orderId,
      account,
      sideNames[side]!,
      priceTicks,
      quantityLots,
      oldPrice,
      oldQuantity,
      keptPriority,
    );
    if (keptPriority) {
      this.orders.setQuantity(slot, quantityLots);
      this.levelQuantities[this.orders.level(slot)]! -= oldQuantity - quantityLots;
      return;
    }
    this.unlinkOrder(slot);
    const stp = (flags >> stpShift) & 3;
    const remaining = this.match(
      seq,
      orderId,
      account,
      side,
      priceTicks,
      priceTicks,
      quantityLots,
      stp,
      sink,
    );
    if (remaining > 0) {
      this.orders.setQuantity(slot, remaining);
      this.enqueue(slot, priceTicks);
      return;
    }
    this.orders.free(slot);
  }

  private expireDayOrders(seq: number, sink: EventSink): void {
    const slots = [...this.daySlots(buy), ...this.daySlots(sell)];
    const orders = this.orders;
    for (const slot of slots) {
      const side = sideNames[orders.flags(slot) & flagSell]!;
      const orderId = orders.id(slot);
      const account = orders.account(slot);
      const priceTicks = this.priceOf(slot);
      const quantityLots = orders.quantity(slot);
      this.removeOrder(slot);
      sink.expired(seq, orderId, account, side, priceTicks, quantityLots);
    }
    // Session close: ids of finished orders are forgotten, so they may be used again next session.
    this.index.retain((slot, orderId) => this.rests(orderId, slot));
  }

  private daySlots(side: number): number[] {
    const slots: number[] = [];
    this.forEachSlot(side, Number.POSITIVE_INFINITY, (slot) => {
      if ((this.orders.flags(slot) & flagDay) !== 0) slots.push(slot);
    });
    return slots;
  }

  // ---- matching (hot path) ----

  /**
   * Matches a taker against the opposite side up to `limitTicks` (±Infinity for market orders) and
   * returns the open remainder, or 0 when STP cancelled the taker (its cancel is already emitted).
   */
  private match(
    seq: number,
    takerId: number,
    takerAccount: string,
    takerSide: number,
    limitTicks: number,
    takerPriceTicks: number | null,
    quantityLots: number,
    stp: number,
    sink: EventSink,
  ): number {
    let remaining = quantityLots;
    while (remaining > 0) {
      const level = takerSide === buy ? this.bestAskLevel : this.bestBidLevel;
      if (level === none) break;
      const price = this.levelPrices[level]!;
      if (takerSide === buy ? price > limitTicks : price < limitTicks) break;
      remaining = this.matchLevel(seq, level, price, takerId, takerAccount, takerSide, remaining, stp, sink);
      if (this.levelCounts[level] === 0) this.dropLevel(level, 1 - takerSide);
      if (remaining < 0) {
        sink.cancelled(seq, takerId, takerAccount, sideNames[takerSide]!, takerPriceTicks, -remaining, 'stp');
        return 0;
      }
    }
    return remaining;
  }

  /**
   * Fills the taker against one level in FIFO order. Returns the taker's remainder, or minus the
   * remainder when STP cancels the taker (the caller emits that cancel after cleaning the level).
   */
  private matchLevel(
    seq: number,
    level: number,
    priceTicks: number,
    takerId: number,
    takerAccount: string,
    takerSide: number,
    remainingLots: number,
    stp: number,
    sink: EventSink,
  ): number {
    const orders = this.orders;
    const makerSide = sideNames[1 - takerSide]!;
    let remaining = remainingLots;
    let o = this.levelHeads[level]!;
    while (o !== none && remaining > 0) {
      const next = orders.next(o);
      const makerAccount = orders.account(o);
      if (stp !== stpNone && makerAccount === takerAccount) {
        if (stp !== stpNewest) this.cancelMakerForStp(seq, o, sink);
        if (stp !== stpOldest) return -remaining;
        o = next;
        continue;
      }
      const makerLots = orders.quantity(o);
      const fillLots = Math.min(makerLots, remaining);
      remaining -= fillLots;
      orders.setQuantity(o, makerLots - fillLots);
      this.levelQuantities[level]! -= fillLots;
      const makerId = orders.id(o);
      // The caller drops the level once it is done with it.
      if (makerLots === fillLots) this.removeOrder(o, false);
      sink.trade(
        seq,
        makerId,
        takerId,
        priceTicks,
        fillLots,
        makerAccount,
        takerAccount,
        makerSide,
        makerLots - fillLots,
        remaining,
      );
      o = next;
    }
    return remaining;
  }

  private cancelMakerForStp(seq: number, slot: number, sink: EventSink): void {
    const orders = this.orders;
    const orderId = orders.id(slot);
    const account = orders.account(slot);
    const priceTicks = this.priceOf(slot);
    const quantityLots = orders.quantity(slot);
    const side = sideNames[orders.flags(slot) & flagSell]!;
    this.removeOrder(slot, false);
    sink.cancelled(seq, orderId, account, side, priceTicks, quantityLots, 'stp');
  }

  private wouldCross(side: number, priceTicks: number): boolean {
    return side === buy ? priceTicks >= this.bestAskPrice : priceTicks <= this.bestBidPrice;
  }

  // ---- order and level slots ----

  /** A resting order's price: its level's. */
  private priceOf(slot: number): number {
    return this.levelPrices[this.orders.level(slot)]!;
  }

  /** Puts a slot (quantity and flags already set) at the back of the queue at `priceTicks`. */
  private enqueue(slot: number, priceTicks: number): void {
    const orders = this.orders;
    const side = orders.flags(slot) & flagSell;
    let level = (side === buy ? this.bidLadder : this.askLadder).levelAt(priceTicks);
    if (level === none) level = this.addLevel(priceTicks, side);
    const tail = this.levelTails[level]!;
    orders.setPrev(slot, tail);
    orders.setNext(slot, none);
    orders.setLevel(slot, level);
    if (tail === none) this.levelHeads[level] = slot;
    else orders.setNext(tail, slot);
    this.levelTails[level] = slot;
    this.levelCounts[level]!++;
    this.levelQuantities[level]! += orders.quantity(slot);
    this.restingCount++;
  }

  /**
   * Takes a resting order out of the book for good; drops its level when it empties, if asked.
   * Freeing the slot is what retires the id: its index entry no longer matches.
   */
  private removeOrder(slot: number, dropEmptyLevel = true): void {
    this.unlinkOrder(slot, dropEmptyLevel);
    this.orders.free(slot);
  }

  /** The slot where `orderId` rests, or `retired` (used this session, no longer resting), or `missing`. */
  private lookup(orderId: number): number {
    const home = this.orders.find(orderId);
    if (home !== none) return home;
    const slot = this.index.get(orderId);
    return slot >= 0 && !this.orders.holds(slot, orderId) ? retired : slot;
  }

  /** Whether an index entry (orderId → slot) is a resting order rather than a retired id. */
  private rests(orderId: number, slot: number): boolean {
    return slot >= 0 && this.orders.holds(slot, orderId);
  }

  /** Unlinks an order from its level's queue (the slot and index entry stay). */
  private unlinkOrder(slot: number, dropEmptyLevel = true): void {
    const orders = this.orders;
    const level = orders.level(slot);
    const prev = orders.prev(slot);
    const next = orders.next(slot);
    if (prev === none) this.levelHeads[level] = next;
    else orders.setNext(prev, next);
    if (next === none) this.levelTails[level] = prev;
    else orders.setPrev(next, prev);
    this.levelQuantities[level]! -= orders.quantity(slot);
    this.restingCount--;
    if (--this.levelCounts[level]! === 0 && dropEmptyLevel)
      this.dropLevel(level, orders.flags(slot) & flagSell);
  }

  private addLevel(priceTicks: number, side: number): number {
    let level = this.levelFreeHead;
    if (level !== none) this.levelFreeHead = this.levelHeads[level]!;
    else {
      if (this.levelSlotsUsed === this.levelCapacity) this.growLevels();
      level = this.levelSlotsUsed++;
    }
    this.levelPrices[level] = priceTicks;
    this.levelQuantities[level] = 0;
    this.levelCounts[level] = 0;
    this.levelHeads[level] = none;
    this.levelTails[level] = none;
    if (side === buy) {
      this.bidLadder.add(priceTicks, level);
      if (priceTicks > this.bestBidPrice) {
        this.bestBidPrice = priceTicks;
        this.bestBidLevel = level;
      }
    } else {
      this.askLadder.add(priceTicks, level);
      if (priceTicks < this.bestAskPrice) {
        this.bestAskPrice = priceTicks;
        this.bestAskLevel = level;
      }
    }
    return level;
  }

  private dropLevel(level: number, side: number): void {
    const priceTicks = this.levelPrices[level]!;
    this.levelHeads[level] = this.levelFreeHead;
    this.levelFreeHead = level;
    if (side === buy) {
      this.bidLadder.remove(priceTicks);
      if (level !== this.bestBidLevel) return;
      this.bestBidPrice = this.bidLadder.max();
      this.bestBidLevel = this.bidLadder.levelAt(this.bestBidPrice);
    } else {
      this.askLadder.remove(priceTicks);
      if (level !== this.bestAskLevel) return;
      this.bestAskPrice = this.askLadder.min();
      this.bestAskLevel = this.askLadder.levelAt(this.bestAskPrice);
    }
  }

  private growLevels(): void {
    const capacity = this.levelCapacity * 2;
    this.levelPrices = grow(this.levelPrices, new Float64Array(capacity));
    this.levelQuantities = grow(this.levelQuantities, new Float64Array(capacity));
    this.levelCounts = grow(this.levelCounts, new Int32Array(capacity));
    this.levelHeads = grow(this.levelHeads, new Int32Array(capacity));
    this.levelTails = grow(this.levelTails, new Int32Array(capacity));
    this.levelCapacity = capacity;
  }

  // ---- views ----

  private levelView(level: number): PriceLevelView {
    return {
      priceTicks: this.levelPrices[level]!,
      quantityLots: this.levelQuantities[level]!,
      orderCount: this.levelCounts[level]!,
    };
  }

  private restingOrder(slot: number): RestingOrder {
    const flags = this.orders.flags(slot);
    return {
      orderId: this.orders.id(slot),
      account: this.orders.account(slot),
      side: sideNames[flags & flagSell]!,
      priceTicks: this.priceOf(slot),
      quantityLots: this.orders.quantity(slot),
      timeInForce: (flags & flagDay) !== 0 ? 'DAY' : 'GTC',
      postOnly: (flags & flagPostOnly) !== 0,
      stp: stpModes[(flags >> stpShift) & 3]!,
    };
  }

  private ordersOf(side: number, maxOrders: number): RestingOrder[] {
    const orders: RestingOrder[] = [];
    this.forEachSlot(side, maxOrders, (slot) => orders.push(this.restingOrder(slot)));
    return orders;
  }

  /** Visits up to `maxOrders` resting slots of one side, best price first and FIFO within a level. */
  private forEachSlot(side: number, maxOrders: number, visit: (slot: number) => void): void {
    const ladder = side === buy ? this.bidLadder : this.askLadder;
    let visited = 0;
    let price = side === buy ? this.bestBidPrice : this.bestAskPrice;
    while (Number.isFinite(price)) {
      for (let o = this.levelHeads[ladder.levelAt(price)]!; o !== none; o = this.orders.next(o)) {
        if (visited++ >= maxOrders) return;
        visit(o);
      }
      price = side === buy ? ladder.nextBelow(price) : ladder.nextAbove(price);
    }
  }

  // ---- invariants ----

  assertInvariants(): void {
    this.bidLadder.assertInvariants();
    this.askLadder.assertInvariants();
    const bidOrders = this.assertSide(buy);
    const askOrders = this.assertSide(sell);
    assert(bidOrders + askOrders === this.restingCount, 'restingCount differs from the orders in levels');
    let indexed = 0;
    this.index.forEach((orderId, slot) => {
      if (this.rests(orderId, slot)) indexed++;
    });
    assert(indexed === this.restingCount, `index holds ${indexed} resting orders, book ${this.restingCount}`);
    const accounts = new Set<string>();
    for (const side of [buy, sell])
      this.forEachSlot(side, Number.POSITIVE_INFINITY, (o) => accounts.add(this.orders.account(o)));
    assert(accounts.size === this.orders.accountCount, 'interned accounts differ from resting accounts');
    assert(this.bestBidPrice < this.bestAskPrice, 'book is crossed');
    assert(this.bestBidPrice === this.bidLadder.max(), 'cached best bid is stale');
    assert(this.bestAskPrice === this.askLadder.min(), 'cached best ask is stale');
    assert(this.bestBidLevel === this.bidLadder.levelAt(this.bestBidPrice), 'best bid level is stale');
    assert(this.bestAskLevel === this.askLadder.levelAt(this.bestAskPrice), 'best ask level is stale');
  }

  /** Checks every level and order of one side; returns the number of orders. */
  private assertSide(side: number): number {
    const ladder = side === buy ? this.bidLadder : this.askLadder;
    let orders = 0;
    let levelCount = 0;
    let price = side === buy ? ladder.max() : ladder.min();
    while (Number.isFinite(price)) {
      const level = ladder.levelAt(price);
      if (level === none || this.levelPrices[level] !== price) fail(`level for price ${price}`);
      orders += this.assertLevel(level, side);
      levelCount++;
      price = side === buy ? ladder.nextBelow(price) : ladder.nextAbove(price);
    }
    assert(levelCount === ladder.count, `side ${side}: ladder count ${ladder.count}, walked ${levelCount}`);
    return orders;
  }

  private assertLevel(level: number, side: number): number {
    let count = 0;
    let lots = 0;
    let prev = none;
    const orders = this.orders;
    for (let o = this.levelHeads[level]!; o !== none; o = orders.next(o)) {
      const id = orders.id(o);
      if (orders.prev(o) !== prev) fail(`order ${id}: broken prev link`);
      if (orders.level(o) !== level) fail(`order ${id} level`);
      if ((orders.flags(o) & flagSell) !== side) fail(`order ${id} on the wrong side`);
      const q = orders.quantity(o);
      if (!Number.isSafeInteger(q) || q <= 0) fail(`order ${id} quantity ${q}`);
      if (this.index.get(id) !== o) fail(`order ${id} not indexed at its slot`);
      if (this.lookup(id) !== o) fail(`order ${id} not found at its slot`);
      count++;
      lots += q;
      prev = o;
    }
    if (count === 0 || count !== this.levelCounts[level]) fail(`level ${this.levelPrices[level]} count`);
    if (this.levelTails[level] !== prev) fail(`level ${this.levelPrices[level]} tail`);
    if (lots !== this.levelQuantities[level]) fail(`level ${this.levelPrices[level]} quantity`);
    return count;
  }
}

function stpCode(stp: StpMode | undefined): number {
  switch (stp) {
    case 'cancel_newest':
      return stpNewest;
    case 'cancel_oldest':
      return stpOldest;
    case 'cancel_both':
      return stpBoth;
    default:
      return stpNone;
  }
}

function encodeFlagCodes(side: number, day: boolean, postOnly: boolean, stp: number): number {
  return side | (day ? flagDay : 0) | (postOnly ? flagPostOnly : 0) | (stp << stpShift);
}

function encodeFlags(side: number, day: boolean, postOnly: boolean, stp: StpMode): number {
  return encodeFlagCodes(side, day, postOnly, stpCode(stp));
}

function grow<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
