import { fail } from './assert.ts';
import { IdRangeBuilder } from './id-ranges.ts';
import { matchingLimits } from './limits.ts';

/*
 * orderId → slot for the fast book (slot ≥ 0: the slot the order last rested in; -1: used this
 * session, never rested). The book decides whether an id still rests (its slot still holds it).
 * A lookup happens on every command, and with a million ids a V8 Map costs several dependent cache
 * misses per lookup, so this is two plain typed-array structures:
 *
 *  - a dense window: an Int32Array indexed by `id - base`, used while ids are dense enough (the
 *    window is at most `orderIdWindowSlotsPerIdMax` times larger than the number of ids it holds, so
 *    its memory stays within a few words per id). Sequencer-assigned ids and the benchmark
 *    workloads (ids 1..1,000,000) land here: one array read per lookup;
 *  - an open-addressing hash table with linear probing over [key, value] pairs in one Float64Array
 *    for every other id (sparse or huge ids), usually one cache line per lookup.
 *
 * Keys are non-negative safe integers, so -1 marks an empty pair. Entries are only added or updated
 * in place; removal happens all at once in `retain` (session close).
 */

/** Value `get` returns for a key that is not in the index. */
export const missing = -2;

const emptyKey = -1;
// Linear probing stays short up to ~0.7.
const maxLoadFactor = 0.7;
const twoTo32 = 2 ** 32;
const windowChunkIds = 1 << 12;

/** Hash map from safe-integer ids to small integers (slots), tuned for the matching hot path. */
export class OrderIdIndex {
  private base = 0;
  private window = new Int32Array(0);
  private windowCount = 0;
  private entries: Float64Array;
  private mask: number;
  private hashedCount = 0;

  constructor(initialCapacity = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity / maxLoadFactor)));
    this.entries = new Float64Array(capacity * 2).fill(emptyKey);
    this.mask = capacity - 1;
  }

  /** Number of keys. */
  get size(): number {
    return this.windowCount + this.hashedCount;
  }

  /** The value for `key`, or `missing`. */
  get(key: number): number {
    const offset = key - this.base;
    if (offset >= 0 && offset < this.window.length) return this.window[offset]!;
    return this.hashedGet(key);
  }

  /** Inserts or updates. */
  set(key: number, value: number): void {
    let offset = key - this.base;
    if (offset < 0 || offset >= this.window.length) {
      if (!this.widenWindowFor(key)) {
        this.hashedSet(key, value);
        return;
      }
      offset = key - this.base;
    }
    if (this.window[offset] === missing) this.windowCount++;
    this.window[offset] = value;
  }

  /** Updates the value of a key that is in the index. */
  update(key: number, value: number): void {
    const offset = key - this.base;
    if (offset >= 0 && offset < this.window.length && this.window[offset] !== missing) {
      this.window[offset] = value;
      return;
    }
    const i = this.probe(key);
    if (this.entries[i * 2] !== key) fail(`order id ${key} is not indexed`);
    this.entries[i * 2 + 1] = value;
  }

  /**
   * The keys whose entries pass `keep`, as canonical ranges (id-ranges.ts). The window is read in
   * key order and only the hashed keys are sorted, so with dense ids (the sequencer's) this is one
   * pass, no sort and no array per key: the book's snapshot lists the session's retired ids this way.
   */
  keyRanges(keep: (key: number, value: number) => boolean): number[] {
    const hashed: number[] = [];
    const entries = this.entries;
    for (let i = 0; i < entries.length; i += 2) {
      if (entries[i] !== emptyKey && keep(entries[i]!, entries[i + 1]!)) hashed.push(entries[i]!);
    }
    const hashedKeys = Float64Array.from(hashed).sort();
    const ranges = new IdRangeBuilder();
    let h = 0;
    for (let offset = 0; offset < this.window.length; offset++) {
      const value = this.window[offset]!;
      if (value === missing || !keep(this.base + offset, value)) continue;
      while (h < hashedKeys.length && hashedKeys[h]! < this.base + offset) ranges.add(hashedKeys[h++]!);
      ranges.add(this.base + offset);
    }
    while (h < hashedKeys.length) ranges.add(hashedKeys[h++]!);
    return ranges.pairs;
  }

  /** Calls `visit` for every entry. */
  forEach(visit: (key: number, value: number) => void): void {
    for (let offset = 0; offset < this.window.length; offset++) {
      const value = this.window[offset]!;
      if (value !== missing) visit(this.base + offset, value);
    }
    const entries = this.entries;
    for (let i = 0; i < entries.length; i += 2) {
      if (entries[i] !== emptyKey) visit(entries[i]!, entries[i + 1]!);
    }
  }

  /** Keeps only the entries that pass `keep`. */
  retain(keep: (value: number, key: number) => boolean): void {
    for (let offset = 0; offset < this.window.length; offset++) {
      const value = this.window[offset]!;
      if (value !== missing && !keep(value, this.base + offset)) {
        this.window[offset] = missing;
        this.windowCount--;
      }
    }
    if (this.windowCount === 0) this.window = new Int32Array(0);
    const old = this.entries;
    this.entries = new Float64Array(old.length).fill(emptyKey);
    this.hashedCount = 0;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== emptyKey && keep(old[i + 1]!, old[i]!)) this.hashedSet(old[i]!, old[i + 1]!);
    }
  }

  /**
   * Grows the window to cover `key` if it stays dense enough and within its limit, moving hashed
   * ids that fall inside it. Returns false when `key` must be hashed instead.
   */
  private widenWindowFor(key: number): boolean {
    const length = this.window.length;
    const low = length === 0 ? key : Math.min(this.base, key);
    const high = length === 0 ? key : Math.max(this.base + length - 1, key);
    const needed = Math.max(high - low + 1, windowChunkIds);
    // Grow by at least a quarter, so the window is copied O(log n) times whatever the id pattern.
    let newLength = Math.max(needed, 2 * length);
    if (!this.windowFits(newLength)) newLength = Math.max(needed, Math.ceil(length * 1.25));
    if (!this.windowFits(newLength)) return false;
    // Grow away from the ids already covered.
    const base = length === 0 || key < this.base ? Math.max(0, high + 1 - newLength) : low;
    const window = new Int32Array(newLength).fill(missing);
    if (length > 0) window.set(this.window, this.base - base);
    this.window = window;
    this.base = base;
    this.moveHashedIntoWindow();
    return true;
  }

  private windowFits(length: number): boolean {
    if (length > matchingLimits.orderIdWindowMax) return false;
    return length <= windowChunkIds || length <= (this.size + 1) * matchingLimits.orderIdWindowSlotsPerIdMax;
  }

  private moveHashedIntoWindow(): void {
    const old = this.entries;
    this.entries = new Float64Array(old.length).fill(emptyKey);
    this.hashedCount = 0;
    for (let i = 0; i < old.length; i += 2) {
      const key = old[i]!;
      if (key === emptyKey) continue;
      const offset = key - this.base;
      if (offset >= 0 && offset < this.window.length) {
        this.window[offset] = old[i + 1]!;
        this.windowCount++;
      } else this.hashedSet(key, old[i + 1]!);
    }
  }

  private hashedGet(key: number): number {
    const i = this.probe(key);
    return this.entries[i * 2] === key ? this.entries[i * 2 + 1]! : missing;
  }

  private hashedSet(key: number, value: number): void {
    if ((this.hashedCount + 1) / (this.mask + 1) > maxLoadFactor) this.rehash((this.mask + 1) * 2);
    const i = this.probe(key);
    if (this.entries[i * 2] !== key) {
      this.entries[i * 2] = key;
      this.hashedCount++;
    }
    this.entries[i * 2 + 1] = value;
  }

  /** Pair index holding `key`, or the empty pair where it would go. */
  private probe(key: number): number {
    const entries = this.entries;
    for (let i = hash(key) & this.mask; ; i = (i + 1) & this.mask) {
      const k = entries[i * 2]!;
      if (k === key || k === emptyKey) return i;
    }
  }

  private rehash(capacity: number): void {
    const old = this.entries;
    this.entries = new Float64Array(capacity * 2).fill(emptyKey);
    this.mask = capacity - 1;
    this.hashedCount = 0;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== emptyKey) this.hashedSet(old[i]!, old[i + 1]!);
    }
  }
}

/** Mixes both 32-bit halves of a safe integer (murmur3 finalizer), so nearby ids spread out. */
function hash(key: number): number {
  let h = (key >>> 0) ^ Math.imul((key / twoTo32) | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
