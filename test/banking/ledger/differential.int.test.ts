import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Ledger, MemoryLedger } from '../../../src/banking/ledger/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { ledgerSeed, Random } from './support/random.ts';
import { deposits, makeWorld, Workload } from './support/workload.ts';

/*
 * The PostgreSQL Ledger against the in-memory reference, fed the same seeded commands one batch at a
 * time: every result, every balance, every history line and every asOf balance must agree.
 * Replay a failure with LEDGER_SEED=<seed>.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(2);
});
afterAll(() => db.drop());

describe('Ledger vs MemoryLedger', () => {
  it('agree on every result and balance for a seeded random run', async () => {
    const seed = ledgerSeed();
    onTestFailed(() => console.log(`[ledger differential] seed ${seed}: rerun with LEDGER_SEED=${seed}`));
    const rng = new Random(seed);
    const clock = new ManualClock('2026-02-01T00:00:00.000Z');
    const pg = new Ledger(db.pool, { clock });
    const memory = new MemoryLedger({ clock });
    const world = makeWorld(rng, 6);
    expect(await pg.createAccounts(world.accounts)).toEqual(memory.createAccounts(world.accounts));
    const opening = deposits(rng, world, 1_000n);
    expect(await pg.createTransfers(opening)).toEqual(memory.createTransfers(opening));
    const workload = new Workload(rng, world);
    const checkpoints: Date[] = [];
    for (let round = 0; round < 120; round++) {
      const batch = workload.batch(12);
      expect(await pg.createTransfers(batch), `seed ${seed} round ${round}`).toEqual(
        memory.createTransfers(batch),
      );
      clock.advance(rng.int(1_500));
      if (rng.chance(0.2)) expect(await pg.expirePendingTransfers()).toBe(memory.expirePendingTransfers());
      if (rng.chance(0.1)) checkpoints.push(clock.now());
    }
    const ids = world.accounts.map((a) => a.id);
    for (const id of ids) {
      expect(await pg.getAccountBalance(id), `seed ${seed} balance`).toEqual(memory.getAccountBalance(id));
      for (const at of checkpoints) {
        expect(await pg.getAccountBalance(id, { asOf: at })).toEqual(
          memory.getAccountBalance(id, { asOf: at }),
        );
      }
      const page = await pg.getAccountTransfers(id, { limit: 500 });
      const expected = memory.history(id).reverse();
      expect(page?.entries.map((e) => [e.transfer.amount, e.transfer.pendingId, e.balanceAfter])).toEqual(
        expected.map((e) => [e.transfer.amount, e.transfer.pendingId, e.balanceAfter]),
      );
    }
    expect(await pg.verifyBalances()).toEqual([]);
    expect(await pg.verifyPendingTimeouts()).toEqual([]);
  });
});
