import { projectorLimits } from './limits.ts';

interface Waiter {
  seq: number;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

/**
 * Callers waiting for a projection checkpoint to reach a seq (read-your-writes for the queries):
 * bounded in number (waitersMax) and in time (waitTimeoutMsMax). Used by the projector and by its
 * thread handle alike.
 */
export class SeqWaiters {
  private readonly waiters = new Set<Waiter>();

  /**
   * Resolves true once `reached(seq)` is reported, or false after `timeoutMs` (capped at
   * waitTimeoutMsMax); false at once when waitersMax callers already wait or `timeoutMs` ≤ 0.
   */
  wait(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.waiters.size >= projectorLimits.waitersMax || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        seq,
        resolve,
        timer: setTimeout(
          () => {
            this.waiters.delete(waiter);
            resolve(false);
          },
          Math.min(timeoutMs, projectorLimits.waitTimeoutMsMax),
        ),
      };
      this.waiters.add(waiter);
    });
  }

  /** The checkpoint is at `seq`: every caller waiting for it or less gets true. */
  reached(seq: number): void {
    for (const waiter of this.waiters) {
      if (waiter.seq > seq) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve(true);
    }
  }

  /** Stopping: every caller still waiting gets false. */
  cancelAll(): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.waiters.clear();
  }
}
