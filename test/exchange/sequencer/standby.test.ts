import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  encodeRecord,
  JournalCorruptError,
  journalFileName,
  Sequencer,
  Standby,
  scanJournal,
  unacknowledgedBytesMax,
} from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';
import { takeWorkload, workloadSeed } from './workload.ts';

const tempDir = useTempDirs();
const seed = workloadSeed;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Gives the record with `seq` an unknown format byte and a CRC that matches it: what a broken
 * writer leaves, which a reader must refuse (JournalCorruptError) rather than treat as a torn tail.
 */
function breakRecord(path: string, seq: number): void {
  const starts: number[] = [0];
  scanJournal(path, { fromOffset: 0, firstSeq: 1 }, (_record, endOffset) => starts.push(endOffset));
  const at = starts[seq - 1]!;
  const bytes = readFileSync(path);
  const payload = bytes.subarray(at + 8, at + 8 + bytes.readUInt32LE(at));
  payload[0] = 0x02;
  bytes.writeUInt32LE(crc32(payload), at + 4);
  writeFileSync(path, bytes);
}

describe(`standby (SEQUENCER_SEED=${seed})`, () => {
  it('follows the primary while it writes and ends at the same seq and state hash', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 1000 });
    const standby = new Standby(dir);
    expect(standby.appliedSeq).toBe(0);
    const items = takeWorkload(seed, 3000);
    let polledRecords = 0;
    for (let i = 0; i < items.length; i += 250) {
      await Promise.all(items.slice(i, i + 250).map((item) => primary.submit(item.symbol, item.command)));
      polledRecords += standby.poll();
      expect(standby.appliedSeq).toBe(primary.lastSeq);
      expect(standby.lagRecords).toBe(0);
      expect(standby.lagBytes()).toBe(0);
    }
    expect(polledRecords).toBe(3000);
    expect(standby.stateHash()).toBe(primary.stateHash());
    expect(standby.symbols()).toEqual(primary.symbols());
    await primary.close();
  });

  it('starts from the latest snapshot and catches up on a timer', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 400 });
    const items = takeWorkload(seed, 2000);
    await Promise.all(items.slice(0, 1000).map((item) => primary.submit(item.symbol, item.command)));
    await primary.snapshotNow();
    const standby = new Standby(dir, { pollIntervalMs: 5 });
    expect(standby.appliedSeq).toBe(1000);
    standby.start();
    await Promise.all(items.slice(1000).map((item) => primary.submit(item.symbol, item.command)));
    const deadline = Date.now() + 5000;
    while (standby.appliedSeq < primary.lastSeq && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    standby.stop();
    expect(standby.appliedSeq).toBe(2000);
    expect(standby.stateHash()).toBe(primary.stateHash());
    await primary.close();
  });

  it('waits on a record the primary has only half written, then applies it', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    await primary.submit('AAPL', { type: 'cancel', orderId: 1 });
    await primary.close();
    const standby = new Standby(dir);
    const bytes = encodeRecord({ seq: 2, symbol: 'MSFT', command: { type: 'cancel', seq: 2, orderId: 2 } });
    appendFileSync(join(dir, journalFileName), bytes.subarray(0, 11));
    expect(standby.poll()).toBe(0);
    expect(standby.tail.kind).toBe('torn');
    expect(standby.appliedSeq).toBe(1);
    appendFileSync(join(dir, journalFileName), bytes.subarray(11));
    expect(standby.poll()).toBe(1);
    expect(standby.appliedSeq).toBe(2);
    expect(standby.symbols()).toEqual(['AAPL', 'MSFT']);
  });

  it('waits on a bad record while only the writes in flight could follow it, and reports damage once more has been written after it', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    await primary.submit('AAPL', { type: 'cancel', orderId: 1 });
    await primary.close();
    const standby = new Standby(dir);
    const path = join(dir, journalFileName);
    const cancel = (seq: number) =>
      encodeRecord({ seq, symbol: 'AAPL', command: { type: 'cancel', seq, orderId: seq } });
    const bad = Buffer.from(cancel(2));
    bad[bad.length - 1]! ^= 0xff; // its CRC no longer matches
    appendFileSync(path, bad);
    const appendUpTo = (bytes: number, fromSeq: number): number => {
      const records: Uint8Array[] = [];
      let size = 0;
      let seq = fromSeq;
      while (size < bytes) {
        const record = cancel(seq++);
        records.push(record);
        size += record.length;
      }
      appendFileSync(path, Buffer.concat(records));
      return seq;
    };
    // Less than two writes' worth after it: it may still be being written, so the standby waits.
    const next = appendUpTo(unacknowledgedBytesMax - 64 * 1024, 3);
    expect(standby.poll()).toBe(0);
    expect(standby.tail).toEqual({ kind: 'corrupt', reason: 'bad_crc' });
    expect(standby.appliedSeq).toBe(1);
    // More than the writes in flight can hold: the bad record was written long ago.
    appendUpTo(128 * 1024, next);
    expect(() => standby.poll()).toThrow(/is damaged: the record at offset \d+, where seq 2 should be/);
    expect(standby.appliedSeq).toBe(1);
  });

  it('when a timer poll meets a corrupt record, stops the timer, keeps the error and passes it to onError', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    await Promise.all(takeWorkload(seed, 30).map((item) => primary.submit(item.symbol, item.command)));
    await primary.close();
    const errors: Error[] = [];
    const standby = new Standby(dir, { startAtSeq: 0, pollIntervalMs: 5, onError: (e) => errors.push(e) });
    standby.start();
    // Before the first tick: the record in the middle of the ones the standby has yet to read.
    breakRecord(join(dir, journalFileName), 15);
    const deadline = Date.now() + 5000;
    while (errors.length === 0 && Date.now() < deadline) await sleep(5);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(JournalCorruptError);
    expect(standby.failure).toBe(errors[0]);
    // The timer is stopped: no further poll, no further error.
    await sleep(30);
    expect(errors).toHaveLength(1);
    // Its books may hold part of the failed poll: it refuses to start again.
    expect(() => standby.start()).toThrow(JournalCorruptError);
  });
});
