import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  JournalFailedError,
  type JournalRecord,
  JournalWriter,
  journalFileName,
  scanJournal,
} from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';

/*
 * Write failures with two batch writes in flight. The disk is real; what the kernel answers is
 * steered by wrapping fs.write (the journal's only write call) for this file's worker: the nth
 * write of a test can be held back, or fail with an errno before it reaches the file.
 */

type WritePlan = (call: number) => { delayMs: number; errno?: string };
const realWrite = fs.write;
let plan: WritePlan = () => ({ delayMs: 0 });
let calls = 0;
(fs as { write: unknown }).write = (...args: unknown[]) => {
  const step = plan(calls++);
  const callback = args.at(-1) as (error: Error | null, written?: number) => void;
  setTimeout(() => {
    if (step.errno) {
      callback(Object.assign(new Error(`${step.errno}: injected`), { code: step.errno }));
      return;
    }
    (realWrite as (...a: unknown[]) => void)(...args);
  }, step.delayMs);
};
syncBuiltinESMExports();

afterEach(() => {
  plan = () => ({ delayMs: 0 });
  calls = 0;
});

const tempDir = useTempDirs();

function record(seq: number): JournalRecord {
  return { seq, symbol: 'AAPL', command: { type: 'cancel', seq, orderId: seq } };
}

/** Appends three records per event-loop turn (one batch each) for three turns; outcomes in order settled. */
async function threeBatches(journal: JournalWriter): Promise<string[]> {
  const settled: string[] = [];
  const all: Promise<void>[] = [];
  let seq = 0;
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 3; i++) {
      const s = ++seq;
      all.push(
        journal.append(record(s)).durable.then(
          () => void settled.push(`${s}:ok`),
          (error: unknown) => {
            expect(error).toBeInstanceOf(JournalFailedError);
            settled.push(`${s}:failed`);
          },
        ),
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(all);
  return settled;
}

function onDisk(path: string): number[] {
  const seqs: number[] = [];
  scanJournal(path, { fromOffset: 0, firstSeq: 1 }, (r) => seqs.push(r.seq));
  return seqs;
}

describe('journal write failures with two writes in flight', () => {
  it('given the second write fails while the first is still in flight, then the first is acknowledged once durable, before the rest fail, in seq order', async () => {
    plan = (call) =>
      call === 0 ? { delayMs: 50 } : call === 1 ? { delayMs: 0, errno: 'ENOSPC' } : { delayMs: 0 };
    const path = join(tempDir(), journalFileName);
    const journal = await JournalWriter.open(path, 0, 'batch');
    const settled = await threeBatches(journal);
    await journal.close().catch(() => {});
    // Records 1–3 are on disk and durable: telling their callers "failed" would make them retry
    // orders the exchange holds.
    expect(onDisk(path)).toEqual([1, 2, 3]);
    expect(settled).toEqual(['1:ok', '2:ok', '3:ok', ...[4, 5, 6, 7, 8, 9].map((s) => `${s}:failed`)]);
    expect(() => journal.append(record(10))).toThrow(JournalFailedError);
  });

  it('given the first write fails after the second ended well, then both batches and the rest fail', async () => {
    plan = (call) => (call === 0 ? { delayMs: 50, errno: 'EIO' } : { delayMs: 0 });
    const path = join(tempDir(), journalFileName);
    const journal = await JournalWriter.open(path, 0, 'batch');
    const settled = await threeBatches(journal);
    await journal.close().catch(() => {});
    expect(settled).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => `${s}:failed`));
  });
});
