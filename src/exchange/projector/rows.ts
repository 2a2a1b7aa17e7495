import { assert } from '../../platform/errors.ts';
import type { BookEvent, Side } from '../matching/index.ts';
import type { OrderState } from '../orders/order-state.ts';
import type { JournalRecord } from '../sequencer/index.ts';

/** One exchange_trades row; times in epoch ms. */
export interface TradeRow {
  tradeId: string;
  seq: number;
  symbol: string;
  priceTicks: number;
  quantityLots: number;
  makerOrderId: number;
  takerOrderId: number;
  makerSide: Side;
  time: number;
}

/** One exchange_executions row: one side of one trade. */
export interface ExecutionRow {
  id: string;
  tradeId: string;
  orderId: number;
  member: string;
  account: string;
  symbol: string;
  side: Side;
  priceTicks: number;
  quantityLots: number;
  orderType: OrderState['orderType'];
  liquidity: 'maker' | 'taker';
  seq: number;
  /** Place within the command, from 1: the maker of trade n is 2n - 1, its taker 2n. */
  fill: number;
  time: number;
}

/** What one journal record adds to the projection. */
export interface ProjectedRecord {
  seq: number;
  /** The last state of every order the command changed. */
  orders: OrderState[];
  trades: TradeRow[];
  executions: ExecutionRow[];
  /** A new order sent with an Idempotency-Key: its id and the command's `meta.requestKey`. */
  request?: { orderId: number; key: string };
}

/** Trade id of the n-th (1-based) trade of the command with this seq. */
export function tradeId(seq: number, n: number): string {
  return `${seq}-${n}`;
}

/**
 * The rows of one record, given the states the OrderTracker returned for it (which include both
 * orders of every trade). Pure: the same record always gives the same rows.
 */
export function projectRecord(
  record: JournalRecord,
  events: readonly BookEvent[],
  changed: readonly OrderState[],
): ProjectedRecord {
  const byId = new Map(changed.map((state) => [state.orderId, state]));
  const time = record.meta?.time ?? 0;
  const trades: TradeRow[] = [];
  const executions: ExecutionRow[] = [];
  for (const event of events) {
    if (event.type !== 'trade') continue;
    const id = tradeId(record.seq, trades.length + 1);
    const maker = byId.get(event.makerOrderId);
    const taker = byId.get(event.takerOrderId);
    // The tracker knows every open order, so a trade with an unknown side means the projection
    // and the journal disagree: stop rather than write half a trade.
    assert(maker && taker, `trade ${id} names an order the tracker does not know`);
    trades.push({
      tradeId: id,
      seq: record.seq,
      symbol: record.symbol,
      priceTicks: event.priceTicks,
      quantityLots: event.quantityLots,
      makerOrderId: event.makerOrderId,
      takerOrderId: event.takerOrderId,
      makerSide: event.makerSide,
      time,
    });
    const n = trades.length;
    const side = (order: OrderState, liquidity: 'maker' | 'taker'): ExecutionRow => ({
      id: `${id}-${liquidity === 'maker' ? 'M' : 'T'}`,
      tradeId: id,
      orderId: order.orderId,
      member: order.member,
      account: order.account,
      symbol: record.symbol,
      side: order.side,
      priceTicks: event.priceTicks,
      quantityLots: event.quantityLots,
      orderType: order.orderType,
      liquidity,
      seq: record.seq,
      fill: liquidity === 'maker' ? 2 * n - 1 : 2 * n,
      time,
    });
    executions.push(side(maker, 'maker'), side(taker, 'taker'));
  }
  const projected: ProjectedRecord = { seq: record.seq, orders: [...changed], trades, executions };
  const key = record.meta?.requestKey;
  if (key !== undefined && record.command.type === 'new') {
    projected.request = { orderId: record.command.orderId, key };
  }
  return projected;
}

/** Rows a projected record writes (for batch sizing). */
export function rowCount(projected: ProjectedRecord): number {
  return projected.orders.length + projected.trades.length + projected.executions.length;
}
