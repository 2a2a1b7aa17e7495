import { assert } from './assert.ts';
import { matchingLimits } from './limits.ts';

/*
 * The fast book's resting orders: one 32-byte record per slot in a single ArrayBuffer, read through
 * a Float64Array (the id) and an Int32Array (quantity, queue links, level, flags and account).
 * Random access is what a deep book does (a cancel hits any of a million orders), so a record is
 * half a cache line: one miss per order instead of one per field as with struct-of-arrays, and
 * twice as many records per cache as with 64 bytes. The price is not stored: it is
 * the price of the order's level. Slots are recycled through a free list threaded through `next`;
 * nothing is allocated in steady state.
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
const flagBits = 5;
const flagMask = (1 << flagBits) - 1;

/** Slot number meaning "no order" in links and free lists. */
export const noSlot = -1;

const initialSlots = 1024;

/** Order records addressed by slot number. */
export class OrderSlots {
  private f64 = new Float64Array(initialSlots * recordDoubles);
  private i32 = new Int32Array(this.f64.buffer);
  private capacity = initialSlots;
  private used = 0;
  private freeHead = noSlot;
  private readonly accountNumbers = new Map<string, number>();
  private readonly accountNames: string[] = [];
  private readonly accountOrders: number[] = [];
  private readonly freeAccounts: number[] = [];

  /** A free slot, growing the storage when needed. */
  alloc(): number {
    if (this.freeHead !== noSlot) {
      const slot = this.freeHead;
      this.freeHead = this.i32[slot * recordInts + iNext]!;
      return slot;
    }
    if (this.used === this.capacity) this.grow();
    return this.used++;
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

  /** Returns a slot to the free list and releases its account. */
  free(slot: number): void {
    this.releaseAccount(this.i32[slot * recordInts + iFlagsAccount]! >>> flagBits);
    this.i32[slot * recordInts + iNext] = this.freeHead;
    this.freeHead = slot;
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

  private grow(): void {
    const capacity = this.capacity * 2;
    assert(capacity <= 2 * matchingLimits.restingOrdersMax, 'order slots beyond restingOrdersMax');
    const f64 = new Float64Array(capacity * recordDoubles);
    f64.set(this.f64);
    this.f64 = f64;
    this.i32 = new Int32Array(f64.buffer);
    this.capacity = capacity;
  }
}
