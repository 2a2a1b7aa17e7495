/*
 * The worker is SIGKILLed right after each durable step of the saga (a child process whose step hook
 * kills itself at step k, for every k), then restarted: each time the money moves exactly once —
 * or, on the compensation path, not at all — and the customer is notified exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postingId, type SagaStep } from '../../../src/banking/transfers/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { repoRoot } from '../../support/process.ts';
import { testRedisUrl } from '../../support/services.ts';
import {
  type BankHarness,
  balanceOf,
  bearer,
  openAccount,
  openCustomer,
  startBankHarness,
  type TestCustomer,
  until,
} from './support.ts';

const childScript = path.join(repoRoot, 'test/banking/transfers/saga-child.ts');

const successSteps: SagaStep[] = [
  'withdrawal-started',
  'hold-placed',
  'withdrawal-held',
  'deposit-posted',
  'completed',
  'notified',
];
const compensationSteps: SagaStep[] = ['withdrawal-held', 'hold-voided', 'failed', 'notified'];

function startChild(env: Record<string, string>): {
  child: ChildProcess;
  exited: Promise<string>;
  output: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk) => {
    text += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    text += chunk;
  });
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? String(code))),
  );
  return { child, exited, output: () => text };
}

describe.each([
  ['in-process bus', () => undefined as string | undefined, false],
  ['Redis Streams bus', testRedisUrl, true],
])('killing the worker at every saga step (%s)', (_name, redisUrl, needsRedis) => {
  const url = redisUrl();
  let db: TestDatabase;
  let bank: BankHarness;
  let sender: TestCustomer;
  let receiver: TestCustomer;
  let auth: { authorization: string };
  const namespace = `bankk${randomBytes(3).toString('hex')}:`;

  beforeAll(async () => {
    if (needsRedis && !url) return;
    db = await createTestDatabase(6);
    // This process only takes requests: the child runs the relay and the workers.
    bank = await startBankHarness(db.pool);
    await bank.relay.stop();
    sender = await openCustomer(bank, { fundingMinor: 1_000_000n });
    receiver = await openCustomer(bank, { fundingMinor: 0n });
    auth = await bearer(bank, sender.loginId);
  });
  afterAll(async () => {
    if (needsRedis && !url) return;
    await bank.close();
    await db.drop();
  });

  async function killAndRestart(
    step: SagaStep,
    target: string,
    beforeChild?: (transferId: string) => Promise<void>,
  ) {
    const response = await bank.app.inject({
      method: 'POST',
      url: '/api/transfers',
      headers: { ...auth, 'idempotency-key': `kill-${step}-${target}` },
      payload: {
        sourceAccountId: sender.accounts[0],
        targetAccountId: target,
        amount: '1000',
        currency: 'JPY',
      },
    });
    expect(response.statusCode, response.body).toBe(202);
    const transferId: string = response.json().transferId;
    await beforeChild?.(transferId);
    const env = { DATABASE_URL: db.url, BUS_NAMESPACE: namespace, ...(url ? { REDIS_URL: url } : {}) };
    const doomed = startChild({ ...env, KILL_AT: step, KILL_TRANSFER: transferId });
    const signal = await Promise.race([
      doomed.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 60_000)),
    ]);
    expect(signal, doomed.output()).toBe('SIGKILL');
    const restarted = startChild(env);
    try {
      await until(
        async () => {
          const { rows } = await db.pool.query(
            `SELECT (SELECT status FROM bank_transfers WHERE id = $1) AS status,
                  (SELECT count(*)::int FROM bank_transfer_notifications WHERE transfer_id = $1) AS notified`,
            [transferId],
          );
          return ['COMPLETED', 'FAILED'].includes(rows[0].status) && rows[0].notified === 1;
        },
        `transfer killed at ${step} to finish after the restart:\n${restarted.output()}`,
        90_000,
      );
      // Let any redelivery still in flight run, then check nothing happened twice.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      restarted.child.kill('SIGKILL');
      await restarted.exited;
    }
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM bank_transfer_notifications WHERE transfer_id = $1',
      [transferId],
    );
    expect(rows[0].n).toBe(1);
    return transferId;
  }

  it.skipIf(needsRedis && !url)(
    'moves the money exactly once after a kill at each step of a completing transfer',
    async () => {
      for (const step of successSteps) {
        const before = (await balanceOf(bank.ledger, sender.accounts[0]!)).posted;
        const receivedBefore = (await balanceOf(bank.ledger, receiver.accounts[0]!)).posted;
        const transferId = await killAndRestart(step, receiver.accounts[0]!);
        expect(
          (await db.pool.query('SELECT status FROM bank_transfers WHERE id = $1', [transferId])).rows[0]
            .status,
        ).toBe('COMPLETED');
        expect((await balanceOf(bank.ledger, sender.accounts[0]!)).posted, step).toBe(before - 1000n);
        expect((await balanceOf(bank.ledger, receiver.accounts[0]!)).posted, step).toBe(
          receivedBefore + 1000n,
        );
        expect((await balanceOf(bank.ledger, sender.accounts[0]!)).pendingDebits).toBe(0n);
      }
      expect(await bank.ledger.verifyBalances()).toEqual([]);
    },
    600_000,
  );

  it.skipIf(needsRedis && !url)(
    'compensates exactly once after a kill at each step of a failing deposit',
    async () => {
      for (const step of compensationSteps) {
        const closed = await openAccount(bank, receiver.customerId, 'JPY', 0n);
        const before = await balanceOf(bank.ledger, sender.accounts[0]!);
        const transferId = await killAndRestart(step, closed, async () => {
          await db.pool.query("UPDATE bank_accounts SET status = 'closed' WHERE id = $1", [closed]);
        });
        const { rows } = await db.pool.query('SELECT status, reason FROM bank_transfers WHERE id = $1', [
          transferId,
        ]);
        expect(rows[0]).toEqual({ status: 'FAILED', reason: 'target_account_closed' });
        expect(await balanceOf(bank.ledger, sender.accounts[0]!), step).toEqual(before);
        expect((await balanceOf(bank.ledger, closed)).posted).toBe(0n);
        const voided = await bank.ledger.lookupTransfers([postingId(transferId, 'void')]);
        expect(voided).toHaveLength(1);
      }
      expect(await bank.ledger.verifyBalances()).toEqual([]);
    },
    600_000,
  );
});
