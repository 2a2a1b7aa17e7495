import { describe, expect, it } from 'vitest';
import {
  decodeWorkload,
  runWorkloadReport,
  workloadKinds,
} from '../../../src/exchange/matching/bench-workload.ts';
import { FastOrderBook, InvariantError, ReferenceOrderBook } from '../../../src/exchange/matching/index.ts';

interface Row {
  kind: number;
  side: number;
  ioc?: number;
  quantity: number;
  orderId: number;
  price: number;
}

/** Encodes rows in the README's binary format. */
function encode(rows: Row[]): Uint8Array {
  const bytes = new Uint8Array(16 + rows.length * 40);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, 0x4d4542575f303031n, true);
  view.setUint32(8, 1, true);
  view.setUint32(12, rows.length, true);
  rows.forEach((r, seq) => {
    const at = 16 + seq * 40;
    view.setUint8(at, r.kind);
    view.setUint8(at + 1, r.side);
    view.setUint8(at + 2, r.ioc ?? 0);
    view.setUint32(at + 4, r.quantity, true);
    view.setBigUint64(at + 8, BigInt(seq), true);
    view.setBigUint64(at + 16, BigInt(r.orderId), true);
    view.setBigInt64(at + 24, BigInt(r.price), true);
  });
  return bytes;
}

const { new: add, cancel, modify } = workloadKinds;
const rows: Row[] = [
  { kind: add, side: 1, quantity: 5, orderId: 10, price: 101 },
  { kind: add, side: 1, quantity: 5, orderId: 11, price: 100 },
  { kind: add, side: 0, ioc: 1, quantity: 7, orderId: 12, price: 100 },
  { kind: modify, side: 0, quantity: 6, orderId: 10, price: 99 },
  { kind: add, side: 0, quantity: 4, orderId: 13, price: 98 },
  { kind: modify, side: 1, quantity: 3, orderId: 13, price: 99 },
  { kind: cancel, side: 0, quantity: 0, orderId: 13, price: 0 },
  { kind: cancel, side: 0, quantity: 0, orderId: 12, price: 0 },
  { kind: modify, side: 0, quantity: 1, orderId: 77, price: 99 },
];

// Worked by hand from the README's rules.
const expectedReport = [
  '0,0,1,10,101,5',
  '0,1,1,11,100,5',
  '0,2,0,12,100,7',
  '1,2,100,5,11,12',
  '2,2,0,12,100',
  '3,3,1,10,99,6',
  '0,4,0,13,98,4',
  '1,5,99,3,10,13',
  '3,5,0,13,99,3',
  '4,6,13',
  '4,7,12',
  '5,8,77',
].join('\n');

describe('cross-engine workload decoder and report', () => {
  it('decodes records and writes the README report lines (MODIFY after its fills, no trailing newline)', () => {
    const workload = decodeWorkload(encode(rows));
    expect(workload.count).toBe(rows.length);
    expect(Array.from(workload.prices)).toEqual(rows.map((r) => r.price));
    for (const book of [new FastOrderBook(), new ReferenceOrderBook()]) {
      let report = '';
      const lines = runWorkloadReport(workload, book, (chunk) => {
        report += chunk;
      });
      expect(report).toBe(expectedReport);
      expect(lines).toBe(12);
    }
  });

  it('refuses a buffer with the wrong magic or size', () => {
    const bytes = encode(rows);
    expect(() => decodeWorkload(bytes.subarray(0, bytes.length - 1))).toThrow(InvariantError);
    bytes[0] = 0;
    expect(() => decodeWorkload(bytes)).toThrow(InvariantError);
  });
});
