import { limits } from '../limits.ts';

/**
 * The bus's named maxima and defaults. `limits.memoryBusBacklogMax` and `limits.busDeliveriesMax`
 * already live in src/platform/limits.ts; the `*Max` values below are candidates to move there.
 */
export const busLimits = {
  /** Length of a topic or group name. */
  nameLengthMax: 200,
  /** Length of a message's ordering key. */
  keyLengthMax: 256,
  /** Length of a message id (the outbox passes UUIDs). */
  messageIdLengthMax: 200,
  /** JSON-encoded payload size in bytes. */
  payloadBytesMax: 1_048_576,
  /** JSON-encoded headers size in bytes. */
  headersBytesMax: 16_384,
  /** Messages in one publishBatch call. */
  publishBatchMessagesMax: 5_000,
  /** Dead letters kept per topic; when full, a message that should be dead-lettered is retried instead. */
  deadLettersPerTopicMax: 100_000,
  /** Characters of a handler error kept in a dead letter. */
  deadLetterErrorLengthMax: 2_000,
  /** Upper bound of the exponential retry delay. */
  retryDelayMsMax: 60_000,
  ackTimeoutMsMax: 3_600_000,
  /** Upper bound for the maxDeliveries option (KINYU_BUS_MAX_DELIVERIES allows up to 1000). */
  maxDeliveriesMax: 1_000,
  /** Keys (memory) or partitions (Redis) one subscriber handles at once. */
  concurrencyMax: 256,
  /** Redis: partitions per topic. */
  partitionsMax: 1_024,
  /** Redis: entries one XREADGROUP reads per partition, and entries buffered per partition. */
  readBatchMax: 1_000,
  /** Redis: entries per partition stream before publish fails (acknowledged entries are trimmed). */
  redisPartitionBacklogMax: 1_000_000,
} as const;

/** Defaults for subscriptions and the Redis bus; every one can be overridden per bus or subscription. */
export const busDefaults = {
  ackTimeoutMs: 30_000,
  ackTimeoutMsMin: 10,
  maxDeliveries: limits.busDeliveriesMax,
  concurrency: 8,
  retryDelayMs: 1_000,
  deadLetterListLimit: 100,
  namespace: 'kinyu:',
  partitions: 8,
  leaseMs: 10_000,
  leaseMsMin: 200,
  blockMs: 2_000,
  readBatch: 100,
} as const;
