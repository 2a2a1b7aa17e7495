import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { BookLimits } from '../matching/index.ts';
import { journalFileName } from './recovery.ts';
import { writeSnapshot } from './snapshot-store.ts';
import { Standby } from './standby.ts';

export interface SnapshotFollowerOptions {
  /** Write a snapshot once this many commands were applied since the newest one (≥ 1). */
  everyCommands: number;
  /** Seq up to which the journal is acknowledged (the sequencer's durable seq); nothing after it is applied. */
  durableSeq: () => number;
  /** The sequencer's book limits, so replay builds the same books. */
  bookLimits?: Partial<BookLimits>;
}

/**
 * Writes the exchange's snapshots off the order-entry thread, as a replica would: its own books
 * follow the journal (a Standby) up to the acknowledged seq, and every `everyCommands`
 * commands it writes them as a snapshot file, the same file the sequencer would write. Serializing
 * a book is the expensive part (about a second for a million resting orders on the main thread);
 * here it costs order entry nothing. The journal is fsynced first, so a snapshot is never ahead of
 * durable records, also with durability `none`. Reads the data directory and adds snapshot files;
 * never writes the journal.
 */
export class SnapshotFollower {
  private readonly standby: Standby;
  private lastSnapshotSeq: number;

  constructor(
    private readonly dir: string,
    private readonly options: SnapshotFollowerOptions,
  ) {
    if (!Number.isSafeInteger(options.everyCommands) || options.everyCommands < 1) {
      throw new RangeError('everyCommands must be a positive integer');
    }
    // From the acknowledged state: the journal may already hold records that are not.
    this.standby = new Standby(dir, {
      startAtSeq: options.durableSeq(),
      ...(options.bookLimits ? { bookLimits: options.bookLimits } : {}),
    });
    // The snapshot its books were built from, not the newest file name: a corrupt newer file counts
    // for nothing in recovery, so it must not put the next snapshot off (forever, if its name is
    // far ahead).
    this.lastSnapshotSeq = this.standby.startSnapshotSeq ?? 0;
  }

  /** Seq of the last record the follower's books include. */
  get appliedSeq(): number {
    return this.standby.appliedSeq;
  }

  /**
   * Seq of the newest valid snapshot (written by this follower, or the one it started from, corrupt
   * newer files skipped; 0 when none).
   */
  get snapshotSeq(): number {
    return this.lastSnapshotSeq;
  }

  /**
   * Applies acknowledged records (a bounded slice per call) and, once `everyCommands` have passed
   * since the newest snapshot, writes one at the follower's seq. Resolves with that seq, or null
   * when no snapshot was due.
   */
  async step(): Promise<number | null> {
    const durable = this.options.durableSeq();
    if (this.standby.appliedSeq < durable) this.standby.poll(durable);
    const seq = this.standby.appliedSeq;
    if (seq - this.lastSnapshotSeq < this.options.everyCommands) return null;
    syncFile(join(this.dir, journalFileName));
    await writeSnapshot(this.dir, this.standby.snapshot());
    this.lastSnapshotSeq = seq;
    return seq;
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
