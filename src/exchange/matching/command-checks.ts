import { fail } from './assert.ts';
import { matchingLimits } from './limits.ts';
import type {
  CancelCommand,
  ExpireDayOrdersCommand,
  NewOrderCommand,
  RejectReason,
  ReplaceCommand,
} from './types.ts';

/*
 * State-free checks both books run before touching the book. Bad field values are business
 * outcomes (named rejects), not exceptions: a journal replay must never crash on a command that the
 * gateway let through. Only a broken sequencer (seq not increasing) is an assertion.
 */

/** Asserts that the sequencer hands out strictly increasing safe-integer seqs. */
export function assertNextSeq(lastSeq: number, seq: number): void {
  if (!Number.isSafeInteger(seq) || seq <= lastSeq)
    fail(`seq ${seq} must be a safe integer above ${lastSeq}`);
}

/** True for an order id the engine can index: a non-negative safe integer. */
export function isValidOrderId(orderId: number): boolean {
  return Number.isSafeInteger(orderId) && orderId >= 0;
}

/** True for a quantity in lots the engine accepts. */
export function isValidQuantity(quantityLots: number): boolean {
  return (
    Number.isSafeInteger(quantityLots) && quantityLots > 0 && quantityLots <= matchingLimits.quantityLotsMax
  );
}

/** True for a price in ticks the engine accepts. */
export function isValidPrice(priceTicks: number): boolean {
  return Number.isSafeInteger(priceTicks) && Math.abs(priceTicks) <= matchingLimits.priceTicksMax;
}

/** The first reason a new-order command is malformed, or null. */
export function checkNewOrder(cmd: NewOrderCommand): RejectReason | null {
  assertEnums(cmd);
  if (!isValidOrderId(cmd.orderId)) return 'invalid_order_id';
  if (typeof cmd.account !== 'string' || cmd.account.length > matchingLimits.accountLengthMax) {
    return 'invalid_account';
  }
  if (!isValidQuantity(cmd.quantityLots)) return 'invalid_quantity';
  if (!hasValidPrice(cmd)) return 'invalid_price';
  if (cmd.postOnly === true && (cmd.orderType === 'market' || !canRest(cmd))) return 'invalid_post_only';
  return null;
}

/** The first reason a replace command is malformed, or null. */
export function checkReplace(cmd: ReplaceCommand): RejectReason | null {
  if (!isValidOrderId(cmd.orderId)) return 'invalid_order_id';
  if (cmd.quantityLots === undefined && cmd.priceTicks === undefined) return 'invalid_replace';
  if (cmd.quantityLots !== undefined && !isValidQuantity(cmd.quantityLots)) return 'invalid_quantity';
  if (cmd.priceTicks !== undefined && !isValidPrice(cmd.priceTicks)) return 'invalid_price';
  return null;
}

/** True when an order of this kind may rest after matching. */
export function canRest(cmd: NewOrderCommand): boolean {
  return cmd.orderType === 'limit' && (cmd.timeInForce === 'GTC' || cmd.timeInForce === 'DAY');
}

function hasValidPrice(cmd: NewOrderCommand): boolean {
  if (cmd.orderType === 'market') return cmd.priceTicks === undefined;
  return cmd.priceTicks !== undefined && isValidPrice(cmd.priceTicks);
}

/** A command field whose value must be one of its union type's strings. */
export type CommandEnumField = 'type' | 'side' | 'orderType' | 'timeInForce' | 'stp';

/** What `unknownEnumField` reads: a command's type and, for a new order, its enums (seq not needed). */
export type CommandEnums =
  | Pick<NewOrderCommand, 'type' | 'side' | 'orderType' | 'timeInForce' | 'stp'>
  | Pick<CancelCommand | ReplaceCommand | ExpireDayOrdersCommand, 'type'>;

/**
 * The first field of `cmd` whose value is outside its union type (an unknown command type, side,
 * order type, time in force or STP mode), or null. The sequencer refuses such a command before it
 * takes a seq; the books assert on it. Plain comparisons rather than Set lookups and no
 * allocation: this runs on every command in the hot path.
 */
export function unknownEnumField(cmd: CommandEnums): CommandEnumField | null {
  switch (cmd.type) {
    case 'new':
      return unknownNewOrderField(cmd);
    case 'cancel':
    case 'replace':
    case 'expire_day_orders':
      return null;
    default:
      return 'type';
  }
}

function unknownNewOrderField(cmd: Pick<NewOrderCommand, CommandEnumField>): CommandEnumField | null {
  const { side, orderType, timeInForce: tif, stp } = cmd;
  if (side !== 'buy' && side !== 'sell') return 'side';
  if (orderType !== 'limit' && orderType !== 'market') return 'orderType';
  if (tif !== 'GTC' && tif !== 'DAY' && tif !== 'IOC' && tif !== 'FOK') return 'timeInForce';
  if (
    stp !== undefined &&
    stp !== 'none' &&
    stp !== 'cancel_newest' &&
    stp !== 'cancel_oldest' &&
    stp !== 'cancel_both'
  ) {
    return 'stp';
  }
  return null;
}

// The union types make this unreachable from typed code, and the sequencer refuses such a command
// before journaling it: a wrong string here is a caller bug (or a journal from before that check).
function assertEnums(cmd: NewOrderCommand): void {
  const field = unknownNewOrderField(cmd);
  if (field !== null) fail(`unknown ${field} ${String(cmd[field])}`);
}
