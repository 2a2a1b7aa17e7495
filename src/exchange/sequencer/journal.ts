import { closeSync, constants, fdatasync, fsyncSync, openSync, write } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BookCommand } from '../matching/index.ts';
import {
  type CommandMeta,
  encodeRecord,
  encodeRecordInto,
  type JournalRecord,
  recordBytesBound,
  recordBytesBoundMax,
} from './journal-format.ts';
import { sequencerLimits } from './limits.ts';
import { type RecordBytes, recordBytes } from './record-binary.ts';

/**
 * When an append's promise resolves:
 * - 'batch' (default): group commit. Appends made in one event-loop turn (or while the writes in
 *   flight fill their limit) go out in one durable write; their promises resolve once it and every
 *   batch before it are durable.
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

/**
 * Records that go out with one write (and one fdatasync): encoded back to back into one buffer, and
 * one promise that settles for all of them.
 */
class Batch {
  records = 0;
  bytes = 0;
  out: RecordBytes;
  readonly durable: Promise<void>;
  resolve!: () => void;
  reject!: (error: Error) => void;

  constructor(buffer: Buffer) {
    this.out = recordBytes(buffer);
    this.durable = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** A batch handed to the file system, and whether its write (and sync) has ended. */
interface InFlight {
  batch: Batch;
  ended: boolean;
  /** Its write, or an earlier one in file order, failed: rejected when settle() reaches it. */
  failed: boolean;
}

/** First size of a batch buffer; it doubles (up to batchBytesMax or one record) as needed. */
const batchBufferBytesInitial = 64 * 1024;

/**
 * Append-only writer of the journal file. It writes at explicit offsets from `endOffset`, which must
 * be the end of the valid records (recovery truncates a torn tail first). One writer per file.
 *
 * Records are encoded straight into the buffer of the batch being filled; a batch is sealed when
 * a write takes it (or when it is full), and its one promise settles for all its records. Up to
 * writesInFlightMax batches are written at once, each at its own offset; they are acknowledged in
 * file order, so an acknowledged record never follows a gap. (After a crash a later batch may be
 * on disk without an earlier one: recovery stops at the gap, and nothing after it was acknowledged.)
 */
export class JournalWriter {
  /** Sealed batches waiting to be written, oldest first. */
  private readonly sealed: Batch[] = [];
  /** The batch new records go into (null until the first append after a seal). */
  private filling: Batch | null = null;
  private readonly spareBuffers: Buffer[] = [];
  /** Writes issued and not yet acknowledged, in file order. */
  private readonly inFlight: InFlight[] = [];
  /** Offset after the last batch handed to a write. */
  private writtenOffset: number;
  private pumpScheduled = false;
  private pendingCount = 0;
  private failure: Error | null = null;
  private failedWith: JournalFailedError | null = null;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private appendedOffset: number;
  private batches = 0;
  private readonly batchRecordsMax: number;

  private constructor(
    private readonly handle: FileHandle,
    private durableOffsetValue: number,
    readonly durability: Durability,
    /** Writes are durable when they return (O_DSYNC): no separate fdatasync. */
    private readonly writesAreDurable: boolean,
  ) {
    this.appendedOffset = durableOffsetValue;
    this.writtenOffset = durableOffsetValue;
    this.batchRecordsMax = durability === 'record' ? 1 : sequencerLimits.batchRecordsMax;
  }

  /** Opens (creating if needed) the journal for appending at `endOffset`. */
  static async open(
    path: string,
    endOffset: number,
    durability: Durability = 'batch',
  ): Promise<JournalWriter> {
    // O_DSYNC makes each write durable when it returns: one thread-pool round trip per batch
    // instead of a write and then an fdatasync (where the platform has it; else fdatasync follows).
    const dsync = durability !== 'none' && constants.O_DSYNC !== undefined;
    const handle = await open(path, 'a+').then(async (h) => {
      // 'a+' only creates the file; writes use positions, which O_APPEND would ignore.
      await h.close();
      return open(path, constants.O_RDWR | (dsync ? constants.O_DSYNC : 0));
    });
    const stat = await handle.stat();
    if (stat.size !== endOffset) {
      await handle.close();
      throw new Error(`journal ${path} is ${stat.size} bytes, expected ${endOffset}: recover it first`);
    }
    syncDirectory(dirname(path));
    return new JournalWriter(handle, endOffset, durability, dsync);
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

  /** Records appended but not yet durable (per the mode). */
  get pendingRecords(): number {
    return this.pendingCount;
  }

  /** Throws now (not in the promise) when the journal cannot take another record. */
  assertCanAppend(): void {
    this.assertUsable();
    if (this.pendingCount >= sequencerLimits.pendingRecordsMax) {
      throw new JournalBacklogFullError(`${this.pendingCount} journal records waiting to be written`);
    }
  }

  /**
   * Queues a record; the promise resolves when it is durable per the mode. Records are written in
   * the order of the calls. Returns where the record starts and ends with the promise.
   */
  append(record: JournalRecord): { offset: number; endOffset: number; durable: Promise<void> } {
    const offset = this.appendedOffset;
    const durable = this.appendCommand(record.seq, record.symbol, record.command, record.meta);
    return { offset, endOffset: this.appendedOffset, durable };
  }

  /**
   * `append` without the record object (the sequencer's hot path): the record starts at the
   * `endOffset` read before the call. The promise is shared by every record of the same batch.
   */
  appendCommand(
    seq: number,
    symbol: string,
    command: BookCommand,
    meta: CommandMeta | undefined,
  ): Promise<void> {
    this.assertCanAppend();
    const bound = recordBytesBound(symbol, command, meta);
    let batch: Batch;
    let bytes = -1;
    if (bound <= recordBytesBoundMax) {
      batch = this.batchWithRoom(bound);
      bytes = encodeRecordInto(batch.out, batch.bytes, seq, symbol, command, meta);
    }
    if (bytes < 0) {
      const encoded = encodeRecord({ seq, symbol, command, meta });
      batch = this.batchWithRoom(encoded.length);
      bytes = encoded.copy(batch.out.bytes, batch.bytes);
    }
    batch!.bytes += bytes;
    batch!.records++;
    this.pendingCount++;
    this.appendedOffset += bytes;
    if (batch!.records >= this.batchRecordsMax) this.seal();
    this.schedulePump();
    return batch!.durable;
  }

  /**
   * Makes every record whose promise has resolved durable also in 'none' mode, with an fdatasync of
   * the file; in 'batch' and 'record' mode it already is (O_DSYNC or an fdatasync per write). It
   * does not wait for later records: under sustained load the journal is never idle, and a snapshot
   * waiting for that would never be written. Rejects when the journal failed or is closed.
   */
  async syncWritten(): Promise<void> {
    this.assertUsable();
    if (this.durability === 'none') await this.handle.datasync();
  }

  /** Waits for pending records, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
    await this.handle.close();
  }

  private assertUsable(): void {
    if (this.failure) throw new JournalFailedError(`journal failed earlier: ${this.failure.message}`);
    if (this.closed) throw new JournalFailedError('journal is closed');
  }

  private idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** No write in flight, and nothing waiting to be written (or the journal failed). */
  private isIdle(): boolean {
    if (this.inFlight.length > 0) return false;
    if (this.failure) return true;
    return !this.pumpScheduled && this.sealed.length === 0 && (this.filling?.records ?? 0) === 0;
  }

  private wakeIdleWaiters(): void {
    if (this.idleWaiters.length > 0 && this.isIdle()) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * The filling batch, with `bytes` of room after its records: grown (up to batchBytesMax) or, when
   * that is not enough, sealed and replaced by a new one. A record always fits in an empty batch.
   */
  private batchWithRoom(bytes: number): Batch {
    let batch = this.filling;
    if (batch !== null && batch.records > 0 && batch.bytes + bytes > sequencerLimits.batchBytesMax) {
      this.seal();
      batch = null;
    }
    if (batch === null) {
      batch = new Batch(this.spareBuffers.pop() ?? Buffer.allocUnsafe(batchBufferBytesInitial));
      this.filling = batch;
    }
    const needed = batch.bytes + bytes;
    if (needed > batch.out.bytes.length) {
      let size = batch.out.bytes.length * 2;
      while (size < needed) size *= 2;
      const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(size, sequencerLimits.batchBytesMax)));
      batch.out.bytes.copy(grown, 0, 0, batch.bytes);
      batch.out = recordBytes(grown);
    }
    return batch;
  }

  private seal(): void {
    if (this.filling !== null && this.filling.records > 0) this.sealed.push(this.filling);
    this.filling = null;
  }

  /** Starts a write after this event-loop turn, so the turn's other records join the batch. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.inFlight.length >= sequencerLimits.writesInFlightMax) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
      this.wakeIdleWaiters();
    });
  }

  /** Hands waiting batches to writes while fewer than writesInFlightMax are in flight. */
  private pump(): void {
    while (this.failure === null && this.inFlight.length < sequencerLimits.writesInFlightMax) {
      if (this.sealed.length === 0) this.seal();
      const batch = this.sealed.shift();
      if (batch === undefined) return;
      const entry: InFlight = { batch, ended: false, failed: false };
      this.inFlight.push(entry);
      const position = this.writtenOffset;
      this.writtenOffset += batch.bytes;
      this.writeDurably(batch.out.bytes, 0, batch.bytes, position, (error) => {
        entry.ended = true;
        if (error) this.fail(error, entry);
        this.settle();
      });
    }
  }

  /**
   * Settles ended writes in file order (a batch written before a failed one is still acknowledged,
   * whenever its own write ends), then lets the freed slots take waiting batches; once the journal
   * has failed and nothing is in flight, rejects the batches that never got a write.
   */
  private settle(): void {
    while (this.inFlight[0]?.ended) {
      const { batch, failed } = this.inFlight.shift()!;
      if (failed) {
        batch.reject(this.failedError());
        continue;
      }
      this.durableOffsetValue += batch.bytes;
      this.batches++;
      this.pendingCount -= batch.records;
      if (this.spareBuffers.length < sequencerLimits.spareBatchBuffersMax)
        this.spareBuffers.push(batch.out.bytes);
      batch.resolve();
    }
    if (this.failure && this.inFlight.length === 0) {
      this.seal();
      for (const waiting of this.sealed.splice(0)) waiting.reject(this.failedError());
      this.pendingCount = 0;
    }
    this.pump();
    this.wakeIdleWaiters();
  }

  /**
   * Writes `buffer[from, bytes)` at `position + from` (again from where a short write stopped),
   * then fdatasyncs unless the file is O_DSYNC or durability is none; `done` gets the first error.
   * Callback style on the handle's descriptor: one libuv request per write and no promise chain
   * (FileHandle.write's promise machinery cost several µs per batch on the order-entry path).
   */
  private writeDurably(
    buffer: Buffer,
    from: number,
    bytes: number,
    position: number,
    done: (error: Error | null) => void,
  ): void {
    this.onDescriptor(done, (fd) =>
      write(fd, buffer, from, bytes - from, position + from, (error, written) => {
        if (error) done(error);
        else if (from + written < bytes) this.writeDurably(buffer, from + written, bytes, position, done);
        else if (this.durability !== 'none' && !this.writesAreDurable) {
          this.onDescriptor(done, (again) => fdatasync(again, done));
        } else done(null);
      }),
    );
  }

  /** Runs `start` with the file's descriptor; a closed handle (fd -1) throws, reported as a failure. */
  private onDescriptor(done: (error: Error | null) => void, start: (fd: number) => void): void {
    try {
      start(this.handle.fd);
    } catch (error) {
      queueMicrotask(() => done(error as Error));
    }
  }

  // After a failed write or fsync the file's state from that write on is unknown (a retried fsync
  // can report success for lost pages), so the journal takes nothing more and the process must
  // recover from disk. The failed batch and every later one are rejected, also one whose own write
  // ended well; an earlier batch whose own write succeeds is durable and still acknowledged. All of
  // it in file order (settle()), so callers see their results in seq order as always.
  private fail(error: Error, entry: InFlight): void {
    this.failure ??= error;
    for (let i = this.inFlight.indexOf(entry); i < this.inFlight.length; i++) this.inFlight[i]!.failed = true;
  }

  private failedError(): JournalFailedError {
    this.failedWith ??= new JournalFailedError(`journal write failed: ${this.failure?.message}`);
    return this.failedWith;
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
