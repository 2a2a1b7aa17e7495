import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BankHarness,
  createBankHarness,
  openCustomer,
  type TestCustomer,
} from '../onboarding/bank-harness.ts';

describe('core ledger HTTP API (/core)', () => {
  let h: BankHarness;
  let customer: TestCustomer;
  const a = '0190f1a2-0000-7000-8000-00000000c001';
  const b = '0190f1a2-0000-7000-8000-00000000c002';

  beforeAll(async () => {
    h = await createBankHarness();
    customer = await openCustomer(h, '60001');
  });
  afterAll(async () => {
    await h.close();
  });

  const call = (method: 'GET' | 'POST', url: string, payload?: object, headers = h.adminHeaders) =>
    h.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  it('creates accounts and transfers with named results, idempotently', async () => {
    const accounts = {
      accounts: [
        { id: a, ledger: 392, code: 7, owner: 'test:a' },
        { id: b, ledger: 392, code: 7, owner: 'test:b', flags: { debitsMustNotExceedCredits: true } },
      ],
    };
    const created = await call('POST', '/core/accounts', accounts);
    expect(created.statusCode, created.body).toBe(200);
    expect(created.json().results).toEqual([
      { index: 0, id: a, result: 'ok' },
      { index: 1, id: b, result: 'ok' },
    ]);
    expect(
      (await call('POST', '/core/accounts', accounts))
        .json()
        .results.map((r: { result: string }) => r.result),
    ).toEqual(['exists', 'exists']);
    const transfers = {
      transfers: [
        {
          id: '0190f1a2-0000-7000-8000-00000000d001',
          debitAccountId: a,
          creditAccountId: b,
          amount: '700',
          ledger: 392,
          code: 1,
        },
        {
          id: '0190f1a2-0000-7000-8000-00000000d002',
          debitAccountId: b,
          creditAccountId: a,
          amount: '701',
          ledger: 392,
          code: 1,
        },
      ],
    };
    const results = (await call('POST', '/core/transfers', transfers)).json().results;
    expect(results.map((r: { result: string }) => r.result)).toEqual(['ok', 'exceeds_credits']);
    const changed = { transfers: [{ ...transfers.transfers[0], amount: '701' }] };
    expect((await call('POST', '/core/transfers', changed)).json().results[0].result).toBe(
      'exists_with_different_amount',
    );
  });

  it('looks up accounts, transfers, balances as of a time, and account history', async () => {
    const account = await call('GET', `/core/accounts/${b}`);
    expect(account.json()).toMatchObject({
      id: b,
      creditsPosted: '700',
      debitsPosted: '0',
      flags: { debitsMustNotExceedCredits: true },
    });
    const lookup = await call('POST', '/core/accounts/lookup', {
      ids: [a, b, '0190f1a2-0000-7000-8000-00000000ffff'],
    });
    expect(lookup.json().accounts.map((x: { id: string }) => x.id)).toEqual([a, b]);
    const transfer = await call('GET', '/core/transfers/0190f1a2-0000-7000-8000-00000000d001');
    expect(transfer.json()).toMatchObject({
      amount: '700',
      debitAccountId: a,
      creditAccountId: b,
      pendingId: null,
    });
    expect((await call('GET', '/core/transfers/0190f1a2-0000-7000-8000-00000000d002')).statusCode).toBe(404);
    const balance = await call('GET', `/core/accounts/${b}/balance`);
    expect(balance.json()).toMatchObject({ creditsPosted: '700', asOf: null });
    const past = await call('GET', `/core/accounts/${b}/balance?asOf=2000-01-01T00:00:00Z`);
    expect(past.json()).toMatchObject({ creditsPosted: '0' });
    const history = await call('GET', `/core/accounts/${b}/transfers?limit=10`);
    expect(history.json()).toMatchObject({
      entries: [{ transfer: { amount: '700' }, balanceAfter: { creditsPosted: '700' } }],
      nextCursor: null,
    });
    expect((await call('GET', '/core/accounts/0190f1a2-0000-7000-8000-00000000ffff')).json().code).toBe(
      'account_not_found',
    );
  });

  it('validates with problem+json and is for admins only', async () => {
    const fraction = await call('POST', '/core/transfers', {
      transfers: [
        {
          id: '0190f1a2-0000-7000-8000-00000000d003',
          debitAccountId: a,
          creditAccountId: b,
          amount: '1.5',
          ledger: 392,
          code: 1,
        },
      ],
    });
    expect(fraction.statusCode).toBe(400);
    expect(fraction.json().errors[0].field).toMatch(/amount/);
    const number = await call('POST', '/core/transfers', {
      transfers: [
        {
          id: '0190f1a2-0000-7000-8000-00000000d003',
          debitAccountId: a,
          creditAccountId: b,
          amount: 5,
          ledger: 392,
          code: 1,
        },
      ],
    });
    expect(number.statusCode).toBe(400);
    const tooBig = await call('POST', '/core/transfers', {
      transfers: [
        {
          id: '0190f1a2-0000-7000-8000-00000000d003',
          debitAccountId: a,
          creditAccountId: b,
          amount: '9999999999999999999',
          ledger: 392,
          code: 1,
        },
      ],
    });
    expect(tooBig.json().errors).toEqual([
      { field: 'transfers.0.amount', reason: expect.stringMatching(/at most/) },
    ]);
    expect((await call('POST', '/core/accounts', { accounts: [] })).statusCode).toBe(400);
    expect((await call('GET', `/core/accounts/${a}`, undefined, customer.headers)).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'GET', url: `/core/accounts/${a}` })).statusCode).toBe(401);
  });
});
