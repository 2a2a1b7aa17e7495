import { fail } from './assert.ts';

/*
 * Sets of order ids as inclusive ranges flattened into pairs, `[from, to, from, to, …]`: ascending,
 * disjoint and never touching, so each set has exactly one form. A session's retired ids are
 * mostly consecutive (the sequencer assigns ids one after another), so a book snapshot holds a pair
 * per gap instead of an entry per id.
 */

/** Builds the canonical ranges from ids given in ascending order. */
export class IdRangeBuilder {
  readonly pairs: number[] = [];

  add(id: number): void {
    const last = this.pairs.length - 1;
    if (last > 0) {
      const to = this.pairs[last]!;
      if (id === to + 1) {
        this.pairs[last] = id;
        return;
      }
      if (id <= to) fail(`ids must ascend at ${id}`);
    }
    this.pairs.push(id, id);
  }
}

/** The canonical ranges of ascending ids. */
export function idRanges(ascendingIds: Iterable<number>): number[] {
  const builder = new IdRangeBuilder();
  for (const id of ascendingIds) builder.add(id);
  return builder.pairs;
}

/** Calls `visit` for every id in `pairs`, ascending. */
export function forEachIdInRanges(pairs: readonly number[], visit: (id: number) => void): void {
  for (let i = 0; i < pairs.length; i += 2) {
    for (let id = pairs[i]!; id <= pairs[i + 1]!; id++) visit(id);
  }
}

/** How many ids `pairs` holds. */
export function idCount(pairs: readonly number[]): number {
  let count = 0;
  for (let i = 0; i < pairs.length; i += 2) count += pairs[i + 1]! - pairs[i]! + 1;
  return count;
}

/** Whether `id` is in `pairs` (binary search). */
export function rangesHold(pairs: readonly number[], id: number): boolean {
  let low = 0;
  let high = pairs.length / 2 - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (id < pairs[mid * 2]!) high = mid - 1;
    else if (id > pairs[mid * 2 + 1]!) low = mid + 1;
    else return true;
  }
  return false;
}
