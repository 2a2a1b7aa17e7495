import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sequencer } from '../../src/exchange/sequencer/index.ts';
import { startKinyu } from '../support/process.ts';

describe('kinyu exchange verify', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kinyu-verify-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('replays a journal both ways and reports a match', async () => {
    const dir = path.join(dataDir, 'exchange');
    const sequencer = await Sequencer.open(dir, { snapshotEveryCommands: 50 });
    for (let n = 1; n <= 120; n++) {
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
    const liveHash = sequencer.stateHash();
    await sequencer.close();

    const run = startKinyu(['exchange', 'verify'], { KINYU_DATA_DIR: dataDir });
    expect((await run.exited).code).toBe(0);
    expect(run.output()).toMatch(/120 commands, last seq 120/);
    expect(run.output()).toContain(liveHash);
    expect(run.output()).toMatch(/match: the journal and the snapshots agree/);
  });

  it('says so when there is no journal', async () => {
    const run = startKinyu(['exchange', 'verify', path.join(dataDir, 'nowhere')], {});
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/No exchange journal/);
  });
});
