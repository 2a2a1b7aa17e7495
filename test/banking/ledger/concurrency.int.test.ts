import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Ledger, type TransferInput, type TransferResult } from '../../../src/banking/ledger/index.ts';
import type { Clock } from '../../../src/platform/clock.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { ledgerSeed, Random } from './support/random.ts';
import { deposits, makeWorld, Workload } from './support/workload.ts';

/*
 * The invariants under concurrency: a seeded workload (LEDGER_SEED replays it) dealt to 8 workers on
 * their own connections, racing on the same accounts, the same ids and the same holds, with timeout
 * sweeps running alongside. Afterwards the books must balance exactly.
 */
const workers = 8;
const batchesPerWorker = 60;
const batchSizeMax = 16;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(workers + 2);
});
afterAll(() => db.drop());

/** Every read moves time 5 ms on, so holds with 1-3 s timeouts expire during the run. */
function tickingClock(start: string): Clock {
  let ms = new Date(start).getTime();
  const nowMs = () => {
    ms += 5;
    return ms;
  };
  return { nowMs, now: () => new Date(nowMs()) };
}

describe('ledger under concurrent writers', () => {
  it('keeps every invariant while thousands of random transfers race', async () => {
    const seed = ledgerSeed();
    onTestFailed(() => console.log(`[ledger concurrency] seed ${seed}: rerun with LEDGER_SEED=${seed}`));
    const rng = new Random(seed);
    const clock = tickingClock('2026-04-01T00:00:00.000Z');
    const ledger = new Ledger(db.pool, { clock });
    const world = makeWorld(rng, 12);
    expect(new Set(await ledger.createAccounts(world.accounts))).toEqual(new Set(['ok']));
    const opening = deposits(rng, world, 2_000n);
    expect(new Set(await ledger.createTransfers(opening))).toEqual(new Set(['ok']));

    const workload = new Workload(rng, world);
    const queues = Array.from({ length: workers }, () =>
      Array.from({ length: batchesPerWorker }, () => workload.batch(batchSizeMax)),
    );
    const submitted = queues.flat(2).length;
    const { results, swept } = await race(ledger, queues, clock);

    expect(results).toHaveLength(submitted);
    expect(submitted).toBeGreaterThan(3_000);
    await expectInvariants(ledger, results, swept + opening.length, seed);
  });
});

/** Runs each worker's batches in order, all workers at once; every fifth batch a worker also sweeps. */
async function race(ledger: Ledger, queues: TransferInput[][][], clock: Clock) {
  const results: TransferResult[] = [];
  let swept = 0;
  await Promise.all(
    queues.map(async (queue, worker) => {
      for (const [n, batch] of queue.entries()) {
        results.push(...(await ledger.createTransfers(batch)));
        if ((n + worker) % 5 === 0) {
          // Not `swept += await …`: that reads `swept` before the await and loses other workers' counts.
          const voided = await ledger.expirePendingTransfers(clock.now());
          swept += voided;
        }
      }
    }),
  );
  return { results, swept };
}

/** `otherRows`: transfers written outside `results` (opening deposits and sweep voids). */
async function expectInvariants(ledger: Ledger, results: TransferResult[], otherRows: number, seed: number) {
  const context = `seed ${seed}`;
  const q = async <T>(sql: string) => (await dbQuery<T>(sql))[0]!;

  // Each transfer id at most once; each hold resolved at most once; every 'ok' is exactly one row.
  const ids = await q<{ rows: bigint; ids: bigint; resolutions: bigint; resolved: bigint }>(
    `SELECT count(*) AS rows, count(DISTINCT id) AS ids, count(pending_id) AS resolutions,
            count(DISTINCT pending_id) AS resolved FROM ledger_transfers`,
  );
  expect(ids.rows, context).toBe(ids.ids);
  expect(ids.resolutions, context).toBe(ids.resolved);
  const oks = results.filter((r) => r === 'ok').length;
  expect(Number(ids.rows), context).toBe(oks + otherRows);

  // Per ledger, debits equal credits, posted and pending, in the cache and in the transfers.
  const totals = await dbQuery<{ ledger: number; dp: string; cp: string; dpo: string; cpo: string }>(
    `SELECT ledger, sum(debits_pending)::text AS dp, sum(credits_pending)::text AS cp,
            sum(debits_posted)::text AS dpo, sum(credits_posted)::text AS cpo
       FROM ledger_accounts GROUP BY ledger`,
  );
  for (const t of totals) {
    expect(t.dp, `${context} ledger ${t.ledger} pending`).toBe(t.cp);
    expect(t.dpo, `${context} ledger ${t.ledger} posted`).toBe(t.cpo);
  }

  // No flagged account ever crossed its limit: not now, and not after any transfer in its history.
  const crossings = await q<{ crossings: bigint }>(
    `SELECT count(*) AS crossings FROM (
       SELECT e.account_id,
              sum(e.debits_pending + e.debits_posted - e.credits_posted)
                OVER (PARTITION BY e.account_id ORDER BY e.seq) AS over_limit
         FROM ledger_transfer_effects e JOIN ledger_accounts a ON a.id = e.account_id
        WHERE (a.flags & 2) <> 0) x
      WHERE over_limit > 0`,
  );
  expect(crossings.crossings, context).toBe(0n);

  // The cache is exactly what the transfers say, and so is the sweep's work list.
  expect(await ledger.verifyBalances(), context).toEqual([]);
  expect(await ledger.verifyPendingTimeouts(), context).toEqual([]);
}

async function dbQuery<T>(sql: string): Promise<T[]> {
  return (await db.pool.query(sql)).rows as T[];
}
