/*
 * Public API of the pure matching engine. The sequencer owns a book per symbol, feeds it sequenced
 * commands with `apply`/`applyTo`, journals the events, and uses snapshot()/restore() + stateHash()
 * for recovery and standby checks. Market data reads l1/l2/l3.
 */
export { InvariantError } from './assert.ts';
export { unknownEnumField } from './command-checks.ts';
export { EventCollector, emitEvent } from './event-collector.ts';
export { FastOrderBook } from './fast-book.ts';
export { bookLimits, matchingLimits } from './limits.ts';
export { ReferenceOrderBook } from './reference-book.ts';
export { hashSnapshot } from './snapshot.ts';
export type * from './types.ts';
export type { InstrumentRejectReason, InstrumentRules } from './validate-new-order.ts';
export { validateNewOrder } from './validate-new-order.ts';

import { FastOrderBook } from './fast-book.ts';
import { ReferenceOrderBook } from './reference-book.ts';
import type { OrderBookFactory } from './types.ts';

/** Factory for the production book. */
export const fastOrderBooks: OrderBookFactory = {
  name: 'FastOrderBook',
  create: (limits) => new FastOrderBook(limits),
  restore: (snapshot, limits) => FastOrderBook.restore(snapshot, limits),
};

/** Factory for the reference book (tests, cross-checks). */
export const referenceOrderBooks: OrderBookFactory = {
  name: 'ReferenceOrderBook',
  create: (limits) => new ReferenceOrderBook(limits),
  restore: (snapshot, limits) => ReferenceOrderBook.restore(snapshot, limits),
};
