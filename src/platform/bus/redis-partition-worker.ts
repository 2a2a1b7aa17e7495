import { performance } from 'node:perf_hooks';
import { Fifo, Signal, sleep } from './async.ts';
import {
  decodeMessage,
  type EncodedMessage,
  type HandlerOutcome,
  retryDelayMs,
  runHandler,
} from './common.ts';
import {
  backoffMs,
  execAll,
  isNoGroupError,
  messageFields,
  messageFromFields,
  type PendingRow,
  parseEntries,
  parsePending,
} from './redis-context.ts';
import { runScript } from './redis-scripts.ts';
import type { RedisSubscription } from './redis-subscription.ts';

interface QueuedEntry {
  readonly streamId: string;
  readonly message: EncodedMessage;
  deliveryCount: number;
  /** The previous delivery failed: XCLAIM it again (counting the delivery in Redis) before retrying. */
  claimFirst: boolean;
}

type WorkerState = 'running' | 'draining' | 'stopping';

/**
 * Handles one leased partition, strictly one message at a time: a failing message is retried before
 * anything after it, so per-key order survives retries and crashes. On taking a partition (and after
 * a lost read) it first re-handles the group's pending entries, in id order, then reads new ones.
 */
export class PartitionWorker {
  readonly stream: string;
  readonly done: Promise<void>;
  acksSinceTrim = 0;
  readonly #queue = new Fifo<QueuedEntry>();
  readonly #wake = new Signal();
  readonly #interrupt = new Signal();
  #mode: 'recovering' | 'live' = 'recovering';
  #state: WorkerState = 'running';
  #busy = false;
  #leaseValidUntil: number;
  #releaseOnExit = true;
  #forgotConsumers = false;
  #acks: string[] = [];
  #ackFlush: Promise<void> = Promise.resolve();
  #ackScheduled = false;

  constructor(
    readonly sub: RedisSubscription,
    readonly partition: number,
    leaseValidUntil: number,
  ) {
    this.stream = sub.stream(partition);
    this.#leaseValidUntil = leaseValidUntil;
    this.done = this.#run();
  }

  /** Counts toward this subscriber's share (a draining partition is on its way out). */
  get holding(): boolean {
    return this.#state === 'running';
  }

  get stopping(): boolean {
    return this.#state === 'stopping';
  }

  get idle(): boolean {
    return this.#state === 'running' && this.#mode === 'live' && this.#queue.length === 0 && !this.#busy;
  }

  wantsMore(): boolean {
    return this.#state === 'running' && this.#mode === 'live' && this.#queue.length < this.sub.ctx.readBatch;
  }

  push(entries: Array<{ streamId: string; message: EncodedMessage }>): void {
    if (this.stopping) return;
    for (const entry of entries) this.#queue.push({ ...entry, deliveryCount: 1, claimFirst: false });
    this.#wake.notify();
  }

  requestRecovery(): void {
    this.#mode = 'recovering';
    this.#wake.notify();
  }

  extendLease(validUntil: number): void {
    this.#leaseValidUntil = validUntil;
    this.#wake.notify();
  }

  drain(): void {
    if (this.#state === 'running') this.#state = 'draining';
    this.#wake.notify();
  }

  /** Finishes the handler attempt in progress, then exits; unhandled entries stay pending in Redis. */
  stop(releaseLease: boolean): void {
    this.#state = 'stopping';
    this.#releaseOnExit = releaseLease;
    this.#wake.notify();
    this.#interrupt.notify();
  }

  flushAcks(): Promise<void> {
    if (this.#acks.length > 0) {
      const ids = this.#acks;
      this.#acks = [];
      const { commands } = this.sub.ctx;
      this.#ackFlush = this.#ackFlush
        .then(() => commands.call('XACK', this.stream, this.sub.group, ...ids))
        .then(
          () => {},
          () => this.requestRecovery(), // unacked entries come back through recovery
        );
    }
    return this.#ackFlush;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.#step();
        failures = 0;
      } catch (error) {
        if (this.stopping) break;
        failures++;
        this.sub.ctx.logger.warn({ err: error, stream: this.stream }, 'bus: partition worker step failed');
        if (isNoGroupError(error)) await this.sub.ensureGroups().catch(() => {});
        this.#mode = 'recovering';
        await sleep(backoffMs(failures), this.#interrupt);
      }
    }
    await this.flushAcks();
    await this.sub.workerExited(this, this.#releaseOnExit);
  }

  async #step(): Promise<void> {
    if (performance.now() > this.#leaseValidUntil) {
      // Renewal is late (Redis unreachable?): pause rather than risk two holders handling one key.
      await this.#wake.wait(this.sub.ctx.leaseMs / 10);
      return;
    }
    const head = this.#queue.peek();
    if (head) return this.#process(head);
    if (this.#state === 'draining') return this.#finishDrain();
    if (this.#mode === 'recovering') return this.#recoverRound();
    this.sub.wantMore(this);
    await this.#wake.wait();
  }

  async #finishDrain(): Promise<void> {
    await this.sub.releaseFromReader(this.partition);
    if (this.#queue.length === 0) this.stop(true);
  }

  async #process(entry: QueuedEntry): Promise<void> {
    const { onlyGroup } = entry.message;
    if (onlyGroup !== undefined && onlyGroup !== this.sub.group) return this.#ack(entry);
    if (entry.claimFirst && !(await this.#reclaim(entry))) return;
    this.#busy = true;
    try {
      const outcome = await this.#attempt(entry);
      if (!outcome) return;
      if (outcome.ok) return this.#ack(entry);
      await this.#afterFailure(entry, outcome.error);
    } finally {
      this.#busy = false;
    }
  }

  async #attempt(entry: QueuedEntry): Promise<HandlerOutcome | undefined> {
    const { sub } = this;
    await sub.slots.acquire();
    try {
      if (this.stopping) return undefined;
      const message = decodeMessage(sub.topic, entry.message, entry.deliveryCount);
      return await runHandler(sub.handler, message, sub.options.ackTimeoutMs);
    } finally {
      sub.slots.release();
    }
  }

  async #afterFailure(entry: QueuedEntry, error: string): Promise<void> {
    const { options } = this.sub;
    if (this.stopping) return; // left pending: the next holder redelivers it
    entry.claimFirst = true; // whatever happens next, the next attempt is a counted redelivery
    if (entry.deliveryCount >= options.maxDeliveries) {
      if (await this.#deadLetter(entry, error)) {
        this.#queue.shift();
        return;
      }
      await sleep(options.ackTimeoutMs, this.#interrupt); // dead-letter store full: keep it, retry later
    } else {
      await sleep(retryDelayMs(options, entry.deliveryCount), this.#interrupt);
    }
  }

  #ack(entry: QueuedEntry): void {
    this.#queue.shift();
    this.#acks.push(entry.streamId);
    this.acksSinceTrim++;
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    // One XACK for everything acknowledged in this turn of the event loop.
    setImmediate(() => {
      this.#ackScheduled = false;
      void this.flushAcks();
    });
  }

  /** Re-delivers a failed entry to ourselves; false when it vanished from the stream meanwhile. */
  async #reclaim(entry: QueuedEntry): Promise<boolean> {
    const counts = await this.#claim([entry.streamId]);
    const count = counts.get(entry.streamId);
    if (count === undefined) {
      this.#queue.shift();
      return false;
    }
    entry.deliveryCount = count.deliveryCount;
    entry.claimFirst = false;
    return true;
  }

  /** XCLAIM ids to this consumer (Redis counts the delivery), returning the entries and their counts. */
  async #claim(ids: string[]): Promise<Map<string, { message: EncodedMessage; deliveryCount: number }>> {
    const { commands } = this.sub.ctx;
    const { group, consumer } = this.sub;
    const [claimed, pending] = await execAll(
      commands
        .multi()
        .call('XCLAIM', this.stream, group, consumer, 0, ...ids)
        .call('XPENDING', this.stream, group, ids[0]!, ids.at(-1)!, ids.length, consumer),
    );
    const counts = new Map(parsePending(pending).map((row) => [row.streamId, row.deliveryCount]));
    const found = new Map<string, { message: EncodedMessage; deliveryCount: number }>();
    for (const { streamId, fields } of parseEntries(claimed)) {
      found.set(streamId, { message: messageFromFields(fields), deliveryCount: counts.get(streamId) ?? 1 });
    }
    const gone = ids.filter((id) => !found.has(id));
    if (gone.length > 0) await commands.call('XACK', this.stream, group, ...gone);
    return found;
  }

  async #deadLetter(entry: QueuedEntry, error: string): Promise<boolean> {
    const { ctx, topic, group } = this.sub;
    const { onlyGroup: _, ...original } = entry.message;
    const deadLetterId = ctx.newId();
    const fields = [
      ...['dl', deadLetterId, 't', topic, 'grp', group, 'n', String(entry.deliveryCount), 'e', error],
      ...['at', ctx.clock.now().toISOString(), 'src', entry.streamId, ...messageFields(original)],
    ];
    const { keys } = ctx;
    try {
      await runScript(
        ctx.commands,
        'kinyuBusDeadLetter',
        ...[this.stream, keys.deadLetters(topic), keys.deadLetterIndex, keys.deadLetterTopics],
        ...[group, entry.streamId, deadLetterId, topic, ctx.deadLettersMax, ...fields],
      );
      return true;
    } catch (failure) {
      if (!(failure instanceof Error) || !failure.message.startsWith('KINYU_DEAD_LETTERS_FULL'))
        throw failure;
      ctx.logger.warn({ topic, group, messageId: entry.message.id }, 'bus: dead-letter store full; retrying');
      return false;
    }
  }

  /**
   * Takes over the group's pending entries of this partition, oldest first. An entry is taken when
   * its consumer is gone (left the registry), is us, or has sat unacknowledged for ackTimeoutMs;
   * otherwise we wait, since everything behind it must wait too.
   */
  async #recoverRound(): Promise<void> {
    await this.flushAcks();
    const { ctx, group } = this.sub;
    if (!this.#forgotConsumers) {
      await runScript(
        ctx.commands,
        'kinyuBusForgetConsumers',
        this.stream,
        group,
        ...this.sub.liveConsumers(),
      );
      this.#forgotConsumers = true;
    }
    const rows = parsePending(
      await ctx.commands.call('XPENDING', this.stream, group, '-', '+', ctx.readBatch),
    );
    if (rows.length === 0) {
      this.#mode = 'live';
      return;
    }
    const takeable = this.#takeablePrefix(rows);
    if (takeable.length === 0) {
      const waitMs = this.sub.options.ackTimeoutMs - rows[0]!.idleMs;
      await sleep(Math.max(1, Math.min(waitMs, ctx.leaseMs / 3)), this.#interrupt);
      return;
    }
    const claimed = await this.#claim(takeable.map((row) => row.streamId));
    for (const row of takeable) {
      const entry = claimed.get(row.streamId);
      if (entry) this.#queue.push({ streamId: row.streamId, ...entry, claimFirst: false });
    }
  }

  #takeablePrefix(rows: PendingRow[]): PendingRow[] {
    const { consumer, options } = this.sub;
    const takeable: PendingRow[] = [];
    for (const row of rows) {
      const freeToTake = row.owner === consumer || !this.sub.isLive(row.owner);
      if (!freeToTake && row.idleMs < options.ackTimeoutMs) break;
      takeable.push(row);
    }
    return takeable;
  }
}
