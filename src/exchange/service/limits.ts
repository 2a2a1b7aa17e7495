import { matchingLimits } from '../matching/index.ts';
import { sequencerLimits } from '../sequencer/index.ts';

/**
 * Named maxima of the exchange service and its order-entry API (TigerBeetle style: put a limit on
 * everything). Exceeding one is a named 400/422 problem, never unbounded growth.
 */
export const exchangeServiceLimits = {
  /** Longest `clientOrderId` a member may send. */
  clientOrderIdLengthMax: 64,
  /**
   * Longest sub-account. The engine's STP account is `member:account`: 64 + 1 + 32 stays well below
   * matchingLimits.accountLengthMax.
   */
  accountLengthMax: 32,
  /** Longest instrument name. */
  instrumentNameLengthMax: 100,
  /** Instruments the exchange lists: one book each. */
  instrumentsMax: sequencerLimits.booksMax,
  /** Decimal places a tick size, reference price or order price may have. */
  priceScaleMax: 8,
  /** Decimal places of a price band percentage ("2.5" is 2.5 %). */
  priceBandScaleMax: 4,
  /** Widest price band, in percent of the reference price. */
  priceBandPercentMax: 100,
  /** Largest lot size in shares. */
  lotSizeMax: 1_000_000,
  /**
   * Largest order in shares (1,125,899,906). A book rests at most matchingLimits.restingOrdersMax
   * orders, so with this every level's and side's total in shares (lots × lot size) is a safe
   * integer: L2, L3 and BBO quantities are exact JSON numbers for any lot size.
   */
  orderSharesMax: Math.floor(Number.MAX_SAFE_INTEGER / matchingLimits.restingOrdersMax),
  /** Largest price in ticks (the engine's limit). */
  priceTicksMax: matchingLimits.priceTicksMax,
  /** Largest order quantity in lots (the engine's limit). */
  quantityLotsMax: matchingLimits.quantityLotsMax,
  /**
   * Longest a cancel or replace of an order no longer in the book waits for the order projection
   * to hold it (to tell its owner 409 order_not_open rather than 404); then 503.
   */
  closedOrderLookupTimeoutMs: 2_000,
  /**
   * Orders sent with an Idempotency-Key that order entry remembers by key (OrderRequests); older ones
   * are looked up in the order projection.
   */
  requestKeysKeptMax: 100_000,
  /** Listeners that may follow the sequenced commands at once. */
  listenersMax: 64,
  /** Longest order id accepted in a path: a decimal seq (a safe integer has at most 16 digits). */
  orderIdLengthMax: 16,
  /** The longest a schedule timer sleeps before it looks at the clock again (setTimeout's limit). */
  scheduleTimerDelayMsMax: 2_147_483_647,
} as const;

/** A member's clientOrderId and sub-account: printable ASCII without spaces. */
export const clientOrderIdPattern = /^[\x21-\x7e]+$/;
export const accountPattern = /^[A-Za-z0-9._-]*$/;
