/**
 * The message bus: one interface, two implementations (in-process for embedded mode, Redis Streams
 * when distributed). Delivery is at-least-once; consumers make effects exactly-once with
 * `handleOnce` (src/platform/consumer). Messages with the same key are handled in publish order
 * within a consumer group.
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
}

export interface Subscription {
  /** Stops taking new messages and waits for in-flight handlers to finish. */
  close(): Promise<void>;
}

export interface DeadLetter {
  id: string;
  topic: string;
  group: string;
  message: DeliveredMessage;
  /** Last handler error, as text. */
  error: string;
  deadLetteredAt: string;
}

export interface Bus {
  readonly kind: 'memory' | 'redis';
  publish(topic: string, message: OutgoingMessage): Promise<string>;
  subscribe(topic: string, group: string, handler: MessageHandler, options?: SubscribeOptions): Subscription;
  listDeadLetters(filter?: { topic?: string; group?: string; limit?: number }): Promise<DeadLetter[]>;
  /** Publishes a dead letter again to its topic for its group, and removes it from the dead letters. */
  redriveDeadLetter(id: string): Promise<void>;
  /** True when the bus can take messages (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
