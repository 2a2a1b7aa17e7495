import type { MarketInstrument } from '../../../src/exchange/market-data/views.ts';
import { type BookCommand, FastOrderBook } from '../../../src/exchange/matching/index.ts';
import type { SequencedResult, UnsequencedCommand } from '../../../src/exchange/sequencer/index.ts';

export const t0 = Date.UTC(2026, 0, 5, 9, 30);

/** A live engine book for one instrument and the results the sequencer would hand the hub. */
export function exchangeOf(instrument: MarketInstrument) {
  const book = new FastOrderBook();
  const { symbol } = instrument;
  let seq = 0;
  return {
    book,
    source: {
      instrument: (s: string) => (s === symbol ? instrument : undefined),
      instruments: () => [instrument],
      book: (s: string) => (s === symbol ? book : undefined),
      get lastSeq() {
        return seq;
      },
    },
    run(command: UnsequencedCommand, timeMs = t0 + seq * 1_000): SequencedResult {
      seq++;
      const sequenced = { ...command, seq } as BookCommand;
      return { seq, symbol, command: sequenced, events: book.apply(sequenced), meta: { time: timeMs } };
    },
  };
}

/**
 * Live engine books for several instruments: `run(symbol, command)` applies a command to that
 * symbol's book and returns the result the sequencer would hand the hub (one seq across symbols,
 * counting on from `lastSeq`).
 */
export function exchangesOf(instruments: readonly MarketInstrument[], lastSeq = 0) {
  const books = new Map(instruments.map((i) => [i.symbol, new FastOrderBook()]));
  const bySymbol = new Map(instruments.map((i) => [i.symbol, i]));
  let seq = lastSeq;
  return {
    books,
    source: {
      instrument: (s: string) => bySymbol.get(s),
      instruments: () => [...instruments],
      book: (s: string) => books.get(s),
      get lastSeq() {
        return seq;
      },
    },
    run(symbol: string, command: UnsequencedCommand, timeMs = t0 + seq * 1_000): SequencedResult {
      const book = books.get(symbol);
      if (!book) throw new Error(`no book for ${symbol}`);
      seq++;
      const sequenced = { ...command, seq } as BookCommand;
      return { seq, symbol, command: sequenced, events: book.apply(sequenced), meta: { time: timeMs } };
    },
  };
}

/**
 * Rests `perSide` buy and `perSide` sell limit orders in every book of `exchange` (ids 1, 2, … per
 * book), `ordersPerLevel` to a price, before a hub starts: the hub seeds its replicas from them.
 */
export function fillBooks(
  exchange: ReturnType<typeof exchangesOf>,
  perSide: number,
  ordersPerLevel = 100,
): void {
  for (const symbol of exchange.books.keys()) {
    let orderId = 0;
    for (const side of ['buy', 'sell'] as const) {
      for (let i = 0; i < perSide; i++) {
        const level = Math.floor(i / ordersPerLevel);
        const priceTicks = side === 'buy' ? 22_000 - level : 22_100 + level;
        orderId++;
        const { events } = exchange.run(symbol, {
          type: 'new',
          orderId,
          account: 'a',
          side,
          orderType: 'limit',
          priceTicks,
          quantityLots: 1 + (orderId % 500),
          timeInForce: 'GTC',
        });
        if (events[0]?.type !== 'accepted') throw new Error(`${symbol} order ${orderId}: ${events[0]?.type}`);
      }
    }
  }
}
