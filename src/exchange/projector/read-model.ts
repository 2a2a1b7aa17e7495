import type { Queryable } from '../../platform/sql/pool.ts';
import type { OrderState, OrderStatus } from '../orders/order-state.ts';
import type { ExecutionRow } from './rows.ts';
import { type OrderRow, orderColumns, orderFromRow } from './store.ts';

/*
 * Reads of the projection for the query routes. Every read is scoped to one member; pages are keyset
 * pages in a stable order (orders by id, executions by (seq, id)), so rows that arrive while a client
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

/** A page of a member's orders in id order, after `afterOrderId` (exclusive). */
export async function listOrders(
  db: Queryable,
  filter: OrderFilter,
  afterOrderId: number,
  limit: number,
): Promise<OrderState[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${orderColumns} FROM exchange_orders
      WHERE member = $1 AND order_id > $2
        AND ($3::text IS NULL OR symbol = $3)
        AND ($4::text[] IS NULL OR status = ANY($4))
      ORDER BY order_id LIMIT $5`,
    [filter.member, afterOrderId, filter.symbol ?? null, filter.statuses ?? null, limit],
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

/** Position of an execution in the keyset order. */
export interface ExecutionKey {
  seq: number;
  id: string;
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
  time: Date;
}

// $1 member, $2 symbol, $3 order id, $4 start, $5 end, $6/$7 after key, $8/$9 through key.
const executionWhere = `member = $1
  AND ($2::text IS NULL OR symbol = $2)
  AND ($3::bigint IS NULL OR order_id = $3)
  AND ($4::timestamptz IS NULL OR time >= $4)
  AND ($5::timestamptz IS NULL OR time < $5)
  AND ($6::bigint IS NULL OR (seq, id) > ($6, $7::text))
  AND ($8::bigint IS NULL OR (seq, id) <= ($8, $9::text))`;

function executionParams(filter: ExecutionFilter, after: ExecutionKey | null, through: ExecutionKey | null) {
  return [
    filter.member,
    filter.symbol ?? null,
    filter.orderId ?? null,
    filter.startTime ?? null,
    filter.endTime ?? null,
    after?.seq ?? null,
    after?.id ?? null,
    through?.seq ?? null,
    through?.id ?? null,
  ];
}

/** A page of a member's executions in (seq, id) order, after `after` and up to `through` (inclusive). */
export async function listExecutions(
  db: Queryable,
  filter: ExecutionFilter,
  after: ExecutionKey | null,
  limit: number,
  through: ExecutionKey | null = null,
): Promise<ExecutionRow[]> {
  const { rows } = await db.query<ExecutionDbRow>(
    `SELECT id, trade_id, order_id, member, account, symbol, side, price_ticks, quantity_lots, order_type,
            liquidity, seq, time
       FROM exchange_executions WHERE ${executionWhere}
      ORDER BY seq, id LIMIT $10`,
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
  const { rows } = await db.query<{ seq: bigint; id: string }>(
    `SELECT seq, id FROM exchange_executions WHERE ${executionWhere}
      ORDER BY seq, id OFFSET $10 LIMIT 2`,
    [...params, rowsMax - 1],
  );
  if (rows.length === 2) return { through: { seq: Number(rows[0]!.seq), id: rows[0]!.id }, more: true };
  const last = await db.query<{ seq: bigint; id: string }>(
    `SELECT seq, id FROM exchange_executions WHERE ${executionWhere}
      ORDER BY seq DESC, id DESC LIMIT 1`,
    params,
  );
  const row = last.rows[0];
  return { through: row ? { seq: Number(row.seq), id: row.id } : null, more: false };
}
