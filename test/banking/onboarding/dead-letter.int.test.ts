import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onboardingTopic } from '../../../src/banking/onboarding/index.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { eventually } from '../../support/eventually.ts';
import { applicationBody, type BankHarness, createBankHarness, workersTimeoutMs } from './bank-harness.ts';

describe('a step that keeps failing', () => {
  let h: BankHarness;
  let identityDown = true;

  beforeAll(async () => {
    h = await createBankHarness();
    const flaky = h.bankWith({
      resetPassword: (loginId) => h.identity.service.resetPassword(loginId),
      async createUserWithTemporaryPassword(request) {
        if (identityDown) throw new AppError('service_unavailable', 'identity is down');
        return h.identity.service.createUserWithTemporaryPassword(request);
      },
    });
    h.startWorkers({ bank: flaky, maxDeliveries: 3, retryDelayMs: 5 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is retried with backoff, dead-lettered, shown on the application, and completes when redriven', async () => {
    const applied = await h.app.inject({
      method: 'POST',
      url: '/api/accounts',
      payload: applicationBody('20001'),
    });
    const { applicationId } = applied.json();
    await h.app.inject({
      method: 'POST',
      url: `/admin/account-applications/${applicationId}/approve`,
      headers: h.adminHeaders,
    });
    const [dead] = await eventually(
      async () => {
        const letters = await h.bus.listDeadLetters({ topic: onboardingTopic });
        return letters.length > 0 ? letters : undefined;
      },
      { what: 'a dead letter', timeoutMs: workersTimeoutMs },
    );
    expect(dead).toMatchObject({
      group: 'bank-account-opening',
      message: { deliveryCount: 3, payload: { applicationId, step: 'create_login' } },
      error: expect.stringMatching(/identity is down/),
    });
    const view = await h.app.inject({
      method: 'GET',
      url: `/admin/account-applications/${applicationId}`,
      headers: h.adminHeaders,
    });
    expect(view.json()).toMatchObject({
      status: 'APPROVED',
      lastCompletedStep: 'open_account',
      failure: {
        step: 'create_login',
        attempt: 3,
        final: true,
        error: expect.stringMatching(/service_unavailable/),
      },
    });

    identityDown = false;
    await h.bus.redriveDeadLetter(dead!.id);
    const done = await eventually(
      async () => {
        const s = await h.bank.onboarding.state(applicationId);
        return s.notificationId !== null ? s : undefined;
      },
      { what: 'completion after the redrive', timeoutMs: workersTimeoutMs },
    );
    expect(done.failure).toBeNull();
    const shown = await h.bank.onboarding.view(applicationId);
    const login = await h.identity.service.login(shown.loginId!, shown.temporaryPassword!);
    expect(login.user.mustChangePassword).toBe(true);
  });
});
