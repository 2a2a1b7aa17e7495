import { type ChainableCommander, Redis, type RedisOptions } from 'ioredis';
import type { Clock } from '../clock.ts';
import { assert } from '../errors.ts';
import type { IdGenerator } from '../ids.ts';
import type { EncodedMessage } from './common.ts';
import { defineScripts } from './redis-scripts.ts';

/** Where the bus reports infrastructure trouble (pino's `logger.warn(details, message)` fits). */
export interface BusLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export const consoleBusLogger: BusLogger = {
  warn: (details, message) => console.warn(`[kinyu bus] ${message}`, details),
};

/**
 * Redis key layout. Topic and group names cannot contain ':' (checkName), and internal keys start
 * with '_' (names cannot), so no two kinds of key ever collide.
 */
export class RedisKeys {
  constructor(readonly namespace: string) {}

  /** One stream per partition: `kinyu:payments.captured:3`. */
  stream(topic: string, partition: number): string {
    return `${this.namespace}${topic}:${partition}`;
  }

  partitionOfStream(stream: string): number {
    return Number(stream.slice(stream.lastIndexOf(':') + 1));
  }

  lease(topic: string, group: string, partition: number): string {
    return `${this.namespace}${topic}:${partition}:lease:${group}`;
  }

  consumers(topic: string, group: string): string {
    return `${this.namespace}${topic}:consumers:${group}`;
  }

  deadLetters(topic: string): string {
    return `${this.namespace}${topic}.dead-letter`;
  }

  get deadLetterIndex(): string {
    return `${this.namespace}_bus:dead-letter-index`;
  }

  get deadLetterTopics(): string {
    return `${this.namespace}_bus:dead-letter-topics`;
  }
}

/** Everything subscriptions share with the bus that created them. */
export interface RedisBusContext {
  readonly commands: Redis;
  readonly keys: RedisKeys;
  readonly partitions: number;
  readonly leaseMs: number;
  readonly blockMs: number;
  readonly readBatch: number;
  readonly deadLettersMax: number;
  readonly clock: Clock;
  readonly newId: IdGenerator;
  readonly logger: BusLogger;
  connect(role: string, options?: Partial<RedisOptions>): Redis;
}

/**
 * A connection that waits through outages instead of failing commands (maxRetriesPerRequest: null):
 * the bus resumes by itself when Redis comes back. Errors are reported once per outage.
 */
export function connectRedis(
  url: string,
  name: string,
  logger: BusLogger,
  options: Partial<RedisOptions> = {},
) {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    connectionName: name,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    ...options,
  });
  let reported = false;
  redis.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    logger.warn({ err: error, connection: name }, 'Redis connection error; reconnecting');
  });
  redis.on('ready', () => {
    reported = false;
  });
  defineScripts(redis);
  return redis;
}

/** Stream entry fields as the bus writes them: i(d), k(ey), p(ayload), h(eaders), g (only this group). */
export function messageFields(message: EncodedMessage): string[] {
  const fields = ['i', message.id, 'k', message.key, 'p', message.payloadJson, 'h', message.headersJson];
  if (message.onlyGroup !== undefined) fields.push('g', message.onlyGroup);
  return fields;
}

export type RawEntry = [id: string, fields: string[] | null];

export function fieldMap(fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let index = 0; index + 1 < fields.length; index += 2) map.set(fields[index]!, fields[index + 1]!);
  return map;
}

export function messageFromFields(fields: Map<string, string>): EncodedMessage {
  const id = fields.get('i');
  const key = fields.get('k');
  const payloadJson = fields.get('p');
  const headersJson = fields.get('h') ?? '{}';
  assert(id !== undefined && key !== undefined && payloadJson !== undefined, 'bus stream entry lacks fields');
  const onlyGroup = fields.get('g');
  return onlyGroup === undefined
    ? { id, key, payloadJson, headersJson }
    : { id, key, payloadJson, headersJson, onlyGroup };
}

/** XREADGROUP / XRANGE / XCLAIM entries, skipping ones deleted from the stream (null fields). */
export function parseEntries(raw: unknown): Array<{ streamId: string; fields: Map<string, string> }> {
  if (!Array.isArray(raw)) return [];
  const entries: Array<{ streamId: string; fields: Map<string, string> }> = [];
  for (const [streamId, fields] of raw as RawEntry[]) {
    if (fields) entries.push({ streamId, fields: fieldMap(fields) });
  }
  return entries;
}

export interface PendingRow {
  streamId: string;
  owner: string;
  idleMs: number;
  deliveryCount: number;
}

/** The extended form of XPENDING: [id, consumer, idle ms, delivery count] rows in id order. */
export function parsePending(raw: unknown): PendingRow[] {
  if (!Array.isArray(raw)) return [];
  return (raw as Array<[string, string, number, number]>).map(([streamId, owner, idleMs, deliveryCount]) => ({
    streamId,
    owner,
    idleMs: Number(idleMs),
    deliveryCount: Number(deliveryCount),
  }));
}

export function isNoGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

/** Runs a pipeline or transaction and returns the replies, throwing the first error. */
export async function execAll(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
  return results.map(([, value]) => value);
}

/** Wait before retrying after `failures` consecutive Redis errors. */
export function backoffMs(failures: number): number {
  return Math.min(50 * 2 ** failures, 2_000);
}
