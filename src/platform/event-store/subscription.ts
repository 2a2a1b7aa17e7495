import type { Clock } from '../clock.ts';
import { assert } from '../errors.ts';
import type { Pool, PoolClient } from '../sql/pool.ts';
import type { Checkpoint } from './checkpoint.ts';
import { eventStoreLimits } from './limits.ts';
import { type ChannelListener, pause, Wakeup } from './notifications.ts';
import type { AllEventHandler, ReadAllPage, SubscribeToAllOptions } from './types.ts';

/** First key of the two-key advisory locks that keep one instance per subscription name active. */
const subscriptionLockSpace = 72_649_110;

const defaultBatchSize = 100;
const defaultPollIntervalMs = 1_000;
// Events committed behind a still-running older transaction become readable when it ends, which
// sends no NOTIFY if it wrote no events: look again soon, backing off up to this.
const heldBackRetryFirstMs = 10;
const heldBackRetryMaxMs = 1_000;

interface BatchOutcome {
  scanned: number;
  handled: number;
  heldBack: boolean;
}

export interface AllSubscriptionParts {
  name: string;
  handler: AllEventHandler;
  options: SubscribeToAllOptions;
  pool: Pool;
  /** Runs a batch's transaction; the store's, so appends by the handler notify after the commit. */
  transaction: <T>(work: (tx: PoolClient) => Promise<T>) => Promise<T>;
  clock: Clock;
  listener: ChannelListener;
  readAll: (from: Checkpoint, limit: number, tx: PoolClient) => Promise<ReadAllPage>;
  /**
   * True when committed events follow `from`, the checkpoint of a short page: events that page could
   * not return (held back by an older open transaction, or committed since the read).
   */
  heldBack: (from: Checkpoint, tx: PoolClient) => Promise<boolean>;
  onStopped: () => Promise<void>;
}

/**
 * A catch-up subscription to all events. Each batch runs in one transaction: lock the name, read
 * the checkpoint, handle the events, store the new checkpoint. A failed batch rolls back whole and
 * is retried, so the handler's effects (written through `tx`) happen once per event.
 */
export class AllSubscription {
  readonly name: string;
  readonly #parts: AllSubscriptionParts;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #wakeup = new Wakeup();
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #removeCallback: (() => void) | undefined;
  #handledCount = 0;
  #failedBatches = 0;
  #heldBackRounds = 0;

  constructor(parts: AllSubscriptionParts) {
    const { name, options } = parts;
    if (name.length === 0 || name.length > eventStoreLimits.subscriptionNameLengthMax) {
      throw new TypeError(
        `subscription name must be 1 to ${eventStoreLimits.subscriptionNameLengthMax} characters`,
      );
    }
    this.name = name;
    this.#parts = parts;
    this.#batchSize = checkedRange(
      'batchSize',
      options.batchSize ?? defaultBatchSize,
      eventStoreLimits.subscriptionBatchMax,
    );
    this.#pollIntervalMs = checkedRange(
      'pollIntervalMs',
      options.pollIntervalMs ?? defaultPollIntervalMs,
      eventStoreLimits.pollIntervalMsMax,
    );
  }

  /** Events handed to the handler in committed batches. */
  get handledCount(): number {
    return this.#handledCount;
  }

  /** Rounds that ended short of committed events (held back by an older open transaction, or newer). */
  get heldBackRounds(): number {
    return this.#heldBackRounds;
  }

  /** Batches that failed and were rolled back (and retried). */
  get failedBatches(): number {
    return this.#failedBatches;
  }

  start(): void {
    assert(this.#loop === undefined, `subscription ${this.name} started twice`);
    this.#removeCallback = this.#parts.listener.add(() => this.#wakeup.wake());
    this.#loop = this.#run();
  }

  /** Stops polling; waits for the batch in flight to commit or roll back. */
  async stop(): Promise<void> {
    if (!this.#stopping.signal.aborted) this.#stopping.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    try {
      await this.#createCheckpointRow(signal);
      let retryMs = heldBackRetryFirstMs;
      while (!signal.aborted) {
        await this.#parts.listener.ensure().catch(() => {});
        const outcome = await this.#batchOrBackOff(signal);
        if (outcome.scanned >= this.#batchSize) continue;
        if (outcome.heldBack) {
          this.#heldBackRounds++;
          await this.#wakeup.wait(Math.min(retryMs, this.#pollIntervalMs), signal);
          retryMs = Math.min(retryMs * 2, heldBackRetryMaxMs);
        } else {
          retryMs = heldBackRetryFirstMs;
          await this.#wakeup.wait(this.#pollIntervalMs, signal);
        }
      }
    } finally {
      this.#removeCallback?.();
      await this.#parts.onStopped();
    }
  }

  async #createCheckpointRow(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#parts.pool.query(
          'INSERT INTO subscription_checkpoints (name, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
          [this.name, this.#parts.clock.now()],
        );
        return;
      } catch (error) {
        this.#report(error);
        await pause(this.#pollIntervalMs, signal);
      }
    }
  }

  /** Runs one batch; on failure reports it and waits a poll interval (a NOTIFY does not cut it short). */
  async #batchOrBackOff(signal: AbortSignal): Promise<BatchOutcome> {
    try {
      const outcome = await this.#batch();
      this.#handledCount += outcome.handled;
      return outcome;
    } catch (error) {
      this.#failedBatches++;
      this.#report(error);
      await pause(this.#pollIntervalMs, signal);
      return { scanned: 0, handled: 0, heldBack: false };
    }
  }

  #batch(): Promise<BatchOutcome> {
    return this.#parts.transaction(async (tx) => {
      // Another instance with this name is mid-batch: let it work, and look again after a poll.
      if (!(await this.#tryLock(tx))) return { scanned: 0, handled: 0, heldBack: false };
      const from = await this.#readCheckpoint(tx);
      const page = await this.#parts.readAll(from, this.#batchSize, tx);
      for (const event of page.events) await this.#parts.handler(event, tx);
      if (page.scanned > 0) await this.#saveCheckpoint(tx, page.checkpoint);
      const caughtUp = page.scanned < this.#batchSize;
      const heldBack = caughtUp && (await this.#parts.heldBack(page.checkpoint, tx));
      return { scanned: page.scanned, handled: page.events.length, heldBack };
    });
  }

  // A transaction-scoped advisory lock, not SELECT … FOR UPDATE: a row lock would give every empty
  // poll a transaction id, burning xids and holding back other readers' snapshot xmin.
  async #tryLock(tx: PoolClient): Promise<boolean> {
    const { rows } = await tx.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked',
      [subscriptionLockSpace, this.name],
    );
    return rows[0]!.locked;
  }

  // Read after taking the lock: READ COMMITTED gives this statement a fresh snapshot, so it sees the
  // checkpoint committed by whichever instance held the lock before.
  async #readCheckpoint(tx: PoolClient): Promise<Checkpoint> {
    const { rows } = await tx.query<{ transaction_id: string; global_position: bigint | string }>(
      'SELECT transaction_id::text AS transaction_id, global_position FROM subscription_checkpoints WHERE name = $1',
      [this.name],
    );
    const row = rows[0];
    assert(row !== undefined, `checkpoint row of subscription ${this.name} exists`);
    return { transactionId: BigInt(row.transaction_id), position: BigInt(row.global_position) };
  }

  async #saveCheckpoint(tx: PoolClient, checkpoint: Checkpoint): Promise<void> {
    await tx.query(
      `UPDATE subscription_checkpoints SET transaction_id = $2::text::xid8, global_position = $3, updated_at = $4
       WHERE name = $1`,
      [this.name, checkpoint.transactionId, checkpoint.position, this.#parts.clock.now()],
    );
  }

  #report(error: unknown): void {
    const onError =
      this.#parts.options.onError ?? ((e: unknown) => console.error(`subscription ${this.name}:`, e));
    onError(error);
  }
}

function checkedRange(what: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${what} must be 1 to ${max}, got ${value}`);
  }
  return value;
}
