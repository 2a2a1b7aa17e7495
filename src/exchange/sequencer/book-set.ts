import { createHash } from 'node:crypto';
import {
  type BookCommand,
  type BookEvent,
  type BookLimits,
  type BookSnapshot,
  FastOrderBook,
  type OrderBook,
  type StoredBookSnapshot,
} from '../matching/index.ts';
import { sequencerLimits, symbolPattern } from './limits.ts';

/** Why a symbol is not acceptable, or null. */
export function symbolProblem(symbol: string): string | null {
  if (symbol.length === 0 || symbol.length > sequencerLimits.symbolLengthMax) {
    return `symbol must be 1..${sequencerLimits.symbolLengthMax} characters`;
  }
  if (!symbolPattern.test(symbol))
    return `symbol ${JSON.stringify(symbol)} has characters outside [A-Za-z0-9._-]`;
  return null;
}

/**
 * One FastOrderBook per symbol, created on first use. The shell around the pure engine shared by the
 * sequencer, recovery, verify and the standby, so they all apply commands the same way.
 */
export class BookSet {
  private readonly books = new Map<string, OrderBook>();

  constructor(private readonly limits: Partial<BookLimits> = {}) {}

  /** Restores every book of a snapshot. */
  static restore(books: Record<string, StoredBookSnapshot>, limits: Partial<BookLimits> = {}): BookSet {
    const set = new BookSet(limits);
    for (const [symbol, snapshot] of Object.entries(books)) {
      set.books.set(symbol, FastOrderBook.restore(snapshot, limits));
    }
    return set;
  }

  get size(): number {
    return this.books.size;
  }

  book(symbol: string): OrderBook | undefined {
    return this.books.get(symbol);
  }

  symbols(): string[] {
    return [...this.books.keys()].sort();
  }

  /** True when `symbol` has a book or one more book may be created. */
  canApply(symbol: string): boolean {
    return this.books.has(symbol) || this.books.size < sequencerLimits.booksMax;
  }

  apply(symbol: string, command: BookCommand): BookEvent[] {
    return this.bookFor(symbol).apply(command);
  }

  snapshot(): Record<string, BookSnapshot> {
    const out: Record<string, BookSnapshot> = {};
    for (const symbol of this.symbols()) out[symbol] = this.books.get(symbol)!.snapshot();
    return out;
  }

  /** SHA-256 (hex) over `symbol NUL bookHash LF` for every book, symbols sorted. */
  stateHash(): string {
    const hash = createHash('sha256');
    hash.update('kinyu-exchange-books-v1\n');
    for (const symbol of this.symbols()) hash.update(`${symbol}\0${this.books.get(symbol)!.stateHash()}\n`);
    return hash.digest('hex');
  }

  private bookFor(symbol: string): OrderBook {
    let book = this.books.get(symbol);
    if (!book) {
      const problem = symbolProblem(symbol);
      if (problem) throw new RangeError(problem);
      if (this.books.size >= sequencerLimits.booksMax) throw new RangeError('booksMax books already exist');
      book = new FastOrderBook(this.limits);
      this.books.set(symbol, book);
    }
    return book;
  }
}
