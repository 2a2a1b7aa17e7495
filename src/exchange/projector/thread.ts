import { Worker } from 'node:worker_threads';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../platform/log.ts';
import type { BookLimits } from '../matching/index.ts';
import { projectorLimits } from './limits.ts';
import { registerProgressGauges } from './metrics.ts';
import { SeqWaiters } from './seq-waiters.ts';
import {
  errorFromData,
  type FromWorker,
  type ProjectorWorkerData,
  readSeq,
  sharedSlot,
  sharedSlotCount,
  type ToWorker,
  writeSeq,
} from './thread-protocol.ts';

export interface ProjectorThreadOptions {
  /** Connection string of the app's database; the worker opens its own pool of threadPoolConnectionsMax on it. */
  databaseUrl: string;
  /** The exchange data directory the sequencer writes; read only. */
  dir: string;
  /** The exchange's last acknowledged seq now; later ones come through setDurableSeq(). */
  durableSeq: number;
  /** Checkpoint name. Default 'executions'. */
  name?: string;
  /** Pause between polls of the journal once caught up. Default projectorLimits.pollIntervalMs. */
  pollIntervalMs?: number;
  batchRecordsMax?: number;
  batchRowsMax?: number;
  bookLimits?: Partial<BookLimits>;
  /**
   * The worker also writes the exchange's snapshots every this many commands (a SnapshotFollower
   * next to the projector, independent of it), so order entry never serializes books; 0 or absent:
   * no snapshots from this thread.
   */
  snapshotEveryCommands?: number;
  /** First pause before restarting a dead worker; doubles per failure in a row. Default retryDelayMs. */
  restartDelayMs?: number;
  /** Registers kinyu_exchange_projector_applied_seq, _lag_records and _thread_failures_total here when given. */
  metrics?: Registry;
  logger?: Logger;
}

/** 'open': a worker follows the journal. 'restarting': the last one died; another starts after a pause. */
export type ProjectorThreadState = 'opening' | 'open' | 'restarting' | 'stopped';

const workerEntry = new URL('./worker-entry.mjs', import.meta.url);

/**
 * The executions projector on its own thread, seen from the main thread. The worker runs the
 * ExecutionsProjector unchanged (same journal following, batches and checkpoint) with its own pool.
 * Two seqs cross in shared memory: the durable seq (written here, so the worker never projects past
 * the last acknowledged command) and the checkpoint (written by the worker, so `appliedSeq` is a
 * memory read). Messages carry the rest: start, wake and stop one way; opened, committed, log lines
 * and failures the other. A worker that dies is logged, counted and restarted from its checkpoint
 * after a pause; order entry never waits for it. With `snapshotEveryCommands` the same worker also
 * writes the exchange's snapshots (a SnapshotFollower with its own books, up to the durable seq).
 */
export class ProjectorThread {
  private readonly sharedBuffer = new SharedArrayBuffer(sharedSlotCount * BigInt64Array.BYTES_PER_ELEMENT);
  private readonly shared = new BigInt64Array(this.sharedBuffer);
  private readonly waiters = new SeqWaiters();
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stateValue: ProjectorThreadState = 'opening';
  private started = false;
  private failuresInRow = 0;
  private failureCount = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private failuresMetric: Counter | undefined;

  private constructor(private readonly options: ProjectorThreadOptions) {
    writeSeq(this.shared, sharedSlot.durableSeq, options.durableSeq);
  }

  /**
   * Starts the worker and resolves once it has opened the projector and caught up with the journal
   * up to `durableSeq`, so the projection is current (the module then loads the open orders from
   * it). Rejects with the worker's error if it cannot open; no worker is left running then.
   */
  static async open(options: ProjectorThreadOptions): Promise<ProjectorThread> {
    const thread = new ProjectorThread(options);
    try {
      await thread.spawn();
    } catch (error) {
      thread.stateValue = 'stopped';
      throw error;
    }
    if (options.metrics) thread.registerMetrics(options.metrics);
    return thread;
  }

  /** Seq of the last journal record whose rows are committed (the checkpoint), from shared memory. */
  get appliedSeq(): number {
    return readSeq(this.shared, sharedSlot.appliedSeq);
  }

  /** Acknowledged records not yet committed. */
  get lagRecords(): number {
    return Math.max(0, readSeq(this.shared, sharedSlot.durableSeq) - this.appliedSeq);
  }

  get state(): ProjectorThreadState {
    return this.stateValue;
  }

  /** Workers that died or failed to reopen since open(). */
  get failures(): number {
    return this.failureCount;
  }

  /** The exchange acknowledged up to `seq`: the worker may project it. Called for every result. */
  setDurableSeq(seq: number): void {
    writeSeq(this.shared, sharedSlot.durableSeq, seq);
  }

  /** Polls the journal every pollIntervalMs until stop() (this worker and any restarted one). */
  start(): void {
    if (this.started || this.stateValue === 'stopped') return;
    this.started = true;
    this.post({ type: 'start' });
  }

  /**
   * Resolves true once the checkpoint reaches `seq`, or false after `timeoutMs` (capped at
   * waitTimeoutMsMax), when waitersMax callers already wait, or on stop(). Wakes the worker.
   */
  waitFor(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.appliedSeq >= seq) return Promise.resolve(true);
    if (this.stateValue === 'stopped') return Promise.resolve(false);
    const wait = this.waiters.wait(seq, timeoutMs);
    this.post({ type: 'wake' });
    return wait;
  }

  /**
   * Lets the worker finish its batch and close its pool, then ends it; terminates it when that takes
   * longer than threadStopTimeoutMs. Returns at once when the worker is already gone. Waiting
   * callers get false.
   */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'stopped';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const worker = this.worker;
    if (worker) {
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), projectorLimits.threadStopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.options.logger?.warn(
          { timeoutMs: projectorLimits.threadStopTimeoutMs },
          'exchange projector thread did not stop in time: terminated',
        );
      }
      await worker.terminate();
      await this.exited;
    }
    this.waiters.cancelAll();
  }

  /** Kills the worker at once, as a crash would; it is reported and restarted like one (tests use it). */
  async terminateWorker(): Promise<void> {
    await this.worker?.terminate();
    await this.exited;
  }

  // Starts a worker; resolves when it reports `opened`, rejects when it ends before that.
  private spawn(): Promise<void> {
    const data: ProjectorWorkerData = {
      databaseUrl: this.options.databaseUrl,
      dir: this.options.dir,
      shared: this.sharedBuffer,
      ...(this.options.name === undefined ? {} : { name: this.options.name }),
      ...(this.options.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.options.pollIntervalMs }),
      ...(this.options.batchRecordsMax === undefined
        ? {}
        : { batchRecordsMax: this.options.batchRecordsMax }),
      ...(this.options.batchRowsMax === undefined ? {} : { batchRowsMax: this.options.batchRowsMax }),
      ...(this.options.bookLimits === undefined ? {} : { bookLimits: this.options.bookLimits }),
      ...(this.options.snapshotEveryCommands === undefined
        ? {}
        : { snapshotEveryCommands: this.options.snapshotEveryCommands }),
    };
    const worker = new Worker(workerEntry, { workerData: data, name: 'kinyu-exchange-projector' });
    this.worker = worker;
    let opened = false;
    let failure: Error | undefined;
    return new Promise<void>((resolve, reject) => {
      this.exited = new Promise<void>((resolveExit) => {
        worker.on('exit', (code) => {
          this.worker = null;
          resolveExit();
          if (!opened) {
            reject(failure ?? new Error(`the projector thread exited with code ${code} before it opened`));
          } else if (this.stateValue !== 'stopped') {
            this.onDied(failure ?? new Error(`the projector thread exited with code ${code}`));
          }
        });
      });
      worker.on('error', (error) => {
        failure ??= error;
      });
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'opened':
            opened = true;
            this.failuresInRow = 0;
            if (this.stateValue !== 'stopped') this.stateValue = 'open';
            if (this.started) this.post({ type: 'start' });
            this.waiters.reached(this.appliedSeq);
            resolve();
            return;
          case 'committed':
            this.waiters.reached(this.appliedSeq);
            return;
          case 'failed':
            failure = errorFromData(message.error);
            return;
          case 'log':
            this.options.logger?.[message.level]({ ...message.fields, thread: 'projector' }, message.message);
            return;
          case 'stopped':
            return;
          default: {
            // Both sides are this code base; still, nothing from the worker may throw on order entry's thread.
            const unknown: never = message;
            this.options.logger?.error({ message: unknown }, 'unknown message from the projector thread');
          }
        }
      });
    });
  }

  // A worker died (or a restarted one failed to open): log, count, restart after a growing pause.
  private onDied(error: Error): void {
    this.failureCount++;
    this.failuresMetric?.inc();
    const delayMs = Math.min(
      (this.options.restartDelayMs ?? projectorLimits.retryDelayMs) * 2 ** this.failuresInRow,
      projectorLimits.threadRestartDelayMsMax,
    );
    this.failuresInRow++;
    this.stateValue = 'restarting';
    this.options.logger?.error(
      { err: error, restartInMs: delayMs, appliedSeq: this.appliedSeq },
      'exchange projector thread died; order entry goes on and the projection lags until it restarts',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stateValue === 'stopped') return;
      this.spawn().catch((reopenError: unknown) => {
        if (this.stateValue !== 'stopped') this.onDied(reopenError as Error);
      });
    }, delayMs);
  }

  private post(message: ToWorker): void {
    // Between a death and the restart there is no worker; the restarted one starts from the state.
    this.worker?.postMessage(message);
  }

  private registerMetrics(registry: Registry): void {
    registerProgressGauges(registry, this);
    this.failuresMetric = new Counter({
      name: 'kinyu_exchange_projector_thread_failures_total',
      help: 'Projector worker threads that died or failed to reopen (each is restarted after a pause)',
      registers: [registry],
    });
  }
}
