import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BookEvent, BookLimits } from '../matching/index.ts';
import type { BookSet } from './book-set.ts';
import {
  JournalCorruptError,
  type JournalRecord,
  type JournalTail,
  scanJournal,
  unacknowledgedBytesMax,
} from './journal-format.ts';
import { sequencerLimits } from './limits.ts';
import { journalFileName, recoverState } from './recovery.ts';
import type { ExchangeSnapshot } from './snapshot-store.ts';

export interface StandbyOptions {
  /** Poll interval of start(). Default 50 ms. */
  pollIntervalMs?: number;
  bookLimits?: Partial<BookLimits>;
  /**
   * Start from the state as of this seq (the newest snapshot at or before it, then the journal up
   * to it) instead of the latest, so that every later record reaches `onApplied`. A reader resuming
   * from its checkpoint passes the checkpoint.
   */
  startAtSeq?: number;
  /** Called with each record applied by poll() and the events the books produced for it. */
  onApplied?: (record: JournalRecord, events: BookEvent[]) => void;
  /**
   * Called when a poll run by start() throws (e.g. JournalCorruptError): the timer has stopped
   * and `failure` holds the error. Without it the error would crash the process from the timer.
   */
  onError?: (error: Error) => void;
}

/** A standby's position: what it applied, how far behind the journal it is, and its books' hash. */
export interface StandbyStatus {
  appliedSeq: number;
  lagRecords: number;
  lagBytes: number;
  /** How the journal ended at the last poll: 'torn' while the primary is mid-write is normal. */
  tail: JournalTail['kind'];
  /** Equal to the primary's stateHash() at the same seq (and to `kinyu exchange verify`'s). */
  stateHash: string;
  startSnapshotSeq: number | null;
}

/**
 * Follows a primary's data directory read-only: starts from its latest valid snapshot and journal,
 * then polls the journal's size and applies each new complete record to its own books. An
 * incomplete or not-yet-valid record at the end is simply waited for (the primary may be writing
 * it); the standby never truncates anything. Failover (taking over as writer) is not done here.
 */
export class Standby {
  private readonly books: BookSet;
  private readonly journal: string;
  private offset: number;
  private seq: number;
  private lastRecordOffset: number;
  private lag = 0;
  private tailValue: JournalTail = { kind: 'clean' };
  private timer: NodeJS.Timeout | null = null;
  private failureValue: Error | null = null;
  /**
   * How far countAhead has read: the offset after the last complete record it saw and that
   * record's seq. Seqs are gap-free, so the records ahead are countedSeq − appliedSeq, and the
   * next count reads only the bytes after countedEndOffset.
   */
  private countedEndOffset: number;
  private countedSeq: number;
  /**
   * Seq of the snapshot the standby started from: the newest valid one (at or before startAtSeq),
   * corrupt ones skipped as recovery skips them; null when it replayed the journal from zero.
   */
  readonly startSnapshotSeq: number | null;

  constructor(
    dir: string,
    private readonly options: StandbyOptions = {},
  ) {
    const state = recoverState(
      dir,
      options.bookLimits,
      options.startAtSeq === undefined ? {} : { atMostSeq: options.startAtSeq },
    );
    this.books = state.books;
    this.journal = join(dir, journalFileName);
    this.offset = state.journalEndOffset;
    this.seq = state.lastSeq;
    this.lastRecordOffset = state.lastRecordOffset;
    this.countedEndOffset = this.offset;
    this.countedSeq = this.seq;
    this.startSnapshotSeq = state.snapshotSeq;
  }

  /** Seq of the last record applied. */
  get appliedSeq(): number {
    return this.seq;
  }

  /**
   * Records that were waiting in the journal when the last poll started and that it did not apply:
   * 0 when the last poll caught up. A poll reads at most standbyPollBytesMax.
   */
  get lagRecords(): number {
    return this.lag;
  }

  /** Journal bytes not yet applied, measured now. */
  lagBytes(): number {
    return existsSync(this.journal) ? Math.max(0, statSync(this.journal).size - this.offset) : 0;
  }

  /** How the journal ended at the last poll ('torn' while the primary is mid-write is normal). */
  get tail(): JournalTail {
    return this.tailValue;
  }

  stateHash(): string {
    return this.books.stateHash();
  }

  /** Where the standby stands, as `kinyu exchange standby` reports it (the hash costs a pass over the books). */
  status(): StandbyStatus {
    return {
      appliedSeq: this.seq,
      lagRecords: this.lag,
      lagBytes: this.lagBytes(),
      tail: this.tailValue.kind,
      stateHash: this.stateHash(),
      startSnapshotSeq: this.startSnapshotSeq,
    };
  }

  symbols(): string[] {
    return this.books.symbols();
  }

  /** The books as of `appliedSeq`, in the sequencer's snapshot form (for a snapshot file). */
  snapshot(): ExchangeSnapshot {
    return { seq: this.seq, lastRecordOffset: this.lastRecordOffset, books: this.books.snapshot() };
  }

  /**
   * Applies the complete records written since the last poll, none beyond `seqMax` when given;
   * returns how many.
   */
  poll(seqMax?: number): number {
    if (!existsSync(this.journal)) return 0;
    const scan = scanJournal(
      this.journal,
      {
        fromOffset: this.offset,
        firstSeq: this.seq + 1,
        bytesMax: sequencerLimits.standbyPollBytesMax,
        ...(seqMax === undefined ? {} : { seqMax }),
      },
      (record) => {
        const events = this.books.apply(record.symbol, record.command);
        this.options.onApplied?.(record, events);
      },
    );
    this.offset = scan.validEndOffset;
    this.seq = scan.lastSeq;
    if (scan.records > 0) this.lastRecordOffset = scan.lastRecordOffset;
    this.tailValue = scan.tail;
    if (scan.tail.kind !== 'clean' && scan.fileBytes - scan.validEndOffset > unacknowledgedBytesMax) {
      // Only the last two writes can still be in progress; a bad record with more than they hold
      // after it was written long ago: waiting for it would wait forever.
      throw new JournalCorruptError(
        `journal ${this.journal} is damaged: the record at offset ${scan.validEndOffset}, where seq ` +
          `${scan.lastSeq + 1} should be, is ${scan.tail.kind} (${scan.tail.reason}), and ` +
          `${scan.fileBytes - scan.validEndOffset} bytes follow it, more than the writes in flight ` +
          `(${unacknowledgedBytesMax}) can hold. The primary will refuse to restart on this journal: ` +
          'restore the data directory from a standby copy or a backup (docs/operations.md)',
        scan.validEndOffset,
      );
    }
    this.lag = scan.validEndOffset < scan.fileBytes && scan.tail.kind === 'clean' ? this.countAhead() : 0;
    return scan.records;
  }

  /**
   * The error that stopped start()'s timer, or null. The books may then hold part of the failed
   * poll's records beyond appliedSeq: build a new Standby rather than go on with this one.
   */
  get failure(): Error | null {
    return this.failureValue;
  }

  /**
   * Polls every pollIntervalMs until stop(), or until a poll throws: then the timer stops, the
   * error is kept in `failure` and passed to `onError`. Throws that error if called again after.
   */
  start(): void {
    if (this.failureValue) throw this.failureValue;
    if (this.timer) return;
    this.timer = setInterval(() => this.pollOnTimer(), this.options.pollIntervalMs ?? 50);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private pollOnTimer(): void {
    try {
      this.poll();
    } catch (error) {
      this.stop();
      this.failureValue = error instanceof Error ? error : new Error(String(error));
      this.options.onError?.(this.failureValue);
    }
  }

  // After a poll stopped at standbyPollBytesMax (or seqMax): counts the complete records still
  // ahead. It decodes, without applying, only the bytes no earlier count read, so that catching up
  // a long backlog reads each byte once here instead of the whole rest of the journal per poll.
  private countAhead(): number {
    if (this.countedEndOffset < this.offset) {
      this.countedEndOffset = this.offset;
      this.countedSeq = this.seq;
    }
    const scan = scanJournal(
      this.journal,
      { fromOffset: this.countedEndOffset, firstSeq: this.countedSeq + 1 },
      () => {},
    );
    this.countedEndOffset = scan.validEndOffset;
    this.countedSeq = scan.lastSeq;
    return this.countedSeq - this.seq;
  }
}
