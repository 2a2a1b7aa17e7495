import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  forEachIdInRanges,
  IdRangeBuilder,
  idCount,
  idRanges,
  rangesHold,
} from '../../../src/exchange/matching/id-ranges.ts';
import { InvariantError } from '../../../src/exchange/matching/index.ts';

describe('id ranges', () => {
  it('merges consecutive ids into one range and keeps gaps apart', () => {
    expect(idRanges([])).toEqual([]);
    expect(idRanges([7])).toEqual([7, 7]);
    expect(idRanges([1, 2, 3, 5, 6, 9])).toEqual([1, 3, 5, 6, 9, 9]);
    expect(idRanges([0, 1, 2 ** 40, 2 ** 40 + 1])).toEqual([0, 1, 2 ** 40, 2 ** 40 + 1]);
  });

  it('refuses ids that do not ascend', () => {
    const builder = new IdRangeBuilder();
    builder.add(5);
    expect(() => builder.add(5)).toThrow(InvariantError);
    expect(() => builder.add(3)).toThrow(InvariantError);
  });

  it('holds exactly the ids it was built from (any set of ids)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { maxLength: 200 }), (ids) => {
        const sorted = [...ids].sort((a, b) => a - b);
        const ranges = idRanges(sorted);
        const listed: number[] = [];
        forEachIdInRanges(ranges, (id) => listed.push(id));
        expect(listed).toEqual(sorted);
        expect(idCount(ranges)).toBe(sorted.length);
        const set = new Set(ids);
        for (let id = -1; id <= 401; id++) expect(rangesHold(ranges, id)).toBe(set.has(id));
        // Canonical: no two ranges touch.
        for (let i = 2; i < ranges.length; i += 2) expect(ranges[i]!).toBeGreaterThan(ranges[i - 1]! + 1);
      }),
      { numRuns: 200 },
    );
  });
});
