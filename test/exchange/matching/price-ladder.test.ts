import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriceLadder } from '../../../src/exchange/matching/price-ladder.ts';

/** The obvious model: a sorted array of prices. */
function neighbours(sorted: number[], p: number) {
  return {
    above: sorted.find((x) => x > p) ?? Number.POSITIVE_INFINITY,
    below: sorted.findLast((x) => x < p) ?? Number.NEGATIVE_INFINITY,
  };
}

describe('PriceLadder', () => {
  it('is empty at first', () => {
    const ladder = new PriceLadder();
    expect(ladder.min()).toBe(Number.POSITIVE_INFINITY);
    expect(ladder.max()).toBe(Number.NEGATIVE_INFINITY);
    expect(ladder.levelAt(5)).toBe(-1);
    expect(ladder.nextAbove(5)).toBe(Number.POSITIVE_INFINITY);
    expect(ladder.nextBelow(5)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('finds neighbours across chunk and word boundaries, negative prices included', () => {
    const ladder = new PriceLadder();
    const prices = [-2049, -1024, -1, 0, 31, 32, 1023, 1024, 5000, 2 ** 40];
    for (const [level, p] of prices.entries()) ladder.add(p, level);
    ladder.assertInvariants();
    expect(ladder.min()).toBe(-2049);
    expect(ladder.max()).toBe(2 ** 40);
    for (const [level, p] of prices.entries()) {
      expect(ladder.levelAt(p)).toBe(level);
      expect({ above: ladder.nextAbove(p), below: ladder.nextBelow(p) }).toEqual(neighbours(prices, p));
    }
    expect(ladder.nextAbove(33)).toBe(1023);
    expect(ladder.nextBelow(33)).toBe(32);
  });

  it('matches a sorted-array model under random adds and removes', () => {
    const op = fc.record({ add: fc.boolean(), price: fc.integer({ min: -3000, max: 3000 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: -3100, max: 3100 }), (ops, probe) => {
        const ladder = new PriceLadder();
        const model = new Map<number, number>();
        ops.forEach(({ add, price }, i) => {
          if (add && !model.has(price)) {
            ladder.add(price, i);
            model.set(price, i);
          } else if (!add && model.has(price)) {
            ladder.remove(price);
            model.delete(price);
          }
        });
        ladder.assertInvariants();
        const sorted = [...model.keys()].sort((a, b) => a - b);
        expect(ladder.count).toBe(sorted.length);
        expect(ladder.min()).toBe(sorted[0] ?? Number.POSITIVE_INFINITY);
        expect(ladder.max()).toBe(sorted.at(-1) ?? Number.NEGATIVE_INFINITY);
        expect({ above: ladder.nextAbove(probe), below: ladder.nextBelow(probe) }).toEqual(
          neighbours(sorted, probe),
        );
        expect(ladder.levelAt(probe)).toBe(model.get(probe) ?? -1);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps memory bounded when prices wander over many chunks', () => {
    const ladder = new PriceLadder();
    for (let i = 0; i < 2000; i++) {
      ladder.add(i * 1024, i);
      ladder.remove(i * 1024);
    }
    ladder.assertInvariants();
    expect(ladder.count).toBe(0);
  });
});
