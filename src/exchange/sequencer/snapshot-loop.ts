import type { BookLimits } from '../matching/index.ts';
import { SnapshotFollower } from './snapshot-follower.ts';

export interface SnapshotLoopOptions {
  /** The exchange data directory (the journal is read, snapshot files are added). */
  dir: string;
  /** Write a snapshot once this many commands were acknowledged since the newest one; 0: never start. */
  everyCommands: number;
  /** The sequencer's last acknowledged seq, read on every step (shared memory across threads). */
  durableSeq: () => number;
  bookLimits?: Partial<BookLimits>;
  /** Pause between steps once the follower has caught up with the durable seq. */
  pollIntervalMs: number;
  /** Pause after a failed step; the next step builds the follower afresh. */
  retryDelayMs: number;
  /** A snapshot file was written at `seq`. */
  onSnapshot(seq: number): void;
  /** A step failed; recovery replays a longer journal tail until a later step succeeds. */
  onError(error: unknown): void;
}

export interface SnapshotLoop {
  /** Begins stepping (once; a loop with everyCommands 0 never starts). */
  start(): void;
  /** Stops stepping and waits for a snapshot being written. */
  stop(): Promise<void>;
}

/**
 * Steps a SnapshotFollower on its own timer: every pollIntervalMs, or at once again while it lags
 * behind the durable seq. The follower is built on the first step, replaying from the newest
 * snapshot; a failure is reported and retried after retryDelayMs with a follower built afresh.
 * The projector's worker thread runs one beside the projector; the sequencer bench runs one on a
 * thread of its own, as the server does.
 */
export function snapshotLoop(options: SnapshotLoopOptions): SnapshotLoop {
  let follower: SnapshotFollower | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let started = false;
  let stopped = false;
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = step().then(schedule);
    }, delayMs);
  };
  const step = async (): Promise<number> => {
    try {
      follower ??= new SnapshotFollower(options.dir, {
        everyCommands: options.everyCommands,
        durableSeq: options.durableSeq,
        ...(options.bookLimits === undefined ? {} : { bookLimits: options.bookLimits }),
      });
      const seq = await follower.step();
      if (seq !== null) options.onSnapshot(seq);
      return follower.appliedSeq < options.durableSeq() ? 0 : options.pollIntervalMs;
    } catch (error) {
      follower = null;
      options.onError(error);
      return options.retryDelayMs;
    }
  };
  return {
    start() {
      if (options.everyCommands === 0 || started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
