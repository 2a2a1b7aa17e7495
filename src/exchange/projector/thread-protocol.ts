/*
 * What crosses the boundary between the main thread (ProjectorThread) and the projector's worker
 * (worker.ts): the worker's start data, the messages each way, and two seqs in shared memory that
 * both sides read without a message.
 */
import type { BookLimits } from '../matching/index.ts';

/** Slots of the shared BigInt64Array. Each has exactly one writer. */
export const sharedSlot = {
  /** The exchange's last acknowledged (durable) seq; written by the main thread, read by the worker. */
  durableSeq: 0,
  /** The projector's checkpoint; written by the worker after each committed batch, read by the main thread. */
  appliedSeq: 1,
} as const;

export const sharedSlotCount = 2;

export function readSeq(shared: BigInt64Array, slot: number): number {
  return Number(Atomics.load(shared, slot));
}

export function writeSeq(shared: BigInt64Array, slot: number, seq: number): void {
  Atomics.store(shared, slot, BigInt(seq));
}

/** `workerData` of the projector's worker: only cloneable values (no pool, no logger, no callbacks). */
export interface ProjectorWorkerData {
  /** Connection string of the app's database; the worker opens its own small pool on it. */
  databaseUrl: string;
  dir: string;
  /** SharedArrayBuffer of sharedSlotCount BigInt64 slots. */
  shared: SharedArrayBuffer;
  name?: string;
  pollIntervalMs?: number;
  batchRecordsMax?: number;
  batchRowsMax?: number;
  bookLimits?: Partial<BookLimits>;
  /** Snapshots of the books every this many commands, written by a SnapshotFollower on this thread; 0 or absent: none. */
  snapshotEveryCommands?: number;
}

export type ToWorker =
  /** Begin polling (sent once the worker reported `opened`). */
  | { type: 'start' }
  /** A reader waits for a seq: poll now. */
  | { type: 'wake' }
  /** Finish the batch in flight, close the pool, report `stopped`. */
  | { type: 'stop' };

/** An Error as plain data (custom error classes do not survive structured cloning). */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
}

export type LogLevel = 'error' | 'warn' | 'info';

export type FromWorker =
  /** Open and caught up with the journal up to the durable seq. */
  | { type: 'opened'; appliedSeq: number }
  /** A batch was committed; the checkpoint is in the shared slot too. */
  | { type: 'committed'; seq: number }
  /** Opening failed; the worker closes its pool and exits. */
  | { type: 'failed'; error: ErrorData }
  /** A log line for the main thread's logger. */
  | { type: 'log'; level: LogLevel; fields: Record<string, unknown>; message: string }
  /** Stopped on request: the batch in flight is committed and the pool is closed. */
  | { type: 'stopped' };

export function errorData(error: unknown): ErrorData {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

/** Rebuilds an Error from ErrorData on the main thread: same name, message and (worker) stack. */
export function errorFromData(data: ErrorData): Error {
  const error = new Error(data.message);
  error.name = data.name;
  if (data.stack) error.stack = data.stack;
  return error;
}
