import type {
  BookEvent,
  CancelReason,
  OrderType,
  RejectReason,
  Side,
  TimeInForce,
} from '../matching/index.ts';
import type { JournalRecord } from '../sequencer/index.ts';

/** An order's lifecycle as members see it (the seed's status values). */
export const orderStatuses = [
  'new',
  'partially_filled',
  'filled',
  'canceled',
  'rejected',
  'expired',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const openStatuses: readonly OrderStatus[] = ['new', 'partially_filled'];

/**
 * One order as the exchange reports it, in ticks and lots (views convert with the instrument).
 * Built only from journal records and the events the books produced for them, so the sequencer's
 * copy and the projector's copy agree after the same records.
 */
export interface OrderState {
  orderId: number;
  symbol: string;
  member: string;
  /** The member's sub-account as it sent it ('' when it sent none). */
  account: string;
  clientOrderId: string | null;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  postOnly: boolean;
  /** Current limit price; null for market orders. */
  priceTicks: number | null;
  /** Filled plus open quantity (changes when a replace changes the open quantity). */
  quantityLots: number;
  filledLots: number;
  /** Open quantity; 0 once the order is final. */
  remainingLots: number;
  status: OrderStatus;
  rejectReason: RejectReason | null;
  cancelReason: CancelReason | null;
  /** Epoch milliseconds from the journal record's meta. */
  createdAt: number;
  updatedAt: number;
  /** Seq of the last command that changed the order. */
  lastSeq: number;
}

/** The book's STP account for a member's sub-account: one member never self-trades across members. */
export function bookAccount(member: string, account: string): string {
  return `${member}:${account}`;
}

/** The sub-account part of a book account written by bookAccount. */
export function subAccount(bookAccountId: string): string {
  const colon = bookAccountId.indexOf(':');
  return colon < 0 ? bookAccountId : bookAccountId.slice(colon + 1);
}

export function isOpen(status: OrderStatus): boolean {
  return status === 'new' || status === 'partially_filled';
}

/**
 * The open orders and what one sequenced command did to them. Pure and deterministic: apply() folds
 * a journal record and its book events into order states and returns every state it changed (new
 * objects; callers may keep them). Final orders leave the open set; their last state is returned.
 */
export class OrderTracker {
  private readonly open = new Map<number, OrderState>();

  /** Loads open orders (from a projection) before applying later records. */
  load(states: Iterable<OrderState>): void {
    for (const state of states) {
      if (!isOpen(state.status)) throw new RangeError(`order ${state.orderId} is ${state.status}, not open`);
      this.open.set(state.orderId, state);
    }
  }

  get openCount(): number {
    return this.open.size;
  }

  /** The open order with this id, if any. */
  get(orderId: number): OrderState | undefined {
    return this.open.get(orderId);
  }

  openOrders(): IterableIterator<OrderState> {
    return this.open.values();
  }

  apply(record: JournalRecord, events: readonly BookEvent[]): OrderState[] {
    const time = record.meta?.time ?? 0;
    const changed = new Map<number, OrderState>();
    const seq = record.seq;
    const command = record.command;
    // A new order whose id is taken has no state of its own: the id belongs to the earlier order,
    // which the book's refusal leaves as it was (the book may name an earlier reason than
    // duplicate_order_id, e.g. invalid_post_only). Ids are seqs in production, so this is a guard.
    const duplicate =
      command.type === 'new' && (this.open.has(command.orderId) || isDuplicate(command.orderId, events));
    if (command.type === 'new' && !duplicate) {
      changed.set(command.orderId, {
        orderId: command.orderId,
        symbol: record.symbol,
        member: record.meta?.member ?? '',
        account: subAccount(command.account),
        clientOrderId: record.meta?.clientOrderId ?? null,
        side: command.side,
        orderType: command.orderType,
        timeInForce: command.timeInForce,
        postOnly: command.postOnly ?? false,
        priceTicks: command.priceTicks ?? null,
        quantityLots: command.quantityLots,
        filledLots: 0,
        remainingLots: command.quantityLots,
        status: 'new',
        rejectReason: null,
        cancelReason: null,
        createdAt: time,
        updatedAt: time,
        lastSeq: record.seq,
      });
    }
    for (const event of events) {
      switch (event.type) {
        case 'accepted':
          break;
        case 'rejected': {
          // A rejected cancel or replace leaves its target as it was; only a new order is rejected.
          if (command.type !== 'new' || event.orderId !== command.orderId) break;
          if (duplicate) break;
          const order = this.touch(changed, time, seq, event.orderId);
          if (order) {
            // A market order that meets an empty opposite side is cancelled, with the reason.
            order.status = event.reason === 'no_liquidity' ? 'canceled' : 'rejected';
            order.rejectReason = event.reason;
            order.remainingLots = 0;
          }
          break;
        }
        case 'trade': {
          fill(
            this.touch(changed, time, seq, event.makerOrderId),
            event.quantityLots,
            event.makerRemainingLots,
          );
          fill(
            this.touch(changed, time, seq, event.takerOrderId),
            event.quantityLots,
            event.takerRemainingLots,
          );
          break;
        }
        case 'cancelled': {
          const order = this.touch(changed, time, seq, event.orderId);
          if (order) {
            order.status = 'canceled';
            order.cancelReason = event.reason;
            order.remainingLots = 0;
          }
          break;
        }
        case 'expired': {
          const order = this.touch(changed, time, seq, event.orderId);
          if (order) {
            order.status = 'expired';
            order.remainingLots = 0;
          }
          break;
        }
        case 'replaced': {
          const order = this.touch(changed, time, seq, event.orderId);
          if (order) {
            order.priceTicks = event.priceTicks;
            order.remainingLots = event.quantityLots;
            order.quantityLots = order.filledLots + event.quantityLots;
          }
          break;
        }
        default: {
          const unknown: never = event;
          throw new Error(`unknown event ${JSON.stringify(unknown)}`);
        }
      }
    }
    for (const [orderId, state] of changed) {
      if (isOpen(state.status)) this.open.set(orderId, state);
      else this.open.delete(orderId);
    }
    return [...changed.values()];
  }

  /** The state of an order this command changes: a copy (made once per command), stamped with it. */
  private touch(
    changed: Map<number, OrderState>,
    time: number,
    seq: number,
    orderId: number,
  ): OrderState | undefined {
    const mine = changed.get(orderId);
    if (mine) return mine;
    const current = this.open.get(orderId);
    if (!current) return undefined;
    const next = { ...current, updatedAt: time, lastSeq: seq };
    changed.set(orderId, next);
    return next;
  }
}

function isDuplicate(orderId: number, events: readonly BookEvent[]): boolean {
  return events.some(
    (event) =>
      event.type === 'rejected' && event.orderId === orderId && event.reason === 'duplicate_order_id',
  );
}

function fill(order: OrderState | undefined, quantityLots: number, remainingLots: number): void {
  if (!order) return;
  order.filledLots += quantityLots;
  order.remainingLots = remainingLots;
  order.status = remainingLots === 0 ? 'filled' : 'partially_filled';
}
