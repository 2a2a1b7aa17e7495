import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankAccountIds } from '../../../src/banking/accounts/index.ts';
import {
  type BankHarness,
  createBankHarness,
  openCustomer,
  type TestCustomer,
} from '../onboarding/bank-harness.ts';

describe('tellers: cash deposits and withdrawals', () => {
  let h: BankHarness;
  let alice: TestCustomer;
  let usd: TestCustomer;

  beforeAll(async () => {
    h = await createBankHarness();
    alice = await openCustomer(h, '30001');
    usd = await openCustomer(h, '30002', 'USD');
  });
  afterAll(async () => {
    await h.close();
  });

  const post = (kind: 'deposits' | 'withdrawals', payload: object, headers = h.adminHeaders) =>
    h.app.inject({ method: 'POST', url: `/admin/ledger/${kind}`, headers, payload });

  it('books a deposit against the bank cash account; the same reference and body answer the same', async () => {
    const body = { accountId: alice.accountId, amount: '50000', currency: 'JPY', reference: 'teller-0001' };
    const first = await post('deposits', body);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({
      kind: 'deposit',
      amount: '50000',
      currency: 'JPY',
      reference: 'teller-0001',
    });
    h.identity.clock.advance(60_000);
    const again = await post('deposits', body);
    expect(again.json()).toEqual(first.json());
    const [cash, account] = await h.bank.ledger.lookupAccounts([bankAccountIds('JPY').cash, alice.accountId]);
    expect(account!.creditsPosted).toBe(50000n);
    expect(cash!.debitsPosted - cash!.creditsPosted).toBe(50000n);
    expect(await h.bank.ledger.verifyBalances()).toEqual([]);
  });

  it('refuses a used reference with a different body (409), whatever differs', async () => {
    const conflict = await post('deposits', {
      accountId: alice.accountId,
      amount: '50001',
      currency: 'JPY',
      reference: 'teller-0001',
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ code: 'reference_conflict', errors: [{ field: 'reference' }] });
    const asWithdrawal = await post('withdrawals', {
      accountId: alice.accountId,
      amount: '50000',
      currency: 'JPY',
      reference: 'teller-0001',
    });
    expect(asWithdrawal.json().code).toBe('reference_conflict');
  });

  it('never overdraws: 422 insufficient_funds, and nothing is booked', async () => {
    const tooMuch = await post('withdrawals', {
      accountId: alice.accountId,
      amount: '50001',
      currency: 'JPY',
      reference: 'teller-0002',
    });
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.json().code).toBe('insufficient_funds');
    const ok = await post('withdrawals', {
      accountId: alice.accountId,
      amount: '20000',
      currency: 'JPY',
      reference: 'teller-0003',
    });
    expect(ok.json()).toMatchObject({ kind: 'withdrawal', amount: '20000' });
    const [account] = await h.bank.ledger.lookupAccounts([alice.accountId]);
    expect(account!.creditsPosted - account!.debitsPosted).toBe(30000n);
  });

  it("takes amounts in the currency's minor units exactly", async () => {
    const cents = await post('deposits', {
      accountId: usd.accountId,
      amount: '10.25',
      currency: 'USD',
      reference: 'teller-usd-1',
    });
    expect(cents.json()).toMatchObject({ amount: '10.25', currency: 'USD' });
    const [account] = await h.bank.ledger.lookupAccounts([usd.accountId]);
    expect(account!.creditsPosted).toBe(1025n);
    const yenDecimals = await post('deposits', {
      accountId: alice.accountId,
      amount: '1.5',
      currency: 'JPY',
      reference: 'teller-0004',
    });
    expect(yenDecimals.statusCode).toBe(400);
    expect(yenDecimals.json().errors).toEqual([{ field: 'amount', reason: 'must be a whole number' }]);
    const tooFine = await post('deposits', {
      accountId: usd.accountId,
      amount: '1.001',
      currency: 'USD',
      reference: 'teller-0005',
    });
    expect(tooFine.json().errors[0].field).toBe('amount');
    const number = await post('deposits', {
      accountId: usd.accountId,
      amount: 5,
      currency: 'USD',
      reference: 'teller-0006',
    });
    expect(number.statusCode).toBe(400);
    const zero = await post('deposits', {
      accountId: usd.accountId,
      amount: '0',
      currency: 'USD',
      reference: 'teller-0007',
    });
    expect(zero.statusCode).toBe(400);
    const wrongCurrency = await post('deposits', {
      accountId: usd.accountId,
      amount: '1',
      currency: 'JPY',
      reference: 'teller-0008',
    });
    expect(wrongCurrency.statusCode).toBe(422);
    expect(wrongCurrency.json().code).toBe('currency_mismatch');
    const unknown = await post('deposits', {
      accountId: '0190f1a2-0000-7000-8000-000000000001',
      amount: '1',
      currency: 'JPY',
      reference: 'teller-0009',
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('is for admins only', async () => {
    const response = await post(
      'deposits',
      { accountId: alice.accountId, amount: '1', currency: 'JPY', reference: 'teller-0010' },
      alice.headers,
    );
    expect(response.statusCode).toBe(403);
    const anonymous = await h.app.inject({ method: 'POST', url: '/admin/ledger/deposits', payload: {} });
    expect(anonymous.statusCode).toBe(401);
  });

  it('refuses a closed account (409)', async () => {
    await h.db.pool.query("UPDATE bank_accounts SET status = 'closed' WHERE id = $1", [usd.accountId]);
    const response = await post('deposits', {
      accountId: usd.accountId,
      amount: '1',
      currency: 'USD',
      reference: 'teller-0011',
    });
    expect(response.statusCode).toBe(409);
    expect(response.json().code).toBe('account_not_open');
  });
});
