import type { OutboxMessage } from '../outbox/types.ts';
import type { PoolClient } from '../sql/pool.ts';
import type { Checkpoint } from './checkpoint.ts';

/** JSON metadata stored beside an event (correlation and causation ids, the acting user, …). */
export type EventMetadata = Record<string, unknown>;

/** An event to append. `data` must be plain JSON: no bigint (encode minor units as strings). */
export interface NewEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata?: EventMetadata;
}

/** Where an appended event ended up. Versions count from 1 within a stream; 0 means "no events". */
export interface RecordedFields {
  /** UUIDv7, so ids sort by time of recording. */
  id: string;
  streamId: string;
  version: bigint;
  /** Order of insertion across all streams; may have gaps (rolled-back appends). */
  globalPosition: bigint;
  /** The writing transaction (xid8); with globalPosition it forms the event's Checkpoint. */
  transactionId: bigint;
  metadata: EventMetadata;
  recordedAt: Date;
}

/**
 * A stored event. `E` is usually a module's union of events: the stored JSON is trusted to match it,
 * because only that module's code appends to its streams.
 */
export type RecordedEvent<E extends NewEvent = NewEvent> = E extends NewEvent
  ? Omit<E, 'metadata'> & RecordedFields
  : never;

/**
 * What the writer believes about the stream: its exact current version (`0n` = it has no events),
 * 'no_stream' (same as `0n`), 'stream_exists' (at least one event) or 'any' (no check).
 */
export type ExpectedVersion = bigint | 'no_stream' | 'any' | 'stream_exists';

export interface AppendOptions {
  expectedVersion: ExpectedVersion;
  /** Messages for the bus, written in the same transaction as the events. */
  outbox?: readonly OutboxMessage[];
  /**
   * Run inside the caller's transaction (to write projection rows atomically with the events).
   * Prefer one from EventStore.transaction(): others must NOTIFY from inside, which is slower.
   */
  tx?: PoolClient;
}

export interface AppendResult {
  /** The stream's version after the append: pass it as expectedVersion to append again. */
  nextExpectedVersion: bigint;
  /** Global position of the last appended event. */
  lastPosition: bigint;
}

export interface ReadStreamOptions {
  /** First version to return; 1n (the first event) by default. */
  fromVersion?: bigint;
  /** Most events to return; limits.readPageEventsMax by default, and at most that. */
  limit?: number;
  tx?: PoolClient;
}

export interface AggregateOptions<State, E extends NewEvent> {
  evolve: (state: State, event: RecordedEvent<E>) => State;
  initialState: () => State;
  tx?: PoolClient;
}

export interface ReadAllOptions {
  /** Only events of these types are returned; the checkpoint still moves past the others. */
  types?: readonly string[];
  tx?: PoolClient;
}

export interface ReadAllPage<E extends NewEvent = NewEvent> {
  events: RecordedEvent<E>[];
  /** Continue from here. Past every scanned event, including ones the type filter left out. */
  checkpoint: Checkpoint;
  /** Events scanned (returned or filtered out); fewer than the limit means the reader is caught up. */
  scanned: number;
}

/** Handles one event inside the subscription's transaction; `tx` is that transaction. */
export type AllEventHandler<E extends NewEvent = NewEvent> = (
  event: RecordedEvent<E>,
  tx: PoolClient,
) => Promise<void>;

export interface SubscribeToAllOptions {
  /** Events per transaction; at most eventStoreLimits.subscriptionBatchMax. Default 100. */
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Only these event types reach the handler. */
  filter?: readonly string[];
  /** Called when a batch fails (it is retried after pollIntervalMs). Default: console.error. */
  onError?: (error: unknown) => void;
}
