import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { AppError, assert } from '../errors.ts';
import { newId as defaultNewId, type IdGenerator } from '../ids.ts';
import { limits } from '../limits.ts';
import {
  BusBacklogFullError,
  busClosedError,
  checkName,
  clampListLimit,
  decodeMessage,
  type EncodedMessage,
  encodeBatch,
  partitionOf,
  resolveSubscribeOptions,
} from './common.ts';
import { busDefaults, busLimits } from './limits.ts';
import {
  type BusLogger,
  connectRedis,
  consoleBusLogger,
  execAll,
  messageFields,
  messageFromFields,
  parseEntries,
  type RedisBusContext,
  RedisKeys,
} from './redis-context.ts';
import { queueScript } from './redis-scripts.ts';
import { RedisSubscription } from './redis-subscription.ts';
import type {
  Bus,
  DeadLetter,
  DeadLetterFilter,
  MessageHandler,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
} from './types.ts';

export interface RedisBusOptions {
  url: string;
  /** Prefix of every key (default `kinyu:`); tests use a random one each. */
  namespace?: string;
  /** Streams per topic; every process of a deployment must use the same number (default 8). */
  partitions?: number;
  /** Time-to-live of a partition lease; renewed every third of it (default 10 s). */
  leaseMs?: number;
  /** Longest XREADGROUP BLOCK (default 2 s); only bounds idle polling, never delivery latency. */
  blockMs?: number;
  /** Entries one XREADGROUP takes per partition (default 100). */
  readBatch?: number;
  /** Entries a partition stream may hold before publish fails (default busLimits.redisPartitionBacklogMax). */
  backlogMax?: number;
  deadLettersPerTopicMax?: number;
  /** Subscription defaults (e.g. from KINYU_BUS_ACK_TIMEOUT_MS / KINYU_BUS_MAX_DELIVERIES). */
  defaults?: SubscribeOptions;
  clock?: Clock;
  newId?: IdGenerator;
  logger?: BusLogger;
}

const deadLetterPageSize = 200;
const pingTimeoutMs = 1_000;
const namespacePattern = /^[A-Za-z0-9:._-]{1,100}$/;

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`bus: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/**
 * The bus on Redis Streams. Each topic is `partitions` streams; a key always hashes to the same one.
 * Within a group, each partition is handled by one consumer at a time (a lease in Redis), one
 * message at a time, which gives per-key order across processes.
 */
export class RedisStreamsBus implements Bus {
  readonly kind = 'redis' as const;
  readonly durable = true;
  readonly #ctx: RedisBusContext;
  readonly #backlogMax: number;
  readonly #defaults: SubscribeOptions | undefined;
  readonly #subscriptions = new Set<RedisSubscription>();
  #closed = false;

  constructor(options: RedisBusOptions) {
    const namespace = options.namespace ?? busDefaults.namespace;
    if (!namespacePattern.test(namespace))
      throw new TypeError(`bus: namespace must match ${namespacePattern}`);
    const logger = options.logger ?? consoleBusLogger;
    const { url } = options;
    this.#backlogMax = checkRange(
      'backlogMax',
      options.backlogMax ?? busLimits.redisPartitionBacklogMax,
      1,
      busLimits.redisPartitionBacklogMax,
    );
    this.#defaults = options.defaults;
    this.#ctx = {
      commands: connectRedis(url, `${namespace}bus-commands`, logger, { enableAutoPipelining: true }),
      keys: new RedisKeys(namespace),
      partitions: checkRange(
        'partitions',
        options.partitions ?? busDefaults.partitions,
        1,
        busLimits.partitionsMax,
      ),
      leaseMs: checkRange('leaseMs', options.leaseMs ?? busDefaults.leaseMs, busDefaults.leaseMsMin, 600_000),
      blockMs: checkRange('blockMs', options.blockMs ?? busDefaults.blockMs, 10, 60_000),
      readBatch: checkRange(
        'readBatch',
        options.readBatch ?? busDefaults.readBatch,
        1,
        busLimits.readBatchMax,
      ),
      deadLettersMax: checkRange(
        'deadLettersPerTopicMax',
        options.deadLettersPerTopicMax ?? busLimits.deadLettersPerTopicMax,
        1,
        busLimits.deadLettersPerTopicMax,
      ),
      clock: options.clock ?? systemClock,
      newId: options.newId ?? defaultNewId,
      logger,
      connect: (role, extra) => connectRedis(url, `${namespace}bus-${role}`, logger, extra),
    };
  }

  get partitions(): number {
    return this.#ctx.partitions;
  }

  async publish(topic: string, message: OutgoingMessage): Promise<string> {
    const [id] = await this.publishBatch(topic, [message]);
    return id!;
  }

  async publishBatch(topic: string, messages: readonly OutgoingMessage[]): Promise<string[]> {
    if (this.#closed) throw busClosedError();
    const encoded = encodeBatch(topic, messages, this.#ctx.newId);
    await this.#append(topic, encoded);
    return encoded.map((message) => message.id);
  }

  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Subscription {
    if (this.#closed) throw busClosedError();
    checkName('topic', topic);
    checkName('group', group);
    const resolved = resolveSubscribeOptions(options, this.#defaults);
    const subscription = new RedisSubscription(this.#ctx, topic, group, handler, resolved, () =>
      this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async listDeadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const limit = clampListLimit(filter.limit, limits.pageSizeMax);
    const { commands, keys } = this.#ctx;
    const topics =
      filter.topic !== undefined ? [filter.topic] : (await commands.smembers(keys.deadLetterTopics)).sort();
    const found: DeadLetter[] = [];
    for (const topic of topics) found.push(...(await this.#scanDeadLetters(topic, filter.group, limit)));
    found.sort((a, b) => a.deadLetteredAt.localeCompare(b.deadLetteredAt));
    return found.slice(0, limit);
  }

  async redriveDeadLetter(id: string): Promise<void> {
    if (this.#closed) throw busClosedError();
    const { commands, keys } = this.#ctx;
    const location = await commands.hget(keys.deadLetterIndex, id);
    const [topic, entryId] = location?.split(' ') ?? [];
    const [entry] =
      topic && entryId
        ? parseEntries(await commands.call('XRANGE', keys.deadLetters(topic), entryId, entryId))
        : [];
    if (!topic || !entryId || !entry) throw new AppError('not_found', `dead letter ${id} not found`);
    const group = entry.fields.get('grp');
    assert(group !== undefined, 'a dead letter records its group');
    await this.#append(topic, [{ ...messageFromFields(entry.fields), onlyGroup: group }]);
    await execAll(
      commands.multi().call('XDEL', keys.deadLetters(topic), entryId).hdel(keys.deadLetterIndex, id),
    );
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), pingTimeoutMs);
    });
    try {
      return (await Promise.race([this.#ctx.commands.ping(), timeout])) === 'PONG';
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    await this.#ctx.commands.quit().catch(() => this.#ctx.commands.disconnect());
  }

  /**
   * Drops every connection at once, like a killed process: no acks, no lease release, handlers
   * left running. For crash and takeover tests only.
   */
  simulateCrash(): void {
    this.#closed = true;
    this.#ctx.commands.disconnect();
    for (const subscription of [...this.#subscriptions]) subscription.crash();
  }

  /** Appends messages to their partitions in one pipeline; backlog checks run inside Redis. */
  async #append(topic: string, messages: EncodedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const { commands, keys, partitions } = this.#ctx;
    const pipeline = commands.pipeline();
    for (const message of messages) {
      const stream = keys.stream(topic, partitionOf(message.key, partitions));
      queueScript(pipeline, 'kinyuBusPublish', stream, this.#backlogMax, ...messageFields(message));
    }
    for (const [error] of (await pipeline.exec()) ?? []) {
      if (error?.message.startsWith('KINYU_BACKLOG_FULL'))
        throw new BusBacklogFullError(topic, this.#backlogMax);
      if (error) throw error;
    }
  }

  async #scanDeadLetters(topic: string, group: string | undefined, limit: number): Promise<DeadLetter[]> {
    const stream = this.#ctx.keys.deadLetters(topic);
    const found: DeadLetter[] = [];
    let start = '-';
    while (found.length < limit) {
      const entries = parseEntries(
        await this.#ctx.commands.call('XRANGE', stream, start, '+', 'COUNT', deadLetterPageSize),
      );
      for (const { fields } of entries) {
        const deadLetter = deadLetterFromFields(fields);
        if (group === undefined || deadLetter.group === group) found.push(deadLetter);
      }
      if (entries.length < deadLetterPageSize) break;
      start = `(${entries.at(-1)!.streamId}`;
    }
    return found.slice(0, limit);
  }
}

function deadLetterFromFields(fields: Map<string, string>): DeadLetter {
  const [id, topic, group, count, error, at] = ['dl', 't', 'grp', 'n', 'e', 'at'].map((name) =>
    fields.get(name),
  );
  assert(id && topic && group && count && error !== undefined && at, 'a dead-letter entry has every field');
  return {
    id,
    topic,
    group,
    message: decodeMessage(topic, messageFromFields(fields), Number(count)),
    error,
    deadLetteredAt: at,
  };
}
