import { limits } from '../limits.ts';

/** Maxima of the event store beyond the shared ones in src/platform/limits.ts. */
export const eventStoreLimits = {
  /** Characters in a stream id ("account-<uuid>" fits many times over). */
  streamIdLengthMax: 200,
  /** Characters in an event type. */
  eventTypeLengthMax: 200,
  /** Bytes of one event's data (and, separately, its metadata) as JSON text. */
  eventJsonBytesMax: 1_048_576,
  /** Nesting depth of any JSON value the store writes; deeper is a bug, not a document. */
  jsonDepthMax: 64,
  /** Characters in a subscription name. */
  subscriptionNameLengthMax: 200,
  /** Events one subscription batch handles in one transaction. */
  subscriptionBatchMax: limits.readPageEventsMax,
  /** Longest poll interval of a subscription or relay: a missed NOTIFY must not stall for longer. */
  pollIntervalMsMax: 60_000,
} as const;
