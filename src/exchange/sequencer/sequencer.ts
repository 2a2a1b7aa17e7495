import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BookCommand,
  type BookEvent,
  type BookLimits,
  InvariantError,
  type NewOrderCommand,
  type OrderBook,
  unknownEnumField,
} from '../matching/index.ts';
import { symbolProblem } from './book-set.ts';
import { type Durability, JournalWriter } from './journal.ts';
import type { CommandMeta } from './journal-format.ts';
import { journalFileName, type RecoveredState, recoverState, truncateJournal } from './recovery.ts';
import { removeTempSnapshots, writeSnapshot } from './snapshot-store.ts';

/**
 * A book command before the sequencer gives it its seq. A new order without `orderId` gets its
 * seq as its id: unique across symbols and restarts, with no second counter to recover.
 */
export type UnsequencedCommand = BookCommand extends infer C
  ? C extends NewOrderCommand
    ? Omit<C, 'seq' | 'orderId'> & { orderId?: number }
    : C extends BookCommand
      ? Omit<C, 'seq'>
      : never
  : never;

/**
 * The command with its seq (and a new order's default id): a fresh object with exactly the fields
 * of its type, built per type. A spread (`{...command, seq}`) over the differently-shaped commands
 * goes megamorphic and costs about a microsecond each — as much as the rest of `submit`.
 */
function sequenceCommand(command: UnsequencedCommand, seq: number): BookCommand {
  switch (command.type) {
    case 'new':
      return {
        type: 'new',
        seq,
        orderId: command.orderId === undefined ? seq : command.orderId,
        account: command.account,
        side: command.side,
        orderType: command.orderType,
        priceTicks: command.priceTicks,
        quantityLots: command.quantityLots,
        timeInForce: command.timeInForce,
        postOnly: command.postOnly,
        stp: command.stp,
      };
    case 'cancel':
      return { type: 'cancel', seq, orderId: command.orderId };
    case 'replace':
      return {
        type: 'replace',
        seq,
        orderId: command.orderId,
        quantityLots: command.quantityLots,
        priceTicks: command.priceTicks,
      };
    case 'expire_day_orders':
      return { type: 'expire_day_orders', seq };
    default: {
      // Unreachable: submit refuses an unknown command type before it takes a seq.
      const unknown: never = command;
      throw new InvariantError(`unknown command type ${String((unknown as { type: unknown }).type)}`);
    }
  }
}

export interface SequencerOptions {
  /** When a submit resolves; see Durability. Default 'batch' (group commit). */
  durability?: Durability;
  /** Write a snapshot of all books after every this many commands; 0 = never. Default 100,000. */
  snapshotEveryCommands?: number;
  bookLimits?: Partial<BookLimits>;
}

/** A durable command and its outcome: the journal record (command with seq and order id) plus events. */
export interface SequencedResult {
  seq: number;
  symbol: string;
  /** The command as journaled: with its seq, and a new order's id (its seq unless the caller set one). */
  command: BookCommand;
  /** The book's events for this command; each carries `seq`. */
  events: BookEvent[];
  /** As journaled with the command. */
  meta: CommandMeta | undefined;
}

/** What readers (market data, queries) may do with a live book: everything but apply. */
export type BookView = Omit<OrderBook, 'apply' | 'applyTo'>;

/** How the data directory was found on open. */
export type RecoveryReport = Omit<RecoveredState, 'books'> & { truncatedBytes: number };

/**
 * The shell around the pure engine: gives every inbound command the next gap-free seq (one sequence
 * across symbols), journals it, applies it to its symbol's book and resolves with the events only
 * once the journal record is durable. Books are updated before durability (so the next command sees
 * them), but nothing leaves through `submit` before its record is durable. One sequencer per data
 * directory: not locked here; the caller must hold lockDataDirectory (../data-dir-lock.ts) first,
 * as the exchange module does.
 */
export class Sequencer {
  private seq: number;
  private lastRecordOffset: number;
  /** The latest command time sequenced: no later command is stamped earlier. */
  private lastTimeMs: number;
  private commandsSinceSnapshot = 0;
  private snapshotting: Promise<void> | null = null;
  private snapshotError: Error | null = null;
  /** The durable promise of the last record submitted: a snapshot at lastSeq waits for it. */
  private lastDurable: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly state: RecoveredState,
    private readonly journal: JournalWriter,
    private readonly snapshotEveryCommands: number,
    readonly recovery: RecoveryReport,
  ) {
    this.seq = state.lastSeq;
    this.lastRecordOffset = state.lastRecordOffset;
    this.lastTimeMs = state.lastTimeMs;
  }

  /**
   * Opens `dir` (created if missing): recovers the books and truncates a torn journal tail (the
   * valid records found after the bad one are counted in `recovery.droppedRecords`). Rejects,
   * truncating nothing, with JournalDamagedError when valid records follow the bad record where no
   * crash could have left them (see recoverState), and with DataDirectoryDamagedError when a
   * snapshot's record is not in the journal.
   */
  static async open(dir: string, options: SequencerOptions = {}): Promise<Sequencer> {
    mkdirSync(dir, { recursive: true });
    removeTempSnapshots(dir);
    const state = recoverState(dir, options.bookLimits);
    const journalPath = join(dir, journalFileName);
    const truncatedBytes = state.journalBytes - state.journalEndOffset;
    if (truncatedBytes > 0) truncateJournal(journalPath, state.journalEndOffset);
    const journal = await JournalWriter.open(journalPath, state.journalEndOffset, options.durability);
    const { books: _books, ...report } = state;
    const every = options.snapshotEveryCommands ?? 100_000;
    if (!Number.isSafeInteger(every) || every < 0) throw new RangeError('snapshotEveryCommands must be ≥ 0');
    return new Sequencer(dir, state, journal, every, { ...report, truncatedBytes });
  }

  /** Seq of the last command sequenced (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  get durability(): Durability {
    return this.journal.durability;
  }

  /** Records journaled but not yet durable. */
  get pendingRecords(): number {
    return this.journal.pendingRecords;
  }

  /** The book of `symbol`, for reads (L1/L2/L3). */
  book(symbol: string): BookView | undefined {
    return this.state.books.book(symbol);
  }

  symbols(): string[] {
    return this.state.books.symbols();
  }

  /** SHA-256 over the symbol-sorted per-book state hashes. */
  stateHash(): string {
    return this.state.books.stateHash();
  }

  /**
   * Sequences, journals and applies one command; resolves once its record is durable. Never throws:
   * rejects without using a seq when the symbol is invalid, the books are full, the command's type
   * or an enum field (side, orderType, timeInForce, stp) is unknown (a RangeError naming it), the
   * record is larger than recordPayloadBytesMax, or the journal is failed, closed or backlogged.
   * Any other bad field is journaled and refused by the book as a named reject. A `meta.time`
   * earlier than the last command's (the wall clock stepped back) is raised to it, in place, so
   * time never decreases in seq order: a time window is a seq range.
   */
  submit(symbol: string, command: UnsequencedCommand, meta?: CommandMeta): Promise<SequencedResult> {
    const seq = this.seq + 1;
    const offset = this.journal.endOffset;
    let sequenced: BookCommand;
    let durable: Promise<void>;
    try {
      this.checkBeforeSeq(symbol, command);
      sequenced = sequenceCommand(command, seq);
      if (meta) meta.time = Math.max(meta.time, this.lastTimeMs);
      // Throws, having taken nothing, when the journal cannot take the record.
      durable = this.journal.appendCommand(seq, symbol, sequenced, meta);
    } catch (error) {
      // Callers chain `.then().catch()` on submit: a synchronous throw would escape them.
      return Promise.reject(error);
    }
    this.seq = seq;
    this.lastRecordOffset = offset;
    this.lastDurable = durable;
    if (meta) this.lastTimeMs = meta.time;
    const result: SequencedResult = {
      seq,
      symbol,
      command: sequenced,
      events: this.state.books.apply(symbol, sequenced),
      meta,
    };
    this.maybeSnapshot(durable);
    // One promise per batch settles; each submit only adds a reaction that yields its own result.
    return durable.then(() => result);
  }

  /** Writes a snapshot of the current books now (once the journal holds their last seq durably). */
  async snapshotNow(): Promise<number> {
    while (this.snapshotting) await this.snapshotting;
    const seq = this.seq;
    const writing = this.writeSnapshotAt(seq, this.lastRecordOffset, this.lastDurable);
    this.snapshotting = writing.then(
      () => undefined,
      () => undefined,
    );
    try {
      await writing;
    } finally {
      this.snapshotting = null;
    }
    return seq;
  }

  /** Waits for pending records and the snapshot in progress, then closes the journal. */
  async close(): Promise<void> {
    await this.snapshotting;
    await this.journal.close();
    if (this.snapshotError) throw this.snapshotError;
  }

  /**
   * Throws when the command must not take a seq: a symbol that has no book and may not get one, or
   * a type or enum value outside the types, which the book asserts on (InvariantError) — journaled,
   * it would throw again on every replay and the directory could never be opened.
   */
  private checkBeforeSeq(symbol: string, command: UnsequencedCommand): void {
    const books = this.state.books;
    // A symbol that has a book was checked when the book was created.
    if (books.book(symbol) === undefined) {
      const problem = symbolProblem(symbol);
      if (problem) throw new RangeError(problem);
      if (!books.canApply(symbol)) throw new RangeError('booksMax books already exist');
    }
    const field = unknownEnumField(command);
    if (field !== null) {
      const value = (command as unknown as Record<string, unknown>)[field];
      throw new RangeError(`unknown ${field} '${String(value)}'`);
    }
  }

  private maybeSnapshot(durable: Promise<void>): void {
    if (this.snapshotEveryCommands === 0) return;
    this.commandsSinceSnapshot++;
    if (this.commandsSinceSnapshot < this.snapshotEveryCommands || this.snapshotting) return;
    this.commandsSinceSnapshot = 0;
    // The books are copied now, at this seq; the file is written once the journal holds this seq
    // durably, so a snapshot is never ahead of the journal. Its own record's promise, not an idle
    // journal: under sustained load the journal is never idle.
    const seq = this.seq;
    const lastRecordOffset = this.lastRecordOffset;
    const books = this.state.books.snapshot();
    this.snapshotting = durable
      .then(() => this.journal.syncWritten())
      .then(() => writeSnapshot(this.dir, { seq, lastRecordOffset, books }))
      .then(
        () => undefined,
        (error: Error) => {
          // A failed snapshot loses nothing (the journal has every command); report it on close.
          this.snapshotError = error;
        },
      )
      .finally(() => {
        this.snapshotting = null;
      });
  }

  /** `durable` is the promise of the record with `seq` (resolved when nothing was submitted). */
  private async writeSnapshotAt(
    seq: number,
    lastRecordOffset: number,
    durable: Promise<void>,
  ): Promise<void> {
    const books = this.state.books.snapshot();
    await durable;
    await this.journal.syncWritten();
    await writeSnapshot(this.dir, { seq, lastRecordOffset, books });
  }
}
