import { lobsterLimits } from './limits.ts';

/*
 * Decoder of LOBSTER sample files (lobsterdata.com; ../shared/data/lobster/README.md). Pure: text
 * in, rows or a named problem out. A message row is
 *   time (seconds after midnight, up to 9 decimals), event type, order id, size, price, direction
 * with the price in dollars × 10,000 and direction 1 = buy, −1 = sell. An order-book row (level n)
 * is n × (ask price, ask size, bid price, bid size); an empty side has size 0 and a dummy price.
 */

/** LOBSTER event types, as numbered in the files. */
export const lobsterEventTypes = {
  submit: 1,
  partialCancel: 2,
  delete: 3,
  visibleExecution: 4,
  hiddenExecution: 5,
  cross: 6,
  halt: 7,
} as const;

export type LobsterEventType = (typeof lobsterEventTypes)[keyof typeof lobsterEventTypes];

export interface LobsterMessage {
  /** Nanoseconds after midnight (an integer: parsed from the decimal text without floats). */
  timeNs: number;
  type: LobsterEventType;
  /** 0 for hidden executions; the exchange's order reference otherwise. */
  orderId: number;
  /** Shares. */
  size: number;
  /** Dollars × 10,000 (for halts: −1 halt, 0 quoting resumes, 1 trading resumes). */
  price: number;
  /** 1 buy, −1 sell: the side of the order the message is about (the resting side for executions). */
  direction: 1 | -1;
}

/** One price level of an order-book row; null when that side is empty. */
export interface LobsterLevel {
  price: number;
  size: number;
}

/** The best ask and bid of an order-book row (level 1 of it), after its message. */
export interface LobsterTopOfBook {
  ask: LobsterLevel | null;
  bid: LobsterLevel | null;
}

export type LobsterDecodeResult<T> = { ok: true; rows: T[] } | { ok: false; line: number; problem: string };

const integerPattern = /^-?\d+$/;
const timePattern = /^(\d+)(?:\.(\d+))?$/;
const nanosPerSecond = 1_000_000_000;

/** Parses a LOBSTER time (`34200.017459617`) into integer nanoseconds, or null. */
export function parseLobsterTime(text: string): number | null {
  const match = timePattern.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > lobsterLimits.timeFractionDigitsMax) return null;
  const ns = Number(match[1]) * nanosPerSecond + Number(fraction.padEnd(9, '0'));
  return Number.isSafeInteger(ns) ? ns : null;
}

function parseInteger(text: string): number | null {
  if (!integerPattern.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/** The rows of `text`: split on LF (a CR before it is dropped), a trailing empty line ignored. */
function splitRows(text: string): string[] | null {
  const rows = text.split('\n');
  if (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  if (rows.length > lobsterLimits.rowsMax) return null;
  return rows.map((r) => (r.endsWith('\r') ? r.slice(0, -1) : r));
}

/** Why one message row is invalid, or the message. */
export function decodeLobsterMessage(row: string): LobsterMessage | string {
  if (row.length > lobsterLimits.rowLengthMax)
    return `row longer than ${lobsterLimits.rowLengthMax} characters`;
  const fields = row.split(',');
  if (fields.length !== 6) return `expected 6 fields, got ${fields.length}`;
  const timeNs = parseLobsterTime(fields[0]!);
  if (timeNs === null) return `time ${JSON.stringify(fields[0])} is not seconds with ≤ 9 decimals`;
  const [type, orderId, size, price, direction] = fields.slice(1).map(parseInteger);
  if (type === null || type === undefined || type < 1 || type > 7)
    return `event type ${fields[1]} is not 1..7`;
  if (orderId === null || orderId === undefined) return `order id ${fields[2]} is not an integer`;
  if (size === null || size === undefined || size < 0)
    return `size ${fields[3]} is not a non-negative integer`;
  if (price === null || price === undefined) return `price ${fields[4]} is not an integer`;
  if (direction !== 1 && direction !== -1) return `direction ${fields[5]} is not 1 or -1`;
  if (type <= lobsterEventTypes.visibleExecution) {
    // Book events are about one real order: a positive id, size and price.
    if (orderId <= 0) return `order id ${orderId} must be positive for event type ${type}`;
    if (size <= 0) return `size must be positive for event type ${type}`;
    if (price <= 0) return `price must be positive for event type ${type}`;
  }
  return { timeNs, type: type as LobsterEventType, orderId, size, price, direction };
}

/** Decodes a whole message file; the first bad row is returned as a problem with its 1-based line. */
export function decodeLobsterMessages(text: string): LobsterDecodeResult<LobsterMessage> {
  const rows = splitRows(text);
  if (rows === null) return { ok: false, line: lobsterLimits.rowsMax + 1, problem: 'too many rows' };
  const messages: LobsterMessage[] = [];
  for (const [i, row] of rows.entries()) {
    const decoded = decodeLobsterMessage(row);
    if (typeof decoded === 'string') return { ok: false, line: i + 1, problem: decoded };
    messages.push(decoded);
  }
  return { ok: true, rows: messages };
}

/** The level-1 part (first four fields) of one order-book row. */
export function decodeLobsterTopOfBook(row: string): LobsterTopOfBook | string {
  if (row.length > lobsterLimits.rowLengthMax)
    return `row longer than ${lobsterLimits.rowLengthMax} characters`;
  const fields = row.split(',');
  if (fields.length < 4 || fields.length % 4 !== 0)
    return `expected a multiple of 4 fields, got ${fields.length}`;
  const [askPrice, askSize, bidPrice, bidSize] = fields.slice(0, 4).map(parseInteger);
  if (askPrice == null || askSize == null || bidPrice == null || bidSize == null) {
    return 'level-1 fields are not integers';
  }
  if (askSize < 0 || bidSize < 0) return 'sizes must not be negative';
  return {
    ask: askSize === 0 ? null : { price: askPrice, size: askSize },
    bid: bidSize === 0 ? null : { price: bidPrice, size: bidSize },
  };
}

/** Decodes the level-1 part of every row of an order-book file. */
export function decodeLobsterOrderBook(text: string): LobsterDecodeResult<LobsterTopOfBook> {
  const rows = splitRows(text);
  if (rows === null) return { ok: false, line: lobsterLimits.rowsMax + 1, problem: 'too many rows' };
  const tops: LobsterTopOfBook[] = [];
  for (const [i, row] of rows.entries()) {
    const decoded = decodeLobsterTopOfBook(row);
    if (typeof decoded === 'string') return { ok: false, line: i + 1, problem: decoded };
    tops.push(decoded);
  }
  return { ok: true, rows: tops };
}
