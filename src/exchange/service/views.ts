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

/** What formatting a price needs of an instrument. */
export type PricedInstrument = Pick<InstrumentDefinition, 'symbol' | 'tickSize' | 'currency'>;

/**
 * A price in ticks as a decimal string: ticks × tickSize, shown with the tick's decimals and at
 * least the currency's ("100.00" in USD, "2800" in JPY).
 */
export function priceFromTicks(instrument: PricedInstrument, ticks: number): string {
  return formatPrice(priceFormatOf(instrument), ticks);
}

/** priceFromTicks for one instrument, its format worked out once (market data's hot path). */
export function pricer(instrument: PricedInstrument): (ticks: number) => string {
  const format = priceFormatOf(instrument);
  return (ticks) => formatPrice(format, ticks);
}

function formatPrice({ tickUnits, unitsPerTick, scale }: PriceFormat, ticks: number): string {
  const units = ticks * unitsPerTick;
  // Exact in Number arithmetic while the product is a safe integer (every realistic price).
  if (Number.isSafeInteger(units) && units >= 0) {
    const digits = String(units).padStart(scale + 1, '0');
    return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return formatDecimal((tickUnits * BigInt(ticks)) / 10n ** BigInt(priceScaleMax - scale), scale);
}

interface PriceFormat {
  /** One tick in units of 10^-priceScaleMax. */
  tickUnits: bigint;
  /** One tick in units of 10^-scale (an integer: scale is at least the tick's decimals). */
  unitsPerTick: number;
  scale: number;
}

/** By `tickSize currency`: the formats of the listed instruments' prices, worked out once each. */
const priceFormats = new Map<string, PriceFormat>();

function priceFormatOf(instrument: PricedInstrument): PriceFormat {
  const key = `${instrument.tickSize} ${instrument.currency}`;
  let format = priceFormats.get(key);
  if (format) return format;
  const tick = parseDecimal(instrument.tickSize, { scale: priceScaleMax, allowZero: false });
  if (!tick.ok) throw new RangeError(`instrument ${instrument.symbol} has a bad tick size`);
  const scale = Math.max(
    decimalsOf(instrument.tickSize),
    isCurrencyCode(instrument.currency) ? currencyScale(instrument.currency) : 0,
  );
  format = {
    tickUnits: tick.value,
    unitsPerTick: Number(tick.value / 10n ** BigInt(priceScaleMax - scale)),
    scale,
  };
  priceFormats.set(key, format);
  return format;
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
    creationTime: isoTime(state.createdAt),
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
    updateTime: isoTime(state.updatedAt),
  };
}

let lastIsoMs = Number.NaN;
let lastIso = '';

/** An epoch-milliseconds time as ISO 8601; orders in one millisecond share the last answer. */
function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/** Decimal places written in a canonical decimal string ("0.01" → 2, "1" → 0). */
function decimalsOf(text: string): number {
  const point = text.indexOf('.');
  return point < 0 ? 0 : text.length - point - 1;
}
