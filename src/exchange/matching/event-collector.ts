import type {
  BookEvent,
  CancelReason,
  EventSink,
  OrderType,
  RejectReason,
  Side,
  TimeInForce,
} from './types.ts';

/** An EventSink that builds the event objects `apply` returns. */
export class EventCollector implements EventSink {
  events: BookEvent[] = [];

  /** Returns the events collected so far and starts a new list. */
  take(): BookEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  accepted(
    seq: number,
    orderId: number,
    account: string,
    side: Side,
    orderType: OrderType,
    priceTicks: number | null,
    quantityLots: number,
    timeInForce: TimeInForce,
  ): void {
    this.events.push({
      type: 'accepted',
      seq,
      orderId,
      account,
      side,
      orderType,
      priceTicks,
      quantityLots,
      timeInForce,
    });
  }

  rejected(seq: number, orderId: number, reason: RejectReason): void {
    this.events.push({ type: 'rejected', seq, orderId, reason });
  }

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
  ): void {
    this.events.push({
      type: 'trade',
      seq,
      makerOrderId,
      takerOrderId,
      priceTicks,
      quantityLots,
      makerAccount,
      takerAccount,
      makerSide,
      makerRemainingLots,
      takerRemainingLots,
    });
  }

  cancelled(
    seq: number,
    orderId: number,
    account: string,
    side: Side,
    priceTicks: number | null,
    quantityLots: number,
    reason: CancelReason,
  ): void {
    this.events.push({ type: 'cancelled', seq, orderId, account, side, priceTicks, quantityLots, reason });
  }

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
  ): void {
    this.events.push({
      type: 'replaced',
      seq,
      orderId,
      account,
      side,
      priceTicks,
      quantityLots,
      previousPriceTicks,
      previousQuantityLots,
      keptPriority,
    });
  }

  expired(
    seq: number,
    orderId: number,
    account: string,
    side: Side,
    priceTicks: number,
    quantityLots: number,
  ): void {
    this.events.push({ type: 'expired', seq, orderId, account, side, priceTicks, quantityLots });
  }
}

/** Replays one event object into a sink (how the reference book offers applyTo). */
export function emitEvent(sink: EventSink, e: BookEvent): void {
  switch (e.type) {
    case 'accepted':
      sink.accepted(
        e.seq,
        e.orderId,
        e.account,
        e.side,
        e.orderType,
        e.priceTicks,
        e.quantityLots,
        e.timeInForce,
      );
      return;
    case 'rejected':
      sink.rejected(e.seq, e.orderId, e.reason);
      return;
    case 'trade':
      sink.trade(
        e.seq,
        e.makerOrderId,
        e.takerOrderId,
        e.priceTicks,
        e.quantityLots,
        e.makerAccount,
        e.takerAccount,
        e.makerSide,
        e.makerRemainingLots,
        e.takerRemainingLots,
      );
      return;
    case 'cancelled':
      sink.cancelled(e.seq, e.orderId, e.account, e.side, e.priceTicks, e.quantityLots, e.reason);
      return;
    case 'replaced':
      sink.replaced(
        e.seq,
        e.orderId,
        e.account,
        e.side,
        e.priceTicks,
        e.quantityLots,
        e.previousPriceTicks,
        e.previousQuantityLots,
        e.keptPriority,
      );
      return;
    case 'expired':
      sink.expired(e.seq, e.orderId, e.account, e.side, e.priceTicks, e.quantityLots);
      return;
    default: {
      const unreachable: never = e;
      throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
    }
  }
}
