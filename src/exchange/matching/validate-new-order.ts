import { checkNewOrder } from './command-checks.ts';
import type { NewOrderCommand, RejectReason } from './types.ts';

/**
 * An instrument's trading rules, checked by the caller before an order reaches the book (the book
 * itself only knows ticks and lots). The price band is absolute; a caller with a dynamic band
 * (e.g. ±10% of the last trade) computes it before each check.
 */
export interface InstrumentRules {
  priceTicksMin: number;
  priceTicksMax: number;
  /** Prices must be a multiple of this many ticks (1: every tick). */
  priceIncrementTicks: number;
  quantityLotsMin: number;
  quantityLotsMax: number;
  /** Quantities must be a multiple of this many lots (1: every lot). */
  quantityIncrementLots: number;
  marketOrdersAllowed: boolean;
}

/** Why an order breaks its instrument's rules, in order of precedence. */
export type InstrumentRejectReason =
  | 'market_orders_not_allowed'
  | 'price_out_of_band'
  | 'price_off_increment'
  | 'quantity_below_min'
  | 'quantity_above_max'
  | 'quantity_off_increment';

/** The first reason a new order is malformed or breaks the instrument's rules, or null. */
export function validateNewOrder(
  rules: InstrumentRules,
  cmd: NewOrderCommand,
): RejectReason | InstrumentRejectReason | null {
  const malformed = checkNewOrder(cmd);
  if (malformed !== null) return malformed;
  if (cmd.orderType === 'market' && !rules.marketOrdersAllowed) return 'market_orders_not_allowed';
  if (cmd.priceTicks !== undefined) {
    if (cmd.priceTicks < rules.priceTicksMin || cmd.priceTicks > rules.priceTicksMax)
      return 'price_out_of_band';
    if (cmd.priceTicks % rules.priceIncrementTicks !== 0) return 'price_off_increment';
  }
  if (cmd.quantityLots < rules.quantityLotsMin) return 'quantity_below_min';
  if (cmd.quantityLots > rules.quantityLotsMax) return 'quantity_above_max';
  if (cmd.quantityLots % rules.quantityIncrementLots !== 0) return 'quantity_off_increment';
  return null;
}
