/** Small async building blocks shared by both bus implementations. */

/** A wake-up call: `wait()` resolves at the next `notify()` or after `timeoutMs`. */
export class Signal {
  #waiters: Array<() => void> = [];

  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(done);
      if (timeoutMs !== undefined) timer = setTimeout(() => this.#remove(done), timeoutMs);
    });
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #remove(done: () => void): void {
    this.#waiters = this.#waiters.filter((waiter) => waiter !== done);
    done();
  }
}

/** Sleeps `ms`, or less when `signal` is notified first (so close() never waits out a retry delay). */
export function sleep(ms: number, signal?: Signal): Promise<void> {
  if (signal) return signal.wait(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Counts permits; `acquire` waits in FIFO order when none is free. */
export class Semaphore {
  #free: number;
  #waiting: Array<() => void> = [];

  constructor(permits: number) {
    this.#free = permits;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

/** A FIFO queue with O(1) shift (arrays shift in O(n)). */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
