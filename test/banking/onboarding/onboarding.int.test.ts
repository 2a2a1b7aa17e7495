import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountsOfCustomer } from '../../../src/banking/accounts/index.ts';
import { readNotificationBody } from '../../../src/banking/onboarding/index.ts';
import { eventually } from '../../support/eventually.ts';
import { applicationBody, type BankHarness, createBankHarness, workersTimeoutMs } from './bank-harness.ts';

describe('account opening end to end (HTTP, outbox, in-process bus)', () => {
  let h: BankHarness;

  beforeAll(async () => {
    h = await createBankHarness();
    h.startWorkers();
  });
  afterAll(async () => {
    await h.close();
  });

  const apply = async (tag: string) => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/accounts',
      payload: applicationBody(tag),
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json() as { applicationId: string; transactionId: string; status: string };
  };
  const detail = async (id: string) => {
    const response = await h.app.inject({
      method: 'GET',
      url: `/admin/account-applications/${id}`,
      headers: h.adminHeaders,
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  const decide = (id: string, action: 'approve' | 'reject', payload?: object) =>
    h.app.inject({
      method: 'POST',
      url: `/admin/account-applications/${id}/${action}`,
      headers: h.adminHeaders,
      ...(payload ? { payload } : {}),
    });

  it('applies, approves, opens the account, shows the temporary password once, forces a change', async () => {
    const applied = await apply('10001');
    expect(applied.status).toBe('PENDING');

    const pending = await h.app.inject({
      method: 'GET',
      url: '/admin/account-applications?status=PENDING',
      headers: h.adminHeaders,
    });
    expect(pending.json().applications.map((a: { applicationId: string }) => a.applicationId)).toContain(
      applied.applicationId,
    );
    const before = await detail(applied.applicationId);
    expect(before).toMatchObject({
      status: 'PENDING',
      applicant: { fullName: 'Zebediah Quartermaine 10001' },
    });
    expect(before.temporaryPassword).toBeUndefined();

    const approved = await decide(applied.applicationId, 'approve');
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().status).toBe('APPROVED');
    expect((await decide(applied.applicationId, 'approve')).json().code).toBe('application_not_pending');

    const state = await eventually(
      async () => {
        const s = await h.bank.onboarding.state(applied.applicationId);
        return s.notificationId !== null ? s : undefined;
      },
      { what: 'the application to complete', timeoutMs: workersTimeoutMs },
    );
    expect(state.status).toBe('COMPLETED');

    const first = await detail(applied.applicationId);
    expect(first).toMatchObject({ status: 'COMPLETED', lastCompletedStep: 'notify', failure: null });
    expect(first.loginId).toBe(first.accountNumber);
    expect(first.accountNumber).toMatch(/^001[0-9]{8}$/);
    expect(typeof first.temporaryPassword).toBe('string');
    const again = await detail(applied.applicationId);
    expect(again.temporaryPassword).toBeUndefined();
    expect(again.accountId).toBe(first.accountId);

    const body = await readNotificationBody(h.db.pool, h.keyring, state.notificationId!);
    expect(body).toContain(first.temporaryPassword);
    expect(body).toContain(first.accountNumber);

    const login = await h.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { loginId: first.loginId, password: first.temporaryPassword },
    });
    expect(login.statusCode, login.body).toBe(200);
    expect(login.json().user).toMatchObject({ mustChangePassword: true, roles: ['customer'] });
    const temporary = { authorization: `Bearer ${login.json().token}` };
    const blocked = await h.app.inject({ method: 'GET', url: '/api/me/accounts', headers: temporary });
    expect(blocked.json().code).toBe('password_change_required');
    const changed = await h.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers: temporary,
      payload: { currentPassword: first.temporaryPassword, newPassword: 'Quartermaine-Customer-77' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const mine = await h.app.inject({
      method: 'GET',
      url: '/api/me/accounts',
      headers: { authorization: `Bearer ${changed.json().token}` },
    });
    expect(mine.json().accounts).toEqual([
      expect.objectContaining({
        accountId: first.accountId,
        accountNumber: first.accountNumber,
        currency: 'JPY',
      }),
    ]);
  });

  it('rejects a PENDING application once, and refuses later decisions', async () => {
    const applied = await apply('10002');
    const rejected = await decide(applied.applicationId, 'reject', { reason: 'documents unreadable' });
    expect(rejected.json().status).toBe('REJECTED');
    expect((await decide(applied.applicationId, 'approve')).statusCode).toBe(409);
    expect((await decide(applied.applicationId, 'reject', { reason: 'again' })).statusCode).toBe(409);
    expect((await detail(applied.applicationId)).rejectionReason).toBe('documents unreadable');
    const unknown = await decide('0190f1a2-0000-7000-8000-000000000099', 'approve');
    expect(unknown.json().code).toBe('application_not_found');
    const listed = await h.app.inject({
      method: 'GET',
      url: '/admin/account-applications?status=REJECTED',
      headers: h.adminHeaders,
    });
    expect(listed.json().applications).toEqual([
      expect.objectContaining({ applicationId: applied.applicationId }),
    ]);
  });

  it('names each invalid field', async () => {
    const body = applicationBody('10003');
    body.customerInfo.email = 'nope';
    body.customerInfo.birthDate = '2015-01-01';
    body.currency = 'EUR';
    const response = await h.app.inject({ method: 'POST', url: '/api/accounts', payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/problem\+json/);
    expect(response.json().errors.map((e: { field: string }) => e.field)).toEqual([
      'customerInfo.email',
      'customerInfo.birthDate',
      'currency',
    ]);
    const extra = await h.app.inject({
      method: 'POST',
      url: '/api/accounts',
      payload: { ...body, admin: true },
    });
    expect(extra.statusCode).toBe(400);
  });

  it('replays of every step, with old or new message ids, change nothing', async () => {
    const applied = await apply('10004');
    await decide(applied.applicationId, 'approve');
    const done = await eventually(
      async () => {
        const s = await h.bank.onboarding.state(applied.applicationId);
        return s.notificationId !== null ? s : undefined;
      },
      { what: 'completion', timeoutMs: workersTimeoutMs },
    );
    const events = async () =>
      (
        await h.db.pool.query('SELECT count(*)::int AS n FROM events WHERE stream_id = $1', [
          `application-${applied.applicationId}`,
        ])
      ).rows[0].n;
    const eventCount = await events();
    for (const step of ['create_customer', 'open_account', 'create_login', 'complete', 'notify'] as const) {
      const outcome = await h.bank.onboarding.runStep(
        { applicationId: applied.applicationId, step },
        `replay-${applied.applicationId}-${step}`,
      );
      expect(outcome, step).toBe('skipped');
    }
    expect(await events()).toBe(eventCount);
    expect(await accountsOfCustomer(h.db.pool, done.customerId!)).toHaveLength(1);
    const notifications = await h.db.pool.query(
      'SELECT count(*)::int AS n FROM bank_notifications WHERE application_id = $1',
      [applied.applicationId],
    );
    expect(notifications.rows[0].n).toBe(1);
  });
});
