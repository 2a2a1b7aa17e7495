import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DataDirectoryDamagedError,
  type ExchangeSnapshot,
  formatVerifyReport,
  JournalDamagedError,
  journalFileName,
  listSnapshots,
  readRecordAt,
  readSnapshot,
  recoverState,
  Sequencer,
  SnapshotFollower,
  scanJournal,
  sectorBytes,
  sequencerLimits,
  type UnsequencedCommand,
  unacknowledgedBytesMax,
  unacknowledgedRecordsMax,
  verifyDataDirectory,
  verifyExitCode,
} from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';
import { Prng, takeWorkload, workloadSeed } from './workload.ts';

const tempDir = useTempDirs();
const seed = workloadSeed;

/** A new order, small (≈ 60 bytes of journal) unless `account` is long. */
function order(n: number, account = `a${n}`): UnsequencedCommand & { type: 'new' } {
  return {
    type: 'new',
    account,
    side: n % 2 === 0 ? 'buy' : 'sell',
    orderType: 'limit',
    priceTicks: 100 + (n % 7),
    quantityLots: 1 + (n % 3),
    timeInForce: 'GTC',
  };
}

/**
 * Opens `dir`, submits `commands` (in bursts of 500, or one at a time when it snapshots, so that
 * every snapshot is written), closes; returns the live hash.
 */
async function fill(dir: string, commands: UnsequencedCommand[], snapshotEveryCommands = 0): Promise<string> {
  const sequencer = await Sequencer.open(dir, { snapshotEveryCommands });
  const burst = snapshotEveryCommands === 0 ? 500 : 1;
  for (let i = 0; i < commands.length; i += burst) {
    await Promise.all(commands.slice(i, i + burst).map((command) => sequencer.submit('AAPL', command)));
  }
  const hash = sequencer.stateHash();
  await sequencer.close();
  return hash;
}

/** The state hash of the first `count` commands, sequenced in a directory of their own. */
async function hashOf(commands: UnsequencedCommand[], count: number): Promise<string> {
  return fill(tempDir(), commands.slice(0, count));
}

/** Start offsets of every record (index = seq - 1), plus the end of the last one. */
function recordOffsets(dir: string): number[] {
  const offsets = [0];
  scanJournal(join(dir, journalFileName), { fromOffset: 0, firstSeq: 1 }, (_, end) => offsets.push(end));
  return offsets;
}

/** Xors one byte. */
function flip(bytes: Buffer, at: number, mask: number): void {
  bytes[at] = bytes[at]! ^ mask;
}

function editJournal(dir: string, edit: (bytes: Buffer) => void): Buffer {
  const path = join(dir, journalFileName);
  const bytes = readFileSync(path);
  edit(bytes);
  writeFileSync(path, bytes);
  return Buffer.from(bytes);
}

const smallOrders = (count: number) => Array.from({ length: count }, (_, i) => order(i + 1));

describe(`recovery from a damaged journal (SEQUENCER_SEED=${seed})`, () => {
  it.each([
    ['a payload byte flipped (bad CRC)', (at: number) => (b: Buffer) => flip(b, at + 8 + 20, 0x01)],
    ['a CRC byte flipped', (at: number) => (b: Buffer) => flip(b, at + 5, 0x10)],
    ['a length over the maximum', (at: number) => (b: Buffer) => void b.writeUInt32LE(0x0100_0037, at)],
    // A plausible length reaching past the end of the file: classed torn, though mid-file.
    ['a length past the end of the file', (at: number) => (b: Buffer) => void b.writeUInt32LE(65_536, at)],
  ])(
    'refuses to open 100 acknowledged records with %s in seq 10, and leaves the file as it was',
    async (_, damage) => {
      const dir = tempDir();
      await fill(dir, smallOrders(100));
      const offsets = recordOffsets(dir);
      const damaged = editJournal(dir, damage(offsets[9]!));
      const path = join(dir, journalFileName);

      const opening = Sequencer.open(dir);
      await expect(opening).rejects.toThrow(JournalDamagedError);
      const error = (await opening.catch((e: unknown) => e)) as JournalDamagedError;
      expect(error).toBeInstanceOf(DataDirectoryDamagedError);
      expect(error.message).toContain(path);
      expect(error.message).toContain(
        `record at offset ${offsets[9]}, where seq 10 should be (the last good seq is 9)`,
      );
      expect(error.message).toContain(`seq 11 at offset ${offsets[10]}`);
      expect(error.message).toMatch(
        /nothing was truncated\. Restore the exchange data directory from a standby or a backup/,
      );
      expect(error.found).toMatchObject({ lastGoodSeq: 9, damage: { why: 'not_zeroed', seq: 11 } });
      expect(readFileSync(path).equals(damaged)).toBe(true);
      expect(() => recoverState(dir)).toThrow(JournalDamagedError);

      const report = verifyDataDirectory(dir);
      expect(report).toMatchObject({ result: 'damaged', match: false, commands: 9, lastSeq: 9 });
      expect(report.badRecordOffset).toBe(offsets[9]);
      expect(report.tailBytes).toBe(damaged.length - offsets[9]!);
      // Verify counts every valid record it ignored, to the end.
      expect(report.afterBadRecord).toMatchObject({
        records: 90,
        seqs: { min: 11, max: 100 },
        complete: true,
      });
      expect(verifyExitCode(report)).toBe(3);
      expect(formatVerifyReport(report)).toMatch(/90 valid records \(seq 11 … 100\)[\s\S]*DAMAGED: journal /);
      expect(readFileSync(path).equals(damaged)).toBe(true);
    },
  );

  it('refuses when valid records follow a crash-like hole further on than two writes hold: more than 2 × batchRecordsMax seqs', async () => {
    const dir = tempDir();
    const count = unacknowledgedRecordsMax + 200;
    const cancels = Array.from(
      { length: count },
      (_, i): UnsequencedCommand => ({ type: 'cancel', orderId: i }),
    );
    await fill(dir, cancels);
    const offsets = recordOffsets(dir);
    expect(offsets.at(-1)! - offsets[9]!).toBeLessThan(unacknowledgedBytesMax);
    // Zeros, as a crash leaves them, over seq 10–12: only the seqs after them show it was no crash.
    const damaged = editJournal(dir, (b) => b.fill(0, offsets[9], offsets[12]));

    const error = (await Sequencer.open(dir).catch((e: unknown) => e)) as JournalDamagedError;
    expect(error).toBeInstanceOf(JournalDamagedError);
    expect(error.found.first).toEqual({ offset: offsets[12], seq: 13 });
    expect(error.found.damage).toEqual({
      offset: offsets[9 + unacknowledgedRecordsMax],
      seq: 10 + unacknowledgedRecordsMax,
      why: 'seq',
    });
    expect(error.message).toContain(`is more than ${unacknowledgedRecordsMax} seqs past seq 9`);
    expect(readFileSync(join(dir, journalFileName)).equals(damaged)).toBe(true);
    const report = verifyDataDirectory(dir);
    expect(report).toMatchObject({ result: 'damaged', afterBadRecord: { records: count - 12 } });
  });

  it('refuses when valid records follow a crash-like hole further on than two writes hold: more than 2 × batchBytesMax bytes', async () => {
    const dir = tempDir();
    const account = 'x'.repeat(4000);
    const count = Math.ceil(unacknowledgedBytesMax / 4000) + 100;
    expect(count).toBeLessThan(sequencerLimits.batchRecordsMax);
    await fill(
      dir,
      Array.from({ length: count }, (_, i) => order(i + 1, account + i)),
    );
    const offsets = recordOffsets(dir);
    const damaged = editJournal(dir, (b) => b.fill(0, offsets[9], offsets[12]));

    const error = (await Sequencer.open(dir).catch((e: unknown) => e)) as JournalDamagedError;
    expect(error).toBeInstanceOf(JournalDamagedError);
    expect(error.found.damage?.why).toBe('bytes');
    const beyond = error.found.damage!.offset;
    const next = offsets[offsets.indexOf(beyond) + 1]!;
    expect(next - offsets[9]!).toBeGreaterThan(unacknowledgedBytesMax);
    expect(beyond - offsets[9]!).toBeLessThanOrEqual(unacknowledgedBytesMax);
    expect(readFileSync(join(dir, journalFileName)).equals(damaged)).toBe(true);
    expect(verifyDataDirectory(dir).result).toBe('damaged');
  });

  it('truncates a crash-like hole in the last writes (zeros, valid records after) and reports what it dropped', async () => {
    const dir = tempDir();
    const commands = smallOrders(100);
    const live = await fill(dir, commands);
    const offsets = recordOffsets(dir);
    // The write holding seq 95–97 did not reach the disk; the next one (98–100) did.
    const damaged = editJournal(dir, (b) => b.fill(0, offsets[94], offsets[97]));

    const report = verifyDataDirectory(dir);
    expect(report).toMatchObject({
      result: 'match',
      lastSeq: 94,
      badRecordOffset: offsets[94],
      afterBadRecord: { records: 3, seqs: { min: 98, max: 100 }, damage: null },
    });
    expect(verifyExitCode(report)).toBe(0);
    expect(formatVerifyReport(report)).toMatch(
      new RegExp(
        `note: the next open truncates the journal at offset ${offsets[94]} \\(${damaged.length - offsets[94]!} bytes, 3 valid records`,
      ),
    );

    const reopened = await Sequencer.open(dir);
    expect(reopened.recovery).toMatchObject({
      lastSeq: 94,
      tail: { kind: 'corrupt', reason: 'bad_length' },
      truncatedBytes: damaged.length - offsets[94]!,
      droppedRecords: 3,
      droppedSeqs: { min: 98, max: 100 },
    });
    expect(reopened.stateHash()).toBe(await hashOf(commands, 94));
    expect(reopened.stateHash()).not.toBe(live);
    expect((await reopened.submit('AAPL', commands[94]!)).seq).toBe(95);
    await reopened.close();
    expect(readFileSync(join(dir, journalFileName)).length).toBe(offsets[95]);
  });

  it('never refuses the holes a crash can leave in the last two writes, whatever their shape', async () => {
    const dir = tempDir();
    const account = 'y'.repeat(300);
    await fill(
      dir,
      Array.from({ length: 400 }, (_, i) => order(i + 1, account + i)),
    );
    const offsets = recordOffsets(dir);
    const original = readFileSync(join(dir, journalFileName));
    const rng = new Prng(seed);
    for (let trial = 0; trial < 60; trial++) {
      // Two writes in flight: the first from record p1 to w1End, the second from w1End to the end.
      const p1 = rng.int(300, 395);
      const w1End = rng.int(p1 + 1, 399);
      const bytes = Buffer.from(original);
      const shape = trial % 3;
      if (shape === 0) {
        // The first write's bytes never reached the page cache: zeros from its start to its end.
        bytes.fill(0, offsets[p1], offsets[w1End]);
      } else if (shape === 1) {
        // A killed write stopped copying at a page boundary: zeros from there to its end.
        const page = Math.ceil((offsets[p1]! + 1) / 4096) * 4096;
        if (page >= offsets[w1End]!) continue;
        bytes.fill(0, page, offsets[w1End]);
      } else {
        // Sectors the disk did not write, anywhere after the first write's start.
        const first = Math.ceil(offsets[p1]! / sectorBytes);
        for (let k = 0; k < 3; k++) {
          const sector = rng.int(first, Math.floor(original.length / sectorBytes) - 1);
          bytes.fill(0, Math.max(sector * sectorBytes, offsets[p1]!), (sector + 1) * sectorBytes);
        }
      }
      writeFileSync(join(dir, journalFileName), bytes);
      const state = recoverState(dir);
      expect(state.lastSeq).toBeGreaterThanOrEqual(p1);
      expect(state.tail.kind).not.toBe('clean');
    }
  });

  it('verify reports a record with a valid CRC but the wrong seq as damage, with its offset, instead of crashing', async () => {
    const dir = tempDir();
    await fill(
      dir,
      Array.from({ length: 60 }, (_, i): UnsequencedCommand => ({ type: 'cancel', orderId: i })),
    );
    const offsets = recordOffsets(dir);
    // Swap seq 20 and 21 (same size): both keep valid CRCs, in the wrong order.
    editJournal(dir, (b) => {
      const r20 = Buffer.from(b.subarray(offsets[19], offsets[20]));
      const r21 = Buffer.from(b.subarray(offsets[20], offsets[21]));
      r21.copy(b, offsets[19]);
      r20.copy(b, offsets[19]! + r21.length);
    });

    const report = verifyDataDirectory(dir);
    expect(report).toMatchObject({
      result: 'damaged',
      commands: 19,
      lastSeq: 19,
      badRecordOffset: offsets[19],
    });
    expect(report.tail).toEqual({ kind: 'invalid', reason: 'invalid_record' });
    expect(report.problem).toContain(`record at offset ${offsets[19]} has seq 21, expected 20`);
    expect(verifyExitCode(report)).toBe(3);
    expect(formatVerifyReport(report)).toMatch(/DAMAGED: record at offset \d+ has seq 21, expected 20/);
  });

  it('verify calls a bad record before a snapshot damage (the snapshot proves it was acknowledged), though open recovers from the snapshot', async () => {
    const dir = tempDir();
    await fill(dir, smallOrders(60), 50);
    const offsets = recordOffsets(dir);
    // Crash-like zeros over seq 20: inside the last two writes by size, but the snapshot at 50 came after.
    editJournal(dir, (b) => b.fill(0, offsets[19], offsets[20]));

    const report = verifyDataDirectory(dir);
    expect(report).toMatchObject({ result: 'damaged', lastSeq: 19, snapshotSeq: 50 });
    expect(report.problem).toMatch(
      /the snapshot at seq 50 was taken after it: the records from seq 20 on had been acknowledged/,
    );
    const reopened = await Sequencer.open(dir);
    expect(reopened.lastSeq).toBe(60);
    await reopened.close();
  });

  it('verify lists a newer snapshot it skipped as corrupt, and why', async () => {
    const dir = tempDir();
    await fill(
      dir,
      takeWorkload(seed, 45).map((item) => item.command),
      20,
    );
    expect(listSnapshots(dir).map((s) => s.seq)).toEqual([40, 20]);
    const newest = listSnapshots(dir)[0]!.file;
    const path = join(dir, newest);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"seq":40', '"seq":41'));

    const report = verifyDataDirectory(dir);
    expect(report).toMatchObject({
      result: 'match',
      snapshotSeq: 20,
      skippedSnapshots: [{ file: newest, problem: 'bad_checksum' }],
    });
    expect(formatVerifyReport(report)).toContain(`skipped snapshot ${newest}: bad_checksum`);
  });
});

describe('snapshots bound to their journal record', () => {
  /** 60 orders from `letter`'s accounts at `price`…, snapshots every `every`. */
  const orders = (letter: string, price: number) =>
    Array.from(
      { length: 60 },
      (_, i): UnsequencedCommand => ({
        ...order(i),
        account: `${letter}${i}`,
        side: 'buy',
        priceTicks: price + i,
      }),
    );

  it("skips a snapshot copied from another journal and recovers the directory's own state", async () => {
    const a = tempDir();
    const b = tempDir();
    await fill(a, orders('a', 100), 50);
    const liveB = await fill(b, orders('b', 500));
    const file = listSnapshots(a)[0]!.file;
    // Same command shapes: the record with seq 50 sits at the same offset in both journals.
    expect(readSnapshot(join(a, file))).toMatchObject({ seq: 50 });
    copyFileSync(join(a, file), join(b, file));

    const reopened = await Sequencer.open(b);
    expect(reopened.recovery).toMatchObject({
      snapshotSeq: null,
      replayed: 60,
      skippedSnapshots: [{ file, problem: 'anchor_mismatch' }],
    });
    expect(reopened.recovery.skippedSnapshots[0]!.detail).toMatch(
      /record with seq 50 at offset \d+ has length \d+ and CRC/,
    );
    expect(reopened.stateHash()).toBe(liveB);
    await reopened.close();
    const report = verifyDataDirectory(b);
    expect(report).toMatchObject({ result: 'match', snapshotSeq: null });
    expect(report.recoveredStateHash).toBe(report.stateHash);
    expect(report.stateHash).toBe(liveB);
    expect(formatVerifyReport(report)).toContain(`skipped snapshot ${file}: anchor_mismatch`);
  });

  it("falls back to the directory's own older snapshot past a foreign newer one", async () => {
    const a = tempDir();
    const b = tempDir();
    await fill(a, orders('a', 100), 50);
    const liveB = await fill(b, orders('b', 500), 40);
    expect(listSnapshots(b).map((s) => s.seq)).toEqual([40]);
    copyFileSync(join(a, listSnapshots(a)[0]!.file), join(b, listSnapshots(a)[0]!.file));
    const state = recoverState(b);
    expect(state).toMatchObject({
      snapshotSeq: 40,
      replayed: 20,
      lastSeq: 60,
      skippedSnapshots: [{ problem: 'anchor_mismatch' }],
    });
    expect(state.books.stateHash()).toBe(liveB);
  });

  it('does not count a foreign or corrupt snapshot among the ones it keeps', async () => {
    const a = tempDir();
    const b = tempDir();
    await fill(a, orders('a', 100), 50);
    const foreign = listSnapshots(a)[0]!.file;
    const commands = orders('b', 500);
    const sequencer = await Sequencer.open(b, { snapshotEveryCommands: 0 });
    for (const command of commands.slice(0, 40)) await sequencer.submit('AAPL', command);
    await sequencer.snapshotNow();
    for (const command of commands.slice(40, 55)) await sequencer.submit('AAPL', command);
    // Another journal's snapshot at 50 (the same offset here, another record) and a corrupt file
    // below the directory's own snapshot: neither may count among the two kept.
    copyFileSync(join(a, foreign), join(b, foreign));
    writeFileSync(join(b, 'snapshot-0000000000000030.snap'), 'not a snapshot');
    await sequencer.snapshotNow();
    // 55 and 40 are the two kept; the foreign 50 lies between them and stays, the corrupt 30 goes.
    expect(listSnapshots(b).map((s) => s.seq)).toEqual([55, 50, 40]);
    for (const command of commands.slice(55)) await sequencer.submit('AAPL', command);
    await sequencer.snapshotNow();
    expect(listSnapshots(b).map((s) => s.seq)).toEqual([60, 55]);
    await sequencer.close();
    expect(recoverState(b)).toMatchObject({ snapshotSeq: 60, skippedSnapshots: [] });
  });

  it('writes version 2 with the length and CRC of its record (inline and from the follower), and still loads version 1', async () => {
    const dir = tempDir();
    const sequencer = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    for (const command of orders('c', 200)) await sequencer.submit('AAPL', command);
    await sequencer.snapshotNow();
    const follower = new SnapshotFollower(dir, { everyCommands: 10, durableSeq: () => sequencer.lastSeq });
    for (const command of orders('d', 300).slice(0, 20)) await sequencer.submit('AAPL', command);
    expect(await follower.step()).toBe(80);
    const live = sequencer.stateHash();
    await sequencer.close();

    for (const { file } of listSnapshots(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text).toContain('"format":"kinyu-exchange-snapshot-v2"');
      const snapshot = readSnapshot(join(dir, file));
      if (typeof snapshot === 'string') throw new Error(snapshot);
      const record = readRecordAt(join(dir, journalFileName), snapshot.lastRecordOffset);
      if (typeof record === 'string') throw new Error(record);
      expect(record.record.seq).toBe(snapshot.seq);
      expect(snapshot.anchor).toEqual({ length: record.payloadBytes, crc: record.crc });
    }

    // Rewrite the newest as version 1 wrote it (no length, no CRC): it loads, checked by seq only.
    const path = join(dir, listSnapshots(dir)[0]!.file);
    const body = JSON.parse(readFileSync(path, 'utf8').split('\n')[1]!) as ExchangeSnapshot &
      Record<string, unknown>;
    const { lastRecordLength: _length, lastRecordCrc: _crc, ...v1 } = body;
    const text = JSON.stringify({ ...v1, format: 'kinyu-exchange-snapshot-v1' });
    writeFileSync(path, `${createHash('sha256').update(text).digest('hex')}\n${text}`);
    const snapshot = readSnapshot(path);
    expect(snapshot).toMatchObject({ seq: 80, anchor: null });
    const state = recoverState(dir);
    expect(state).toMatchObject({ snapshotSeq: 80, lastSeq: 80, skippedSnapshots: [] });
    expect(state.books.stateHash()).toBe(live);
  });
});
