import { type ArrayElement, pgArrayLiteral } from '../../platform/sql/array-literal.ts';
import { copyIn, copyText } from '../../platform/sql/copy-in.ts';
import type { Pool, PoolClient, Queryable } from '../../platform/sql/pool.ts';
import type { OrderState, OrderStatus } from '../orders/order-state.ts';
import { projectorLimits } from './limits.ts';
import type { ExecutionRow, ProjectedRecord, TradeRow } from './rows.ts';

/** Checkpoint name of the executions projector in exchange_projector_checkpoint. */
export const executionsProjectorName = 'executions';

/** Thrown when the checkpoint is not where this projector left it: another writer moved it. */
export class CheckpointMovedError extends Error {
  override name = 'CheckpointMovedError';
}

/** The projection as of its checkpoint: every order still open after record `seq`. */
export interface ProjectionState {
  seq: number;
  orders: OrderState[];
}

/** Columns of exchange_orders as OrderState reads them. */
export const orderColumns = `order_id, symbol, member, account, client_order_id, side, order_type, time_in_force,
  post_only, price_ticks, quantity_lots, filled_lots, remaining_lots, status, reject_reason, cancel_reason,
  created_at, updated_at, last_seq`;

/** One exchange_orders row as pg returns it (int8 as bigint). */
export interface OrderRow {
  order_id: bigint;
  symbol: string;
  member: string;
  account: string;
  client_order_id: string | null;
  side: OrderState['side'];
  order_type: OrderState['orderType'];
  time_in_force: OrderState['timeInForce'];
  post_only: boolean;
  price_ticks: bigint | null;
  quantity_lots: bigint;
  filled_lots: bigint;
  remaining_lots: bigint;
  status: OrderStatus;
  reject_reason: string | null;
  cancel_reason: string | null;
  created_at: Date;
  updated_at: Date;
  last_seq: bigint;
}

/** An exchange_orders row as the OrderState it was written from. */
export function orderFromRow(row: OrderRow): OrderState {
  return {
    orderId: Number(row.order_id),
    symbol: row.symbol,
    member: row.member,
    account: row.account,
    clientOrderId: row.client_order_id,
    side: row.side,
    orderType: row.order_type,
    timeInForce: row.time_in_force,
    postOnly: row.post_only,
    priceTicks: row.price_ticks === null ? null : Number(row.price_ticks),
    quantityLots: Number(row.quantity_lots),
    filledLots: Number(row.filled_lots),
    remainingLots: Number(row.remaining_lots),
    status: row.status,
    rejectReason: row.reject_reason as OrderState['rejectReason'],
    cancelReason: row.cancel_reason as OrderState['cancelReason'],
    createdAt: row.created_at.getTime(),
    updatedAt: row.updated_at.getTime(),
    lastSeq: Number(row.last_seq),
  };
}

/** The checkpoint of `name`, created at 0 when missing. */
export async function ensureCheckpoint(db: Queryable, name: string): Promise<number> {
  await db.query(
    'INSERT INTO exchange_projector_checkpoint (name, seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING',
    [name],
  );
  const { rows } = await db.query<{ seq: bigint }>(
    'SELECT seq FROM exchange_projector_checkpoint WHERE name = $1',
    [name],
  );
  return Number(rows[0]!.seq);
}

/** The checkpoint of `name` (0 when the projector never ran). */
export async function readCheckpoint(db: Queryable, name = executionsProjectorName): Promise<number> {
  const { rows } = await db.query<{ seq: bigint }>(
    'SELECT seq FROM exchange_projector_checkpoint WHERE name = $1',
    [name],
  );
  return rows[0] ? Number(rows[0].seq) : 0;
}

/**
 * The checkpoint and the open orders as of it, read in one repeatable-read snapshot: batches write
 * rows and checkpoint together, so the two always agree.
 */
export async function loadProjectionState(
  pool: Pool,
  name = executionsProjectorName,
): Promise<ProjectionState> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const seq = await readCheckpoint(client, name);
    const orders = await readOpenOrders(client);
    await client.query('COMMIT');
    return { seq, orders };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Every open order (status new or partially_filled) in the projection, in id order. For the
 * exchange service at start, after the projector's catchUp().
 */
export async function loadOpenOrders(pool: Pool): Promise<OrderState[]> {
  return (await loadProjectionState(pool)).orders;
}

async function readOpenOrders(client: PoolClient): Promise<OrderState[]> {
  const orders: OrderState[] = [];
  let after = 0;
  for (;;) {
    const { rows } = await client.query<OrderRow>(
      `SELECT ${orderColumns} FROM exchange_orders
        WHERE status IN ('new', 'partially_filled') AND order_id > $1
        ORDER BY order_id LIMIT $2`,
      [after, projectorLimits.loadPageOrdersMax],
    );
    for (const row of rows) orders.push(orderFromRow(row));
    if (rows.length < projectorLimits.loadPageOrdersMax) return orders;
    after = orders[orders.length - 1]!.orderId;
  }
}

/**
 * Writes the rows of `records` (consecutive, starting right after `fromSeq`) and moves the
 * checkpoint to the last one, in one transaction. The checkpoint row is locked and must still be at
 * `fromSeq`, else CheckpointMovedError (a second projector wrote meanwhile) and nothing is written.
 * Orders are upserted (never moved back in time); trades and executions are appended with COPY, so
 * a trade already in the tables fails the batch (unique violation) rather than being written twice.
 */
export async function writeBatch(
  pool: Pool,
  name: string,
  fromSeq: number,
  records: readonly ProjectedRecord[],
): Promise<number> {
  const toSeq = records[records.length - 1]?.seq ?? fromSeq;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ seq: bigint }>(
      'SELECT seq FROM exchange_projector_checkpoint WHERE name = $1 FOR UPDATE',
      [name],
    );
    const current = rows[0] ? Number(rows[0].seq) : null;
    if (current !== fromSeq) {
      throw new CheckpointMovedError(`checkpoint ${name} is at ${current}, expected ${fromSeq}`);
    }
    await upsertOrders(client, latestStates(records), requestKeys(records));
    await insertTrades(
      client,
      records.flatMap((record) => record.trades),
    );
    await insertExecutions(
      client,
      records.flatMap((record) => record.executions),
    );
    await client.query('UPDATE exchange_projector_checkpoint SET seq = $2 WHERE name = $1', [name, toSeq]);
    await client.query('COMMIT');
    return toSeq;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

// One row per order (its last state in the batch): an upsert may not touch a row twice.
function latestStates(records: readonly ProjectedRecord[]): OrderState[] {
  const latest = new Map<number, OrderState>();
  for (const record of records) for (const state of record.orders) latest.set(state.orderId, state);
  return [...latest.values()];
}

const epochMs = (column: string) => `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;

/** The request key of every new order in the batch that was sent with an Idempotency-Key. */
function requestKeys(records: readonly ProjectedRecord[]): Map<number, string> {
  const keys = new Map<number, string>();
  for (const { request } of records) if (request) keys.set(request.orderId, request.key);
  return keys;
}

async function upsertOrders(
  client: PoolClient,
  orders: readonly OrderState[],
  requestKeys: ReadonlyMap<number, string>,
): Promise<void> {
  if (orders.length === 0) return;
  const column = (pick: (order: OrderState) => ArrayElement) => pgArrayLiteral(orders.map(pick));
  // A request key comes with the order's first record only: a later state keeps the one stored.
  await client.query(
    `INSERT INTO exchange_orders (${orderColumns}, request_key)
     SELECT order_id, symbol, member, account, client_order_id, side, order_type, time_in_force, post_only,
            price_ticks, quantity_lots, filled_lots, remaining_lots, status, reject_reason, cancel_reason,
            ${epochMs('created_ms')}, ${epochMs('updated_ms')}, last_seq, request_key
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                   $8::text[], $9::boolean[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[],
                   $14::text[], $15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::bigint[],
                   $20::text[])
         AS t(order_id, symbol, member, account, client_order_id, side, order_type, time_in_force, post_only,
              price_ticks, quantity_lots, filled_lots, remaining_lots, status, reject_reason, cancel_reason,
              created_ms, updated_ms, last_seq, request_key)
     ON CONFLICT (order_id) DO UPDATE SET
       symbol = EXCLUDED.symbol, member = EXCLUDED.member, account = EXCLUDED.account,
       client_order_id = EXCLUDED.client_order_id, side = EXCLUDED.side, order_type = EXCLUDED.order_type,
       time_in_force = EXCLUDED.time_in_force, post_only = EXCLUDED.post_only,
       price_ticks = EXCLUDED.price_ticks, quantity_lots = EXCLUDED.quantity_lots,
       filled_lots = EXCLUDED.filled_lots, remaining_lots = EXCLUDED.remaining_lots,
       status = EXCLUDED.status, reject_reason = EXCLUDED.reject_reason,
       cancel_reason = EXCLUDED.cancel_reason, created_at = EXCLUDED.created_at,
       updated_at = EXCLUDED.updated_at, last_seq = EXCLUDED.last_seq,
       request_key = COALESCE(EXCLUDED.request_key, exchange_orders.request_key)
     WHERE exchange_orders.last_seq <= EXCLUDED.last_seq`,
    [
      column((o) => o.orderId),
      column((o) => o.symbol),
      column((o) => o.member),
      column((o) => o.account),
      column((o) => o.clientOrderId),
      column((o) => o.side),
      column((o) => o.orderType),
      column((o) => o.timeInForce),
      column((o) => o.postOnly),
      column((o) => o.priceTicks),
      column((o) => o.quantityLots),
      column((o) => o.filledLots),
      column((o) => o.remainingLots),
      column((o) => o.status),
      column((o) => o.rejectReason),
      column((o) => o.cancelReason),
      column((o) => o.createdAt),
      column((o) => o.updatedAt),
      column((o) => o.lastSeq),
      column((o) => requestKeys.get(o.orderId) ?? null),
    ],
  );
}

const isoTime = (ms: number) => new Date(ms).toISOString();

async function insertTrades(client: PoolClient, trades: readonly TradeRow[]): Promise<void> {
  if (trades.length === 0) return;
  await copyIn(
    client,
    'exchange_trades',
    [
      'trade_id',
      'seq',
      'symbol',
      'price_ticks',
      'quantity_lots',
      'maker_order_id',
      'taker_order_id',
      'maker_side',
      'time',
    ],
    copyText(
      trades.map((t) => [
        t.tradeId,
        t.seq,
        t.symbol,
        t.priceTicks,
        t.quantityLots,
        t.makerOrderId,
        t.takerOrderId,
        t.makerSide,
        isoTime(t.time),
      ]),
    ),
  );
}

async function insertExecutions(client: PoolClient, executions: readonly ExecutionRow[]): Promise<void> {
  if (executions.length === 0) return;
  await copyIn(
    client,
    'exchange_executions',
    [
      'id',
      'trade_id',
      'order_id',
      'member',
      'account',
      'symbol',
      'side',
      'price_ticks',
      'quantity_lots',
      'order_type',
      'liquidity',
      'seq',
      'fill',
      'time',
    ],
    copyText(
      executions.map((e) => [
        e.id,
        e.tradeId,
        e.orderId,
        e.member,
        e.account,
        e.symbol,
        e.side,
        e.priceTicks,
        e.quantityLots,
        e.orderType,
        e.liquidity,
        e.seq,
        e.fill,
        isoTime(e.time),
      ]),
    ),
  );
}
