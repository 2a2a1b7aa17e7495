import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareCheckpoints,
  formatCheckpoint,
  parseCheckpoint,
  startCheckpoint,
} from '../../../src/platform/event-store/checkpoint.ts';

const xid8 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const position = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });

describe('checkpoint text form', () => {
  it('given the start, when formatted, then it is "0:0"', () => {
    expect(formatCheckpoint(startCheckpoint)).toBe('0:0');
  });

  it('given any checkpoint, when formatted and parsed, then it is unchanged', () => {
    fc.assert(
      fc.property(xid8, position, (transactionId, pos) => {
        const checkpoint = { transactionId, position: pos };
        expect(parseCheckpoint(formatCheckpoint(checkpoint))).toEqual(checkpoint);
      }),
    );
  });

  it.each(['', '1', '1:', ':1', '01:2', '1:02', '-1:2', '1:2:3', ' 1:2', '1.5:2', 'a:b'])(
    'given "%s", when parsed, then it is refused',
    (text) => {
      expect(() => parseCheckpoint(text)).toThrow(/transactionId:position/);
    },
  );
});

describe('checkpoint order', () => {
  it('given two checkpoints, then the transaction id decides first and the position second', () => {
    expect(
      compareCheckpoints({ transactionId: 5n, position: 99n }, { transactionId: 6n, position: 1n }),
    ).toBe(-1);
    expect(compareCheckpoints({ transactionId: 6n, position: 1n }, { transactionId: 6n, position: 2n })).toBe(
      -1,
    );
    expect(compareCheckpoints({ transactionId: 6n, position: 2n }, { transactionId: 6n, position: 2n })).toBe(
      0,
    );
    expect(compareCheckpoints({ transactionId: 7n, position: 0n }, { transactionId: 6n, position: 9n })).toBe(
      1,
    );
  });
});
