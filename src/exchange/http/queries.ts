import { Readable } from 'node:stream';
import { type FastifyPluginAsyncTypebox, type Static, Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MemberPrincipal } from '../../identity/domain/types.ts';
import { AppError, assert, invalidField, registerErrors } from '../../platform/errors.ts';
import { problemResponses } from '../../platform/http/app.ts';
import { compareInstants, instantMsRange, instantRoundedUp } from '../../platform/http/validation.ts';
import type { Pool } from '../../platform/sql/pool.ts';
import { openStatuses } from '../orders/order-state.ts';
import { queryLimits } from '../projector/limits.ts';
import {
  type ExecutionFilter,
  type ExecutionKey,
  executionExportEnd,
  findOrder,
  listExecutions,
  listOrders,
} from '../projector/read-model.ts';
import type { ExecutionRow } from '../projector/rows.ts';
import { exchangeErrors } from '../service/errors.ts';
import type { InstrumentDefinition } from '../service/instruments.ts';
import { orderView, priceFromTicks, quantityFromLots } from '../service/views.ts';
import { Order, orderStatusLiterals } from './schemas.ts';

/** A listed instrument (ExchangeService.instrument): its tick and lot size convert the projection. */
export type QueryInstrument = InstrumentDefinition;

/** What the projector offers the queries: its checkpoint and a bounded wait for it. */
export interface ProjectionProgress {
  readonly appliedSeq: number;
  waitFor(seq: number, timeoutMs: number): Promise<boolean>;
}

export interface ExchangeQueryDeps {
  pool: Pool;
  /** The listed instrument of a symbol (ExchangeService.instrument). */
  instrument: (symbol: string) => QueryInstrument | undefined;
  /** Seq of the exchange's last acknowledged command (ExchangeService.lastSeq). */
  lastSeq: () => number;
  projector: ProjectionProgress;
  /** Longest a query waits for the projection to reach lastSeq(). Default queryLimits.readYourWritesTimeoutMs. */
  readYourWritesTimeoutMs?: number;
}

/** Header set when a query answered before the projection reached the last acknowledged command. */
export const projectionLagHeader = 'x-kinyu-projection-lag';
/** Header of a CSV export that stopped at csvRowsMax: pass it as `cursor` for the next part. */
export const nextCursorHeader = 'x-kinyu-next-cursor';

const tags = ['exchange'];

const symbol = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 32 });
const orderId = Type.String({
  pattern: '^[1-9][0-9]{0,15}$',
  description: 'Order id: the decimal seq of the order',
});
const cursor = Type.String({
  minLength: 1,
  maxLength: queryLimits.cursorLengthMax,
  description: 'Opaque; from nextCursor',
});
const side = Type.Union([Type.Literal('buy'), Type.Literal('sell')]);
const orderType = Type.Union([Type.Literal('limit'), Type.Literal('market')]);
const timestamp = Type.String({ format: 'date-time' });

export const ExecutionViewSchema = Type.Object({
  id: Type.String({ description: "'<tradeId>-M' (maker side) or '<tradeId>-T' (taker side)" }),
  tradeId: Type.String({ description: "'<seq>-<n>': the n-th trade of the command with this seq" }),
  orderId: Type.String(),
  symbol: Type.String(),
  side,
  price: Type.String(),
  quantity: Type.Integer(),
  orderType,
  liquidity: Type.Union([Type.Literal('maker'), Type.Literal('taker')]),
  sequence: Type.Integer(),
  time: timestamp,
});
export type ExecutionView = Static<typeof ExecutionViewSchema>;

const OrderListQuery = Type.Object(
  {
    symbol: Type.Optional(symbol),
    status: Type.Optional(
      Type.Union([...orderStatusLiterals, Type.Literal('open')], {
        description: "One status, or 'open' for new and partially_filled",
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: queryLimits.pageSizeMax })),
    cursor: Type.Optional(cursor),
  },
  { additionalProperties: false },
);

const executionFilters = {
  symbol: Type.Optional(symbol),
  orderId: Type.Optional(orderId),
  startTime: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive' })),
  endTime: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
  cursor: Type.Optional(cursor),
};
const ExecutionQuery = Type.Object(
  {
    ...executionFilters,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: queryLimits.pageSizeMax })),
  },
  { additionalProperties: false },
);
const ExecutionCsvQuery = Type.Object(
  {
    ...executionFilters,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: queryLimits.csvRowsMax })),
  },
  { additionalProperties: false },
);

/**
 * The exchange's read routes for members (access `exchange:trade`), answered from the projection
 * in PostgreSQL: one order, a member's orders, its executions, and the executions as CSV. A member
 * sees only its own orders and executions; someone else's order id answers 404 like a missing one.
 */
export function exchangeQueryRoutes(deps: ExchangeQueryDeps): FastifyPluginAsyncTypebox {
  registerErrors({ order_not_found: exchangeErrors.order_not_found });
  return async (app) => {
    app.get(
      '/v1/order/:id',
      {
        config: { access: 'exchange:trade' },
        schema: {
          tags,
          summary: 'One of your orders, after its latest fills',
          params: Type.Object({ id: orderId }),
          response: { 200: Order, ...problemResponses },
        },
      },
      async (request, reply) => {
        await readYourWrites(deps, reply);
        const order = await findOrder(deps.pool, memberOf(request), request.params.id);
        if (!order) throw new AppError('order_not_found', `You have no order ${request.params.id}`);
        return orderView(instrumentOf(deps, order.symbol), order);
      },
    );

    app.get(
      '/v1/orders',
      {
        config: { access: 'exchange:trade' },
        schema: {
          tags,
          summary: 'Your orders in id order, by symbol and status',
          querystring: OrderListQuery,
          response: {
            200: Type.Object({
              orders: Type.Array(Order),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        const { status, limit = queryLimits.pageSizeDefault } = request.query;
        const after = request.query.cursor === undefined ? 0 : decodeOrderCursor(request.query.cursor);
        await readYourWrites(deps, reply);
        const statuses = status === undefined ? undefined : status === 'open' ? openStatuses : [status];
        const rows = await listOrders(
          deps.pool,
          { member: memberOf(request), symbol: request.query.symbol, statuses },
          after,
          limit + 1,
        );
        const page = rows.slice(0, limit);
        return {
          orders: page.map((order) => orderView(instrumentOf(deps, order.symbol), order)),
          nextCursor: rows.length > limit ? encodeCursor({ o: page[page.length - 1]!.orderId }) : null,
        };
      },
    );

    app.get(
      '/v1/execution',
      {
        config: { access: 'exchange:trade' },
        schema: {
          tags,
          summary: 'Your executions (one per side of each trade you were in), in sequence order',
          querystring: ExecutionQuery,
          response: {
            200: Type.Object({
              executions: Type.Array(ExecutionViewSchema),
              nextCursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        const { limit = queryLimits.pageSizeDefault } = request.query;
        const filter = executionFilter(memberOf(request), request.query);
        const after = request.query.cursor === undefined ? null : decodeExecutionCursor(request.query.cursor);
        await readYourWrites(deps, reply);
        const rows = await listExecutions(deps.pool, filter, after, limit + 1);
        const page = rows.slice(0, limit);
        const last = page[page.length - 1];
        return {
          executions: page.map((row) => executionView(instrumentOf(deps, row.symbol), row)),
          nextCursor: rows.length > limit && last ? encodeExecutionCursor(last) : null,
        };
      },
    );

    app.get(
      '/v1/execution.csv',
      {
        config: { access: 'exchange:trade' },
        schema: {
          tags,
          summary: `Your executions as CSV (RFC 4180), at most ${queryLimits.csvRowsMax} rows per request`,
          description: `Same filters as GET /v1/execution. When rows remain, the ${nextCursorHeader} header holds the cursor for the next part.`,
          querystring: ExecutionCsvQuery,
          response: {
            200: Type.Unsafe<Readable>({
              type: 'string',
              description: 'text/csv: a header row, then one row per execution',
            }),
            ...problemResponses,
          },
        },
      },
      async (request, reply) => {
        const { limit = queryLimits.csvRowsMax } = request.query;
        const filter = executionFilter(memberOf(request), request.query);
        const after = request.query.cursor === undefined ? null : decodeExecutionCursor(request.query.cursor);
        await readYourWrites(deps, reply);
        const { through, more } = await executionExportEnd(deps.pool, filter, after, limit);
        if (through && more) reply.header(nextCursorHeader, encodeExecutionCursor(through));
        reply.type('text/csv; charset=utf-8');
        reply.header('content-disposition', 'attachment; filename="executions.csv"');
        return reply.send(Readable.from(csvLines(deps, filter, after, through, limit)));
      },
    );
  };
}

/** The CSV columns, in order; the header row names them. */
export const executionCsvColumns = [
  'id',
  'tradeId',
  'orderId',
  'symbol',
  'side',
  'price',
  'quantity',
  'orderType',
  'liquidity',
  'sequence',
  'time',
] as const satisfies readonly (keyof ExecutionView)[];

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record with its CRLF line break. */
export function csvRecord(values: readonly (string | number)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

async function* csvLines(
  deps: ExchangeQueryDeps,
  filter: ExecutionFilter,
  after: ExecutionKey | null,
  through: ExecutionKey | null,
  rowsMax: number,
): AsyncGenerator<string> {
  yield csvRecord(executionCsvColumns);
  if (through === null) return;
  let position = after;
  let sent = 0;
  while (sent < rowsMax) {
    const chunk = Math.min(queryLimits.csvChunkRows, rowsMax - sent);
    const rows = await listExecutions(deps.pool, filter, position, chunk, through);
    if (rows.length === 0) return;
    let text = '';
    for (const row of rows) {
      const view = executionView(instrumentOf(deps, row.symbol), row);
      text += csvRecord(executionCsvColumns.map((column) => view[column]));
    }
    yield text;
    sent += rows.length;
    position = rows[rows.length - 1]!;
    if (rows.length < chunk) return;
  }
}

/**
 * Read-your-writes: waits (bounded) until the projection holds every command the exchange has
 * acknowledged so far, so an order just placed is found. If it does not get there in time, the
 * query answers from what is there and says how far behind it is.
 */
async function readYourWrites(deps: ExchangeQueryDeps, reply: FastifyReply): Promise<void> {
  const target = deps.lastSeq();
  if (deps.projector.appliedSeq >= target) return;
  const timeoutMs = deps.readYourWritesTimeoutMs ?? queryLimits.readYourWritesTimeoutMs;
  if (await deps.projector.waitFor(target, timeoutMs)) return;
  reply.header(projectionLagHeader, String(Math.max(0, target - deps.projector.appliedSeq)));
}

function memberOf(request: FastifyRequest): string {
  const { principal } = request;
  assert(principal?.kind === 'member', 'route declared exchange:trade but the principal is not a member');
  return (principal as MemberPrincipal).memberId;
}

function instrumentOf(deps: ExchangeQueryDeps, symbolName: string): QueryInstrument {
  const instrument = deps.instrument(symbolName);
  // Orders exist only for listed instruments, and instruments are never removed.
  assert(instrument, `no instrument for projected symbol ${symbolName}`);
  return instrument;
}

function executionFilter(
  member: string,
  query: {
    symbol?: string | undefined;
    orderId?: string | undefined;
    startTime?: string | undefined;
    endTime?: string | undefined;
  },
): ExecutionFilter {
  if (query.startTime && query.endTime && compareInstants(query.endTime, query.startTime) < 0) {
    throw invalidField('endTime', 'must not be before startTime');
  }
  const startTime = query.startTime === undefined ? undefined : instantRoundedUp(query.startTime);
  const endTime = query.endTime === undefined ? undefined : instantRoundedUp(query.endTime);
  return { member, symbol: query.symbol, orderId: query.orderId, startTime, endTime };
}

/** One execution as members see it. */
export function executionView(instrument: QueryInstrument, row: ExecutionRow): ExecutionView {
  return {
    id: row.id,
    tradeId: row.tradeId,
    orderId: String(row.orderId),
    symbol: row.symbol,
    side: row.side,
    price: priceFromTicks(instrument, row.priceTicks),
    quantity: quantityFromLots(instrument, row.quantityLots),
    orderType: row.orderType,
    liquidity: row.liquidity,
    sequence: row.seq,
    time: new Date(row.time).toISOString(),
  };
}

// Cursors are opaque to clients: base64url JSON of the last key of the page.
function encodeCursor(key: { o: number } | { t: number; s: number; f: number }): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(text: string): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

function decodeOrderCursor(text: string): number {
  const key = decodeCursor(text) as { o?: unknown } | null;
  if (key && Number.isSafeInteger(key.o) && (key.o as number) > 0) return key.o as number;
  throw invalidField('querystring.cursor', 'is not a cursor from GET /v1/orders');
}

const encodeExecutionCursor = (key: ExecutionKey) => encodeCursor({ t: key.time, s: key.seq, f: key.fill });

function decodeExecutionCursor(text: string): ExecutionKey {
  const key = decodeCursor(text) as { t?: unknown; s?: unknown; f?: unknown } | null;
  const whole = (value: unknown, min: number, max: number): value is number =>
    Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
  if (
    key &&
    whole(key.t, instantMsRange.first, instantMsRange.last) &&
    whole(key.s, 1, Number.MAX_SAFE_INTEGER) &&
    whole(key.f, 1, 2 ** 31 - 1)
  ) {
    return { time: key.t, seq: key.s, fill: key.f };
  }
  throw invalidField('querystring.cursor', 'is not a cursor from GET /v1/execution');
}
