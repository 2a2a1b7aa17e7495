/**
 * The message bus: one interface, two implementations (in-process for embedded mode, Redis Streams
 * when distributed). Delivery is at-least-once; consumers make effects exactly-once with
 * `handleOnce` (src/platform/consumer). Messages with the same key are handled in publish order
 * within a consumer group.
 *
 * A group created after messages were published starts from the oldest message the topic still
 * retains (Redis `XGROUP CREATE … 0`): a topic retains every message until each existing group has
 * acknowledged it, so messages published before the first subscriber are never lost.
 */
export interface OutgoingMessage {
  /** Unique message id; the outbox passes its own so a republished message keeps its id. */
  id?: string;
  /** Ordering key: messages with one key are handled one at a time, in order, within a group. */
  key: string;
  /** Plain JSON data (no bigint: encode money as decimal strings or minor units as strings). */
  payload: unknown;
  headers?: Record<string, string>;
}

export interface DeliveredMessage {
  id: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: Record<string, string>;
  /** 1 on first delivery, then 2, 3, … on redeliveries. */
  deliveryCount: number;
}

/** Resolving acknowledges the message; throwing (or timing out) leads to redelivery. */
export type MessageHandler = (message: DeliveredMessage) => Promise<void>;

export interface SubscribeOptions {
  /** Unacknowledged messages are redelivered after this long. */
  ackTimeoutMs?: number;
  /** After this many deliveries the message moves to the dead-letter topic. */
  maxDeliveries?: number;
  /** Distinct keys handled at once by this subscriber. */
  concurrency?: number;
  /**
   * Wait before redelivering a message whose handler threw: retryDelayMs × 2^(deliveryCount − 1),
   * capped at busLimits.retryDelayMsMax. Later messages of the same key wait meanwhile.
   */
  retryDelayMs?: number;
}

export interface Subscription {
  /** Stops taking new messages and waits for in-flight handlers to finish. */
  close(): Promise<void>;
}

export interface DeadLetter {
  id: string;
  /** The topic the message was published to (the dead letter is kept under `<topic>.dead-letter`). */
  topic: string;
  group: string;
  message: DeliveredMessage;
  /** Last handler error, as text. */
  error: string;
  deadLetteredAt: string;
}

export interface DeadLetterFilter {
  topic?: string;
  group?: string;
  /** At most this many, oldest first (default 100, at most limits.pageSizeMax). */
  limit?: number;
}

export interface PublishOptions {
  /**
   * Non-durable buses only: called with a message's id once every consumer group has acknowledged it.
   * Never called for a message that was dead-lettered (it is not handled). Durable buses ignore it.
   */
  onHandled?: (id: string) => void;
}

export interface Bus {
  readonly kind: 'memory' | 'redis';
  /**
   * Whether a published message survives this process. The in-process bus does not: the outbox relay
   * then keeps each row until `onHandled` reports it handled, so a crash loses nothing.
   */
  readonly durable: boolean;
  /** Publishes one message; resolves with its id once the bus holds it. */
  publish(topic: string, message: OutgoingMessage): Promise<string>;
  /**
   * Publishes several messages in one round trip (pipelined on Redis), in order. Not atomic: when it
   * fails, some messages may already be published; publishing the batch again is safe (ids are kept).
   */
  publishBatch(
    topic: string,
    messages: readonly OutgoingMessage[],
    options?: PublishOptions,
  ): Promise<string[]>;
  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Subscription;
  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /** Publishes a dead letter again to its topic for its group, and removes it from the dead letters. */
  redriveDeadLetter(id: string): Promise<void>;
  /** True when the bus can take messages (readiness). */
  ping(): Promise<boolean>;
  /** Closes every subscription (waiting for in-flight handlers), then releases connections. */
  close(): Promise<void>;
}
