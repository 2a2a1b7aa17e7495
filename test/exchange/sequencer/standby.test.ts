import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRecord, journalFileName, Sequencer, Standby } from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';
import { takeWorkload, workloadSeed } from './workload.ts';

const tempDir = useTempDirs();
const seed = workloadSeed;

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
});
