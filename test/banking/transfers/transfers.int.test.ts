import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postingId, TransferSweeper } from '../../../src/banking/transfers/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import { createLogger } from '../../../src/platform/log.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import {
  adminBearer,
  type BankHarness,
  balanceOf,
  bearer,
  openAccount,
  openCustomer,
  startBankHarness,
  type TestCustomer,
  until,
} from './support.ts';

let db: TestDatabase;
let bank: BankHarness;
let alice: TestCustomer;
let bob: TestCustomer;
let aliceAuth: { authorization: string };
let bobAuth: { authorization: string };
let keySerial = 0;

beforeAll(async () => {
  db = await createTestDatabase(12);
  bank = await startBankHarness(db.pool, { busMaxDeliveries: 3 });
  alice = await openCustomer(bank, { count: 2, fundingMinor: 100_000n });
  bob = await openCustomer(bank, { fundingMinor: 5_000n });
  aliceAuth = await bearer(bank, alice.loginId);
  bobAuth = await bearer(bank, bob.loginId);
});

afterAll(async () => {
  await bank.close();
  await db.drop();
});

function post(body: Record<string, unknown>, auth = aliceAuth, key = `k-${++keySerial}`) {
  return bank.app.inject({
    method: 'POST',
    url: '/api/transfers',
    headers: { ...auth, 'idempotency-key': key },
    payload: body,
  });
}

async function finalTransfer(transferId: string, auth = aliceAuth) {
  let body: { status: string; reason?: string; steps: Array<{ type: string }> } = { status: '', steps: [] };
  await until(async () => {
    const response = await bank.app.inject({
      method: 'GET',
      url: `/api/transfers/${transferId}`,
      headers: auth,
    });
    body = response.json();
    return body.status === 'COMPLETED' || body.status === 'FAILED';
  }, `transfer ${transferId} to finish`);
  return body;
}

describe('POST /api/transfers and the saga', () => {
  it('moves the money once, shows the steps, notifies the customer and fills the posting details', async () => {
    bank.startWorkers();
    const [source] = alice.accounts;
    const target = bob.accounts[0]!;
    const before = await balanceOf(bank.ledger, source!);
    const response = await post({
      sourceAccountId: source,
      targetAccountId: target,
      amount: '1500',
      currency: 'JPY',
      description: 'rent',
    });
    expect(response.statusCode).toBe(202);
    const { transferId, status } = response.json();
    expect(status).toBe('RECEIVED');
    const done = await finalTransfer(transferId);
    expect(done).toMatchObject({ status: 'COMPLETED', amount: '1500', currency: 'JPY', description: 'rent' });
    expect(done.steps.map((step) => step.type)).toEqual([
      'TransferRequested',
      'WithdrawalStarted',
      'WithdrawalHeld',
      'Deposited',
      'TransferCompleted',
    ]);
    expect((await balanceOf(bank.ledger, source!)).posted).toBe(before.posted - 1500n);
    expect((await balanceOf(bank.ledger, target)).posted).toBe(5_000n + 1500n);
    expect((await balanceOf(bank.ledger, source!)).pendingDebits).toBe(0n);
    // The target's owner sees it too; a stranger gets 404.
    const asBob = await bank.app.inject({
      method: 'GET',
      url: `/api/transfers/${transferId}`,
      headers: bobAuth,
    });
    expect(asBob.statusCode).toBe(200);
    const carol = await openCustomer(bank, { fundingMinor: 1n });
    const asCarol = await bank.app.inject({
      method: 'GET',
      url: `/api/transfers/${transferId}`,
      headers: await bearer(bank, carol.loginId),
    });
    expect(asCarol.statusCode).toBe(404);
    await until(async () => {
      const { rows } = await db.pool.query(
        'SELECT kind FROM bank_transfer_notifications WHERE transfer_id = $1',
        [transferId],
      );
      return rows.length === 1 && rows[0].kind === 'transfer.completed';
    }, 'the completion notification');
    const { rows: details } = await db.pool.query(
      'SELECT ledger_transfer_id, type, counterparty FROM bank_posting_details WHERE transfer_id = $1 ORDER BY type',
      [transferId],
    );
    expect(details.map((row) => row.ledger_transfer_id).sort()).toEqual(
      [postingId(transferId, 'hold'), postingId(transferId, 'deposit'), postingId(transferId, 'post')].sort(),
    );
  });

  it('replays the same request with the same key and refuses the key with another body', async () => {
    const body = {
      sourceAccountId: alice.accounts[0],
      targetAccountId: bob.accounts[0],
      amount: '10',
      currency: 'JPY',
    };
    const first = await post(body, aliceAuth, 'same-key');
    const again = await post(body, aliceAuth, 'same-key');
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().transferId).toBe(first.json().transferId);
    const other = await post({ ...body, amount: '11' }, aliceAuth, 'same-key');
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency_key_reused');
    await finalTransfer(first.json().transferId);
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM bank_transfers WHERE amount_minor = 10',
    );
    expect(rows[0].n).toBe(1);
  });

  it('answers the pre-checks with problem+json naming the field', async () => {
    const base = { sourceAccountId: alice.accounts[0], targetAccountId: bob.accounts[0], currency: 'JPY' };
    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [{ ...base, amount: '0' }, 400, 'validation_failed', 'amount'],
      [{ ...base, amount: '1.5' }, 400, 'validation_failed', 'amount'],
      [{ ...base, amount: 15 }, 400, 'validation_failed', 'amount'],
      [{ ...base, amount: '999999999' }, 422, 'transfer_insufficient_funds', 'amount'],
      [{ ...base, amount: '1', currency: 'USD' }, 422, 'transfer_currency_mismatch', 'sourceAccountId'],
      [{ ...base, amount: '1', currency: 'XXX' }, 400, 'validation_failed', 'currency'],
      [
        { ...base, amount: '1', sourceAccountId: bob.accounts[0], targetAccountId: alice.accounts[1] },
        404,
        'not_found',
        'sourceAccountId',
      ],
      [
        { ...base, amount: '1', targetAccountId: alice.accounts[0] },
        422,
        'transfer_same_account',
        'targetAccountId',
      ],
      [
        { ...base, amount: '1', targetAccountId: '0190a0b0-0000-7000-8000-000000000000' },
        422,
        'transfer_target_not_found',
        'targetAccountId',
      ],
    ];
    for (const [body, status, code, field] of cases) {
      const response = await post(body);
      expect(response.statusCode, JSON.stringify(body)).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe(code);
      expect(JSON.stringify(response.json().errors)).toContain(field);
    }
    const noKey = await bank.app.inject({
      method: 'POST',
      url: '/api/transfers',
      headers: aliceAuth,
      payload: { ...base, amount: '1' },
    });
    expect(noKey.statusCode).toBe(400);
    const asAdmin = await post({ ...base, amount: '1' }, await adminBearer(bank));
    expect(asAdmin.statusCode).toBe(403);
  });

  it('fails without touching anything when the funds are gone at hold time', async () => {
    await bank.stopWorkers();
    const dave = await openCustomer(bank, { fundingMinor: 1_000n });
    const daveAuth = await bearer(bank, dave.loginId);
    const body = {
      sourceAccountId: dave.accounts[0],
      targetAccountId: bob.accounts[0],
      amount: '800',
      currency: 'JPY',
    };
    // Both pass the pre-check (nothing is held yet); the ledger decides at hold time.
    const one = (await post(body, daveAuth)).json().transferId;
    const two = (await post(body, daveAuth)).json().transferId;
    bank.startWorkers();
    const results = [await finalTransfer(one, daveAuth), await finalTransfer(two, daveAuth)];
    expect(results.map((r) => r.status).sort()).toEqual(['COMPLETED', 'FAILED']);
    expect(results.find((r) => r.status === 'FAILED')!.reason).toBe('insufficient_funds');
    const balance = await balanceOf(bank.ledger, dave.accounts[0]!);
    expect(balance).toEqual({ posted: 200n, pendingDebits: 0n, pendingCredits: 0n });
  });

  it('voids the hold when the deposit fails for good (compensation) and tells the customer why', async () => {
    await bank.stopWorkers();
    const erin = await openCustomer(bank, { fundingMinor: 1_000n });
    const target = await openAccount(bank, bob.customerId, 'JPY', 0n);
    const sent = await post({
      sourceAccountId: alice.accounts[1],
      targetAccountId: target,
      amount: '700',
      currency: 'JPY',
    });
    const transferId = sent.json().transferId;
    const source = alice.accounts[1]!;
    const before = await balanceOf(bank.ledger, source);
    // Run the withdraw step only, then close the target before the deposit.
    await db.pool.query("UPDATE bank_accounts SET status = 'closed' WHERE id = $1", [target]);
    bank.startWorkers();
    const done = await finalTransfer(transferId);
    expect(done).toMatchObject({ status: 'FAILED', reason: 'target_account_closed' });
    expect(await balanceOf(bank.ledger, source)).toEqual({ ...before, pendingDebits: 0n });
    expect((await balanceOf(bank.ledger, target)).posted).toBe(0n);
    const [hold] = await bank.ledger.lookupTransfers([postingId(transferId, 'void')]);
    expect(hold?.flags.voidPending).toBe(true);
    await until(async () => {
      const { rows } = await db.pool.query(
        'SELECT body FROM bank_transfer_notifications WHERE transfer_id = $1',
        [transferId],
      );
      return rows.length === 1 && rows[0].body.reason === 'target_account_closed';
    }, 'the failure notification');
    expect(erin.accounts).toHaveLength(1);
  });
});

describe('the sweeper', () => {
  it('alerts on a stuck transfer, re-drives it within the budget, and resolves the alert when it ends', async () => {
    await bank.stopWorkers();
    const sent = await post({
      sourceAccountId: alice.accounts[0],
      targetAccountId: bob.accounts[0],
      amount: '5',
      currency: 'JPY',
    });
    const transferId = sent.json().transferId;
    const clock = new ManualClock(new Date(Date.now() + 120_000));
    const sweeper = new TransferSweeper({
      pool: db.pool,
      ledger: bank.ledger,
      clock,
      metrics: createMetricsRegistry(),
      logger: createLogger('silent'),
      stuckAfterMs: 60_000,
    });
    const first = await sweeper.runOnce();
    expect(first).toMatchObject({ leader: true, stuck: 1, redriven: 1 });
    // Not stuck again until another threshold has passed since the re-drive.
    expect(await sweeper.runOnce()).toMatchObject({ stuck: 0 });
    for (let i = 1; i < 5; i++) {
      clock.advance(61_000);
      expect(await sweeper.runOnce()).toMatchObject({ stuck: 1, redriven: 1 });
    }
    clock.advance(61_000);
    expect(await sweeper.runOnce()).toMatchObject({ stuck: 1, redriven: 0, exhausted: 1 });
    const admin = await adminBearer(bank);
    const open = await bank.app.inject({ method: 'GET', url: '/admin/alerts?status=open', headers: admin });
    const alert = open.json().alerts.find((a: { subjectId: string }) => a.subjectId === transferId);
    expect(alert).toMatchObject({ kind: 'transfer_stuck', status: 'open', attempts: 5 });
    expect(alert.detail).toContain('needs a human');
    bank.startWorkers();
    await finalTransfer(transferId);
    const all = await bank.app.inject({ method: 'GET', url: '/admin/alerts', headers: admin });
    expect(all.json().alerts.find((a: { subjectId: string }) => a.subjectId === transferId)).toMatchObject({
      status: 'resolved',
    });
    // Six withdraw messages were queued for one transfer: the money still moved once.
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM ledger_transfers WHERE reference = $1 AND flags & 2 = 2',
      [transferId],
    );
    expect(rows[0].n).toBe(1);
  });

  it('sweeps in one process at a time (advisory lock)', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(7264911301)');
      const sweeper = new TransferSweeper({
        pool: db.pool,
        ledger: bank.ledger,
        clock: new ManualClock(),
        metrics: createMetricsRegistry(),
        logger: createLogger('silent'),
        stuckAfterMs: 1_000,
      });
      expect((await sweeper.runOnce()).leader).toBe(false);
      await holder.query('SELECT pg_advisory_unlock(7264911301)');
      expect((await sweeper.runOnce()).leader).toBe(true);
    } finally {
      holder.release();
    }
  });
});

describe('admin views', () => {
  it('shows a transfer stream with the state after each event, and only to admins', async () => {
    bank.startWorkers();
    const sent = await post({
      sourceAccountId: alice.accounts[0],
      targetAccountId: bob.accounts[0],
      amount: '3',
      currency: 'JPY',
    });
    const transferId = sent.json().transferId;
    await finalTransfer(transferId);
    const admin = await adminBearer(bank);
    const response = await bank.app.inject({
      method: 'GET',
      url: `/admin/streams/transfer-${transferId}/events`,
      headers: admin,
    });
    expect(response.statusCode).toBe(200);
    const { events } = response.json();
    expect(events.map((e: { type: string; state: { status: string } }) => [e.type, e.state.status])).toEqual([
      ['TransferRequested', 'RECEIVED'],
      ['WithdrawalStarted', 'WITHDRAWING'],
      ['WithdrawalHeld', 'DEPOSITING'],
      ['Deposited', 'DEPOSITING'],
      ['TransferCompleted', 'COMPLETED'],
    ]);
    expect(events[0]).toMatchObject({ version: '1', data: { amountMinor: '3', currency: 'JPY' } });
    const asCustomer = await bank.app.inject({
      method: 'GET',
      url: `/admin/streams/transfer-${transferId}/events`,
      headers: aliceAuth,
    });
    expect(asCustomer.statusCode).toBe(403);
    const unknown = await bank.app.inject({
      method: 'GET',
      url: '/admin/streams/secret-1/events',
      headers: admin,
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('lists dead letters and re-drives one', async () => {
    const admin = await adminBearer(bank);
    await bank.bus.publish('bank.transfer.withdraw', {
      key: 'broken',
      payload: { transferId: 'not-a-uuid' },
    });
    let letters: Array<{ id: string; group: string }> = [];
    await until(async () => {
      const response = await bank.app.inject({
        method: 'GET',
        url: '/admin/dead-letters?topic=bank.transfer.withdraw',
        headers: admin,
      });
      letters = response.json().deadLetters;
      return letters.length > 0;
    }, 'the malformed message to be dead-lettered');
    expect(letters[0]!.group).toBe('bank-transfer-withdraw');
    const redrive = await bank.app.inject({
      method: 'POST',
      url: `/admin/dead-letters/${encodeURIComponent(letters[0]!.id)}/redrive`,
      headers: admin,
    });
    expect(redrive.statusCode).toBe(202);
    const missing = await bank.app.inject({
      method: 'POST',
      url: '/admin/dead-letters/no-such-letter/redrive',
      headers: admin,
    });
    expect(missing.statusCode).toBe(404);
  });
});
