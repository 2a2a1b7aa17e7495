import { setTimeout as sleep } from 'node:timers/promises';

/** A probe's answer for "not yet": keep polling. Any other value (0 and '' included) is the result. */
type NotYet = undefined | null | false;

export interface EventuallyOptions {
  /** What is awaited, named in the timeout error ("timed out after 10000 ms waiting for <what>"). */
  what?: string;
  /** Longest wait before failing. Default 10 s, well inside the 60 s test timeout. */
  timeoutMs?: number;
}

/** Pause between two probes: short next to any deadline, long enough not to flood a database. */
const pollIntervalMs = 10;

/**
 * Calls `probe` (sync or async) every few milliseconds until it answers something other than
 * undefined, null or false, and resolves with that answer; for waiting on asynchronous effects
 * without racing a fixed sleep. A probe that throws is tried again (the effect may not be readable
 * yet); after `timeoutMs` it rejects, naming `what` and the last error.
 */
export async function eventually<T>(
  probe: () => T | NotYet | Promise<T | NotYet>,
  { what = 'the condition', timeoutMs = 10_000 }: EventuallyOptions = {},
): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > giveUpAt) {
      const cause = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`, { cause: lastError });
    }
    await sleep(pollIntervalMs);
  }
}
