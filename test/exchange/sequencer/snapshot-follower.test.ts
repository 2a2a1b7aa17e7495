import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  listSnapshots,
  readSnapshot,
  Sequencer,
  SnapshotFollower,
  snapshotFileName,
  verifyDataDirectory,
} from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';
import { takeWorkload, workloadSeed } from './workload.ts';

const tempDir = useTempDirs();
const seed = workloadSeed;

/** A primary that never snapshots itself, with `commands` of the seeded workload durable. */
async function primaryWith(dir: string, commands: number): Promise<Sequencer> {
  const primary = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
  const items = takeWorkload(seed, commands);
  await Promise.all(items.map((item) => primary.submit(item.symbol, item.command)));
  return primary;
}

describe(`snapshot follower (SEQUENCER_SEED=${seed})`, () => {
  it('given 600 acknowledged commands and every 250, when it steps, then it writes a snapshot that recovery reproduces', async () => {
    const dir = tempDir();
    const primary = await primaryWith(dir, 600);
    const follower = new SnapshotFollower(dir, { everyCommands: 250, durableSeq: () => primary.lastSeq });

    expect(await follower.step()).toBe(600);

    expect(listSnapshots(dir).map((s) => s.seq)).toEqual([600]);
    const report = verifyDataDirectory(dir);
    expect(report).toMatchObject({ match: true, snapshotSeq: 600, replayedFromSnapshot: 0, lastSeq: 600 });
    expect(report.stateHash).toBe(primary.stateHash());
    await primary.close();
  });

  it('never applies or snapshots a command past the acknowledged seq', async () => {
    const dir = tempDir();
    const primary = await primaryWith(dir, 500);
    let durable = 320;
    const follower = new SnapshotFollower(dir, { everyCommands: 100, durableSeq: () => durable });

    expect(await follower.step()).toBe(320);
    expect(follower.appliedSeq).toBe(320);
    const snapshot = readSnapshot(join(dir, listSnapshots(dir)[0]!.file));
    expect(typeof snapshot === 'string' ? snapshot : snapshot.seq).toBe(320);
    expect(verifyDataDirectory(dir)).toMatchObject({
      match: true,
      snapshotSeq: 320,
      replayedFromSnapshot: 180,
    });

    durable = 500;
    expect(await follower.step()).toBe(500);
    expect(verifyDataDirectory(dir)).toMatchObject({ match: true, snapshotSeq: 500 });
    await primary.close();
  });

  it('writes nothing until everyCommands have passed since the newest snapshot, also one it found at start', async () => {
    const dir = tempDir();
    const primary = await primaryWith(dir, 300);
    await primary.snapshotNow();
    const items = takeWorkload(seed + 1, 150);
    await Promise.all(items.map((item) => primary.submit(item.symbol, item.command)));
    const follower = new SnapshotFollower(dir, { everyCommands: 200, durableSeq: () => primary.lastSeq });
    expect(follower.snapshotSeq).toBe(300);

    expect(await follower.step()).toBeNull();
    expect(follower.appliedSeq).toBe(450);
    expect(listSnapshots(dir).map((s) => s.seq)).toEqual([300]);

    await Promise.all(takeWorkload(seed + 2, 50).map((item) => primary.submit(item.symbol, item.command)));
    expect(await follower.step()).toBe(500);
    expect(listSnapshots(dir).map((s) => s.seq)).toEqual([500, 300]);
    await primary.close();

    const reopened = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    expect(reopened.recovery).toMatchObject({ snapshotSeq: 500, lastSeq: 500 });
    expect(reopened.stateHash()).toBe(primary.stateHash());
    await reopened.close();
  });

  it('counts from the newest valid snapshot, not from a newer file that is corrupt', async () => {
    const dir = tempDir();
    const primary = await primaryWith(dir, 300);
    await primary.snapshotNow();
    await Promise.all(takeWorkload(seed + 1, 150).map((item) => primary.submit(item.symbol, item.command)));
    // Damaged newer files (a bad disk, a copy cut short): one within the journal, one far beyond it.
    const valid = readFileSync(join(dir, snapshotFileName(300)), 'utf8');
    const damaged = `${valid.slice(0, -2)}x}`;
    writeFileSync(join(dir, snapshotFileName(440)), damaged);
    writeFileSync(join(dir, snapshotFileName(9_999_999_999)), damaged);
    const follower = new SnapshotFollower(dir, { everyCommands: 100, durableSeq: () => primary.lastSeq });
    expect(follower.snapshotSeq).toBe(300);

    expect(await follower.step()).toBe(450);
    expect(follower.snapshotSeq).toBe(450);
    expect(verifyDataDirectory(dir)).toMatchObject({
      match: true,
      snapshotSeq: 450,
      replayedFromSnapshot: 0,
    });
    // Pruning counts the two newest up to the one written and leaves the file named beyond the
    // journal alone, so it never costs a valid snapshot its place.
    await Promise.all(takeWorkload(seed + 2, 100).map((item) => primary.submit(item.symbol, item.command)));
    expect(await follower.step()).toBe(550);
    expect(listSnapshots(dir).map((s) => s.seq)).toEqual([9_999_999_999, 550, 450]);
    await primary.close();
  });

  it('refuses an interval below one command', () => {
    expect(() => new SnapshotFollower(tempDir(), { everyCommands: 0, durableSeq: () => 0 })).toThrow(
      /everyCommands/,
    );
  });
});
