import { assert } from './assert.ts';
import { matchingLimits } from './limits.ts';

/*
 * The fast book's resting orders: one 32-byte record per slot in a single ArrayBuffer, read through
 * a Float64Array (the id) and an Int32Array (quantity, queue links, level, flags and account).
 * Random access is what a deep book does (a cancel hits any of a million orders), so a record is
 * half a cache line: one miss per order instead of one per field as with struct-of-arrays, and
 * twice as many records per cache as with 64 bytes. The price is not stored: it is
 * the price of the order's level. Nothing is allocated in steady state.
 *
 * A free slot's id is -1, so `holds(slot, orderId)` tells whether an order still rests in a slot.
 * An order goes, when that slot is free, to its home slot `orderId mod capacity`; `find` looks
 * there first. With ids that mostly increase (the sequencer's), most orders are at home, and a
 * cancel in a deep book reads the order record directly: one cache miss and one page instead of
 * the id index's and then the record's (orders placed before the storage grew, or whose home was
 * taken, are found through the index). Other slots come from a stack of freed slots; a slot taken
 * as a home while on that stack stays there and is skipped when popped (`onStack` marks slots on
 * it, so none is pushed twice; every free slot is on it). The storage doubles before it is half
 * full, so a new order's home is mostly free: in a fuller table a deep book's new orders land in
 * random freed slots, and each cancel of one reads the index before the record (a million-order
 * book ran 20–35% slower that way).
 *
 * Accounts are interned: a record holds a small account number, and the names are kept once, with
 * a count of resting orders each, so the table never outgrows the book.
 */

const recordDoubles = 4;
const recordInts = 8;
// Float64 field (index within a record of 4 doubles): the order id.
const fId = 0;
// Int32 fields (index within the same record seen as 8 ints; ints 0–1 overlap the id).
const iQuantity = 2;
const iPrev = 3;
const iNext = 4;
const iLevel = 5;
/** Flags in the low bits, account number above them. */
const iFlagsAccount = 6;
/** 1 while the slot is on the free stack (possibly taken as a home slot since). */
const iOnStack = 7;
const flagBits = 5;
const flagMask = (1 << flagBits) - 1;

/** Slot number meaning "no order" in links and free lists. */
export const noSlot = -1;

const initialSlots = 1024;
const freeId = -1;

/** Order records addressed by slot number. */
export class OrderSlots {
  private f64 = new Float64Array(0);
  private i32 = new Int32Array(0);
  private capacity = 0;
  /** capacity - 1 (capacity is a power of two): orderId & homeMask is the home slot. */
  private homeMask = -1;
  private freeStack = new Int32Array(0);
  private freeTop = 0;
  /** Slots holding an order; kept at most half the capacity. */
  private used = 0;
  private readonly accountNumbers = new Map<string, number>();
  private readonly accountNames: string[] = [];
  private readonly accountOrders: number[] = [];
  private readonly freeAccounts: number[] = [];

  constructor() {
    this.grow();
  }

  /** A free slot for `orderId`, its home slot if free; grows the storage when half full. */
  alloc(orderId: number): number {
    if (this.used * 2 >= this.capacity) this.grow();
    this.used++;
    const home = orderId & this.homeMask;
    if (this.f64[home * recordDoubles + fId] === freeId) return home;
    for (;;) {
      assert(this.freeTop > 0, 'a free slot is on the free stack');
      const slot = this.freeStack[--this.freeTop]!;
      this.i32[slot * recordInts + iOnStack] = 0;
      if (this.f64[slot * recordDoubles + fId] === freeId) return slot;
    }
  }

  /** The home slot of `orderId` if the order rests there, else noSlot. */
  find(orderId: number): number {
    const home = orderId & this.homeMask;
    return this.f64[home * recordDoubles + fId] === orderId ? home : noSlot;
  }

  /** True when the order `orderId` rests in `slot`. */
  holds(slot: number, orderId: number): boolean {
    return this.f64[slot * recordDoubles + fId] === orderId;
  }

  /**
   * Fills a freshly allocated slot (links and level are set when it is queued). Quantities fit an
   * int32: quantityLotsMax is 10^9. Flags use the low 5 bits.
   */
  init(slot: number, orderId: number, account: string, quantityLots: number, flags: number): void {
    this.f64[slot * recordDoubles + fId] = orderId;
    const i = slot * recordInts;
    this.i32[i + iQuantity] = quantityLots;
    this.i32[i + iFlagsAccount] = flags | (this.internAccount(account) << flagBits);
  }

  /** Frees a slot and releases its account. */
  free(slot: number): void {
    const i = slot * recordInts;
    this.releaseAccount(this.i32[i + iFlagsAccount]! >>> flagBits);
    this.f64[slot * recordDoubles + fId] = freeId;
    this.used--;
    if (this.i32[i + iOnStack] === 0) this.push(slot);
  }

  private push(slot: number): void {
    this.freeStack[this.freeTop++] = slot;
    this.i32[slot * recordInts + iOnStack] = 1;
  }

  id(slot: number): number {
    return this.f64[slot * recordDoubles + fId]!;
  }

  quantity(slot: number): number {
    return this.i32[slot * recordInts + iQuantity]!;
  }

  setQuantity(slot: number, quantityLots: number): void {
    this.i32[slot * recordInts + iQuantity] = quantityLots;
  }

  prev(slot: number): number {
    return this.i32[slot * recordInts + iPrev]!;
  }

  setPrev(slot: number, prev: number): void {
    this.i32[slot * recordInts + iPrev] = prev;
  }

  next(slot: number): number {
    return this.i32[slot * recordInts + iNext]!;
  }

  setNext(slot: number, next: number): void {
    this.i32[slot * recordInts + iNext] = next;
  }

  level(slot: number): number {
    return this.i32[slot * recordInts + iLevel]!;
  }

  setLevel(slot: number, level: number): void {
    this.i32[slot * recordInts + iLevel] = level;
  }

  flags(slot: number): number {
    return this.i32[slot * recordInts + iFlagsAccount]! & flagMask;
  }

  account(slot: number): string {
    return this.accountNames[this.i32[slot * recordInts + iFlagsAccount]! >>> flagBits]!;
  }

  /** Number of distinct accounts with resting orders (for invariant checks). */
  get accountCount(): number {
    return this.accountNumbers.size;
  }

  private internAccount(account: string): number {
    let number = this.accountNumbers.get(account);
    if (number === undefined) {
      number = this.freeAccounts.pop() ?? this.accountNames.length;
      this.accountNumbers.set(account, number);
      this.accountNames[number] = account;
      this.accountOrders[number] = 0;
    }
    this.accountOrders[number]!++;
    return number;
  }

  private releaseAccount(number: number): void {
    if (--this.accountOrders[number]! > 0) return;
    this.accountNumbers.delete(this.accountNames[number]!);
    this.freeAccounts.push(number);
  }

  /** Doubles the storage; the new slots are free and go on the stack (lowest on top). */
  private grow(): void {
    const old = this.capacity;
    const capacity = old === 0 ? initialSlots : old * 2;
    // At most half full: restingOrdersMax orders fit in the first power of two above twice that.
    assert(capacity <= 4 * matchingLimits.restingOrdersMax, 'order slots beyond restingOrdersMax');
    const f64 = new Float64Array(capacity * recordDoubles);
    f64.set(this.f64);
    this.f64 = f64;
    this.i32 = new Int32Array(f64.buffer);
    const stack = new Int32Array(capacity);
    stack.set(this.freeStack.subarray(0, this.freeTop));
    this.freeStack = stack;
    this.capacity = capacity;
    this.homeMask = capacity - 1;
    for (let slot = capacity - 1; slot >= old; slot--) {
      this.f64[slot * recordDoubles + fId] = freeId;
      this.push(slot);
    }
  }
}
