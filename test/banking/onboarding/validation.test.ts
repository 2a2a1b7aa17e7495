import { describe, expect, it } from 'vitest';
import {
  type ApplicationEvent,
  type ApplicationInput,
  checkBirthDate,
  decideReview,
  evolveApplication,
  initialApplicationState,
  nextStep,
  validateApplication,
} from '../../../src/banking/onboarding/index.ts';

const valid: ApplicationInput = {
  customerInfo: {
    fullName: 'Hanako Yamada',
    email: 'hanako@example.com',
    phoneNumber: '+819012345678',
    birthDate: '1990-01-31',
    idType: 'my_number_card',
    idNumber: 'AB-123456',
  },
  address: { postalCode: '100-0005', streetAddress: '1-1 Marunouchi, Chiyoda-ku' },
  accountType: 'savings',
  currency: 'JPY',
};
const context = { today: '2026-11-22', offeredCurrencies: ['JPY', 'USD', 'EUR'] };

describe('application validation', () => {
  it('accepts a valid application', () => {
    expect(validateApplication(valid, context)).toEqual([]);
  });

  it('names every bad field at once, without repeating the values', () => {
    const errors = validateApplication(
      {
        customerInfo: {
          fullName: '  ',
          email: 'not-an-email',
          phoneNumber: '090-1234-5678',
          birthDate: '2020-02-30',
          idType: 'library_card',
          idNumber: 'x',
        },
        address: { postalCode: '!', streetAddress: '' },
        accountType: 'crypto',
        currency: 'XXX',
      },
      context,
    );
    expect(errors.map((e) => e.field)).toEqual([
      'customerInfo.fullName',
      'customerInfo.email',
      'customerInfo.phoneNumber',
      'customerInfo.birthDate',
      'customerInfo.idType',
      'customerInfo.idNumber',
      'address.postalCode',
      'address.streetAddress',
      'accountType',
      'currency',
    ]);
    for (const { reason } of errors) {
      expect(reason).not.toMatch(/not-an-email|090-1234|library_card|crypto|XXX/);
    }
  });

  it('knows a currency it does not offer from one it does not know', () => {
    const [gbp] = validateApplication({ ...valid, currency: 'GBP' }, context);
    expect(gbp).toEqual({ field: 'currency', reason: expect.stringMatching(/not offered/) });
    const [unknown] = validateApplication({ ...valid, currency: 'ABC' }, context);
    expect(unknown).toEqual({ field: 'currency', reason: expect.stringMatching(/ISO 4217/) });
  });

  it('wants a real past date of an adult', () => {
    expect(checkBirthDate('2008-11-22', '2026-11-22')).toBeUndefined(); // 18 today
    expect(checkBirthDate('2008-11-23', '2026-11-22')).toMatch(/adults/);
    expect(checkBirthDate('2008-02-29', '2026-02-28')).toMatch(/adults/);
    expect(checkBirthDate('2008-02-29', '2026-03-01')).toBeUndefined();
    expect(checkBirthDate('2027-01-01', '2026-11-22')).toMatch(/past/);
    expect(checkBirthDate('1990-13-01', '2026-11-22')).toMatch(/real calendar date/);
    expect(checkBirthDate('22/11/1990', '2026-11-22')).toMatch(/YYYY-MM-DD/);
    expect(checkBirthDate('1850-01-01', '2026-11-22')).toMatch(/1900/);
  });
});

describe('application decider (given / when / then)', () => {
  const given = (...events: ApplicationEvent[]) =>
    events.reduce((state, event) => evolveApplication(state, event), initialApplicationState());
  const submitted: ApplicationEvent = {
    type: 'AccountApplicationSubmitted',
    data: { applicationId: 'a', transactionId: 't', accountType: 'savings', currency: 'JPY', loginId: null },
  };
  const approved: ApplicationEvent = { type: 'AccountApplicationApproved', data: { approvedBy: 'admin' } };

  it('approves or rejects only a PENDING application', () => {
    expect(decideReview(given(), { kind: 'approve', by: 'x' })).toEqual({
      ok: false,
      reason: 'application_not_found',
    });
    expect(decideReview(given(submitted), { kind: 'approve', by: 'x' })).toEqual({
      ok: true,
      event: { type: 'AccountApplicationApproved', data: { approvedBy: 'x' } },
    });
    expect(decideReview(given(submitted), { kind: 'reject', by: 'x', reason: 'r' })).toMatchObject({
      ok: true,
    });
    expect(decideReview(given(submitted, approved), { kind: 'reject', by: 'x', reason: 'r' })).toEqual({
      ok: false,
      reason: 'application_not_pending',
    });
    const rejected: ApplicationEvent = {
      type: 'AccountApplicationRejected',
      data: { rejectedBy: 'x', reason: 'r' },
    };
    expect(decideReview(given(submitted, rejected), { kind: 'approve', by: 'x' })).toEqual({
      ok: false,
      reason: 'application_not_pending',
    });
  });

  it('walks the steps in order and stops when done, rejected or blocked', () => {
    expect(nextStep(given(submitted))).toBeNull();
    expect(nextStep(given(submitted, approved))).toBe('create_customer');
    const customer: ApplicationEvent = { type: 'CustomerCreated', data: { customerId: 'c' } };
    const account: ApplicationEvent = {
      type: 'BankAccountOpened',
      data: { accountId: 'acc', accountNumber: '00100000017' },
    };
    const started: ApplicationEvent = {
      type: 'LoginCreationStarted',
      data: { loginId: '00100000017', attempt: 1 },
    };
    const login: ApplicationEvent = { type: 'LoginCreated', data: { loginId: '00100000017', userId: 'u' } };
    const completed: ApplicationEvent = { type: 'AccountApplicationCompleted', data: {} };
    const notified: ApplicationEvent = { type: 'CustomerNotified', data: { notificationId: 'n' } };
    expect(nextStep(given(submitted, approved, customer))).toBe('open_account');
    expect(nextStep(given(submitted, approved, customer, account, started))).toBe('create_login');
    expect(
      nextStep(
        given(submitted, approved, customer, account, started, {
          type: 'LoginIdUnavailable',
          data: { loginId: 'x' },
        }),
      ),
    ).toBeNull();
    expect(nextStep(given(submitted, approved, customer, account, started, login))).toBe('complete');
    const done = given(submitted, approved, customer, account, started, login, completed);
    expect(done.status).toBe('COMPLETED');
    expect(nextStep(done)).toBe('notify');
    expect(
      nextStep(given(submitted, approved, customer, account, started, login, completed, notified)),
    ).toBeNull();
  });

  it('shows the last failure until the step succeeds', () => {
    const failed: ApplicationEvent = {
      type: 'OnboardingStepFailed',
      data: { step: 'create_customer', attempt: 2, error: 'boom', final: false },
    };
    expect(given(submitted, approved, failed).failure).toMatchObject({ step: 'create_customer', attempt: 2 });
    const after = given(submitted, approved, failed, { type: 'CustomerCreated', data: { customerId: 'c' } });
    expect(after.failure).toBeNull();
    expect(after.lastCompletedStep).toBe('create_customer');
  });
});
