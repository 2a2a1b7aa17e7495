import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankAccountIds, ledgerOf } from '../../../src/banking/accounts/index.ts';
import { recordPostingDetails } from '../../../src/banking/read-models/index.ts';
import { eventually } from '../../support/eventually.ts';
import {
  type BankHarness,
  createBankHarness,
  openCustomer,
  type TestCustomer,
  workersTimeoutMs,
} from '../onboarding/bank-harness.ts';

describe('balances and history read models', () => {
  let h: BankHarness;
  let alice: TestCustomer;
  let bob: TestCustomer;
  const times: Date[] = [];

  const deposit = async (customer: TestCustomer, amount: string, reference: string, kind = 'deposits') => {
    const response = await h.app.inject({
      method: 'POST',
      url: `/admin/ledger/${kind}`,
      headers: h.adminHeaders,
      payload: { accountId: customer.accountId, amount, currency: 'JPY', reference },
    });
    expect(response.statusCode, response.body).toBe(200);
    times.push(h.identity.clock.now());
    h.identity.clock.advance(60_000);
  };
  const get = (customer: TestCustomer, url: string) =>
    h.app.inject({ method: 'GET', url, headers: customer.headers });

  beforeAll(async () => {
    h = await createBankHarness();
    alice = await openCustomer(h, '40001');
    bob = await openCustomer(h, '40002');
    await deposit(alice, '100000', 'history-1');
    await deposit(alice, '25000', 'history-2');
    await deposit(alice, '30000', 'history-3', 'withdrawals');
    await deposit(bob, '7000', 'history-4');
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers the balance now and as of a past time, as decimal strings', async () => {
    const now = await get(alice, `/api/accounts/${alice.accountId}/balance`);
    expect(now.json()).toMatchObject({
      accountId: alice.accountId,
      currency: 'JPY',
      available: '95000',
      posted: '95000',
      pending: '0',
    });
    const between = new Date(times[0]!.getTime() + 1000).toISOString();
    const past = await get(
      alice,
      `/api/accounts/${alice.accountId}/balance?asOf=${encodeURIComponent(between)}`,
    );
    expect(past.json()).toMatchObject({ posted: '100000', available: '100000', asOf: between });
    const before = await get(alice, `/api/accounts/${alice.accountId}/balance?asOf=2000-01-01T00:00:00.000Z`);
    expect(before.json().posted).toBe('0');
  });

  it('lists the history newest first with running balances, paged by cursor', async () => {
    const page1 = await get(alice, `/api/accounts/${alice.accountId}/transactions?limit=2`);
    expect(page1.statusCode, page1.body).toBe(200);
    const { transactions, nextCursor } = page1.json();
    expect(transactions).toEqual([
      expect.objectContaining({
        type: 'withdrawal',
        amount: '30000',
        direction: 'debit',
        balanceAfter: '95000',
        counterparty: 'Teller',
        description: 'Cash withdrawal',
        transferId: null,
      }),
      expect.objectContaining({
        type: 'deposit',
        amount: '25000',
        direction: 'credit',
        balanceAfter: '125000',
      }),
    ]);
    expect(transactions[1].time).toBe(times[1]!.toISOString());
    const page2 = await get(
      alice,
      `/api/accounts/${alice.accountId}/transactions?limit=2&cursor=${nextCursor}`,
    );
    expect(page2.json()).toEqual({
      transactions: [expect.objectContaining({ type: 'deposit', amount: '100000', balanceAfter: '100000' })],
      nextCursor: null,
    });
  });

  it('shows holds: pending and available move, posted does not', async () => {
    const holdId = '0190f1a2-0000-7000-8000-00000000a001';
    await recordPostingDetails(h.db.pool, [
      {
        ledgerTransferId: holdId,
        type: 'transfer_hold',
        description: 'Transfer to Bob (on hold)',
        counterparty: 'Bob',
        transferId: '0190f1a2-0000-7000-8000-00000000b001',
      },
    ]);
    const [result] = await h.bank.ledger.createTransfers([
      {
        id: holdId,
        debitAccountId: alice.accountId,
        creditAccountId: bankAccountIds('JPY').clearing,
        amount: 5000n,
        ledger: ledgerOf('JPY'),
        code: 1,
        flags: { pending: true },
      },
    ]);
    expect(result).toBe('ok');
    const balance = await get(alice, `/api/accounts/${alice.accountId}/balance`);
    expect(balance.json()).toMatchObject({ posted: '95000', available: '90000', pending: '-5000' });
    const [newest] = (await get(alice, `/api/accounts/${alice.accountId}/transactions?limit=1`)).json()
      .transactions;
    expect(newest).toMatchObject({
      type: 'transfer_hold',
      counterparty: 'Bob',
      transferId: '0190f1a2-0000-7000-8000-00000000b001',
      balanceAfter: '95000',
    });
  });

  it("answers 404 for someone else's account, exactly as for one that does not exist", async () => {
    for (const url of [
      `/api/accounts/${alice.accountId}/balance`,
      `/api/accounts/${alice.accountId}/transactions`,
      '/api/accounts/0190f1a2-0000-7000-8000-000000000404/balance',
      '/api/accounts/not-a-uuid/transactions',
    ]) {
      const response = await get(bob, url);
      expect(response.statusCode, url).toBe(404);
      expect(response.json()).toMatchObject({ code: 'not_found', detail: 'No such account' });
    }
    const mine = await get(bob, '/api/me/accounts');
    expect(mine.json().accounts.map((a: { accountId: string }) => a.accountId)).toEqual([bob.accountId]);
    const admin = await h.app.inject({
      method: 'GET',
      url: `/api/accounts/${alice.accountId}/balance`,
      headers: h.adminHeaders,
    });
    expect(admin.statusCode).toBe(403);
  });

  it('follows the ledger in the background, and a rebuild gives the same rows as following it', async () => {
    h.startWorkers();
    await deposit(bob, '1', 'history-5');
    await eventually(
      async () => {
        const { rows } = await h.db.pool.query(
          'SELECT 1 FROM bank_account_history WHERE account_id = $1 AND amount = 1',
          [bob.accountId],
        );
        return rows.length > 0 ? true : undefined;
      },
      { what: 'the projector to pick up the deposit', timeoutMs: workersTimeoutMs },
    );
    await h.bank.projector.catchUpAll({ onlyChanged: false });
    const snapshot = async () =>
      (await h.db.pool.query('SELECT * FROM bank_account_history ORDER BY account_id, seq')).rows;
    const balances = async () =>
      (
        await h.db.pool.query(
          'SELECT account_id, last_seq, debits_pending, debits_posted, credits_pending, credits_posted FROM bank_account_balances ORDER BY account_id',
        )
      ).rows;
    const incremental = await snapshot();
    const incrementalBalances = await balances();
    expect(incremental.length).toBe(6); // alice: 2 deposits, 1 withdrawal, 1 hold; bob: 2 deposits
    const counts = await h.bank.projector.rebuild();
    expect(counts).toEqual({ accounts: 2, rows: 6 });
    expect(await snapshot()).toEqual(incremental);
    expect(await balances()).toEqual(incrementalBalances);
  });
});
