import { closeSync, fsyncSync, openSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encodeRecord, type JournalRecord } from './journal-format.ts';
import { sequencerLimits } from './limits.ts';

/**
 * When an append's promise resolves:
 * - 'batch' (default): group commit. Appends made while the previous write is in flight (or in the
 *   same event-loop turn) go out in one write and one fdatasync; then all their promises resolve.
 * - 'record': one write and one fdatasync per record.
 * - 'none': after the write reached the OS (survives a process crash, not a power loss).
 */
export type Durability = 'batch' | 'record' | 'none';

/** Thrown by append when pendingRecordsMax records are already waiting to be written. */
export class JournalBacklogFullError extends Error {
  override name = 'JournalBacklogFullError';
}

/** Thrown by append after a write or fsync failed: the journal accepts nothing more. */
export class JournalFailedError extends Error {
  override name = 'JournalFailedError';
}

interface Pending {
  bytes: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Append-only writer of the journal file. It writes at explicit offsets from `endOffset`, which must
 * be the end of the valid records (recovery truncates a torn tail first). One writer per file.
 */
export class JournalWriter {
  private pending: Pending[] = [];
  private flushing = false;
  private failure: Error | null = null;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private appendedOffset: number;
  private batches = 0;

  private constructor(
    private readonly handle: FileHandle,
    private durableOffsetValue: number,
    readonly durability: Durability,
  ) {
    this.appendedOffset = durableOffsetValue;
  }

  /** Opens (creating if needed) the journal for appending at `endOffset`. */
  static async open(
    path: string,
    endOffset: number,
    durability: Durability = 'batch',
  ): Promise<JournalWriter> {
    const handle = await open(path, 'a+').then(async (h) => {
      // 'a+' only creates the file; writes use positions, which O_APPEND would ignore.
      await h.close();
      return open(path, 'r+');
    });
    const stat = await handle.stat();
    if (stat.size !== endOffset) {
      await handle.close();
      throw new Error(`journal ${path} is ${stat.size} bytes, expected ${endOffset}: recover it first`);
    }
    syncDirectory(dirname(path));
    return new JournalWriter(handle, endOffset, durability);
  }

  /** Offset just after the last appended record (durable or not). */
  get endOffset(): number {
    return this.appendedOffset;
  }

  /** Offset up to which records are written (and, unless 'none', fsynced). */
  get durableOffset(): number {
    return this.durableOffsetValue;
  }

  /** Writes (each followed by one fdatasync unless 'none') done so far. */
  get batchesWritten(): number {
    return this.batches;
  }

  get pendingRecords(): number {
    return this.pending.length;
  }

  /** Throws now (not in the promise) when the journal cannot take another record. */
  assertCanAppend(): void {
    if (this.failure) throw new JournalFailedError(`journal failed earlier: ${this.failure.message}`);
    if (this.closed) throw new JournalFailedError('journal is closed');
    if (this.pending.length >= sequencerLimits.pendingRecordsMax) {
      throw new JournalBacklogFullError(`${this.pending.length} journal records waiting to be written`);
    }
  }

  /**
   * Queues a record; the promise resolves when it is durable per the mode. Records are written in
   * the order of the calls. Returns where the record starts and ends with the promise.
   */
  append(record: JournalRecord): { offset: number; endOffset: number; durable: Promise<void> } {
    this.assertCanAppend();
    const bytes = encodeRecord(record);
    const offset = this.appendedOffset;
    this.appendedOffset += bytes.length;
    const durable = new Promise<void>((resolve, reject) => {
      this.pending.push({ bytes, resolve, reject });
    });
    if (!this.flushing) {
      this.flushing = true;
      // Let the rest of this event-loop turn add records to the first batch.
      setImmediate(() => void this.flushLoop());
    }
    return { offset, endOffset: this.appendedOffset, durable };
  }

  /** Resolves once every record appended so far is written and fsynced (whatever the mode). */
  async sync(): Promise<void> {
    await this.idle();
    if (this.failure) throw new JournalFailedError(`journal failed earlier: ${this.failure.message}`);
    await this.handle.datasync();
  }

  /** Waits for pending records, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
    await this.handle.close();
  }

  private idle(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0 && !this.failure) {
      const batch = this.takeBatch();
      const bytes = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((p) => p.bytes));
      try {
        await this.writeFully(bytes, this.durableOffsetValue);
        if (this.durability !== 'none') await this.handle.datasync();
      } catch (error) {
        this.fail(error as Error, batch);
        break;
      }
      this.durableOffsetValue += bytes.length;
      this.batches++;
      for (const p of batch) p.resolve();
    }
    this.flushing = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private takeBatch(): Pending[] {
    const recordsMax = this.durability === 'record' ? 1 : sequencerLimits.batchRecordsMax;
    let count = 0;
    let bytes = 0;
    while (count < this.pending.length && count < recordsMax) {
      const next = this.pending[count]!.bytes.length;
      if (count > 0 && bytes + next > sequencerLimits.batchBytesMax) break;
      bytes += next;
      count++;
    }
    return this.pending.splice(0, count);
  }

  private async writeFully(bytes: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }

  // After a failed write or fsync the file's state is unknown (a retried fsync can report success
  // for lost pages), so the journal refuses everything and the process must recover from disk.
  private fail(error: Error, batch: Pending[]): void {
    this.failure = error;
    const wrapped = new JournalFailedError(`journal write failed: ${error.message}`);
    for (const p of batch) p.reject(wrapped);
    for (const p of this.pending.splice(0)) p.reject(wrapped);
  }
}

/** fsyncs a directory so a created or renamed entry in it survives a power loss. */
export function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
