import type { Registry } from 'prom-client';
import type { Pool } from '../../platform/sql/pool.ts';
import type { BookEvent, BookLimits } from '../matching/index.ts';
import { OrderTracker } from '../orders/order-state.ts';
import { type JournalRecord, Standby } from '../sequencer/index.ts';
import { projectorLimits } from './limits.ts';
import { registerProgressGauges } from './metrics.ts';
import { type ProjectedRecord, projectRecord, rowCount } from './rows.ts';
import { SeqWaiters } from './seq-waiters.ts';
import {
  CheckpointMovedError,
  ensureCheckpoint,
  executionsProjectorName,
  loadProjectionState,
  readCheckpoint,
  writeBatch,
} from './store.ts';

export interface ExecutionsProjectorOptions {
  pool: Pool;
  /** The exchange data directory the sequencer writes (journal and snapshots); read only. */
  dir: string;
  /** Checkpoint name. Default 'executions'. */
  name?: string;
  /** Pause between polls of the journal once caught up. Default projectorLimits.pollIntervalMs. */
  pollIntervalMs?: number;
  /** Records per transaction (≤ projectorLimits.batchRecordsMax). */
  batchRecordsMax?: number;
  /** Rows per transaction (≤ projectorLimits.batchRowsMax). */
  batchRowsMax?: number;
  /** The sequencer's book limits, so replay builds the same books. */
  bookLimits?: Partial<BookLimits>;
  /**
   * Seq up to which the journal is durable (the exchange's last acknowledged seq). Records after it
   * are held back, so the projection never shows a command that a machine crash could still take out
   * of the journal. Without it, every complete record in the journal is projected.
   */
  durableSeq?: () => number;
  /**
   * Called with the new checkpoint after each committed batch, and with the checkpoint loaded on
   * open or on a reload when it is past the last one reported (the projector thread publishes it).
   */
  onCommitted?: (seq: number) => void;
  /** Registers kinyu_exchange_projector_applied_seq and _lag_records here when given. */
  metrics?: Registry;
  logger?: ProjectorLogger;
}

/** Where a failed round is reported: the app's pino logger, or the thread's forwarder to it. */
export interface ProjectorLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

/** Thrown on open when the projection has records the journal does not: they belong to another journal. */
export class ProjectionAheadOfJournalError extends Error {
  override name = 'ProjectionAheadOfJournalError';
}

/**
 * Follows the sequencer's journal off the critical path and keeps exchange_orders, exchange_trades
 * and exchange_executions in PostgreSQL (the seed's reporting flow). On open it reads its checkpoint
 * C, loads the orders open as of C into an OrderTracker and replays the books as of C with a
 * Standby; every later record goes through the tracker and becomes order upserts, trade rows and
 * two executions per trade. Rows are written in bounded batches, each in one transaction with the
 * checkpoint, so a crash between batches neither loses nor repeats anything.
 */
export class ExecutionsProjector {
  private standby!: Standby;
  private tracker!: OrderTracker;
  private committed = 0;
  /** The last checkpoint passed to onCommitted and the waiters (0 before the first). */
  private published = 0;
  /** Applied to the tracker, not yet written (at most one poll's worth). */
  private pending: ProjectedRecord[] = [];
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private broken = false;
  private stopped = false;
  private readonly waiters = new SeqWaiters();
  private readonly name: string;
  private readonly batchRecordsMax: number;
  private readonly batchRowsMax: number;

  private constructor(private readonly options: ExecutionsProjectorOptions) {
    this.name = options.name ?? executionsProjectorName;
    this.batchRecordsMax = Math.min(
      options.batchRecordsMax ?? projectorLimits.batchRecordsMax,
      projectorLimits.batchRecordsMax,
    );
    this.batchRowsMax = Math.min(
      options.batchRowsMax ?? projectorLimits.batchRowsMax,
      projectorLimits.batchRowsMax,
    );
    if (this.batchRecordsMax < 1 || this.batchRowsMax < 1) throw new RangeError('batch limits must be ≥ 1');
  }

  /** Loads the checkpoint and open orders and replays the books as of the checkpoint; does not poll yet. */
  static async open(options: ExecutionsProjectorOptions): Promise<ExecutionsProjector> {
    const projector = new ExecutionsProjector(options);
    await projector.initialize();
    if (options.metrics) registerProgressGauges(options.metrics, projector);
    return projector;
  }

  /** Seq of the last journal record whose rows are committed (the checkpoint). */
  get appliedSeq(): number {
    return this.committed;
  }

  /** Records known to be in the journal (or acknowledged, with durableSeq) but not yet committed. */
  get lagRecords(): number {
    const head = this.options.durableSeq?.() ?? this.standby.appliedSeq + this.standby.lagRecords;
    return Math.max(0, head - this.committed);
  }

  /** Polls every pollIntervalMs until stop(); failures are logged and retried. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule(0);
  }

  /**
   * Projects everything in the journal now (up to durableSeq when given) and resolves with the
   * number of records written. Errors reach the caller. The module calls it before serving.
   */
  catchUp(): Promise<number> {
    return this.exclusive(async () => {
      let total = 0;
      for (;;) {
        const written = await this.step();
        total += written;
        if (written === 0) return total;
      }
    });
  }

  /**
   * Resolves true once the checkpoint reaches `seq`, or false after `timeoutMs` (capped at
   * waitTimeoutMsMax), when waitersMax callers already wait, or on stop(). Wakes the poll loop.
   */
  waitFor(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.committed >= seq) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    const wait = this.waiters.wait(seq, timeoutMs);
    this.wake();
    return wait;
  }

  /** Polls now rather than at the end of the current pause (a reader is waiting). */
  wake(): void {
    if (this.started && this.timer) this.schedule(0);
  }

  /** Stops polling and waits for the batch in flight; waiting callers get false. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running.catch(() => {});
    this.waiters.cancelAll();
  }

  private async initialize(): Promise<void> {
    await ensureCheckpoint(this.options.pool, this.name);
    const state = await loadProjectionState(this.options.pool, this.name);
    const tracker = new OrderTracker();
    tracker.load(state.orders);
    const standby = new Standby(this.options.dir, {
      startAtSeq: state.seq,
      ...(this.options.bookLimits ? { bookLimits: this.options.bookLimits } : {}),
      onApplied: (record, events) => this.onApplied(record, events),
    });
    if (standby.appliedSeq < state.seq) {
      throw new ProjectionAheadOfJournalError(
        `the projection is at seq ${state.seq} but the journal in ${this.options.dir} ends at ` +
          `${standby.appliedSeq}: it was built from another journal (rebuild it: see docs/exchange-executions.md)`,
      );
    }
    this.tracker = tracker;
    this.standby = standby;
    this.committed = state.seq;
    this.pending = [];
    this.broken = false;
    // A batch whose COMMIT reply was lost is committed all the same: the reload finds it, and
    // readers waiting for it must hear so now, not when the next batch commits.
    if (this.committed > this.published) this.publish();
  }

  private publish(): void {
    this.published = this.committed;
    this.options.onCommitted?.(this.committed);
    this.waiters.reached(this.committed);
  }

  private onApplied(record: JournalRecord, events: BookEvent[]): void {
    const changed = this.tracker.apply(record, events);
    this.pending.push(projectRecord(record, events, changed));
  }

  // One round: read the journal when nothing is pending, then write what may be written. Returns
  // the records committed.
  private async step(): Promise<number> {
    if (this.broken) await this.initialize();
    if (this.pending.length === 0) {
      try {
        this.standby.poll();
      } catch (error) {
        // A poll that failed half way has applied part of its records to the tracker: start over
        // from the checkpoint next round rather than write from a state that is neither.
        this.broken = true;
        throw error;
      }
    }
    const limit = this.options.durableSeq?.() ?? Number.POSITIVE_INFINITY;
    let written = 0;
    while (this.pending.length > 0 && this.pending[0]!.seq <= limit) {
      const batch = this.nextBatch(limit);
      this.committed = await this.write(batch);
      this.pending.splice(0, batch.length);
      written += batch.length;
      this.publish();
    }
    return written;
  }

  /** Writes one batch; returns the new checkpoint, or throws with the batch still to write. */
  private async write(batch: readonly ProjectedRecord[]): Promise<number> {
    const fromSeq = this.committed;
    const toSeq = batch[batch.length - 1]!.seq;
    try {
      return await writeBatch(this.options.pool, this.name, fromSeq, batch);
    } catch (error) {
      // Someone else moved the checkpoint: reload from it instead of writing over their rows.
      if (error instanceof CheckpointMovedError) this.broken = true;
      else {
        // A connection lost around COMMIT leaves the outcome unknown: the checkpoint tells. At
        // toSeq the batch is in (its reply was lost); at fromSeq it is not, and is written again.
        const seq = await readCheckpoint(this.options.pool, this.name).catch(() => fromSeq);
        if (seq === toSeq) return seq;
        if (seq !== fromSeq) this.broken = true;
      }
      throw error;
    }
  }

  private nextBatch(limit: number): ProjectedRecord[] {
    const batch: ProjectedRecord[] = [];
    let rows = 0;
    for (const record of this.pending) {
      if (record.seq > limit || batch.length === this.batchRecordsMax) break;
      if (batch.length > 0 && rows + rowCount(record) > this.batchRowsMax) break;
      batch.push(record);
      rows += rowCount(record);
    }
    return batch;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    let delayMs = this.options.pollIntervalMs ?? projectorLimits.pollIntervalMs;
    try {
      const written = await this.exclusive(() => this.step());
      // A poll reads a bounded slice of the journal: go on at once while there is more.
      if (written > 0 && this.standby.lagRecords > 0) delayMs = 0;
    } catch (error) {
      delayMs = projectorLimits.retryDelayMs;
      this.options.logger?.error({ err: error, projector: this.name }, 'exchange projector round failed');
    }
    if (!this.timer) this.schedule(delayMs);
  }

  // Rounds never overlap: catchUp, the poll loop and a re-initialisation take turns.
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.running.then(work, work);
    this.running = result.catch(() => {});
    return result;
  }
}
