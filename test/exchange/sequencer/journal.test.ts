import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encodeRecord,
  JournalFailedError,
  type JournalRecord,
  JournalWriter,
  journalFileName,
  recoverState,
  Sequencer,
  scanJournal,
} from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';

const tempDir = useTempDirs();

function record(seq: number): JournalRecord {
  return {
    seq,
    symbol: seq % 2 === 0 ? 'AAPL' : 'MSFT',
    command: {
      type: 'new',
      seq,
      orderId: seq,
      account: 'm1',
      side: seq % 3 === 0 ? 'buy' : 'sell',
      orderType: 'limit',
      priceTicks: 1000 + (seq % 5),
      quantityLots: 10,
      timeInForce: 'GTC',
    },
  };
}

function readAll(path: string): { records: JournalRecord[]; scan: ReturnType<typeof scanJournal> } {
  const records: JournalRecord[] = [];
  const scan = scanJournal(path, { fromOffset: 0, firstSeq: 1 }, (r) => records.push(r));
  return { records, scan };
}

async function writeRecords(path: string, count: number, durability: 'batch' | 'record' | 'none' = 'batch') {
  const journal = await JournalWriter.open(path, 0, durability);
  await Promise.all(Array.from({ length: count }, (_, i) => journal.append(record(i + 1)).durable));
  await journal.close();
}

describe('journal', () => {
  it('round-trips records in order', async () => {
    const path = join(tempDir(), journalFileName);
    await writeRecords(path, 500);
    const { records, scan } = readAll(path);
    expect(records).toEqual(Array.from({ length: 500 }, (_, i) => record(i + 1)));
    expect(scan).toMatchObject({ records: 500, lastSeq: 500, tail: { kind: 'clean' } });
    expect(scan.validEndOffset).toBe(statSync(path).size);
  });

  it.each(['record', 'none'] as const)('round-trips in %s mode', async (mode) => {
    const path = join(tempDir(), journalFileName);
    await writeRecords(path, 50, mode);
    expect(readAll(path).records).toHaveLength(50);
  });

  it('group commit writes a batch with one write and resolves every promise of it', async () => {
    const path = join(tempDir(), journalFileName);
    const journal = await JournalWriter.open(path, 0, 'batch');
    const appends = Array.from({ length: 1000 }, (_, i) => journal.append(record(i + 1)));
    expect(journal.pendingRecords).toBe(1000);
    expect(statSync(path).size).toBe(0);
    const resolved: number[] = [];
    await Promise.all(appends.map((a, i) => a.durable.then(() => resolved.push(i + 1))));
    expect(resolved).toHaveLength(1000);
    expect(journal.batchesWritten).toBe(1);
    // Every promise of the batch resolved only after the whole batch was written.
    expect(journal.durableOffset).toBe(appends.at(-1)!.endOffset);
    expect(statSync(path).size).toBe(appends.at(-1)!.endOffset);
    await journal.close();
    expect(readAll(path).records.map((r) => r.seq)).toEqual(resolved);
  });

  it('with two writes in flight, acknowledges in file order: every promise after all earlier ones', async () => {
    const path = join(tempDir(), journalFileName);
    const journal = await JournalWriter.open(path, 0, 'batch');
    const resolved: number[] = [];
    const durable: Promise<unknown>[] = [];
    // 40 event-loop turns of 50 records: each turn's batch may go out while the previous one syncs.
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 1; i <= 50; i++) {
        const seq = turn * 50 + i;
        durable.push(journal.append(record(seq)).durable.then(() => resolved.push(seq)));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(durable);
    expect(resolved).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(journal.batchesWritten).toBeGreaterThan(1);
    expect(journal.durableOffset).toBe(statSync(path).size);
    await journal.close();
    expect(readAll(path).records.map((r) => r.seq)).toEqual(resolved);
  });

  it('after a failed write, rejects every record not yet acknowledged and accepts no more', async () => {
    const path = join(tempDir(), journalFileName);
    const journal = await JournalWriter.open(path, 0, 'batch');
    await journal.append(record(1)).durable;
    // Pull the file out from under the writer: its next write fails (EBADF).
    await (journal as unknown as { handle: { close(): Promise<void> } }).handle.close();
    const results = await Promise.allSettled([2, 3, 4].map((seq) => journal.append(record(seq)).durable));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(JournalFailedError);
    expect(() => journal.append(record(5))).toThrow(JournalFailedError);
    expect(journal.durableOffset).toBe(readAll(path).scan.validEndOffset);
  });

  it('detects a record cut mid-way, stops before it and reports the offset', async () => {
    const path = join(tempDir(), journalFileName);
    await writeRecords(path, 10);
    const size = statSync(path).size;
    const { scan: full } = readAll(path);
    const offsets: number[] = [];
    scanJournal(path, { fromOffset: 0, firstSeq: 1 }, (_, end) => offsets.push(end));
    expect(full.validEndOffset).toBe(size);
    truncateSync(path, size - 5);
    const { records, scan } = readAll(path);
    expect(records).toHaveLength(9);
    expect(scan.tail).toEqual({ kind: 'torn', reason: 'short_payload' });
    expect(scan.validEndOffset).toBe(offsets[8]);
    truncateSync(path, offsets[8]! + 3);
    expect(readAll(path).scan.tail).toEqual({ kind: 'torn', reason: 'short_header' });
  });

  it('detects a corrupt CRC and never applies that record', async () => {
    const path = join(tempDir(), journalFileName);
    await writeRecords(path, 10);
    const offsets: number[] = [];
    scanJournal(path, { fromOffset: 0, firstSeq: 1 }, (_, end) => offsets.push(end));
    const bytes = readFileSync(path);
    // Flip one payload byte of record 8.
    const at = offsets[6]! + 8 + 10;
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(path, bytes);
    const { records, scan } = readAll(path);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(scan.tail).toEqual({ kind: 'corrupt', reason: 'bad_crc' });
    expect(scan.validEndOffset).toBe(offsets[6]);
  });

  it('treats zeros after the last record (a length of 0) as a corrupt tail', async () => {
    const path = join(tempDir(), journalFileName);
    await writeRecords(path, 3);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(64)]));
    expect(readAll(path).scan).toMatchObject({ records: 3, tail: { kind: 'corrupt', reason: 'bad_length' } });
  });

  it('recovery truncates a torn tail, never applies it, and appends after it', async () => {
    const dir = tempDir();
    const path = join(dir, journalFileName);
    const first = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    for (let i = 1; i <= 20; i++) await first.submit('AAPL', withoutSeq(record(i)));
    const hashAfter19 = await hashOfFirst(19);
    await first.close();
    truncateSync(path, statSync(path).size - 7);

    const second = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    expect(second.recovery).toMatchObject({ lastSeq: 19, tail: { kind: 'torn' } });
    expect(second.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(second.lastSeq).toBe(19);
    expect(second.stateHash()).toBe(hashAfter19);
    const result = await second.submit('AAPL', withoutSeq(record(20)));
    expect(result.seq).toBe(20);
    await second.close();
    expect(readAll(path).scan).toMatchObject({ records: 20, tail: { kind: 'clean' } });
    expect(recoverState(dir).lastSeq).toBe(20);
  });

  it('given a later batch on disk without the one before it (a crash between two writes in flight), recovery keeps what precedes the gap and truncates the rest', async () => {
    const dir = tempDir();
    const path = join(dir, journalFileName);
    const first = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    for (let i = 1; i <= 10; i++) await first.submit('AAPL', withoutSeq(record(i)));
    const hashAfter10 = first.stateHash();
    await first.close();
    const gap = Buffer.alloc(encodeRecord(record(11)).length);
    const later = Buffer.concat([12, 13].map((seq) => encodeRecord(record(seq))));
    writeFileSync(path, Buffer.concat([readFileSync(path), gap, later]));

    const second = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    expect(second.recovery).toMatchObject({ lastSeq: 10, tail: { kind: 'corrupt' } });
    expect(second.recovery.truncatedBytes).toBe(gap.length + later.length);
    expect(second.stateHash()).toBe(hashAfter10);
    expect((await second.submit('AAPL', withoutSeq(record(11)))).seq).toBe(11);
    await second.close();
  });

  it.each(['batch', 'record', 'none'] as const)(
    'syncWritten (%s) resolves without waiting for later records, and refuses once closed',
    async (durability) => {
      const path = join(tempDir(), journalFileName);
      const journal = await JournalWriter.open(path, 0, durability);
      await journal.append(record(1)).durable;
      let laterDurable = false;
      const later = journal.append(record(2)).durable.then(() => {
        laterDurable = true;
      });
      await journal.syncWritten();
      // Nothing to do but in 'none' mode (an fdatasync): it never waits for a record still queued.
      if (durability !== 'none') expect(laterDurable).toBe(false);
      await later;
      await journal.close();
      await expect(journal.syncWritten()).rejects.toThrow(JournalFailedError);
    },
  );

  it('refuses to open a journal for appending anywhere but at its end', async () => {
    const path = join(tempDir(), journalFileName);
    await writeRecords(path, 3);
    await expect(JournalWriter.open(path, 0)).rejects.toThrow(/recover it first/);
    expect(existsSync(path)).toBe(true);
  });
});

function withoutSeq(r: JournalRecord) {
  const { seq: _seq, ...command } = r.command;
  return command;
}

async function hashOfFirst(count: number): Promise<string> {
  const dir = tempDir();
  const sequencer = await Sequencer.open(dir, { durability: 'none', snapshotEveryCommands: 0 });
  for (let i = 1; i <= count; i++) await sequencer.submit('AAPL', withoutSeq(record(i)));
  const hash = sequencer.stateHash();
  await sequencer.close();
  return hash;
}
