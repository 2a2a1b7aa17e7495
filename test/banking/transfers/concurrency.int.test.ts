/*
 * Thousands of random transfers through HTTP among a few accounts, on the in-process bus and on Redis
 * Streams: some sent twice with the same Idempotency-Key, some redelivered on the bus, many racing
 * for the same funds (refused at hold time), with the workers stopped ("killed") and restarted
 * mid-run and an eager sweeper re-driving whatever looks stuck. At the end every transfer is final
 * and the money adds up. KINYU_TEST_SEED replays a run; KINYU_TEST_TRANSFERS sets its size.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { bankAccountIds } from '../../../src/banking/accounts/index.ts';
import { postingId } from '../../../src/banking/transfers/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { Prng } from '../../support/prng.ts';
import { testRedisUrl } from '../../support/services.ts';
import {
  type BankHarness,
  balanceOf,
  bearer,
  inFlight,
  openCustomer,
  startBankHarness,
  until,
} from './support.ts';

const transferCount = Number(process.env.KINYU_TEST_TRANSFERS ?? 2_000);
const customerCount = 8;
const parallelRequests = 24;

interface Sent {
  transferId: string;
  source: string;
  target: string;
  amountMinor: bigint;
}

let db: TestDatabase | undefined;
let bank: BankHarness | undefined;

afterEach(async () => {
  await bank?.close();
  await db?.drop();
  bank = undefined;
  db = undefined;
});

describe.each([
  ['in-process bus', () => undefined as string | undefined, false],
  ['Redis Streams bus', testRedisUrl, true],
])('random transfers with the %s', (_name, redisUrl, needsRedis) => {
  const url = redisUrl();
  it.skipIf(needsRedis && !url)(
    'end with every transfer final, the sum of balances unchanged and each completed one moved once',
    async () => {
      const seed = Number(process.env.KINYU_TEST_SEED ?? randomBytes(4).readUInt32LE(0));
      try {
        await run(seed, url);
      } catch (error) {
        throw new Error(`seed ${seed} (replay with KINYU_TEST_SEED=${seed}): ${String(error)}`, {
          cause: error,
        });
      }
    },
    600_000,
  );
});

async function run(seed: number, redisUrl: string | undefined): Promise<void> {
  const prng = new Prng(seed);
  db = await createTestDatabase(16);
  bank = await startBankHarness(db.pool, {
    redisUrl,
    namespace: `bankc${randomBytes(3).toString('hex')}`,
    stuckAfterMs: 400,
  });
  const harness = bank;
  const customers = [];
  for (let i = 0; i < customerCount; i++) {
    customers.push(await openCustomer(harness, { fundingMinor: BigInt(prng.int(5_000, 50_000)) }));
  }
  const auths = await Promise.all(customers.map((c) => bearer(harness, c.loginId)));
  const accounts = customers.map((c) => c.accounts[0]!);
  const initial = new Map<string, bigint>();
  for (const account of accounts) initial.set(account, (await balanceOf(harness.ledger, account)).posted);
  const { cash, clearing } = bankAccountIds('JPY');
  const bankInitial =
    (await balanceOf(harness.ledger, cash)).posted + (await balanceOf(harness.ledger, clearing)).posted;

  harness.startWorkers();
  const sent: Sent[] = [];
  let refusedUpFront = 0;
  let keySerial = 0;
  const sendOne = async () => {
    const from = prng.int(0, customerCount - 1);
    let to = prng.int(0, customerCount - 2);
    if (to >= from) to++;
    const body = {
      sourceAccountId: accounts[from],
      targetAccountId: accounts[to],
      amount: String(prng.int(1, 6_000)),
      currency: 'JPY',
    };
    const key = `c-${seed}-${keySerial++}`;
    const duplicate = prng.chance(0.1);
    const send = () =>
      harness.app.inject({
        method: 'POST',
        url: '/api/transfers',
        headers: { ...auths[from], 'idempotency-key': key },
        payload: body,
      });
    const responses = duplicate ? await Promise.all([send(), send()]) : [await send()];
    if (duplicate) responses.push(await send());
    const accepted = responses.filter((r) => r.statusCode === 202);
    for (const r of responses) {
      // 409 is the second of two concurrent requests with one key; 422 a refused pre-check.
      expect([202, 409, 422], r.body).toContain(r.statusCode);
    }
    const ids = new Set(accepted.map((r) => r.json().transferId as string));
    expect(ids.size).toBeLessThanOrEqual(1);
    const [transferId] = ids;
    if (!transferId) {
      refusedUpFront++;
      return;
    }
    sent.push({
      transferId,
      source: body.sourceAccountId!,
      target: body.targetAccountId!,
      amountMinor: BigInt(body.amount),
    });
    if (prng.chance(0.05)) {
      // A redelivery as the bus would make it: the same step again for the same transfer.
      const topic = prng.chance(0.5) ? 'bank.transfer.withdraw' : 'bank.transfer.deposit';
      const status = (await db!.pool.query('SELECT status FROM bank_transfers WHERE id = $1', [transferId]))
        .rows[0]?.status;
      if (topic === 'bank.transfer.withdraw' || status === 'DEPOSITING') {
        await harness.bus.publish(topic, { key: transferId, payload: { transferId } });
      }
    }
  };
  const kills = new Set([Math.floor(transferCount / 3), Math.floor((2 * transferCount) / 3)]);
  for (let done = 0; done < transferCount; done += parallelRequests) {
    await Promise.all(Array.from({ length: Math.min(parallelRequests, transferCount - done) }, sendOne));
    if ([...kills].some((k) => k >= done && k < done + parallelRequests)) {
      await harness.stopWorkers();
      // Requests keep arriving while no worker runs.
      await Promise.all(Array.from({ length: parallelRequests }, sendOne));
      harness.startWorkers();
    }
  }
  await until(async () => (await inFlight(db!.pool)) === 0, 'every transfer to be final', 240_000);

  const pool = db.pool;
  expect(await harness.ledger.verifyBalances()).toEqual([]);
  const { rows } = await pool.query<{ id: string; status: string }>('SELECT id, status FROM bank_transfers');
  const statusOf = new Map(rows.map((row) => [row.id, row.status]));
  expect(statusOf.size).toBe(sent.length);
  const expected = new Map(initial);
  const completed = sent.filter((t) => statusOf.get(t.transferId) === 'COMPLETED');
  for (const t of completed) {
    expected.set(t.source, expected.get(t.source)! - t.amountMinor);
    expected.set(t.target, expected.get(t.target)! + t.amountMinor);
  }
  let customerSum = 0n;
  for (const account of accounts) {
    const balance = await balanceOf(harness.ledger, account);
    expect(balance.posted, `account ${account}`).toBe(expected.get(account));
    expect(balance.posted).toBeGreaterThanOrEqual(0n);
    expect(balance.pendingDebits).toBe(0n);
    customerSum += balance.posted;
  }
  const bankNow =
    (await balanceOf(harness.ledger, cash)).posted + (await balanceOf(harness.ledger, clearing)).posted;
  expect(customerSum + bankNow).toBe([...initial.values()].reduce((a, b) => a + b, 0n) + bankInitial);
  expect((await balanceOf(harness.ledger, clearing)).pendingCredits).toBe(0n);

  // Per transfer: a completed one has exactly its hold, post and deposit; a failed one no post or deposit.
  const { rows: postings } = await pool.query<{ reference: string; id: string }>(
    'SELECT reference, id FROM ledger_transfers WHERE reference IS NOT NULL',
  );
  const byTransfer = new Map<string, Set<string>>();
  for (const p of postings) {
    if (!byTransfer.has(p.reference)) byTransfer.set(p.reference, new Set());
    byTransfer.get(p.reference)!.add(p.id);
  }
  for (const t of sent) {
    const ids = byTransfer.get(t.transferId) ?? new Set();
    const has = (step: 'hold' | 'post' | 'deposit' | 'void') => ids.has(postingId(t.transferId, step));
    if (statusOf.get(t.transferId) === 'COMPLETED') {
      expect([has('hold'), has('post'), has('deposit'), has('void')]).toEqual([true, true, true, false]);
      expect(ids.size).toBe(3);
    } else {
      expect(statusOf.get(t.transferId)).toBe('FAILED');
      expect([has('post'), has('deposit')]).toEqual([false, false]);
    }
  }
  const failed = sent.length - completed.length;
  expect(completed.length).toBeGreaterThan(0);
  console.log(
    `[bank concurrency] seed ${seed}: ${sent.length} accepted (${completed.length} completed, ${failed} failed), ${refusedUpFront} refused up front`,
  );
}
