/*
 * A fixed-window request counter per key, synchronous and allocation-free on the hot path: the
 * order-entry allowance a member's REST and WebSocket order requests share (the generic HTTP limit
 * is @fastify/rate-limit's). A key's window starts with its first hit and lasts `windowMs`, as in
 * @fastify/rate-limit's local store, so the headers mean the same on every route.
 */

export interface RateWindowOptions {
  /** Hits allowed per key and window. */
  max: number;
  windowMs: number;
  /** Milliseconds since the epoch (the app clock in production). */
  now: () => number;
  /** Keys tracked at once; beyond it, windows that have ended are dropped (default 100,000). */
  keysMax?: number;
}

interface Window {
  startedAt: number;
  count: number;
}

/** Counts hits per key in fixed windows. */
export class RateWindow {
  readonly max: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly keysMax: number;
  private readonly windows = new Map<string, Window>();

  constructor(options: RateWindowOptions) {
    if (!(options.max >= 1 && options.windowMs >= 1))
      throw new RangeError('max and windowMs must be at least 1');
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.now = options.now;
    this.keysMax = options.keysMax ?? 100_000;
  }

  /**
   * Counts one hit for `key`. Returns the hits left in its window (≥ 0) when the hit is allowed, or
   * -1 when the window is used up (`resetInMs(key)` says when it ends).
   */
  hit(key: string): number {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || now - window.startedAt >= this.windowMs) {
      if (window === undefined && this.windows.size >= this.keysMax) this.dropEnded(now);
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count >= this.max) return -1;
    window.count++;
    return this.max - window.count;
  }

  /** Milliseconds until `key`'s window ends (0 when it has none). */
  resetInMs(key: string): number {
    const window = this.windows.get(key);
    return window === undefined ? 0 : Math.max(0, window.startedAt + this.windowMs - this.now());
  }

  private dropEnded(now: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.startedAt >= this.windowMs) this.windows.delete(key);
    }
    // Every window is live: forget the oldest rather than grow without bound.
    if (this.windows.size >= this.keysMax) this.windows.delete(this.windows.keys().next().value!);
  }
}
