import type { Pool, PoolClient } from '../sql/pool.ts';

/**
 * A sleep that a notification cuts short. A wake() that arrives while nobody waits is remembered,
 * so a NOTIFY landing during a batch makes the next wait return at once instead of being lost.
 */
export class Wakeup {
  #pending = false;
  #cancel: (() => void) | undefined;

  /** Resolves after `ms`, on wake(), or when `signal` aborts, whichever is first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#pending || signal?.aborted) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#cancel = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.#cancel = done;
    });
  }

  wake(): void {
    if (this.#cancel) this.#cancel();
    else this.#pending = true;
  }
}

/** Sleeps `ms` unless `signal` aborts first; for back-off that a NOTIFY must not cut short. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Wakeup().wait(ms, signal);
}

const destroyed = new WeakSet<PoolClient>();

/**
 * Holds one pooled connection that LISTENs on a channel and calls every registered callback on each
 * notification. If the connection breaks, callers go on polling and the next ensure() reconnects.
 */
export class ChannelListener {
  readonly #pool: Pool;
  readonly #channel: string;
  readonly #callbacks = new Set<() => void>();
  #client: PoolClient | undefined;
  #connecting: Promise<void> | undefined;

  constructor(pool: Pool, channel: string) {
    this.#pool = pool;
    this.#channel = channel;
  }

  /** Registers `callback`; returns the function that removes it. */
  add(callback: () => void): () => void {
    this.#callbacks.add(callback);
    return () => this.#callbacks.delete(callback);
  }

  /** Connects and LISTENs unless already done; a failure is thrown, and polling covers for it. */
  async ensure(): Promise<void> {
    if (this.#client) return;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    await this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = await this.#pool.connect();
    client.on('error', () => this.#drop(client));
    client.on('notification', (message) => {
      if (message.channel !== this.#channel) return;
      for (const callback of this.#callbacks) callback();
    });
    try {
      await client.query(`LISTEN ${this.#channel}`);
    } catch (error) {
      this.#drop(client);
      throw error;
    }
    this.#client = client;
    // Events committed between the last poll and LISTEN would otherwise wait for the next poll.
    for (const callback of this.#callbacks) callback();
  }

  #drop(client: PoolClient): void {
    if (this.#client === client) this.#client = undefined;
    if (destroyed.has(client)) return;
    destroyed.add(client);
    // The connection carries LISTEN state, so it is destroyed rather than handed back for reuse.
    client.release(true);
  }

  /** Closes the listening connection. */
  async close(): Promise<void> {
    await this.#connecting?.catch(() => {});
    if (this.#client) this.#drop(this.#client);
  }
}

/**
 * Least time between two notifications of one notifier. Under load every append would otherwise
 * cost a second statement; this bounds it to 1000 / notifyGapMs a second, for at most this much
 * extra wake-up latency.
 */
export const notifyGapMs = 5;

/**
 * Sends NOTIFY on a channel after commits made elsewhere, in the background, coalescing bursts: one
 * notification in flight at a time, at most one per notifyGapMs, and always one after the last
 * poke. Listeners only need to learn "something new", so many appends share one notification.
 */
export class CommitNotifier {
  readonly #pool: Pool;
  readonly #channel: string;
  #sending: Promise<void> | undefined;
  #again = false;

  constructor(pool: Pool, channel: string) {
    this.#pool = pool;
    this.#channel = channel;
  }

  /** Call after a commit; returns at once. */
  poke(): void {
    if (this.#sending) {
      this.#again = true;
      return;
    }
    this.#sending = this.#send().finally(() => {
      this.#sending = undefined;
    });
  }

  async #send(): Promise<void> {
    for (;;) {
      this.#again = false;
      const startedMs = performance.now();
      // Its own transaction, committed without waiting for a WAL flush: losing a notification in a
      // crash costs one poll interval, never an event. A failure is covered by polling likewise.
      await this.#pool
        .query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')", [this.#channel])
        .catch(() => {});
      const waitMs = notifyGapMs - (performance.now() - startedMs);
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      if (!this.#again) return;
    }
  }

  /** Waits for the notifications in flight, if any. */
  async flush(): Promise<void> {
    await this.#sending;
  }
}
