/**
 * Commands, events and views of the matching engine. Everything is plain data: prices are integer
 * ticks, quantities integer lots, order ids safe integers assigned upstream (the sequencer maps
 * client order ids to them), and every event carries the `seq` of the command that caused it.
 */

export type Side = 'buy' | 'sell';
export type OrderType = 'limit' | 'market';
export type TimeInForce = 'GTC' | 'DAY' | 'IOC' | 'FOK';
/** Time in force of an order that can rest in the book. */
export type RestingTimeInForce = 'GTC' | 'DAY';
/** Self-trade prevention: what happens when a taker meets a resting order of its own account. */
export type StpMode = 'none' | 'cancel_newest' | 'cancel_oldest' | 'cancel_both';

export interface NewOrderCommand {
  type: 'new';
  seq: number;
  orderId: number;
  account: string;
  side: Side;
  orderType: OrderType;
  /** Limit price; must be absent for market orders. */
  priceTicks?: number | undefined;
  quantityLots: number;
  timeInForce: TimeInForce;
  postOnly?: boolean | undefined;
  /** Defaults to 'none'. The taker's mode decides. */
  stp?: StpMode | undefined;
}

export interface CancelCommand {
  type: 'cancel';
  seq: number;
  orderId: number;
}

/** Changes a resting order's price and/or open quantity; at least one must be given. */
export interface ReplaceCommand {
  type: 'replace';
  seq: number;
  orderId: number;
  quantityLots?: number | undefined;
  priceTicks?: number | undefined;
}

/** Session close: every resting DAY order expires and the ids of finished orders are forgotten. */
export interface ExpireDayOrdersCommand {
  type: 'expire_day_orders';
  seq: number;
}

export type BookCommand = NewOrderCommand | CancelCommand | ReplaceCommand | ExpireDayOrdersCommand;

/** Why a command was rejected, in order of precedence (the first that applies is reported). */
export type RejectReason =
  | 'invalid_order_id'
  | 'invalid_account'
  | 'invalid_quantity'
  | 'invalid_price'
  | 'invalid_post_only'
  | 'invalid_replace'
  | 'duplicate_order_id'
  | 'unknown_order'
  | 'order_not_resting'
  | 'session_order_ids_exhausted'
  | 'book_full'
  | 'no_liquidity'
  | 'post_only_would_take'
  | 'fok_not_fillable';

export type CancelReason = 'user' | 'ioc_remainder' | 'market_remainder' | 'stp';

export interface AcceptedEvent {
  type: 'accepted';
  seq: number;
  orderId: number;
  account: string;
  side: Side;
  orderType: OrderType;
  /** null for market orders. */
  priceTicks: number | null;
  quantityLots: number;
  timeInForce: TimeInForce;
}

export interface RejectedEvent {
  type: 'rejected';
  seq: number;
  orderId: number;
  reason: RejectReason;
}

export interface TradeEvent {
  type: 'trade';
  seq: number;
  makerOrderId: number;
  takerOrderId: number;
  /** Always the resting (maker) order's price. */
  priceTicks: number;
  quantityLots: number;
  makerAccount: string;
  takerAccount: string;
  makerSide: Side;
  makerRemainingLots: number;
  takerRemainingLots: number;
}

export interface CancelledEvent {
  type: 'cancelled';
  seq: number;
  orderId: number;
  account: string;
  side: Side;
  /** Resting price, the taker's limit, or null for a market order. */
  priceTicks: number | null;
  /** Open quantity that was cancelled. */
  quantityLots: number;
  reason: CancelReason;
}

/** Emitted before any trades the replaced order then makes as a taker. */
export interface ReplacedEvent {
  type: 'replaced';
  seq: number;
  orderId: number;
  account: string;
  side: Side;
  priceTicks: number;
  quantityLots: number;
  previousPriceTicks: number;
  previousQuantityLots: number;
  /** True only for a pure size decrease at the same price. */
  keptPriority: boolean;
}

export interface ExpiredEvent {
  type: 'expired';
  seq: number;
  orderId: number;
  account: string;
  side: Side;
  priceTicks: number;
  quantityLots: number;
}

export type BookEvent =
  | AcceptedEvent
  | RejectedEvent
  | TradeEvent
  | CancelledEvent
  | ReplacedEvent
  | ExpiredEvent;

/**
 * Allocation-free event stream: the same events as `apply` returns, as positional calls. The fast
 * book's hot path calls these directly; `apply` builds event objects through an EventCollector.
 */
export interface EventSink {
  accepted(
    seq: number,
    orderId: number,
    account: string,
    side: Side,
    orderType: OrderType,
    priceTicks: number | null,
    quantityLots: number,
    timeInForce: TimeInForce,
  ): void;
  rejected(seq: number, orderId: number, reason: RejectReason): void;
  trade(
    seq: number,
    makerOrderId: number,
    takerOrderId: number,
    priceTicks: number,
    quantityLots: number,
    makerAccount: string,
    takerAccount: string,
    makerSide: Side,
    makerRemainingLots: number,
    takerRemainingLots: number,
  ): void;
  cancelled(
    seq: number,
    orderId: number,
    account: string,
    side: Side,
    priceTicks: number | null,
    quantityLots: number,
    reason: CancelReason,
  ): void;
  replaced(
    seq: number,
    orderId: number,
    account: string,
    side: Side,
    priceTicks: number,
    quantityLots: number,
    previousPriceTicks: number,
    previousQuantityLots: number,
    keptPriority: boolean,
  ): void;
  expired(
    seq: number,
    orderId: number,
    account: string,
    side: Side,
    priceTicks: number,
    quantityLots: number,
  ): void;
}

/** One resting order as L3, snapshots and order lookups show it. */
export interface RestingOrder {
  orderId: number;
  account: string;
  side: Side;
  priceTicks: number;
  /** Open (unfilled) quantity. */
  quantityLots: number;
  timeInForce: RestingTimeInForce;
  postOnly: boolean;
  stp: StpMode;
}

/** Aggregated quantity at one price. */
export interface PriceLevelView {
  priceTicks: number;
  quantityLots: number;
  orderCount: number;
}

/** L1: best bid and ask. */
export interface TopOfBook {
  bid: PriceLevelView | null;
  ask: PriceLevelView | null;
}

/** L2: aggregated depth, best price first. */
export interface BookDepth {
  bids: PriceLevelView[];
  asks: PriceLevelView[];
}

/** L3: every resting order, best price first and FIFO within a price. */
export interface BookOrders {
  bids: RestingOrder[];
  asks: RestingOrder[];
}

/** The full book state as plain JSON-able data; restoring it gives the same stateHash. */
export interface BookSnapshot {
  version: 2;
  /** Seq of the last command applied (-1 before the first). */
  lastSeq: number;
  /** Best first, FIFO within a price: the order of insertion on restore. */
  bids: RestingOrder[];
  asks: RestingOrder[];
  /**
   * Ids of this session's orders that no longer rest, as inclusive ranges flattened into pairs
   * `[from, to, from, to, …]`, ascending, disjoint and never touching (id-ranges.ts): with the
   * sequencer's consecutive ids that is a pair per gap, not an entry per id.
   */
  retiredOrderIdRanges: number[];
}

/** A snapshot as version 1 wrote it (older snapshot files): retired ids one by one, ascending. */
export interface BookSnapshotV1 extends Omit<BookSnapshot, 'version' | 'retiredOrderIdRanges'> {
  version: 1;
  retiredOrderIds: number[];
}

/** What restore() reads: the current snapshot or a version-1 one. */
export type StoredBookSnapshot = BookSnapshot | BookSnapshotV1;

/** The engine: a deterministic state machine from commands to events. */
export interface OrderBook {
  /** Applies one command and returns its events. */
  apply(command: BookCommand): BookEvent[];
  /** Applies one command, streaming the same events into `sink` without building objects. */
  applyTo(command: BookCommand, sink: EventSink): void;
  /** Seq of the last command applied (-1 before the first). */
  readonly lastSeq: number;
  /** SHA-256 (hex) of the canonical serialization of the full state. */
  stateHash(): string;
  /** Throws InvariantError when the internal state is inconsistent. */
  assertInvariants(): void;
  l1(): TopOfBook;
  l2(depth: number): BookDepth;
  /** Resting orders, best first and FIFO: at most `ordersPerSideMax` per side (default l3OrdersMax). */
  l3(ordersPerSideMax?: number): BookOrders;
  /** The resting order with this id, or null when it does not rest. */
  order(orderId: number): RestingOrder | null;
  snapshot(): BookSnapshot;
}

/** Capacity limits of one book (defaults: matchingLimits); smaller values make the limits testable. */
export interface BookLimits {
  restingOrdersMax: number;
  sessionOrderIdsMax: number;
}

/** Builds books for code and tests that work with either implementation. */
export interface OrderBookFactory {
  readonly name: string;
  create(limits?: Partial<BookLimits>): OrderBook;
  restore(snapshot: StoredBookSnapshot, limits?: Partial<BookLimits>): OrderBook;
}
