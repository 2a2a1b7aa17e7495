import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalFileName, Sequencer, scanJournal } from '../../../src/exchange/sequencer/index.ts';
import { startKinyu } from '../../support/process.ts';
import { useTempDirs } from './temp-dir.ts';

const tempDir = useTempDirs();

describe('kinyu exchange verify on a damaged journal', () => {
  it('exits 3 and says DAMAGED for a corrupt record in the middle, with what it ignored', async () => {
    const dir = tempDir();
    const sequencer = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    for (let n = 1; n <= 100; n++) await sequencer.submit('KINYU', { type: 'cancel', orderId: n });
    await sequencer.close();
    const ends: number[] = [];
    scanJournal(join(dir, journalFileName), { fromOffset: 0, firstSeq: 1 }, (_, end) => ends.push(end));
    const bytes = readFileSync(join(dir, journalFileName));
    const at = ends[8]! + 8 + 12; // a payload byte of seq 10
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(join(dir, journalFileName), bytes);

    const run = startKinyu(['exchange', 'verify', dir], {});
    expect((await run.exited).code).toBe(3);
    expect(run.output()).toMatch(/9 commands, last seq 9, tail corrupt \(bad_crc\) at offset \d+/);
    expect(run.output()).toMatch(/90 valid records \(seq 11 … 100\)/);
    expect(run.output()).toMatch(/DAMAGED: journal .*journal\.log is damaged/);
    expect(run.output()).not.toMatch(/^match/m);
  });
});
