import type { BookLimits } from './types.ts';

/**
 * Named maxima of the matching engine (TigerBeetle style: put a limit on everything). Spelled
 * camelCase `…Max` like src/platform/limits.ts. Exceeding one is a named reject, never unbounded growth.
 */
export const matchingLimits = {
  /** Orders resting in one book; a new order that could rest beyond this is rejected 'book_full'. */
  restingOrdersMax: 8_000_000,
  /**
   * Order ids one book remembers in a session (resting + filled/cancelled), for duplicate detection
   * and 'order_not_resting'; new orders beyond it are rejected 'session_order_ids_exhausted'.
   * Session close (expire_day_orders) forgets the ids that are no longer resting.
   */
  sessionOrderIdsMax: 16_000_000,
  /**
   * Largest quantity of one order. restingOrdersMax × this stays below 2^53, so level and book totals
   * are exact integers in a JS number, and it fits the fast book's int32 quantity field.
   */
  quantityLotsMax: 1_000_000_000,
  /** Largest absolute price in ticks (negative prices are allowed, e.g. spreads). */
  priceTicksMax: 1_000_000_000_000,
  /** Longest account id used for self-trade prevention. */
  accountLengthMax: 128,
  /** Deepest L2 view one call returns per side. */
  l2DepthMax: 10_000,
  /** Orders one L3 view returns per side; snapshot() is the way to read everything. */
  l3OrdersMax: 1_000_000,
  /** Ids the fast book's dense id window covers at most (an Int32Array: 64 MB at this size). */
  orderIdWindowMax: 1 << 24,
  /** Window slots per id held, at most: the dense id window is only used while ids are this dense. */
  orderIdWindowSlotsPerIdMax: 8,
  /** Emptied price-ladder chunks (4 KB each) kept per side for reuse instead of being reallocated. */
  ladderEmptyChunksMax: 256,
} as const;

/** The capacity limits a book uses unless told otherwise. */
export function bookLimits(overrides: Partial<BookLimits> = {}): BookLimits {
  return {
    restingOrdersMax: overrides.restingOrdersMax ?? matchingLimits.restingOrdersMax,
    sessionOrderIdsMax: overrides.sessionOrderIdsMax ?? matchingLimits.sessionOrderIdsMax,
  };
}
