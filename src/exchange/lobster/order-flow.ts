import type { BookCommand, Side } from '../matching/index.ts';
import { type LobsterMessage, type LobsterTopOfBook, lobsterEventTypes } from './messages.ts';

/*
 * LOBSTER messages as order flow for the matching engine. Pure: decoded messages in, engine
 * commands (seq 0, 1, 2, …) out, plus a note per command saying where it came from and counts of
 * what was skipped. The mapping (docs/performance.md, "LOBSTER replay", says why):
 *
 * - 1 submit → a GTC limit order with the message's id, side, price and size.
 * - 2 partial cancel → a replace to the order's remaining size at the same price (a pure size
 *   decrease keeps time priority), or a cancel when nothing remains.
 * - 3 delete → a cancel.
 * - 4 visible execution → not applied to the resting order: the engine must produce the trade
 *   itself. LOBSTER never shows the aggressor (a marketable order that fills on arrival is never
 *   "submitted"; only its resting remainder is), so with `executions: 'aggressor'` the taker that
 *   caused the execution is re-created: consecutive executions with the same time and direction
 *   are one taker sweeping the book, sent as one IOC limit order on the other side for their total
 *   size at the worst price they reached. With `executions: 'skip'` they are left out entirely.
 * - 5 hidden execution, 6 cross trade, 7 halt → skipped (hidden orders are never in the visible
 *   book; the book has no auctions or sessions).
 *
 * A level-1 file only holds the messages that touched level 1 when they happened: an order placed
 * deeper never appears (until something about it happens at level 1), and an order that was at
 * level 1 once may later leave from deeper in the book without a message. So:
 * - The day starts with orders resting that the file never introduced. The seed (level 1 before the
 *   first message, see `levelOneBefore`) becomes one order per side that stands for all such orders
 *   at that price: deletes, partial cancels and executions of unknown ids at the seed's price draw
 *   it down. Messages about other unknown orders: deletes are still sent (the engine rejects them
 *   'unknown_order'; their note says `beforeFile`), partial cancels and executions are skipped.
 * - With `levelOne` (the order-book file's level 1 after each message), every order the replay
 *   holds at a price better than the true best of its side is cancelled after that message
 *   ('implied_cancel'): it must have left the book in a message the file does not show. Without it,
 *   such stale orders pile up and later submissions cross them (trades that never happened).
 */

export type ExecutionMapping = 'aggressor' | 'skip';

export interface OrderFlowOptions {
  executions: ExecutionMapping;
  /** LOBSTER price units (dollars × 10,000) per engine tick: 100 makes a tick one cent. */
  priceUnitsPerTick: number;
  /** Level 1 before the first message, seeded as one resting order per side; null starts empty. */
  seed: LobsterTopOfBook | null;
  /** Account of every order (one flow; no self-trade prevention). */
  account: string;
  /** The order-book file's level 1 after each message (row i after message i), or null. */
  levelOne: readonly LobsterTopOfBook[] | null;
}

export type FlowCommandKind =
  | 'seed'
  | 'submit'
  | 'partial_cancel'
  | 'delete'
  | 'aggressor'
  | 'implied_cancel';

export interface FlowNote {
  kind: FlowCommandKind;
  /** Index of the (first) message the command comes from; −1 for seed orders. */
  message: number;
  /** About an order that rested before the file started and is not covered by the seed. */
  beforeFile: boolean;
}

export type FlowSkipReason =
  | 'hidden_execution'
  | 'cross_trade'
  | 'halt'
  | 'execution_not_replayed'
  | 'execution_before_file'
  | 'partial_cancel_before_file';

export interface OrderFlow {
  commands: BookCommand[];
  /** notes[i] describes commands[i]. */
  notes: FlowNote[];
  skipped: Record<FlowSkipReason, number>;
  /** Visible executions (type 4 rows) in the file and their shares. */
  visibleExecutions: number;
  visibleExecutedShares: number;
  /** Of those, the ones against orders the replay holds (file orders or the seed): what aggressors re-create. */
  knownExecutions: number;
  knownExecutedShares: number;
}

export type OrderFlowResult = { ok: true; flow: OrderFlow } | { ok: false; message: number; problem: string };

/**
 * Level 1 just before `first`, from the order-book row after it: the first message's own effect on
 * its side's best level is undone. A submit that opened the level leaves that side unknown (null).
 */
export function levelOneBefore(first: LobsterMessage, after: LobsterTopOfBook): LobsterTopOfBook {
  if (first.type > lobsterEventTypes.visibleExecution) return after;
  const key = first.direction === 1 ? 'bid' : 'ask';
  const level = after[key];
  const atLevel = level !== null && level.price === first.price;
  let before = level;
  if (first.type === lobsterEventTypes.submit) {
    if (atLevel)
      before = level.size > first.size ? { price: level.price, size: level.size - first.size } : null;
  } else if (atLevel) {
    before = { price: level.price, size: level.size + first.size };
  } else if (
    level === null ||
    (first.direction === 1 ? first.price > level.price : first.price < level.price)
  ) {
    // The message emptied a better level: it held (at least) the message's shares.
    before = { price: first.price, size: first.size };
  }
  return { ...after, [key]: before };
}

interface Tracked {
  orderId: number;
  side: Side;
  priceTicks: number;
  /** Shares left by the file's account (submitted − cancelled − executed). */
  remaining: number;
}

/** Builds the command list; keeps the file's view of every order it knows. */
class FlowBuilder {
  readonly commands: BookCommand[] = [];
  readonly notes: FlowNote[] = [];
  readonly skipped: Record<FlowSkipReason, number> = {
    hidden_execution: 0,
    cross_trade: 0,
    halt: 0,
    execution_not_replayed: 0,
    execution_before_file: 0,
    partial_cancel_before_file: 0,
  };
  visibleExecutions = 0;
  visibleExecutedShares = 0;
  knownExecutions = 0;
  knownExecutedShares = 0;
  private readonly orders = new Map<number, Tracked>();
  private readonly seeds: Record<Side, Tracked | null> = { buy: null, sell: null };
  /** Every live order the replay holds (file orders and seeds), per side by price. */
  private readonly byPrice: Record<Side, Map<number, Set<Tracked>>> = { buy: new Map(), sell: new Map() };

  constructor(
    private readonly options: OrderFlowOptions,
    private nextSyntheticId: number,
  ) {}

  seed(side: Side, priceTicks: number, size: number): void {
    const tracked = { orderId: this.nextSyntheticId++, side, priceTicks, remaining: size };
    this.seeds[side] = tracked;
    this.index(tracked);
    this.newOrder(tracked.orderId, side, priceTicks, size, 'GTC', {
      kind: 'seed',
      message: -1,
      beforeFile: false,
    });
  }

  submit(index: number, m: LobsterMessage, priceTicks: number): void {
    const side = sideOf(m);
    const tracked = { orderId: m.orderId, side, priceTicks, remaining: m.size };
    this.orders.set(m.orderId, tracked);
    this.index(tracked);
    this.newOrder(m.orderId, side, priceTicks, m.size, 'GTC', {
      kind: 'submit',
      message: index,
      beforeFile: false,
    });
  }

  /** The order a partial cancel, delete or execution is about: a file order, the seed, or null. */
  resolve(m: LobsterMessage, priceTicks: number): Tracked | null {
    const known = this.orders.get(m.orderId);
    if (known) return known;
    const seed = this.seeds[sideOf(m)];
    return seed && seed.remaining > 0 && seed.priceTicks === priceTicks ? seed : null;
  }

  /** Removes `size` shares from `order` as the file says; sends a replace-down or cancel when `send`. */
  reduce(
    index: number,
    kind: 'partial_cancel' | 'delete',
    order: Tracked,
    size: number,
    send: boolean,
  ): void {
    const isSeed = order === this.seeds[order.side];
    // A delete removes a real order whole; against the seed it removes that order's shares only.
    order.remaining = kind === 'delete' && !isSeed ? 0 : Math.max(0, order.remaining - size);
    if (order.remaining === 0) this.forget(order);
    if (!send) return;
    const note = { kind, message: index, beforeFile: false };
    if (order.remaining === 0) this.push({ type: 'cancel', seq: 0, orderId: order.orderId }, note);
    else this.push({ type: 'replace', seq: 0, orderId: order.orderId, quantityLots: order.remaining }, note);
  }

  /**
   * Cancels every order held at a price better than the true best of its side after message
   * `index` (an empty side makes every order on it stale).
   */
  reconcile(index: number, top: LobsterTopOfBook, priceUnitsPerTick: number): void {
    const bid = top.bid ? top.bid.price / priceUnitsPerTick : Number.NEGATIVE_INFINITY;
    const ask = top.ask ? top.ask.price / priceUnitsPerTick : Number.POSITIVE_INFINITY;
    for (const side of ['buy', 'sell'] as const) {
      for (const [priceTicks, level] of this.byPrice[side]) {
        if (side === 'buy' ? priceTicks <= bid : priceTicks >= ask) continue;
        for (const order of [...level]) {
          order.remaining = 0;
          this.forget(order);
          this.push(
            { type: 'cancel', seq: 0, orderId: order.orderId },
            { kind: 'implied_cancel', message: index, beforeFile: false },
          );
        }
      }
    }
  }

  deleteUnknown(index: number, orderId: number): void {
    this.push({ type: 'cancel', seq: 0, orderId }, { kind: 'delete', message: index, beforeFile: true });
  }

  /** One taker sweeping `shares` down (or up) to `limitTicks`. */
  aggressor(index: number, restingSide: Side, limitTicks: number, shares: number): void {
    const side: Side = restingSide === 'buy' ? 'sell' : 'buy';
    const note = { kind: 'aggressor' as const, message: index, beforeFile: false };
    this.newOrder(this.nextSyntheticId++, side, limitTicks, shares, 'IOC', note);
  }

  finish(): OrderFlow {
    const { commands, notes, skipped } = this;
    return {
      commands,
      notes,
      skipped,
      visibleExecutions: this.visibleExecutions,
      visibleExecutedShares: this.visibleExecutedShares,
      knownExecutions: this.knownExecutions,
      knownExecutedShares: this.knownExecutedShares,
    };
  }

  private index(order: Tracked): void {
    const levels = this.byPrice[order.side];
    let level = levels.get(order.priceTicks);
    if (!level) {
      level = new Set();
      levels.set(order.priceTicks, level);
    }
    level.add(order);
  }

  /** Drops an order that no longer rests (by the file's account) from the replay's view. */
  private forget(order: Tracked): void {
    if (order !== this.seeds[order.side]) this.orders.delete(order.orderId);
    const levels = this.byPrice[order.side];
    const level = levels.get(order.priceTicks);
    level?.delete(order);
    if (level?.size === 0) levels.delete(order.priceTicks);
  }

  private newOrder(
    orderId: number,
    side: Side,
    priceTicks: number,
    size: number,
    timeInForce: 'GTC' | 'IOC',
    note: FlowNote,
  ): void {
    const { account } = this.options;
    this.push(
      {
        type: 'new',
        seq: 0,
        orderId,
        account,
        side,
        orderType: 'limit',
        priceTicks,
        quantityLots: size,
        timeInForce,
      },
      note,
    );
  }

  private push(command: BookCommand, note: FlowNote): void {
    command.seq = this.commands.length;
    this.commands.push(command);
    this.notes.push(note);
  }
}

function sideOf(m: LobsterMessage): Side {
  return m.direction === 1 ? 'buy' : 'sell';
}

function isBookEvent(m: LobsterMessage): boolean {
  return m.type <= lobsterEventTypes.visibleExecution;
}

/**
 * Maps decoded messages to engine commands (see the module comment). Fails, with the message index,
 * when a book event's price is not a whole number of ticks or the options are unusable.
 */
export function toOrderFlow(messages: readonly LobsterMessage[], options: OrderFlowOptions): OrderFlowResult {
  const unit = options.priceUnitsPerTick;
  if (!Number.isSafeInteger(unit) || unit <= 0)
    return { ok: false, message: -1, problem: 'priceUnitsPerTick must be a positive integer' };
  for (const [i, m] of messages.entries()) {
    if (isBookEvent(m) && m.price % unit !== 0) {
      return { ok: false, message: i, problem: `price ${m.price} is not a multiple of ${unit}` };
    }
  }
  const maxOrderId = messages.reduce((max, m) => Math.max(max, m.orderId), 0);
  const flow = new FlowBuilder(options, maxOrderId + 1);
  const seed = options.seed;
  if (seed?.bid && seed.bid.price % unit === 0) flow.seed('buy', seed.bid.price / unit, seed.bid.size);
  if (seed?.ask && seed.ask.price % unit === 0) flow.seed('sell', seed.ask.price / unit, seed.ask.size);
  const { levelOne } = options;
  if (levelOne && levelOne.length !== messages.length) {
    return {
      ok: false,
      message: -1,
      problem: `${levelOne.length} order-book rows for ${messages.length} messages`,
    };
  }
  let i = 0;
  while (i < messages.length) {
    const m = messages[i]!;
    let next = i + 1;
    if (m.type === lobsterEventTypes.visibleExecution) next = mapExecutions(flow, messages, i, options);
    else mapMessage(flow, i, m, m.price / unit);
    if (levelOne) flow.reconcile(next - 1, levelOne[next - 1]!, unit);
    i = next;
  }
  return { ok: true, flow: flow.finish() };
}

function mapMessage(flow: FlowBuilder, i: number, m: LobsterMessage, priceTicks: number): void {
  switch (m.type) {
    case lobsterEventTypes.submit:
      flow.submit(i, m, priceTicks);
      return;
    case lobsterEventTypes.partialCancel: {
      const order = flow.resolve(m, priceTicks);
      if (order) flow.reduce(i, 'partial_cancel', order, m.size, true);
      else flow.skipped.partial_cancel_before_file++;
      return;
    }
    case lobsterEventTypes.delete: {
      const order = flow.resolve(m, priceTicks);
      if (order) flow.reduce(i, 'delete', order, m.size, true);
      else flow.deleteUnknown(i, m.orderId);
      return;
    }
    case lobsterEventTypes.hiddenExecution:
      flow.skipped.hidden_execution++;
      return;
    case lobsterEventTypes.cross:
      flow.skipped.cross_trade++;
      return;
    case lobsterEventTypes.halt:
      flow.skipped.halt++;
      return;
    case lobsterEventTypes.visibleExecution:
      throw new Error('executions are mapped by mapExecutions');
    default: {
      const never: never = m.type;
      throw new Error(`unknown LOBSTER event type ${never}`);
    }
  }
}

/** Maps the run of executions starting at `start` (same time and direction); returns where it ends. */
function mapExecutions(
  flow: FlowBuilder,
  messages: readonly LobsterMessage[],
  start: number,
  options: OrderFlowOptions,
): number {
  const first = messages[start]!;
  const restingSide = sideOf(first);
  let shares = 0;
  let limitTicks = 0;
  let end = start;
  for (; end < messages.length; end++) {
    const m = messages[end]!;
    if (
      m.type !== lobsterEventTypes.visibleExecution ||
      m.timeNs !== first.timeNs ||
      m.direction !== first.direction
    ) {
      break;
    }
    const priceTicks = m.price / options.priceUnitsPerTick;
    flow.visibleExecutions++;
    flow.visibleExecutedShares += m.size;
    const order = flow.resolve(m, priceTicks);
    if (order === null) {
      flow.skipped.execution_before_file++;
      continue;
    }
    // The file's view of the order shrinks either way; the engine's only through the aggressor.
    flow.reduce(end, 'partial_cancel', order, m.size, false);
    flow.knownExecutions++;
    flow.knownExecutedShares += m.size;
    if (options.executions === 'skip') {
      flow.skipped.execution_not_replayed++;
      continue;
    }
    // The sweep's worst price: the lowest bid hit or the highest ask lifted.
    if (shares === 0) limitTicks = priceTicks;
    else
      limitTicks =
        restingSide === 'buy' ? Math.min(limitTicks, priceTicks) : Math.max(limitTicks, priceTicks);
    shares += m.size;
  }
  if (shares > 0) flow.aggressor(start, restingSide, limitTicks, shares);
  return end;
}
