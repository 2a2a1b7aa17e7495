import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOfCustomer } from '../../../src/banking/accounts/index.ts';
import { applicationBody, type BankHarness, createBankHarness } from './bank-harness.ts';

describe('onboarding steps run directly (no workers): races, crashes, foreign logins', () => {
  let h: BankHarness;

  beforeAll(async () => {
    h = await createBankHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('runs racing duplicates of a step once', async () => {
    const manual = h.bankWith(h.identity.service);
    const { applicationId } = await manual.onboarding.submit(applicationBody('10005'));
    await manual.onboarding.review(applicationId, { kind: 'approve', by: 'test' });
    // No workers here: three runners race for every step, with different message ids.
    const steps = ['create_customer', 'open_account', 'create_login', 'complete', 'notify'] as const;
    for (const step of steps) {
      await Promise.allSettled(
        [1, 2, 3].map((n) =>
          manual.onboarding.runStep({ applicationId, step }, `race-${applicationId}-${step}-${n}`),
        ),
      );
    }
    const state = await h.bank.onboarding.state(applicationId);
    expect(state.notificationId).not.toBeNull();
    expect(await accountsOfCustomer(h.db.pool, state.customerId!)).toHaveLength(1);
    const customers = await h.db.pool.query(
      'SELECT count(*)::int AS n FROM bank_customers WHERE application_id = $1',
      [applicationId],
    );
    expect(customers.rows[0].n).toBe(1);
    const view = await h.bank.onboarding.view(applicationId);
    const login = await h.identity.service.login(view.loginId!, view.temporaryPassword!);
    expect(login.user.mustChangePassword).toBe(true);
  });

  it('recovers a login created by an attempt that crashed before recording it', async () => {
    let crashOnce = true;
    const crashing = h.bankWith({
      resetPassword: (loginId) => h.identity.service.resetPassword(loginId),
      async createUserWithTemporaryPassword(request) {
        const created = await h.identity.service.createUserWithTemporaryPassword(request);
        if (crashOnce) {
          crashOnce = false;
          throw new Error('process died after identity committed');
        }
        return created;
      },
    });
    const { applicationId } = await crashing.onboarding.submit(applicationBody('10006'));
    await crashing.onboarding.review(applicationId, { kind: 'approve', by: 'test' });
    const message = (step: 'create_customer' | 'open_account' | 'create_login') => ({ applicationId, step });
    await crashing.onboarding.runStep(message('create_customer'), `crash-${applicationId}-1`).catch(() => {});
    await crashing.onboarding.runStep(message('open_account'), `crash-${applicationId}-2`).catch(() => {});
    await expect(
      crashing.onboarding.runStep(message('create_login'), `crash-${applicationId}-3`),
    ).rejects.toThrow(/process died/);
    expect(crashOnce).toBe(false);
    // The redelivery finds the login taken by its own earlier attempt and gives it a fresh password.
    expect(await crashing.onboarding.runStep(message('create_login'), `crash-${applicationId}-3`)).toBe(
      'ran',
    );
    for (const step of ['complete', 'notify'] as const) {
      expect(
        await crashing.onboarding.runStep({ applicationId, step }, `crash-${applicationId}-${step}`),
      ).toBe('ran');
    }
    const recovered = await h.bank.onboarding.state(applicationId);
    expect(recovered).toMatchObject({ status: 'COMPLETED', loginAttempts: 2, userId: null });
    const view = await h.bank.onboarding.view(applicationId);
    const login = await h.identity.service.login(view.loginId!, view.temporaryPassword!);
    expect(login.user.mustChangePassword).toBe(true);
  });

  it("never touches a login id that was someone else's before the first attempt", async () => {
    const manual = h.bankWith(h.identity.service);
    const { applicationId } = await manual.onboarding.submit(applicationBody('10007'), {
      loginId: 'taken-login',
    });
    const existing = await h.identity.service.createUserWithTemporaryPassword({
      loginId: 'taken-login',
      roles: ['customer'],
    });
    await manual.onboarding.review(applicationId, { kind: 'approve', by: 'test' });
    for (const step of ['create_customer', 'open_account', 'create_login'] as const) {
      expect(await manual.onboarding.runStep({ applicationId, step }, `taken-${step}`)).toBe('ran');
    }
    expect(await manual.onboarding.runStep({ applicationId, step: 'create_login' }, 'taken-again')).toBe(
      'skipped',
    );
    const state = await h.bank.onboarding.state(applicationId);
    expect(state.loginIdUnavailable).toBe(true);
    expect(state.lastCompletedStep).toBe('open_account');
    expect(state.status).toBe('APPROVED');
    // The other user's password still works: nothing reset it.
    const login = await h.identity.service.login('taken-login', existing.temporaryPassword);
    expect(login.user.loginId).toBe('taken-login');
  });
});
