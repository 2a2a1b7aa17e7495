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
