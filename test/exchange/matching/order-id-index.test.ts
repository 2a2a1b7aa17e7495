import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idRanges } from '../../../src/exchange/matching/id-ranges.ts';
import { missing, OrderIdIndex } from '../../../src/exchange/matching/order-id-index.ts';

/** Applies sets to an index and a Map, then checks they agree, before and after retain. */
function agreesWithMap(ops: { key: number; value: number }[]): void {
  const index = new OrderIdIndex(4);
  const model = new Map<number, number>();
  for (const { key, value } of ops) {
    index.set(key, value);
    model.set(key, value);
  }
  expect(index.size).toBe(model.size);
  // One expect per check, not per key: expect() is slow when called a million times.
  const entries = [...model];
  expect(entries.filter(([key, value]) => index.get(key) !== value)).toEqual([]);
  index.retain((value) => value >= 0);
  const kept = entries.filter(([, value]) => value >= 0);
  expect(index.size).toBe(kept.length);
  expect(entries.filter(([key, value]) => index.get(key) !== (value >= 0 ? value : missing))).toEqual([]);
  const seen: [number, number][] = [];
  index.forEach((key, value) => {
    seen.push([key, value]);
  });
  expect(seen.sort((a, b) => a[0] - b[0])).toEqual(kept.sort((a, b) => a[0] - b[0]));
  // keyRanges: the keys passing a filter, as canonical ranges, across the window and the hash table.
  const odd = (value: number) => value % 2 === 1;
  expect(index.keyRanges((_key, value) => odd(value))).toEqual(
    idRanges(
      kept
        .filter(([, value]) => odd(value))
        .map(([key]) => key)
        .sort((a, b) => a - b),
    ),
  );
}

describe('OrderIdIndex', () => {
  it('behaves like a Map for dense, sparse and huge ids, through growth and retain', () => {
    const key = fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 0, max: 3_000_000 }),
      fc.integer({ min: 2 ** 40, max: 2 ** 40 + 50 }),
      fc.maxSafeNat(),
    );
    const op = fc.record({ key, value: fc.integer({ min: -1, max: 1000 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => agreesWithMap(ops)),
      { numRuns: 200 },
    );
  });

  it('handles a shuffled million-id range (ids move from the hash table into the window)', () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => i * 5);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    agreesWithMap(ids.map((key, value) => ({ key, value: value % 3 === 0 ? -1 : value })));
  });

  it('handles ever-increasing ids and updates; update refuses an unknown key', () => {
    const index = new OrderIdIndex();
    for (let id = 1_000_000; id < 1_300_000; id++) index.set(id, id % 1000);
    expect(index.size).toBe(300_000);
    index.update(1_000_500, -1);
    expect(index.get(1_000_500)).toBe(-1);
    expect(index.get(999_999)).toBe(missing);
    index.set(2 ** 50, 4);
    index.update(2 ** 50, 5);
    expect(index.get(2 ** 50)).toBe(5);
    expect(() => index.update(43, 1)).toThrow(/not indexed/);
  });
});
