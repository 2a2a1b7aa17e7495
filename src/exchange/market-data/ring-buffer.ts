import { assert } from '../matching/assert.ts';

/** A fixed-capacity FIFO: pushing onto a full buffer drops (and returns) the oldest item. */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, `ring capacity ${capacity}`);
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends `item`; returns the item it evicted, if the buffer was full. */
  push(item: T): T | undefined {
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size) % this.capacity] = item;
      this.#size++;
      return undefined;
    }
    const evicted = this.#items[this.#start];
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.capacity;
    return evicted;
  }

  /** The item at `index` (0 = oldest), or undefined outside the buffer. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#size) return undefined;
    return this.#items[(this.#start + index) % this.capacity];
  }

  /** The newest item. */
  last(): T | undefined {
    return this.at(this.#size - 1);
  }

  /** The newest `count` items (all by default), oldest first. */
  newest(count: number = this.#size): T[] {
    const n = Math.min(Math.max(count, 0), this.#size);
    const out: T[] = [];
    for (let i = this.#size - n; i < this.#size; i++) out.push(this.at(i) as T);
    return out;
  }
}
