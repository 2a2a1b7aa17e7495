import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { BookCommand } from '../../../src/exchange/matching/index.ts';
import { crc32Of } from '../../../src/exchange/sequencer/crc32.ts';
import {
  type CommandMeta,
  encodeJsonRecord,
  encodeRecord,
  JournalCorruptError,
  type JournalRecord,
  JournalWriter,
  journalFileName,
  recoverState,
  Sequencer,
  scanJournal,
  sequencerLimits,
} from '../../../src/exchange/sequencer/index.ts';
import { Prng } from '../../support/prng.ts';
import { useTempDirs } from './temp-dir.ts';
import { takeWorkload, workloadSeed } from './workload.ts';

const tempDir = useTempDirs();
const seed = workloadSeed;

function readAll(path: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  scanJournal(path, { fromOffset: 0, firstSeq: 1 }, (r) => records.push(r));
  return records;
}

function writeFile(path: string, buffers: Buffer[]): void {
  writeFileSync(path, Buffer.concat(buffers));
}

/** A record whose payload is replaced by `payload`, with a matching CRC (what a broken writer does). */
function recordWithPayload(payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

const sides = ['buy', 'sell'] as const;
const orderTypes = ['limit', 'market'] as const;
const timesInForce = ['GTC', 'DAY', 'IOC', 'FOK'] as const;
const stpModes = [undefined, 'none', 'cancel_newest', 'cancel_oldest', 'cancel_both'] as const;

/** Every command shape the binary payload has a field or flag for, seeded. */
function randomRecord(rng: Prng, seq: number): JournalRecord {
  const symbol = rng.pick(['AAPL', 'BRK.B', 'X', 'ÄÖÜ-1']);
  let command: BookCommand;
  const roll = rng.next();
  if (roll < 0.5) {
    const orderType = rng.pick(orderTypes);
    command = {
      type: 'new',
      seq,
      orderId: rng.int(0, 2 ** 40),
      account: rng.pick(['m1', 'member-ü', '']),
      side: rng.pick(sides),
      orderType,
      quantityLots: rng.int(1, 1_000_000),
      timeInForce: rng.pick(timesInForce),
    };
    if (orderType === 'limit' || rng.chance(0.1)) command.priceTicks = rng.int(-5, 2 ** 33);
    if (rng.chance(0.3)) command.postOnly = rng.chance(0.5);
    const stp = rng.pick(stpModes);
    if (stp !== undefined) command.stp = stp;
  } else if (roll < 0.7) {
    command = { type: 'cancel', seq, orderId: rng.int(0, 2 ** 50) };
  } else if (roll < 0.95) {
    command = { type: 'replace', seq, orderId: rng.int(0, 1000) };
    if (rng.chance(0.7)) command.quantityLots = rng.int(1, 100);
    if (rng.chance(0.7)) command.priceTicks = rng.int(1, 100);
  } else {
    command = { type: 'expire_day_orders', seq };
  }
  if (rng.chance(0.3)) return { seq, symbol, command };
  const meta: CommandMeta = { time: 1_700_000_000_000 + rng.int(0, 10 ** 9) };
  if (rng.chance(0.7)) meta.member = rng.pick(['m1', 'firm-ß']);
  if (rng.chance(0.5)) meta.clientOrderId = `c-${rng.int(0, 10 ** 6)}`;
  return { seq, symbol, command, meta };
}

/** A buy limit order of 1 lot at 1 tick, with this seq (its id too) and account. */
function newOrder(seq: number, account: string): BookCommand {
  return {
    type: 'new',
    seq,
    orderId: seq,
    account,
    side: 'buy',
    orderType: 'limit',
    priceTicks: 1,
    quantityLots: 1,
    timeInForce: 'GTC',
  };
}

describe(`journal record format (SEQUENCER_SEED=${seed})`, () => {
  it('computes the same CRC-32 as zlib for every length and offset', () => {
    const rng = new Prng(seed);
    const bytes = Buffer.from(Array.from({ length: 2048 }, () => rng.int(0, 255)));
    for (let i = 0; i < 2000; i++) {
      const start = rng.int(0, 1000);
      const end = start + rng.int(0, 700);
      expect(crc32Of(bytes, start, end)).toBe(crc32(bytes.subarray(start, end)));
    }
  });

  it('writes binary payloads (format byte 0x01) that read back exactly, absent fields absent', () => {
    const rng = new Prng(seed);
    const path = join(tempDir(), journalFileName);
    const records = Array.from({ length: 2000 }, (_, i) => randomRecord(rng, i + 1));
    const encoded = records.map(encodeRecord);
    for (const bytes of encoded) expect(bytes[8]).toBe(0x01);
    writeFile(path, encoded);
    // toStrictEqual: no key is added (e.g. `postOnly: undefined`) or lost on the way.
    expect(readAll(path)).toStrictEqual(records);
  });

  it('is much smaller than the JSON payload', () => {
    const record = takeWorkload(seed, 1).map((item, i): JournalRecord => {
      const command = { ...item.command, seq: i + 1, orderId: i + 1 } as BookCommand;
      return { seq: i + 1, symbol: item.symbol, command };
    })[0]!;
    expect(encodeRecord(record).length * 2).toBeLessThan(encodeJsonRecord(record).length);
  });

  it('falls back to JSON for a record the binary payload cannot represent, and reads it back', () => {
    const path = join(tempDir(), journalFileName);
    const odd = [
      // An unknown enum string (the book asserts on it; the journal must still hold it as given).
      {
        seq: 1,
        symbol: 'AAPL',
        command: {
          type: 'new',
          seq: 1,
          orderId: 1,
          account: 'm1',
          side: 'sideways',
          orderType: 'limit',
          priceTicks: 1,
          quantityLots: 1,
          timeInForce: 'GTC',
        },
      },
      // A non-string account (the book rejects it as invalid_account).
      {
        seq: 2,
        symbol: 'AAPL',
        command: {
          type: 'new',
          seq: 2,
          orderId: 2,
          account: 7,
          side: 'buy',
          orderType: 'limit',
          priceTicks: 1,
          quantityLots: 1,
          timeInForce: 'GTC',
        },
      },
      // A string quantity.
      { seq: 3, symbol: 'AAPL', command: { type: 'replace', seq: 3, orderId: 2, quantityLots: '5' } },
      // A symbol longer than the binary one-byte length.
      { seq: 4, symbol: 'S'.repeat(300), command: { type: 'cancel', seq: 4, orderId: 2 } },
    ] as unknown as JournalRecord[];
    const encoded = odd.map(encodeRecord);
    for (const bytes of encoded) expect(String.fromCharCode(bytes[8]!)).toBe('{');
    writeFile(path, encoded);
    expect(readAll(path)).toEqual(odd);
  });

  it('falls back to JSON for a string with a lone surrogate, which UTF-8 cannot hold, and reads it back', () => {
    const path = join(tempDir(), journalFileName);
    const command = newOrder(1, 'a\ud800');
    const lone: JournalRecord[] = [
      { seq: 1, symbol: 'AAPL', command, meta: { time: 1, member: '\udc00', clientOrderId: 'ü\udbff' } },
      {
        seq: 2,
        symbol: 'AAPL',
        command: { type: 'cancel', seq: 2, orderId: 1 },
        meta: { time: 2, member: 'm\ud83d' },
      },
      // A well-formed pair (an emoji) is UTF-8 like any other text: still binary.
      {
        seq: 3,
        symbol: 'AAPL',
        command: { type: 'cancel', seq: 3, orderId: 1 },
        meta: { time: 3, member: '\ud83d\ude00' },
      },
    ];
    const encoded = lone.map(encodeRecord);
    expect(encoded.map((bytes) => bytes[8])).toEqual([0x7b, 0x7b, 0x01]);
    writeFile(path, encoded);
    expect(readAll(path)).toStrictEqual(lone);
  });

  it('journals a new order with a request key (an Idempotency-Key digest) as JSON and reads the key back', () => {
    const path = join(tempDir(), journalFileName);
    const command = newOrder(1, 'desk');
    const records: JournalRecord[] = [
      { seq: 1, symbol: 'AAPL', command, meta: { time: 1, member: 'ACME', requestKey: 'k'.repeat(43) } },
      {
        seq: 2,
        symbol: 'AAPL',
        command: newOrder(2, 'desk'),
        meta: { time: 2, member: 'ACME' },
      },
    ];
    const encoded = records.map(encodeRecord);
    expect(encoded.map((bytes) => bytes[8])).toEqual([0x7b, 0x01]);
    writeFile(path, encoded);
    expect(readAll(path)).toStrictEqual(records);
  });

  it('reads a journal written in the JSON format, also with binary records after it', async () => {
    const dir = tempDir();
    const items = takeWorkload(seed, 600);
    const reference = await Sequencer.open(tempDir(), { snapshotEveryCommands: 0 });
    await Promise.all(items.map((item) => reference.submit(item.symbol, item.command)));
    await reference.close();

    // The first 400 commands as the earlier JSON-only writer wrote them, then a sequencer appends.
    const first = await Sequencer.open(join(dir, 'source'), { snapshotEveryCommands: 0 });
    await Promise.all(items.slice(0, 400).map((item) => first.submit(item.symbol, item.command)));
    await first.close();
    const jsonRecords = readAll(join(dir, 'source', journalFileName)).map(encodeJsonRecord);
    const legacy = join(dir, 'legacy');
    const opened = await Sequencer.open(legacy, { snapshotEveryCommands: 0 });
    await opened.close();
    writeFile(join(legacy, journalFileName), jsonRecords);

    const second = await Sequencer.open(legacy, { snapshotEveryCommands: 0 });
    expect(second.recovery).toMatchObject({ lastSeq: 400, tail: { kind: 'clean' }, truncatedBytes: 0 });
    await Promise.all(items.slice(400).map((item) => second.submit(item.symbol, item.command)));
    await second.close();
    expect(second.stateHash()).toBe(reference.stateHash());
    expect(recoverState(legacy).books.stateHash()).toBe(reference.stateHash());
    const bytes = readFileSync(join(legacy, journalFileName));
    expect(String.fromCharCode(bytes[8]!)).toBe('{');
    expect(bytes[jsonRecords.reduce((sum, b) => sum + b.length, 0) + 8]).toBe(0x01);
  });

  it('treats a malformed binary payload with a valid CRC as a writer bug, never as a torn tail', () => {
    const good = encodeRecord({ seq: 1, symbol: 'AAPL', command: { type: 'cancel', seq: 1, orderId: 9 } });
    const payload = good.subarray(8);
    const variants = {
      'unknown format byte': Buffer.concat([Buffer.from([0x02]), payload.subarray(1)]),
      'unknown command type': Buffer.from(payload).fill(9, 10, 11),
      'a flag the type cannot carry': Buffer.from(payload).fill(0x80, 9, 10),
      'a byte left over': Buffer.concat([payload, Buffer.from([0])]),
      'cut short': payload.subarray(0, payload.length - 1),
    };
    for (const [why, bad] of Object.entries(variants)) {
      const path = join(tempDir(), journalFileName);
      writeFile(path, [recordWithPayload(bad)]);
      expect(() => readAll(path), why).toThrow(JournalCorruptError);
    }
  });

  it('refuses a record longer than recordPayloadBytesMax without taking its place', async () => {
    const path = join(tempDir(), journalFileName);
    const journal = await JournalWriter.open(path, 0, 'batch');
    const huge = {
      seq: 1,
      symbol: 'AAPL',
      command: { type: 'cancel', seq: 1, orderId: 1 },
      meta: { time: 0, member: 'm'.repeat(sequencerLimits.recordPayloadBytesMax) },
    } as JournalRecord;
    expect(() => journal.append(huge)).toThrow(RangeError);
    expect(journal.pendingRecords).toBe(0);
    expect(journal.endOffset).toBe(0);
    await journal.append({ seq: 1, symbol: 'AAPL', command: { type: 'cancel', seq: 1, orderId: 1 } }).durable;
    await journal.close();
    expect(readAll(path)).toHaveLength(1);
  });

  it('splits a group commit at batchRecordsMax records and writes one record per batch in record mode', async () => {
    const count = sequencerLimits.batchRecordsMax + 10;
    const path = join(tempDir(), journalFileName);
    const journal = await JournalWriter.open(path, 0, 'batch');
    const appends = Array.from({ length: count }, (_, i) =>
      journal.append({ seq: i + 1, symbol: 'AAPL', command: { type: 'cancel', seq: i + 1, orderId: i } }),
    );
    await Promise.all(appends.map((a) => a.durable));
    expect(journal.batchesWritten).toBe(2);
    expect(journal.pendingRecords).toBe(0);
    expect(journal.durableOffset).toBe(appends.at(-1)!.endOffset);
    await journal.close();
    expect(readAll(path).map((r) => r.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));

    const perRecord = await JournalWriter.open(join(tempDir(), journalFileName), 0, 'record');
    await Promise.all(
      [1, 2, 3].map(
        (seq) =>
          perRecord.append({ seq, symbol: 'AAPL', command: { type: 'cancel', seq, orderId: seq } }).durable,
      ),
    );
    expect(perRecord.batchesWritten).toBe(3);
    await perRecord.close();
  });
});
