import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { AppError, assert } from '../errors.ts';
import { newId as defaultNewId, type IdGenerator } from '../ids.ts';
import { limits } from '../limits.ts';
import { Fifo } from './async.ts';
import {
  BusBacklogFullError,
  busClosedError,
  checkName,
  clampListLimit,
  decodeMessage,
  type EncodedMessage,
  encodeBatch,
  type HandlerOutcome,
  type ResolvedSubscribeOptions,
  resolveSubscribeOptions,
  retryDelayMs,
  runHandler,
} from './common.ts';
import { busLimits } from './limits.ts';
import type {
  Bus,
  DeadLetter,
  DeadLetterFilter,
  MessageHandler,
  OutgoingMessage,
  PublishOptions,
  SubscribeOptions,
  Subscription,
} from './types.ts';

export interface MemoryBusOptions {
  /** Messages a topic retains (not yet acknowledged by every group) before publish fails. */
  backlogMax?: number;
  deadLettersPerTopicMax?: number;
  /** Subscription defaults (e.g. from KINYU_BUS_ACK_TIMEOUT_MS / KINYU_BUS_MAX_DELIVERIES). */
  defaults?: SubscribeOptions;
  clock?: Clock;
  newId?: IdGenerator;
}

interface LogEntry {
  readonly message: EncodedMessage;
  /** Groups that still have to acknowledge this entry. */
  pendingGroups: number;
  /** The publisher's callback for when every group has handled it (see PublishOptions). */
  onHandled?: ((id: string) => void) | undefined;
  /** A group gave up on it: it was not handled, so onHandled must not fire. */
  deadLettered?: boolean;
}

interface Delivery {
  readonly entry: LogEntry;
  deliveryCount: number;
}

interface StoredDeadLetter {
  readonly deadLetter: DeadLetter;
  readonly message: EncodedMessage;
}

/** What groups need from the bus that owns them. */
interface BusInternals {
  readonly closed: boolean;
  deadLetter(topic: string, group: string, delivery: Delivery, error: string): boolean;
}

/**
 * The in-process bus for embedded mode. Same contract as the Redis bus (see types.ts), nothing
 * survives the process: durability comes from the outbox, which re-publishes what was not relayed.
 */
export class MemoryBus implements Bus, BusInternals {
  readonly kind = 'memory' as const;
  readonly durable = false;
  readonly #topics = new Map<string, MemoryTopic>();
  readonly #deadLetters = new Map<string, StoredDeadLetter>();
  readonly #deadLettersPerTopic = new Map<string, number>();
  readonly #subscriptions = new Set<MemorySubscription>();
  readonly #backlogMax: number;
  readonly #deadLettersMax: number;
  readonly #defaults: SubscribeOptions | undefined;
  readonly #clock: Clock;
  readonly #newId: IdGenerator;
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#backlogMax = options.backlogMax ?? limits.memoryBusBacklogMax;
    this.#deadLettersMax = options.deadLettersPerTopicMax ?? busLimits.deadLettersPerTopicMax;
    this.#defaults = options.defaults;
    this.#clock = options.clock ?? systemClock;
    this.#newId = options.newId ?? defaultNewId;
    assert(this.#backlogMax >= 1 && this.#backlogMax <= limits.memoryBusBacklogMax, 'memory bus backlogMax');
  }

  get closed(): boolean {
    return this.#closed;
  }

  async publish(topic: string, message: OutgoingMessage): Promise<string> {
    const [id] = await this.publishBatch(topic, [message]);
    return id!;
  }

  /** All or nothing here: the backlog is checked for the whole batch before any message is added. */
  async publishBatch(
    topic: string,
    messages: readonly OutgoingMessage[],
    options: PublishOptions = {},
  ): Promise<string[]> {
    if (this.#closed) throw busClosedError();
    const encoded = encodeBatch(topic, messages, this.#newId);
    const log = this.#topic(topic);
    if (log.retained + encoded.length > this.#backlogMax)
      throw new BusBacklogFullError(topic, this.#backlogMax);
    for (const message of encoded) log.append(message, options.onHandled);
    return encoded.map((message) => message.id);
  }

  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Subscription {
    if (this.#closed) throw busClosedError();
    checkName('topic', topic);
    checkName('group', group);
    const resolved = resolveSubscribeOptions(options, this.#defaults);
    const subscription = new MemorySubscription(this.#topic(topic).group(group), handler, resolved, () =>
      this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async listDeadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const limit = clampListLimit(filter.limit, limits.pageSizeMax);
    const found: DeadLetter[] = [];
    for (const { deadLetter } of this.#deadLetters.values()) {
      if (filter.topic !== undefined && deadLetter.topic !== filter.topic) continue;
      if (filter.group !== undefined && deadLetter.group !== filter.group) continue;
      found.push(structuredClone(deadLetter));
      if (found.length === limit) break;
    }
    return found;
  }

  async redriveDeadLetter(id: string): Promise<void> {
    if (this.#closed) throw busClosedError();
    const stored = this.#deadLetters.get(id);
    if (!stored) throw new AppError('not_found', `dead letter ${id} not found`);
    const { topic, group } = stored.deadLetter;
    const log = this.#topic(topic);
    if (log.retained + 1 > this.#backlogMax) throw new BusBacklogFullError(topic, this.#backlogMax);
    log.append({ ...stored.message, onlyGroup: group });
    this.#deadLetters.delete(id);
    this.#countDeadLetter(topic, -1);
  }

  async ping(): Promise<boolean> {
    return !this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    for (const topic of this.#topics.values()) topic.stop();
  }

  /** Moves a message to `<topic>.dead-letter`; false when that store is full (the caller retries later). */
  deadLetter(topic: string, group: string, delivery: Delivery, error: string): boolean {
    const count = this.#deadLettersPerTopic.get(topic) ?? 0;
    if (count >= this.#deadLettersMax) return false;
    const id = this.#newId();
    const { message } = delivery.entry;
    const deadLetter: DeadLetter = {
      id,
      topic,
      group,
      message: decodeMessage(topic, message, delivery.deliveryCount),
      error,
      deadLetteredAt: this.#clock.now().toISOString(),
    };
    const { onlyGroup: _, ...original } = message;
    this.#deadLetters.set(id, { deadLetter, message: original });
    this.#countDeadLetter(topic, 1);
    return true;
  }

  #countDeadLetter(topic: string, delta: number): void {
    this.#deadLettersPerTopic.set(topic, (this.#deadLettersPerTopic.get(topic) ?? 0) + delta);
  }

  #topic(name: string): MemoryTopic {
    let topic = this.#topics.get(name);
    if (!topic) {
      topic = new MemoryTopic(name, this);
      this.#topics.set(name, topic);
    }
    return topic;
  }
}

/**
 * A topic's retained log. Entries leave from the front once every group acknowledged them; with no
 * group yet nothing leaves, so the first group sees everything published before it (like Redis
 * `XGROUP CREATE … 0` on an untrimmed stream).
 */
class MemoryTopic {
  readonly #entries: (LogEntry | undefined)[] = [];
  #head = 0;
  readonly #groups = new Map<string, MemoryGroup>();

  constructor(
    readonly name: string,
    readonly bus: BusInternals,
  ) {}

  get retained(): number {
    return this.#entries.length - this.#head;
  }

  append(message: EncodedMessage, onHandled?: (id: string) => void): void {
    const entry: LogEntry = { message, pendingGroups: 0, onHandled };
    this.#entries.push(entry);
    for (const group of this.#groups.values()) group.offer(entry);
    this.#trim();
  }

  /** The named group, created on first use and handed every retained entry. */
  group(name: string): MemoryGroup {
    let group = this.#groups.get(name);
    if (group) return group;
    group = new MemoryGroup(this, name);
    this.#groups.set(name, group);
    for (let index = this.#head; index < this.#entries.length; index++) group.offer(this.#entries[index]!);
    return group;
  }

  acknowledged(entry: LogEntry): void {
    entry.pendingGroups--;
    assert(entry.pendingGroups >= 0, 'an entry was acknowledged more often than it was offered');
    if (entry.pendingGroups > 0) return;
    const onHandled = entry.onHandled;
    entry.onHandled = undefined;
    if (onHandled && !entry.deadLettered) onHandled(entry.message.id);
    this.#trim();
  }

  stop(): void {
    for (const group of this.#groups.values()) group.stop();
  }

  #trim(): void {
    if (this.#groups.size === 0) return;
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.pendingGroups === 0) {
      this.#entries[this.#head++] = undefined;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/**
 * One consumer group: per-key FIFO queues whose head is in flight or waiting for a retry, and a FIFO
 * of keys whose head may be dispatched now. A key is never in `#ready` while its head is busy, which
 * is what keeps one key's messages one at a time and in order.
 */
class MemoryGroup {
  readonly #keys = new Map<string, Fifo<Delivery>>();
  readonly #ready = new Fifo<string>();
  readonly #subscribers: MemorySubscription[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #nextSubscriber = 0;

  constructor(
    readonly topic: MemoryTopic,
    readonly name: string,
  ) {}

  /** Takes an entry unless it is a re-driven dead letter meant for another group. */
  offer(entry: LogEntry): void {
    const { onlyGroup, key } = entry.message;
    if (onlyGroup !== undefined && onlyGroup !== this.name) return;
    entry.pendingGroups++;
    const queue = this.#keys.get(key);
    const delivery: Delivery = { entry, deliveryCount: 0 };
    if (queue) {
      queue.push(delivery);
      return;
    }
    const fresh = new Fifo<Delivery>();
    fresh.push(delivery);
    this.#keys.set(key, fresh);
    this.#ready.push(key);
    this.pump();
  }

  attach(subscriber: MemorySubscription): void {
    this.#subscribers.push(subscriber);
    this.pump();
  }

  detach(subscriber: MemorySubscription): void {
    const index = this.#subscribers.indexOf(subscriber);
    if (index >= 0) this.#subscribers.splice(index, 1);
  }

  /** Hands ready keys' head messages to subscribers with free capacity, round-robin. */
  pump(): void {
    while (this.#ready.length > 0) {
      const subscriber = this.#pickSubscriber();
      if (!subscriber) return;
      const key = this.#ready.shift()!;
      subscriber.start(this.#keys.get(key)!.peek()!);
    }
  }

  /** Acknowledges, dead-letters or schedules a retry; the key stays held until then. */
  settle(delivery: Delivery, outcome: HandlerOutcome, options: ResolvedSubscribeOptions): void {
    const exhausted = !outcome.ok && delivery.deliveryCount >= options.maxDeliveries;
    if (
      outcome.ok ||
      (exhausted && this.topic.bus.deadLetter(this.topic.name, this.name, delivery, outcome.error))
    ) {
      if (!outcome.ok) delivery.entry.deadLettered = true;
      this.#finish(delivery);
      return;
    }
    // A full dead-letter store keeps the message (and its key) waiting rather than losing it.
    const waitMs = exhausted ? options.ackTimeoutMs : retryDelayMs(options, delivery.deliveryCount);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#ready.push(delivery.entry.message.key);
      this.pump();
    }, waitMs);
    this.#timers.add(timer);
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #finish(delivery: Delivery): void {
    const { key } = delivery.entry.message;
    const queue = this.#keys.get(key)!;
    assert(queue.shift() === delivery, 'only the head of a key queue is ever in flight');
    this.topic.acknowledged(delivery.entry);
    if (queue.length > 0) this.#ready.push(key);
    else this.#keys.delete(key);
    this.pump();
  }

  #pickSubscriber(): MemorySubscription | undefined {
    if (this.topic.bus.closed) return undefined;
    for (let tried = 0; tried < this.#subscribers.length; tried++) {
      const index = (this.#nextSubscriber + tried) % this.#subscribers.length;
      const subscriber = this.#subscribers[index]!;
      if (subscriber.hasCapacity()) {
        this.#nextSubscriber = index + 1;
        return subscriber;
      }
    }
    return undefined;
  }
}

class MemorySubscription implements Subscription {
  #active = 0;
  #closed = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    readonly group: MemoryGroup,
    readonly handler: MessageHandler,
    readonly options: ResolvedSubscribeOptions,
    readonly onClosed: () => void,
  ) {
    group.attach(this);
  }

  hasCapacity(): boolean {
    return !this.#closed && this.#active < this.options.concurrency;
  }

  start(delivery: Delivery): void {
    this.#active++;
    delivery.deliveryCount++;
    const message = decodeMessage(this.group.topic.name, delivery.entry.message, delivery.deliveryCount);
    const attempt = runHandler(this.handler, message, this.options.ackTimeoutMs).then((outcome) => {
      this.#active--;
      this.#inFlight.delete(attempt);
      this.group.settle(delivery, outcome, this.options);
    });
    this.#inFlight.add(attempt);
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.group.detach(this);
      this.onClosed();
    }
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }
}
