import { describe, expect, it } from 'vitest';
import {
  listSnapshots,
  Sequencer,
  type SnapshotLoopOptions,
  snapshotLoop,
  verifyDataDirectory,
} from '../../../src/exchange/sequencer/index.ts';
import { eventually } from '../../support/eventually.ts';
import { useTempDirs } from './temp-dir.ts';
import { takeWorkload, workloadSeed } from './workload.ts';

const tempDir = useTempDirs();
const seed = workloadSeed;

async function submitWorkload(primary: Sequencer, workloadSeed: number, commands: number): Promise<void> {
  await Promise.all(
    takeWorkload(workloadSeed, commands).map((item) => primary.submit(item.symbol, item.command)),
  );
}

describe(`snapshot loop (SEQUENCER_SEED=${seed})`, () => {
  const loopOptions = (dir: string, primary: Sequencer): SnapshotLoopOptions & { written: number[] } => {
    const written: number[] = [];
    return {
      written,
      dir,
      everyCommands: 200,
      durableSeq: () => primary.lastSeq,
      pollIntervalMs: 5,
      retryDelayMs: 5,
      onSnapshot: (seq) => written.push(seq),
      onError: (error) => {
        throw error;
      },
    };
  };

  it('given a primary that writes no snapshots, when commands are acknowledged, then the loop writes them every 200', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    await submitWorkload(primary, seed, 250);
    const options = loopOptions(dir, primary);
    const loop = snapshotLoop(options);
    loop.start();

    await eventually(() => options.written.length === 1, { what: 'the first snapshot', timeoutMs: 5_000 });
    expect(options.written).toEqual([250]);
    await submitWorkload(primary, seed + 1, 100);
    // 100 since the last snapshot: none is due yet.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(options.written).toEqual([250]);
    await submitWorkload(primary, seed + 2, 100);
    await eventually(() => options.written.length === 2, { what: 'the second snapshot', timeoutMs: 5_000 });
    await loop.stop();

    expect(options.written).toEqual([250, 450]);
    expect(listSnapshots(dir).map((s) => s.seq)).toEqual([450, 250]);
    expect(verifyDataDirectory(dir)).toMatchObject({ match: true, snapshotSeq: 450, lastSeq: 450 });
    await primary.close();
  });

  it('when a step fails, then it reports the error and a later step builds the follower afresh', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    await submitWorkload(primary, seed, 300);
    const errors: unknown[] = [];
    const options = loopOptions(dir, primary);
    let failuresLeft = 2;
    const loop = snapshotLoop({
      ...options,
      durableSeq: () => {
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new Error('durable seq unavailable');
        }
        return primary.lastSeq;
      },
      onError: (error) => errors.push(error),
    });
    loop.start();

    await eventually(() => options.written.length === 1, { what: 'the first snapshot', timeoutMs: 5_000 });
    await loop.stop();
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'durable seq unavailable',
      'durable seq unavailable',
    ]);
    expect(options.written).toEqual([300]);
    await primary.close();
  });

  it('with everyCommands 0 it never starts, and after stop() it writes nothing more', async () => {
    const dir = tempDir();
    const primary = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    await submitWorkload(primary, seed, 300);
    const never = loopOptions(dir, primary);
    const idle = snapshotLoop({ ...never, everyCommands: 0 });
    idle.start();
    const stopped = loopOptions(dir, primary);
    const loop = snapshotLoop(stopped);
    loop.start();
    await loop.stop();

    await new Promise((resolve) => setTimeout(resolve, 50));
    await idle.stop();
    expect(never.written).toEqual([]);
    expect(stopped.written).toEqual([]);
    expect(listSnapshots(dir)).toEqual([]);
    await primary.close();
  });
});
