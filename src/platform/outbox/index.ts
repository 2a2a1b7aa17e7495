export { type EnqueueOptions, enqueueOutbox, outboxChannel } from './enqueue.ts';
export { outboxLimits } from './limits.ts';
export {
  OutboxPublishError,
  OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelayStats,
  type RelayLog,
  relayLockKey,
} from './relay.ts';
export type { OutboxMessage } from './types.ts';
