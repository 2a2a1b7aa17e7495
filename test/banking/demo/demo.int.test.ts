import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOfCustomer } from '../../../src/banking/accounts/index.ts';
import { seedDemoCustomers } from '../../../src/banking/demo/demo.ts';
import { type BankHarness, createBankHarness } from '../onboarding/bank-harness.ts';

describe('demo customers', () => {
  let h: BankHarness;

  beforeAll(async () => {
    h = await createBankHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('are created once through the onboarding and teller services, passwords announced once', async () => {
    const announced: string[] = [];
    const deps = {
      onboarding: h.bank.onboarding,
      teller: h.bank.teller,
      announce: (text: string) => announced.push(text),
    };
    const first = await seedDemoCustomers(deps);
    expect(first.map((o) => o.loginId)).toEqual(['demo-alice', 'demo-bob']);
    expect(announced).toHaveLength(1);
    for (const outcome of first) {
      expect(announced[0]).toContain(`login: ${outcome.loginId}   password: ${outcome.temporaryPassword}`);
      const session = await h.identity.service.login(outcome.loginId, outcome.temporaryPassword!);
      expect(session.user.mustChangePassword).toBe(true);
      const [account] = await accountsOfCustomer(h.db.pool, session.user.customerId!);
      expect(account?.id).toBe(outcome.accountId);
      const balance = await h.bank.ledger.getAccountBalance(outcome.accountId!);
      expect(balance!.creditsPosted).toBe(outcome.loginId === 'demo-alice' ? 1_000_000n : 250_000n);
    }

    const second = await seedDemoCustomers(deps);
    expect(announced).toHaveLength(1);
    expect(second.map((o) => [o.loginId, o.accountId, o.temporaryPassword])).toEqual(
      first.map((o) => [o.loginId, o.accountId, undefined]),
    );
    const balance = await h.bank.ledger.getAccountBalance(first[0]!.accountId!);
    expect(balance!.creditsPosted).toBe(1_000_000n);
    const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM bank_accounts');
    expect(rows[0].n).toBe(2);
  });
});
