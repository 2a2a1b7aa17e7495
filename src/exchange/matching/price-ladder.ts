import { assert, fail } from './assert.ts';
import { matchingLimits } from './limits.ts';

/*
 * One side of the fast book's price → level map, ordered: it answers "level at price p", "best
 * price" and "next price after p" without a tree and without a Map lookup on the hot path.
 *
 * Prices are grouped in chunks of 1,024 ticks. A chunk is one Int32Array: a summary word saying
 * which of its 32 bitmap words are non-zero, the 32 words (one bit per tick), and 1,024 level
 * numbers (-1: no level). So best/next inside a chunk is two Math.clz32 calls, and the level at a
 * price is an array read. Non-empty chunks are kept in a sorted array of chunk numbers (with their
 * arrays alongside), so the best price never needs a lookup. Realistic books span a few chunks
 * (the flash-crash workload: at most 38), so adding or dropping a chunk in the sorted array is a
 * short copy; only prices scattered over thousands of chunks would make that O(chunks).
 *
 * The workloads create and empty levels constantly (1.8 M levels for 1 M orders), so emptied
 * chunks stay in the directory for reuse, up to a limit. Chunks within 2 M ticks of the first one
 * are found by array index; farther ones through a Map.
 * Arbitrary safe-integer prices, negative ones included, work: the chunk number is
 * Math.floor(price / 1024).
 */

const chunkTicks = 1024;
const wordsPerChunk = 32;
const firstWord = 1;
const firstLevel = firstWord + wordsPerChunk;
const chunkSlots = firstLevel + chunkTicks;
const noLevel = -1;
// Chunks this close (in chunk numbers) to the first one live in an array rather than the Map:
// 4,096 chunks = 4 M ticks around the first price, which covers any realistic session.
const nearChunks = 4096;

/** Sorted map from integer prices to level numbers, with O(1) best price. */
export class PriceLadder {
  /** Every chunk in use or kept for reuse: near ones by chunk number - nearBase, far ones by number. */
  private readonly near: (Int32Array | undefined)[] = new Array(nearChunks).fill(undefined);
  private nearBase = Number.NaN;
  private readonly far = new Map<number, Int32Array>();
  /** Numbers of all chunks in the directory (for eviction and invariant checks, not the hot path). */
  private readonly stored = new Set<number>();
  /** Chunk numbers of the non-empty chunks, ascending, and their arrays at the same index. */
  private chunkNumbers = new Float64Array(16);
  private readonly liveChunks: Int32Array[] = [];
  private emptyChunksKept = 0;
  private size = 0;

  /** Number of prices in the map. */
  get count(): number {
    return this.size;
  }

  /** The level at this price, or -1. */
  levelAt(priceTicks: number): number {
    const chunkNumber = Math.floor(priceTicks / chunkTicks);
    const chunk = this.chunk(chunkNumber);
    if (chunk === undefined) return noLevel;
    return chunk[firstLevel + priceTicks - chunkNumber * chunkTicks]!;
  }

  /** Adds a price that has no level yet. */
  add(priceTicks: number, level: number): void {
    const chunkNumber = Math.floor(priceTicks / chunkTicks);
    const offset = priceTicks - chunkNumber * chunkTicks;
    const chunk = this.chunk(chunkNumber) ?? this.createChunk(chunkNumber);
    if (chunk[0] === 0) this.makeLive(chunkNumber, chunk);
    const word = offset >>> 5;
    chunk[firstWord + word]! |= 1 << (offset & 31);
    chunk[0]! |= 1 << word;
    chunk[firstLevel + offset] = level;
    this.size++;
  }

  /** Removes a price that has a level. */
  remove(priceTicks: number): void {
    const chunkNumber = Math.floor(priceTicks / chunkTicks);
    const offset = priceTicks - chunkNumber * chunkTicks;
    const chunk = this.chunk(chunkNumber)!;
    const word = offset >>> 5;
    const bits = chunk[firstWord + word]! & ~(1 << (offset & 31));
    chunk[firstWord + word] = bits;
    chunk[firstLevel + offset] = noLevel;
    this.size--;
    if (bits !== 0) return;
    const summary = chunk[0]! & ~(1 << word);
    chunk[0] = summary;
    if (summary === 0) this.makeEmpty(chunkNumber);
  }

  /** Lowest price, or +Infinity when empty. */
  min(): number {
    if (this.liveChunks.length === 0) return Number.POSITIVE_INFINITY;
    return lowestIn(this.chunkNumbers[0]!, this.liveChunks[0]!);
  }

  /** Highest price, or -Infinity when empty. */
  max(): number {
    const last = this.liveChunks.length - 1;
    if (last < 0) return Number.NEGATIVE_INFINITY;
    return highestIn(this.chunkNumbers[last]!, this.liveChunks[last]!);
  }

  /** Lowest price strictly above `priceTicks`, or +Infinity. */
  nextAbove(priceTicks: number): number {
    const chunkNumber = Math.floor(priceTicks / chunkTicks);
    const chunk = this.chunk(chunkNumber);
    if (chunk !== undefined && chunk[0] !== 0) {
      const offset = priceTicks - chunkNumber * chunkTicks;
      const word = offset >>> 5;
      const bit = 1 << (offset & 31);
      const above = chunk[firstWord + word]! & ~(bit | (bit - 1));
      if (above !== 0) return chunkNumber * chunkTicks + word * 32 + lowestBit(above);
      const wordBit = 1 << word;
      const wordsAbove = chunk[0]! & ~(wordBit | (wordBit - 1));
      if (wordsAbove !== 0) {
        const w = lowestBit(wordsAbove);
        return chunkNumber * chunkTicks + w * 32 + lowestBit(chunk[firstWord + w]!);
      }
    }
    const i = this.firstLiveIndexAbove(chunkNumber);
    if (i === this.liveChunks.length) return Number.POSITIVE_INFINITY;
    return lowestIn(this.chunkNumbers[i]!, this.liveChunks[i]!);
  }

  /** Highest price strictly below `priceTicks`, or -Infinity. */
  nextBelow(priceTicks: number): number {
    const chunkNumber = Math.floor(priceTicks / chunkTicks);
    const chunk = this.chunk(chunkNumber);
    if (chunk !== undefined && chunk[0] !== 0) {
      const offset = priceTicks - chunkNumber * chunkTicks;
      const word = offset >>> 5;
      const below = chunk[firstWord + word]! & ((1 << (offset & 31)) - 1);
      if (below !== 0) return chunkNumber * chunkTicks + word * 32 + highestBit(below);
      const wordsBelow = chunk[0]! & ((1 << word) - 1);
      if (wordsBelow !== 0) {
        const w = highestBit(wordsBelow);
        return chunkNumber * chunkTicks + w * 32 + highestBit(chunk[firstWord + w]!);
      }
    }
    const i = this.firstLiveIndexAbove(chunkNumber - 1) - 1;
    if (i < 0) return Number.NEGATIVE_INFINITY;
    return highestIn(this.chunkNumbers[i]!, this.liveChunks[i]!);
  }

  /** Throws when bitmaps, level numbers, the live list and the size disagree. */
  assertInvariants(): void {
    let prices = 0;
    let empty = 0;
    for (const [chunkNumber, chunk] of this.allChunks()) {
      const listed = this.liveChunks.indexOf(chunk);
      const live = chunk[0] !== 0;
      if (live !== listed >= 0) fail(`ladder chunk ${chunkNumber}: live list is wrong`);
      if (live && this.chunkNumbers[listed] !== chunkNumber) fail(`ladder chunk ${chunkNumber} misfiled`);
      if (live) prices += assertChunk(chunk);
      else {
        // An empty kept chunk only needs a clear bitmap: remove() resets level numbers as it goes.
        empty++;
        if (chunk.subarray(0, firstLevel).some((word) => word !== 0))
          fail(`empty chunk ${chunkNumber} has bits`);
      }
    }
    for (let i = 1; i < this.liveChunks.length; i++) {
      assert(this.chunkNumbers[i - 1]! < this.chunkNumbers[i]!, 'ladder chunks not sorted');
    }
    assert(empty === this.emptyChunksKept, 'ladder empty chunk count is wrong');
    assert(prices === this.size, `ladder holds ${prices} prices, size says ${this.size}`);
  }

  private chunk(chunkNumber: number): Int32Array | undefined {
    const i = chunkNumber - this.nearBase;
    if (i >= 0 && i < nearChunks) return this.near[i];
    return this.far.get(chunkNumber);
  }

  private store(chunkNumber: number, chunk: Int32Array | undefined): void {
    if (Number.isNaN(this.nearBase)) this.nearBase = chunkNumber - nearChunks / 2;
    if (chunk === undefined) this.stored.delete(chunkNumber);
    else this.stored.add(chunkNumber);
    const i = chunkNumber - this.nearBase;
    if (i >= 0 && i < nearChunks) this.near[i] = chunk;
    else if (chunk === undefined) this.far.delete(chunkNumber);
    else this.far.set(chunkNumber, chunk);
  }

  /** Every chunk in the directory with its number. */
  private allChunks(): [number, Int32Array][] {
    return [...this.stored].map((chunkNumber) => [chunkNumber, this.chunk(chunkNumber)!]);
  }

  private createChunk(chunkNumber: number): Int32Array {
    const chunk = new Int32Array(chunkSlots).fill(noLevel, firstLevel);
    this.store(chunkNumber, chunk);
    this.emptyChunksKept++;
    return chunk;
  }

  private makeLive(chunkNumber: number, chunk: Int32Array): void {
    const at = this.firstLiveIndexAbove(chunkNumber);
    if (this.liveChunks.length === this.chunkNumbers.length) {
      const grown = new Float64Array(this.chunkNumbers.length * 2);
      grown.set(this.chunkNumbers);
      this.chunkNumbers = grown;
    }
    // Plain loops: the lists are short, and copyWithin/splice cost more to call than to run here.
    const numbers = this.chunkNumbers;
    const chunks = this.liveChunks;
    chunks.push(chunk);
    for (let i = chunks.length - 1; i > at; i--) {
      numbers[i] = numbers[i - 1]!;
      chunks[i] = chunks[i - 1]!;
    }
    numbers[at] = chunkNumber;
    chunks[at] = chunk;
    this.emptyChunksKept--;
  }

  private makeEmpty(chunkNumber: number): void {
    const at = this.firstLiveIndexAbove(chunkNumber) - 1;
    const numbers = this.chunkNumbers;
    const chunks = this.liveChunks;
    for (let i = at; i < chunks.length - 1; i++) {
      numbers[i] = numbers[i + 1]!;
      chunks[i] = chunks[i + 1]!;
    }
    chunks.pop();
    this.emptyChunksKept++;
    if (this.emptyChunksKept > matchingLimits.ladderEmptyChunksMax) this.evictEmptyChunks();
  }

  /** Forgets every empty chunk: rare, since it only runs once the limit of kept chunks is passed. */
  private evictEmptyChunks(): void {
    for (const [chunkNumber, chunk] of this.allChunks()) {
      if (chunk[0] === 0) this.store(chunkNumber, undefined);
    }
    this.emptyChunksKept = 0;
  }

  /** Index of the first live chunk whose number is greater than `chunkNumber`. */
  private firstLiveIndexAbove(chunkNumber: number): number {
    let low = 0;
    let high = this.liveChunks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.chunkNumbers[mid]! <= chunkNumber) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** Checks one chunk's summary word and level numbers against its bitmap; returns its price count. */
function assertChunk(chunk: Int32Array): number {
  let prices = 0;
  for (let w = 0; w < wordsPerChunk; w++) {
    const bits = chunk[firstWord + w]!;
    if ((bits !== 0) !== ((chunk[0]! & (1 << w)) !== 0)) fail(`ladder summary bit ${w} is wrong`);
    for (let b = 0; b < 32; b++) {
      const present = (bits & (1 << b)) !== 0;
      assert(present === chunk[firstLevel + w * 32 + b]! >= 0, 'ladder level number disagrees with bitmap');
      if (present) prices++;
    }
  }
  return prices;
}

function lowestIn(chunkNumber: number, chunk: Int32Array): number {
  const w = lowestBit(chunk[0]!);
  return chunkNumber * chunkTicks + w * 32 + lowestBit(chunk[firstWord + w]!);
}

function highestIn(chunkNumber: number, chunk: Int32Array): number {
  const w = highestBit(chunk[0]!);
  return chunkNumber * chunkTicks + w * 32 + highestBit(chunk[firstWord + w]!);
}

function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

function highestBit(word: number): number {
  return 31 - Math.clz32(word);
}
