import { AppError } from '../errors.ts';
import type { IdGenerator } from '../ids.ts';
import { busDefaults, busLimits } from './limits.ts';
import type { DeliveredMessage, OutgoingMessage, SubscribeOptions } from './types.ts';

/** Publish refused because a topic (memory) or partition (Redis) holds too many unacknowledged messages. */
export class BusBacklogFullError extends AppError {
  readonly topic: string;
  readonly backlogMax: number;
  constructor(topic: string, backlogMax: number) {
    super(
      'service_unavailable',
      `bus topic "${topic}" holds ${backlogMax} unacknowledged messages (its backlog limit): ` +
        'publish refused until consumers catch up',
    );
    this.name = 'BusBacklogFullError';
    this.topic = topic;
    this.backlogMax = backlogMax;
  }
}

export function busClosedError(): AppError {
  return new AppError('service_unavailable', 'the bus is closed');
}

/** A message as both implementations store it: validated, payload and headers as JSON text. */
export interface EncodedMessage {
  id: string;
  key: string;
  payloadJson: string;
  headersJson: string;
  /** Set on a re-driven dead letter: only this group handles it, the others skip it. */
  onlyGroup?: string;
}

export type ResolvedSubscribeOptions = Required<SubscribeOptions>;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const deadLetterSuffix = '.dead-letter';

/** Topic and group names: short, no spaces or colons (they become parts of Redis keys). */
export function checkName(kind: 'topic' | 'group', name: string): void {
  if (typeof name !== 'string' || name.length > busLimits.nameLengthMax || !namePattern.test(name)) {
    throw new TypeError(`bus: ${kind} name ${JSON.stringify(name)} must match ${namePattern} (≤ 200 chars)`);
  }
  if (kind === 'topic' && name.endsWith(deadLetterSuffix)) {
    throw new TypeError(`bus: topic names ending in ${deadLetterSuffix} are reserved for dead letters`);
  }
}

/** Validates a message and turns it into its stored form. JSON only, so both buses behave alike. */
/** Validates a publish batch (topic name, batch size, every message) and encodes it, writing nothing. */
export function encodeBatch(
  topic: string,
  messages: readonly OutgoingMessage[],
  newId: IdGenerator,
): EncodedMessage[] {
  checkName('topic', topic);
  if (messages.length > busLimits.publishBatchMessagesMax) {
    throw new RangeError(`bus: at most ${busLimits.publishBatchMessagesMax} messages per batch`);
  }
  return messages.map((message) => encodeMessage(message, newId));
}

export function encodeMessage(message: OutgoingMessage, newId: IdGenerator): EncodedMessage {
  const { key } = message;
  if (typeof key !== 'string' || key.length === 0 || key.length > busLimits.keyLengthMax) {
    throw new TypeError(`bus: message key must be a non-empty string of ≤ ${busLimits.keyLengthMax} chars`);
  }
  const id = message.id ?? newId();
  if (typeof id !== 'string' || id.length === 0 || id.length > busLimits.messageIdLengthMax) {
    throw new TypeError('bus: message id must be a non-empty string of ≤ 200 chars');
  }
  const payloadJson = JSON.stringify(message.payload);
  if (payloadJson === undefined) throw new TypeError('bus: payload must be JSON data');
  checkBytes('payload', payloadJson, busLimits.payloadBytesMax);
  const headersJson = JSON.stringify(checkHeaders(message.headers ?? {}));
  checkBytes('headers', headersJson, busLimits.headersBytesMax);
  return { id, key, payloadJson, headersJson };
}

function checkHeaders(headers: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new TypeError(`bus: header ${name} must be a string`);
  }
  return headers;
}

function checkBytes(what: string, json: string, max: number): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no byte count (hot path).
  if (json.length * 3 <= max) return;
  if (Buffer.byteLength(json) > max) throw new RangeError(`bus: ${what} is larger than ${max} bytes`);
}

/** The handler's view of a stored message: a fresh copy per delivery, so handlers cannot share state. */
export function decodeMessage(
  topic: string,
  message: EncodedMessage,
  deliveryCount: number,
): DeliveredMessage {
  return {
    id: message.id,
    topic,
    key: message.key,
    payload: JSON.parse(message.payloadJson),
    headers: message.headersJson === '{}' ? {} : JSON.parse(message.headersJson),
    deliveryCount,
  };
}

/** Fills in defaults and checks ranges; a bad option is a programming error, so it throws. */
export function resolveSubscribeOptions(
  options: SubscribeOptions | undefined,
  defaults: SubscribeOptions | undefined,
): ResolvedSubscribeOptions {
  const pick = (name: keyof SubscribeOptions, fallback: number, min: number, max: number): number => {
    const value = options?.[name] ?? defaults?.[name] ?? fallback;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`bus: ${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
    return value;
  };
  return {
    ackTimeoutMs: pick(
      'ackTimeoutMs',
      busDefaults.ackTimeoutMs,
      busDefaults.ackTimeoutMsMin,
      busLimits.ackTimeoutMsMax,
    ),
    maxDeliveries: pick('maxDeliveries', busDefaults.maxDeliveries, 1, busLimits.maxDeliveriesMax),
    concurrency: pick('concurrency', busDefaults.concurrency, 1, busLimits.concurrencyMax),
    retryDelayMs: pick('retryDelayMs', busDefaults.retryDelayMs, 0, busLimits.retryDelayMsMax),
  };
}

/** Delay before the next delivery after `deliveryCount` failed ones: exponential, capped. */
export function retryDelayMs(options: ResolvedSubscribeOptions, deliveryCount: number): number {
  const exponent = Math.min(deliveryCount - 1, 20);
  return Math.min(options.retryDelayMs * 2 ** exponent, busLimits.retryDelayMsMax);
}

/** An error as the text a dead letter keeps. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, busLimits.deadLetterErrorLengthMax);
}

export function clampListLimit(limit: number | undefined, pageSizeMax: number): number {
  const value = limit ?? busDefaults.deadLetterListLimit;
  if (!Number.isInteger(value) || value < 1) throw new RangeError('bus: limit must be a positive integer');
  return Math.min(value, pageSizeMax);
}

/** Stable 32-bit FNV-1a hash of the key's UTF-8 bytes: every process maps a key to the same partition. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

export type HandlerOutcome = { ok: true } | { ok: false; error: string };

/**
 * Runs a handler, turning a throw or a hang longer than `timeoutMs` into a failed outcome. A hung
 * handler keeps running (JavaScript cannot cancel it); its late result is ignored.
 */
export function runHandler(
  handler: (message: DeliveredMessage) => Promise<void>,
  message: DeliveredMessage,
  timeoutMs: number,
): Promise<HandlerOutcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve({ ok: false, error: `ack timeout: the handler did not finish within ${timeoutMs} ms` });
    }, timeoutMs);
    Promise.resolve()
      .then(() => handler(message))
      .then(
        () => resolve({ ok: true }),
        (error: unknown) => resolve({ ok: false, error: errorText(error) }),
      )
      .finally(() => clearTimeout(timer));
  });
}
