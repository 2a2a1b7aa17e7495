import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { Semaphore, Signal, sleep } from './async.ts';
import type { ResolvedSubscribeOptions } from './common.ts';
import {
  backoffMs,
  execAll,
  isNoGroupError,
  messageFromFields,
  parseEntries,
  type RedisBusContext,
} from './redis-context.ts';
import { PartitionWorker } from './redis-partition-worker.ts';
import { queueScript, runScript } from './redis-scripts.ts';
import type { MessageHandler, Subscription } from './types.ts';

/** A lease counts as ours until this share of its time-to-live has passed since the renewal was sent. */
const leaseTrustShare = 0.8;

type SubscriptionState = 'running' | 'closing' | 'closed' | 'crashed';

/**
 * One subscriber of a group on a Redis bus. A maintenance loop keeps this consumer in the group's
 * registry, renews its partition leases, takes free partitions up to its fair share
 * (partitions ÷ live consumers) and gives back extras; a read loop runs one blocking XREADGROUP over
 * every partition that wants messages, on a connection of its own; each held partition has a
 * PartitionWorker that handles its messages one at a time.
 */
export class RedisSubscription implements Subscription {
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly slots: Semaphore;
  readonly stopSignal = new Signal();
  readonly #workers = new Map<number, PartitionWorker>();
  readonly #reader: Redis;
  readonly #readWake = new Signal();
  readonly #readSettled = new Signal();
  readonly #firstPartition: number;
  #readerId: string | undefined;
  #readerGeneration = 0;
  #reading: ReadonlySet<number> | undefined;
  #unblockSent = false;
  #live = new Set<string>();
  #groupsReady = false;
  #state: SubscriptionState = 'running';
  readonly #maintainDone: Promise<void>;
  readonly #readDone: Promise<void>;
  #closing: Promise<void> | undefined;

  constructor(
    readonly ctx: RedisBusContext,
    readonly topic: string,
    readonly group: string,
    readonly handler: MessageHandler,
    readonly options: ResolvedSubscribeOptions,
    private readonly onClosed: () => void,
  ) {
    this.slots = new Semaphore(options.concurrency);
    // Start at a random partition so consumers starting together do not all race for partition 0.
    this.#firstPartition = Math.floor(Math.random() * ctx.partitions);
    this.#reader = ctx.connect('reader');
    // A reply lost with the connection may have delivered entries we never saw (ioredis re-sends the
    // read after reconnecting): count connections, and distrust any read that spans two.
    this.#reader.on('close', () => {
      this.#readerGeneration++;
      this.#readerId = undefined;
    });
    this.#maintainDone = this.#maintainLoop();
    this.#readDone = this.#readLoop();
  }

  get running(): boolean {
    return this.#state === 'running';
  }

  /** Partitions this subscriber holds a lease on (for tests and metrics). */
  get heldPartitions(): number[] {
    return [...this.#workers.keys()].sort((a, b) => a - b);
  }

  stream(partition: number): string {
    return this.ctx.keys.stream(this.topic, partition);
  }

  isLive(consumer: string): boolean {
    return this.#live.has(consumer);
  }

  liveConsumers(): string[] {
    return [...this.#live];
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Stops at once without acks, lease releases or registry updates, like a killed process. */
  crash(): void {
    if (this.#state !== 'running') return;
    this.#state = 'crashed';
    this.stopSignal.notify();
    this.#readWake.notify();
    for (const worker of this.#workers.values()) worker.stop(false);
    this.#reader.disconnect();
    this.onClosed();
  }

  /** Creates the group on every partition stream, from the start of what the stream retains. */
  async ensureGroups(): Promise<void> {
    const pipeline = this.ctx.commands.pipeline();
    for (let partition = 0; partition < this.ctx.partitions; partition++) {
      pipeline.call('XGROUP', 'CREATE', this.stream(partition), this.group, '0', 'MKSTREAM');
    }
    for (const [error] of (await pipeline.exec()) ?? []) {
      if (error && !error.message.startsWith('BUSYGROUP')) throw error;
    }
    this.#groupsReady = true;
  }

  /** A worker has room for more messages: make sure the next read includes its partition. */
  wantMore(worker: PartitionWorker): void {
    if (this.#reading && !this.#reading.has(worker.partition)) this.#unblockReader();
    this.#readWake.notify();
  }

  /** Resolves once no read in progress includes the partition (its results are dispatched by then). */
  async releaseFromReader(partition: number): Promise<void> {
    while (this.#reading?.has(partition)) {
      this.#unblockReader();
      await this.#readSettled.wait(50);
    }
  }

  async workerExited(worker: PartitionWorker, releaseLease: boolean): Promise<void> {
    if (this.#workers.get(worker.partition) === worker) this.#workers.delete(worker.partition);
    if (!releaseLease || this.#state === 'crashed') return;
    const lease = this.ctx.keys.lease(this.topic, this.group, worker.partition);
    await runScript(this.ctx.commands, 'kinyuBusLeaseRelease', 1, lease, this.consumer).catch((error) =>
      this.#warn(error, 'lease release failed'),
    );
  }

  #warn(error: unknown, message: string): void {
    this.ctx.logger.warn({ err: error, topic: this.topic, group: this.group }, `bus: ${message}`);
  }

  async #maintainLoop(): Promise<void> {
    while (this.running) {
      try {
        await this.#maintain();
      } catch (error) {
        if (this.running) this.#warn(error, 'partition maintenance failed');
      }
      await sleep(this.ctx.leaseMs / 3, this.stopSignal);
    }
  }

  async #maintain(): Promise<void> {
    if (!this.#groupsReady) await this.ensureGroups();
    const live = await this.#heartbeat(true);
    if (!this.running) return;
    await this.#renewLeases();
    const share = Math.ceil(this.ctx.partitions / Math.max(1, live.length));
    const held = [...this.#workers.values()].filter((worker) => worker.holding).length;
    if (held < share) await this.#acquire(share - held);
    else if (held > share) this.#shed(held - share);
    await this.#trim();
  }

  async #heartbeat(register: boolean): Promise<string[]> {
    const key = this.ctx.keys.consumers(this.topic, this.group);
    const flag = register ? '1' : '0';
    const live = (await runScript(
      this.ctx.commands,
      'kinyuBusHeartbeat',
      key,
      this.consumer,
      this.ctx.leaseMs,
      flag,
    )) as string[];
    this.#live = new Set(live);
    return live;
  }

  async #renewLeases(): Promise<void> {
    const workers = [...this.#workers.values()].filter((worker) => !worker.stopping);
    if (workers.length === 0) return;
    const sentAt = performance.now();
    const pipeline = this.ctx.commands.pipeline();
    for (const worker of workers) {
      const lease = this.ctx.keys.lease(this.topic, this.group, worker.partition);
      queueScript(pipeline, 'kinyuBusLeaseRenew', lease, this.consumer, this.ctx.leaseMs);
    }
    const results = (await pipeline.exec()) ?? [];
    workers.forEach((worker, index) => {
      const [error, renewed] = results[index] ?? [new Error('no reply')];
      if (error) return; // keep going on the old expiry; the worker pauses if it passes
      if (renewed === 1) worker.extendLease(sentAt + this.ctx.leaseMs * leaseTrustShare);
      else worker.stop(false); // someone else holds it now: never touch that partition again
    });
  }

  async #acquire(wanted: number): Promise<void> {
    const free: number[] = [];
    for (let offset = 0; offset < this.ctx.partitions; offset++) {
      const partition = (this.#firstPartition + offset) % this.ctx.partitions;
      if (!this.#workers.has(partition)) free.push(partition);
    }
    let need = wanted;
    let index = 0;
    while (need > 0 && index < free.length && this.running) {
      const chunk = free.slice(index, index + need);
      index += chunk.length;
      need -= await this.#tryLeases(chunk);
    }
  }

  async #tryLeases(partitions: number[]): Promise<number> {
    const sentAt = performance.now();
    const pipeline = this.ctx.commands.pipeline();
    const leases = partitions.map((partition) => this.ctx.keys.lease(this.topic, this.group, partition));
    for (const lease of leases) pipeline.set(lease, this.consumer, 'PX', this.ctx.leaseMs, 'NX');
    const results = await execAll(pipeline);
    const won = partitions.filter((_, index) => results[index] === 'OK');
    if (!this.running) {
      // close() started while we were asking: give them straight back.
      await runScript(this.ctx.commands, 'kinyuBusLeaseRelease', leases.length, ...leases, this.consumer);
      return 0;
    }
    const validUntil = sentAt + this.ctx.leaseMs * leaseTrustShare;
    for (const partition of won)
      this.#workers.set(partition, new PartitionWorker(this, partition, validUntil));
    return won.length;
  }

  /** Gives back partitions above our fair share, idle ones only, so nothing is in flight at handover. */
  #shed(extra: number): void {
    let left = extra;
    for (const worker of this.#workers.values()) {
      if (left === 0) return;
      if (worker.idle) {
        worker.drain();
        left--;
      }
    }
  }

  async #trim(): Promise<void> {
    const workers = [...this.#workers.values()].filter((worker) => worker.acksSinceTrim > 0);
    if (workers.length === 0) return;
    await Promise.all(workers.map((worker) => worker.flushAcks()));
    const pipeline = this.ctx.commands.pipeline();
    for (const worker of workers) {
      worker.acksSinceTrim = 0;
      queueScript(pipeline, 'kinyuBusTrim', worker.stream);
    }
    await execAll(pipeline);
  }

  async #readLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const wanted = [...this.#workers.values()].filter((worker) => worker.wantsMore());
      if (wanted.length === 0) {
        await this.#readWake.wait();
        continue;
      }
      try {
        await this.#readOnce(wanted);
        failures = 0;
      } catch (error) {
        if (!this.running) break;
        failures++;
        this.#readerId = undefined;
        if (isNoGroupError(error)) await this.ensureGroups().catch(() => {});
        else this.#warn(error, 'XREADGROUP failed; retrying');
        this.#recoverAll();
        await sleep(backoffMs(failures), this.stopSignal);
      }
    }
  }

  async #readOnce(wanted: PartitionWorker[]): Promise<void> {
    this.#readerId ??= String(await this.#reader.call('CLIENT', 'ID'));
    const generation = this.#readerGeneration;
    const streams = wanted.map((worker) => worker.stream);
    this.#reading = new Set(wanted.map((worker) => worker.partition));
    this.#unblockSent = false;
    try {
      const reply = await this.#reader.call(
        'XREADGROUP',
        'GROUP',
        this.group,
        this.consumer,
        'COUNT',
        this.ctx.readBatch,
        'BLOCK',
        this.ctx.blockMs,
        'STREAMS',
        ...streams,
        ...streams.map(() => '>'),
      );
      if (generation === this.#readerGeneration) this.#dispatch(reply);
      else this.#recoverAll(); // the entries of this reply are pending for us: recovery re-reads them in order
    } finally {
      this.#reading = undefined;
      this.#readSettled.notify();
    }
  }

  #dispatch(reply: unknown): void {
    if (!Array.isArray(reply)) return; // timed out or unblocked
    for (const [stream, raw] of reply as Array<[string, unknown]>) {
      const worker = this.#workers.get(this.ctx.keys.partitionOfStream(stream));
      const entries = parseEntries(raw).map(({ streamId, fields }) => ({
        streamId,
        message: messageFromFields(fields),
      }));
      // Without a worker (lease just lost) the entries stay pending and the next holder recovers them.
      worker?.push(entries);
    }
  }

  /** Makes every worker re-read the group's pending entries before reading new ones. */
  #recoverAll(): void {
    for (const worker of this.#workers.values()) worker.requestRecovery();
  }

  #unblockReader(): void {
    if (this.#unblockSent || this.#readerId === undefined) return;
    this.#unblockSent = true;
    this.ctx.commands.call('CLIENT', 'UNBLOCK', this.#readerId).catch(() => {});
  }

  async #close(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'closing';
    this.stopSignal.notify();
    this.#readWake.notify();
    const workers = [...this.#workers.values()];
    for (const worker of workers) worker.stop(false);
    await this.#stopReader();
    await Promise.all([...workers.map((worker) => worker.done), this.#maintainDone]);
    try {
      // Leave the registry before releasing: the next holder then claims what we left pending at once.
      await this.#releaseEverything(await this.#heartbeat(false));
    } catch (error) {
      this.#warn(error, 'releasing partitions on close failed; their leases will expire');
    }
    await this.#reader.quit().catch(() => this.#reader.disconnect());
    this.#state = 'closed';
    this.onClosed();
  }

  async #stopReader(): Promise<void> {
    let stopped = false;
    void this.#readDone.then(() => {
      stopped = true;
    });
    const giveUpAt = performance.now() + this.ctx.blockMs + 1_000;
    while (!stopped) {
      // Repeated: an UNBLOCK that overtakes the XREADGROUP it was meant for does nothing.
      this.#unblockSent = false;
      this.#unblockReader();
      if (performance.now() > giveUpAt) this.#reader.disconnect();
      await Promise.race([this.#readDone, sleep(50)]);
    }
  }

  async #releaseEverything(live: string[]): Promise<void> {
    const leases: string[] = [];
    const pipeline = this.ctx.commands.pipeline();
    for (let partition = 0; partition < this.ctx.partitions; partition++) {
      leases.push(this.ctx.keys.lease(this.topic, this.group, partition));
      queueScript(pipeline, 'kinyuBusForgetConsumers', this.stream(partition), this.group, ...live);
    }
    queueScript(pipeline, 'kinyuBusLeaseRelease', leases.length, ...leases, this.consumer);
    await execAll(pipeline);
  }
}
