/**
 * Named maxima of the LOBSTER decoder and order-flow mapping (TigerBeetle style: put a limit on
 * everything). Exceeding one is a decode problem returned as a value, never unbounded growth.
 */
export const lobsterLimits = {
  /** Rows one message or order-book text may hold (a full trading day of a busy stock is ~1 M). */
  rowsMax: 10_000_000,
  /** Characters of one row; LOBSTER rows are ~40, level-10 order-book rows ~200. */
  rowLengthMax: 1_024,
  /** Digits after the decimal point of a LOBSTER time (nanoseconds). */
  timeFractionDigitsMax: 9,
} as const;
