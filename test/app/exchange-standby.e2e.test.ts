import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalFileName, Sequencer } from '../../src/exchange/sequencer/index.ts';
import { startKinyu } from '../support/process.ts';

/** Submits orders n = from..to on one symbol, both sides around one price so that some trade. */
async function submitOrders(sequencer: Sequencer, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) {
    await sequencer.submit('KINYU', {
      type: 'new',
      orderId: n,
      account: `member-${n % 3}`,
      side: n % 2 === 0 ? 'buy' : 'sell',
      orderType: 'limit',
      priceTicks: 10_000 + (n % 7) - 3,
      quantityLots: 1 + (n % 5),
      timeInForce: 'GTC',
    });
  }
}

/** The status lines a `kinyu exchange standby` run printed so far. */
function statusLines(
  output: string,
): { appliedSeq: number; lagRecords: number; tail: string; stateHash: string }[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{"time"'))
    .map((line) => JSON.parse(line));
}

describe('kinyu exchange standby', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'kinyu-standby-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('given a journal, when run with --once, then it catches up and prints the seq, no lag and the primary’s state hash', async () => {
    const dir = path.join(root, 'once');
    const sequencer = await Sequencer.open(dir, { snapshotEveryCommands: 50 });
    await submitOrders(sequencer, 1, 120);
    const primaryHash = sequencer.stateHash();
    await sequencer.close();

    const run = startKinyu(['exchange', 'standby', dir, '--once'], {});
    expect((await run.exited).code).toBe(0);
    expect(statusLines(run.output())).toEqual([
      expect.objectContaining({ appliedSeq: 120, lagRecords: 0, tail: 'clean', stateHash: primaryHash }),
    ]);
  });

  it('given a primary that goes on writing, then the standby follows it to the same seq and hash, and stops on SIGINT', async () => {
    const dir = path.join(root, 'follow');
    const sequencer = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    try {
      await submitOrders(sequencer, 1, 40);
      const run = startKinyu(['exchange', 'standby', dir, '--interval-ms', '20'], {});
      await run.waitForOutput(/"appliedSeq":40,/, 60_000);
      await submitOrders(sequencer, 41, 100);
      const hash = sequencer.stateHash();
      await run.waitForOutput(new RegExp(`"appliedSeq":100,.*"stateHash":"${hash}"`), 60_000);
      run.child.kill('SIGINT');
      expect((await run.exited).code).toBe(0);
      const seqs = statusLines(run.output()).map((line) => line.appliedSeq);
      expect(seqs[0]).toBe(40);
      expect(seqs.at(-1)).toBe(100);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    } finally {
      await sequencer.close();
    }
  });

  it('given a journal damaged in its acknowledged part, then it refuses with exit 3 and changes nothing', async () => {
    const dir = path.join(root, 'damaged');
    const sequencer = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    await submitOrders(sequencer, 1, 100);
    await sequencer.close();
    const journal = path.join(dir, journalFileName);
    const bytes = readFileSync(journal);
    const at = Math.floor(bytes.length / 10); // inside an early record, 90 acknowledged ones after it
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    writeFileSync(journal, bytes);

    const run = startKinyu(['exchange', 'standby', dir, '--once'], {});
    expect((await run.exited).code).toBe(3);
    expect(run.output()).toMatch(/is damaged/);
    expect(readFileSync(journal).equals(bytes)).toBe(true);
  });
});
