/*
 * New orders sent with an Idempotency-Key, by request key: a digest of the key, its scope (member
 * and route) and the request body, journaled with the order (`meta.requestKey`). The key store in
 * PostgreSQL and the journal are not written together, so a request whose order is journaled may
 * lose its stored answer (the process died first, or it answered 5xx, which is not kept); a retry
 * then holds the key again, and order entry must answer it with that order rather than place it
 * twice. Orders from earlier processes are in the order projection (complete before the exchange
 * serves); this process's are kept here, up to a bound, so a retry does not wait for the projection.
 */

export class OrderRequests {
  /** This process's keyed orders, oldest first: key → order id and when it was placed. */
  readonly #recent = new Map<string, { orderId: number; atMs: number }>();
  readonly #pending = new Set<string>();
  #forgottenUpTo = 0;

  /**
   * `ttlMs`: how long a key means its order (the key store's lifetime: after it, the same key is a
   * new request). `keptMax`: entries kept before the oldest are forgotten.
   */
  constructor(
    readonly ttlMs: number,
    readonly keptMax: number,
  ) {}

  /** True while a request with this key is being placed. */
  isPending(key: string): boolean {
    return this.#pending.has(key);
  }

  begin(key: string): void {
    this.#pending.add(key);
  }

  end(key: string): void {
    this.#pending.delete(key);
  }

  /** Records the order a request with this key placed. */
  placed(key: string, orderId: number, atMs: number): void {
    this.#recent.delete(key);
    this.#recent.set(key, { orderId, atMs });
    if (this.#recent.size <= this.keptMax) return;
    const [oldest, entry] = this.#recent.entries().next().value!;
    this.#recent.delete(oldest);
    this.#forgottenUpTo = Math.max(this.#forgottenUpTo, entry.orderId);
  }

  /** The order this process placed for the key within the lifetime, if it remembers one. */
  recent(key: string, nowMs: number): number | undefined {
    const entry = this.#recent.get(key);
    return entry !== undefined && nowMs - entry.atMs < this.ttlMs ? entry.orderId : undefined;
  }

  /**
   * The highest order id forgotten (0: none): a key this process placed and no longer remembers is
   * found in the projection once it has reached this seq (by then it almost always has).
   */
  get forgottenUpTo(): number {
    return this.#forgottenUpTo;
  }
}
