import { describe, expect, it } from 'vitest';
import {
  decodeLobsterMessage,
  decodeLobsterMessages,
  decodeLobsterOrderBook,
  decodeLobsterTopOfBook,
  parseLobsterTime,
} from '../../../src/exchange/lobster/index.ts';

// The first rows of the AMZN sample day, plus a halt row in LOBSTER's format.
const sample = [
  '34200.017459617,5,0,1,2238200,-1',
  '34200.18960767,1,11885113,21,2238100,1',
  '34200.190226476,4,11885113,21,2238100,1',
  '34200.190226476,4,11534792,26,2237500,1',
  '34713.685155243,7,0,0,-1,-1',
].join('\n');

describe('LOBSTER message decoding', () => {
  it('decodes every column, times as integer nanoseconds', () => {
    const result = decodeLobsterMessages(`${sample}\n`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rows).toHaveLength(5);
    expect(result.rows[0]).toEqual({
      timeNs: 34_200_017_459_617,
      type: 5,
      orderId: 0,
      size: 1,
      price: 2_238_200,
      direction: -1,
    });
    expect(result.rows[1]).toEqual({
      timeNs: 34_200_189_607_670,
      type: 1,
      orderId: 11_885_113,
      size: 21,
      price: 2_238_100,
      direction: 1,
    });
    expect(result.rows[2]!.timeNs).toBe(result.rows[3]!.timeNs);
    expect(result.rows[4]).toMatchObject({ type: 7, orderId: 0, size: 0, price: -1 });
  });

  it('accepts CRLF line ends', () => {
    const result = decodeLobsterMessages(sample.replaceAll('\n', '\r\n'));
    expect(result.ok && result.rows.length).toBe(5);
  });

  it('parses times without floats', () => {
    expect(parseLobsterTime('34200')).toBe(34_200_000_000_000);
    expect(parseLobsterTime('0.000000001')).toBe(1);
    expect(parseLobsterTime('57599.999999999')).toBe(57_599_999_999_999);
    expect(parseLobsterTime('1.0000000001')).toBeNull();
    expect(parseLobsterTime('-1.5')).toBeNull();
    expect(parseLobsterTime('1e3')).toBeNull();
  });

  it.each([
    ['34200.1,1,5,10,100', 'expected 6 fields, got 5'],
    ['x,1,5,10,100,1', 'time "x" is not seconds with ≤ 9 decimals'],
    ['34200.1,8,5,10,100,1', 'event type 8 is not 1..7'],
    ['34200.1,1,5.5,10,100,1', 'order id 5.5 is not an integer'],
    ['34200.1,1,5,-10,100,1', 'size -10 is not a non-negative integer'],
    ['34200.1,1,5,10,100,0', 'direction 0 is not 1 or -1'],
    ['34200.1,1,0,10,100,1', 'order id 0 must be positive for event type 1'],
    ['34200.1,3,5,0,100,1', 'size must be positive for event type 3'],
    ['34200.1,4,5,10,0,1', 'price must be positive for event type 4'],
  ])('rejects %s: %s', (row, problem) => {
    expect(decodeLobsterMessage(row)).toBe(problem);
  });

  it('reports the 1-based line of the first bad row', () => {
    const result = decodeLobsterMessages(`${sample}\n34200.2,1,5,10,100,2\n`);
    expect(result).toEqual({ ok: false, line: 6, problem: 'direction 2 is not 1 or -1' });
  });
});

describe('LOBSTER order-book decoding', () => {
  it('reads level 1 of each row; an empty side (size 0, dummy price) is null', () => {
    const result = decodeLobsterOrderBook(
      '2239500,100,2231800,100\n9999999999,0,2238100,21\n2239500,100,-9999999999,0\n',
    );
    expect(result).toEqual({
      ok: true,
      rows: [
        { ask: { price: 2_239_500, size: 100 }, bid: { price: 2_231_800, size: 100 } },
        { ask: null, bid: { price: 2_238_100, size: 21 } },
        { ask: { price: 2_239_500, size: 100 }, bid: null },
      ],
    });
  });

  it('reads level 1 of a deeper (level 2) row and rejects malformed ones', () => {
    expect(decodeLobsterTopOfBook('2,10,1,20,3,5,0,1')).toEqual({
      ask: { price: 2, size: 10 },
      bid: { price: 1, size: 20 },
    });
    expect(decodeLobsterTopOfBook('2,10,1')).toBe('expected a multiple of 4 fields, got 3');
    expect(decodeLobsterTopOfBook('2,x,1,20')).toBe('level-1 fields are not integers');
    expect(decodeLobsterTopOfBook('2,-1,1,20')).toBe('sizes must not be negative');
  });
});
