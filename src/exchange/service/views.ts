import { currencyScale, formatDecimal, isCurrencyCode, parseDecimal } from '../../platform/money.ts';
import type { CancelReason, OrderType, Side } from '../matching/index.ts';
import type { OrderState, OrderStatus } from '../orders/order-state.ts';
import type { InstrumentDefinition } from './instruments.ts';
import { exchangeServiceLimits } from './limits.ts';
import type { SessionState } from './sessions.ts';

/** A listed instrument as the API shows it, with its effective session state. */
export interface Instrument extends InstrumentDefinition {
  /** Market-wide and instrument state combined: what an order for it meets now. */
  status: SessionState;
}

/** One order as members see it: decimal prices, whole shares, ISO times. */
export interface OrderView {
  /** The seq of the command that created it, as a decimal string. */
  id: string;
  clientOrderId: string | null;
  creationTime: string;
  symbol: string;
  side: Side;
  orderType: OrderType;
  /** Current limit price; null for market orders. */
  price: string | null;
  /** Filled plus open quantity, in shares. */
  quantity: number;
  filledQuantity: number;
  remainingQuantity: number;
  status: OrderStatus;
  /** Why the exchange rejected it (or cancelled a market order that met an empty book). */
  rejectReason?: string;
  /**
   * Why a cancelled order was cancelled: `user` (a cancel request), `ioc_remainder`,
   * `market_remainder` (what an IOC or market order could not fill), or `stp` (self-trade prevention).
   */
  cancelReason?: CancelReason;
  timeInForce: string;
  postOnly: boolean;
  /** The member's sub-account ('' when none was sent). */
  account: string;
  updateTime: string;
}

const { priceScaleMax } = exchangeServiceLimits;

/**
 * A price in ticks as a decimal string: ticks × tickSize, shown with the tick's decimals and at
 * least the currency's ("100.00" in USD, "2800" in JPY).
 */
export function priceFromTicks(instrument: InstrumentDefinition, ticks: number): string {
  const tick = parseDecimal(instrument.tickSize, { scale: priceScaleMax, allowZero: false });
  if (!tick.ok) throw new RangeError(`instrument ${instrument.symbol} has a bad tick size`);
  const tickScale = decimalsOf(instrument.tickSize);
  const scale = Math.max(
    tickScale,
    isCurrencyCode(instrument.currency) ? currencyScale(instrument.currency) : 0,
  );
  return formatDecimal((tick.value * BigInt(ticks)) / 10n ** BigInt(priceScaleMax - scale), scale);
}

/** A quantity in lots as whole shares. */
export function quantityFromLots(instrument: InstrumentDefinition, lots: number): number {
  return lots * instrument.lotSize;
}

/** The member's view of an order state (shared by the service and the order queries). */
export function orderView(instrument: InstrumentDefinition, state: OrderState): OrderView {
  return {
    id: String(state.orderId),
    clientOrderId: state.clientOrderId,
    creationTime: new Date(state.createdAt).toISOString(),
    symbol: state.symbol,
    side: state.side,
    orderType: state.orderType,
    price: state.priceTicks === null ? null : priceFromTicks(instrument, state.priceTicks),
    quantity: quantityFromLots(instrument, state.quantityLots),
    filledQuantity: quantityFromLots(instrument, state.filledLots),
    remainingQuantity: quantityFromLots(instrument, state.remainingLots),
    status: state.status,
    ...(state.rejectReason === null ? {} : { rejectReason: state.rejectReason }),
    ...(state.cancelReason === null ? {} : { cancelReason: state.cancelReason }),
    timeInForce: state.timeInForce,
    postOnly: state.postOnly,
    account: state.account,
    updateTime: new Date(state.updatedAt).toISOString(),
  };
}

/** Decimal places written in a canonical decimal string ("0.01" → 2, "1" → 0). */
function decimalsOf(text: string): number {
  const point = text.indexOf('.');
  return point < 0 ? 0 : text.length - point - 1;
}
