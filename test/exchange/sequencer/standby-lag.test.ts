import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  encodeRecord,
  type JournalScan,
  journalFileName,
  Standby,
  scanJournal,
  sequencerLimits,
} from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';

// Every scan the standby makes is recorded, so the test can see which bytes each one read.
vi.mock('../../../src/exchange/sequencer/journal-format.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/exchange/sequencer/journal-format.ts')>();
  return { ...original, scanJournal: vi.fn(original.scanJournal) };
});

const tempDir = useTempDirs();

/** Records of about 60 kB (a long clientOrderId), so a few hundred fill several polls' worth. */
function bigRecords(firstSeq: number, count: number): Buffer {
  const clientOrderId = 'x'.repeat(60_000);
  return Buffer.concat(
    Array.from({ length: count }, (_, i) => {
      const seq = firstSeq + i;
      const command = { type: 'cancel', seq, orderId: seq } as const;
      return encodeRecord({ seq, symbol: 'AAPL', command, meta: { time: seq, clientOrderId } });
    }),
  );
}

describe('standby lag', () => {
  it('given a backlog of several polls, lagRecords is right after every capped poll and counting reads each byte once', () => {
    const dir = tempDir();
    const path = join(dir, journalFileName);
    writeFileSync(path, bigRecords(1, 500));
    expect(statSync(path).size).toBeGreaterThan(3 * sequencerLimits.standbyPollBytesMax);
    const standby = new Standby(dir, { startAtSeq: 0 });
    const scans = vi.mocked(scanJournal);
    scans.mockClear();

    let written = 500;
    let polls = 0;
    while (standby.poll() > 0) {
      polls++;
      expect(standby.lagRecords, `after poll ${polls}`).toBe(written - standby.appliedSeq);
      if (polls === 1) {
        // The primary goes on writing: the next count must include these too.
        appendFileSync(path, bigRecords(501, 100));
        written = 600;
      }
    }
    expect(polls).toBeGreaterThanOrEqual(4);
    expect(standby.appliedSeq).toBe(600);
    expect(standby.lagRecords).toBe(0);

    // The counting scans are the ones without a byte cap; each starts where the one before ended.
    const counts = scans.mock.calls.flatMap(([, options], i) => {
      if (options.bytesMax !== undefined) return [];
      const scan = scans.mock.results[i]!.value as JournalScan;
      return [{ from: options.fromOffset, to: scan.validEndOffset }];
    });
    expect(counts.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < counts.length; i++) expect(counts[i]!.from).toBe(counts[i - 1]!.to);
    expect(counts.at(-1)!.to).toBe(statSync(path).size);
  });
});
