import type { Queryable } from '../../platform/sql/pool.ts';
import { type OrderState, type OrderStatus, orderStatuses } from '../orders/order-state.ts';
import type { ExecutionRow } from './rows.ts';
import { type OrderRow, orderColumns, orderFromRow } from './store.ts';

/*
 * Reads of the projection for the query routes. Every read is scoped to one member; pages are keyset
 * pages in a stable order (orders by id, executions by (time, seq, fill)), so rows that arrive while a client
 * pages through never shift what it has not seen yet.
 */

/** One member's order by id, or null when there is none (or it is someone else's). */
export async function findOrder(db: Queryable, member: string, orderId: string): Promise<OrderState | null> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${orderColumns} FROM exchange_orders WHERE order_id = $1 AND member = $2`,
    [orderId, member],
  );
  return rows[0] ? orderFromRow(rows[0]) : null;
}

export interface OrderFilter {
  member: string;
  symbol?: string | undefined;
  statuses?: readonly OrderStatus[] | undefined;
}

/**
 * A page of a member's orders in id order, after `afterOrderId` (exclusive). One ordered range of
 * (member, [symbol,] status, order_id) per status, merged: the filter never walks the member's
 * other orders.
 */
export async function listOrders(
  db: Queryable,
  filter: OrderFilter,
  afterOrderId: number,
  limit: number,
): Promise<OrderState[]> {
  const statuses = filter.statuses ?? orderStatuses;
  const params: unknown[] = [filter.member, afterOrderId, limit];
  const symbol = filter.symbol === undefined ? '' : ` AND symbol = $${params.push(filter.symbol)}`;
  const ranges = statuses.map(
    (status) => `(SELECT ${orderColumns} FROM exchange_orders
        WHERE member = $1${symbol} AND status = $${params.push(status)} AND order_id > $2
        ORDER BY order_id LIMIT $3)`,
  );
  const { rows } = await db.query<OrderRow>(
    `SELECT * FROM (${ranges.join(' UNION ALL ')}) AS o ORDER BY order_id LIMIT $3`,
    params,
  );
  return rows.map(orderFromRow);
}

export interface ExecutionFilter {
  member: string;
  symbol?: string | undefined;
  orderId?: string | undefined;
  /** Inclusive. */
  startTime?: Date | undefined;
  /** Exclusive. */
  endTime?: Date | undefined;
}

/** Position of an execution in the keyset order (time, seq, fill). */
export interface ExecutionKey {
  /** Epoch ms. */
  time: number;
  seq: number;
  fill: number;
}

interface ExecutionDbRow {
  id: string;
  trade_id: string;
  order_id: bigint;
  member: string;
  account: string;
  symbol: string;
  side: ExecutionRow['side'];
  price_ticks: bigint;
  quantity_lots: bigint;
  order_type: ExecutionRow['orderType'];
  liquidity: ExecutionRow['liquidity'];
  seq: bigint;
  fill: number;
  time: Date;
}

/*
 * $1 member, $2 symbol, $3 order id, $4 start, $5 end, $6–$8 after key, $9–$11 through key. The
 * driver sends these unnamed, so PostgreSQL plans each query with its values and the filters left
 * NULL drop out: a member's listing with a window and a cursor is one range of the primary key
 * (member, time, seq, fill), with a symbol one range of (member, symbol, time, seq, fill).
 */
const executionWhere = `member = $1
  AND ($2::text IS NULL OR symbol = $2)
  AND ($3::bigint IS NULL OR order_id = $3)
  AND ($4::timestamptz IS NULL OR time >= $4)
  AND ($5::timestamptz IS NULL OR time < $5)
  AND ($6::timestamptz IS NULL OR (time, seq, fill) > ($6, $7::bigint, $8::integer))
  AND ($9::timestamptz IS NULL OR (time, seq, fill) <= ($9, $10::bigint, $11::integer))`;

const keyParams = (key: ExecutionKey | null) =>
  key ? [new Date(key.time).toISOString(), key.seq, key.fill] : [null, null, null];

function executionParams(filter: ExecutionFilter, after: ExecutionKey | null, through: ExecutionKey | null) {
  return [
    filter.member,
    filter.symbol ?? null,
    filter.orderId ?? null,
    filter.startTime ?? null,
    filter.endTime ?? null,
    ...keyParams(after),
    ...keyParams(through),
  ];
}

/** A page of a member's executions in (time, seq, fill) order, after `after` and up to `through` (inclusive). */
export async function listExecutions(
  db: Queryable,
  filter: ExecutionFilter,
  after: ExecutionKey | null,
  limit: number,
  through: ExecutionKey | null = null,
): Promise<ExecutionRow[]> {
  const { rows } = await db.query<ExecutionDbRow>(
    `SELECT id, trade_id, order_id, member, account, symbol, side, price_ticks, quantity_lots, order_type,
            liquidity, seq, fill, time
       FROM exchange_executions WHERE ${executionWhere}
      ORDER BY time, seq, fill LIMIT $12`,
    [...executionParams(filter, after, through), limit],
  );
  return rows.map((row) => ({
    id: row.id,
    tradeId: row.trade_id,
    orderId: Number(row.order_id),
    member: row.member,
    account: row.account,
    symbol: row.symbol,
    side: row.side,
    priceTicks: Number(row.price_ticks),
    quantityLots: Number(row.quantity_lots),
    orderType: row.order_type,
    liquidity: row.liquidity,
    seq: Number(row.seq),
    fill: row.fill,
    time: row.time.getTime(),
  }));
}

/**
 * Where a bounded export of `rowsMax` rows after `after` ends, fixed before it streams: the key of
 * its last row (null when no row matches) and whether more rows follow it. The end is pinned even
 * for the last part, so rows the projector commits while the file streams never push rows out of
 * a part that has no cursor to continue from.
 */
export async function executionExportEnd(
  db: Queryable,
  filter: ExecutionFilter,
  after: ExecutionKey | null,
  rowsMax: number,
): Promise<{ through: ExecutionKey | null; more: boolean }> {
  const params = executionParams(filter, after, null);
  const keyOf = (row: { time: Date; seq: bigint; fill: number }): ExecutionKey => ({
    time: row.time.getTime(),
    seq: Number(row.seq),
    fill: row.fill,
  });
  const { rows } = await db.query<{ time: Date; seq: bigint; fill: number }>(
    `SELECT time, seq, fill FROM exchange_executions WHERE ${executionWhere}
      ORDER BY time, seq, fill OFFSET $12 LIMIT 2`,
    [...params, rowsMax - 1],
  );
  if (rows.length === 2) return { through: keyOf(rows[0]!), more: true };
  const last = await db.query<{ time: Date; seq: bigint; fill: number }>(
    `SELECT time, seq, fill FROM exchange_executions WHERE ${executionWhere}
      ORDER BY time DESC, seq DESC, fill DESC LIMIT 1`,
    params,
  );
  const row = last.rows[0];
  return { through: row ? keyOf(row) : null, more: false };
}
