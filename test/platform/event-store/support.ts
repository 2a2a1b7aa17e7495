import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it returns a value other than undefined, or fails after `deadlineMs`. For
 * waiting on asynchronous effects without racing a fixed sleep.
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, deadlineMs = 10_000): Promise<T> {
  const giveUpAt = Date.now() + deadlineMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > giveUpAt) {
      throw new Error(
        `condition not met within ${deadlineMs} ms${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await sleep(10);
  }
}

/** Resolves with true when `promise` settles before the event loop has turned `turns` times. */
export async function settlesWithin(promise: Promise<unknown>, turns = 20): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let turn = 0; turn < turns && !settled; turn++) await new Promise((resolve) => setImmediate(resolve));
  return settled;
}
