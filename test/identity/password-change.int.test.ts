import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { buildTestApp, createTestIdentity, type TestApp, type TestIdentity } from './support.ts';

describe('forced password change', () => {
  let db: TestDatabase;
  let identity: TestIdentity;
  let app: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    identity = createTestIdentity(db.pool);
    app = await buildTestApp(identity.module);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  async function temporaryLogin(loginId: string, roles: ('admin' | 'customer')[] = ['admin']) {
    const { temporaryPassword } = await identity.service.createUserWithTemporaryPassword({ loginId, roles });
    const response = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { loginId, password: temporaryPassword },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().user.mustChangePassword).toBe(true);
    return { temporaryPassword, headers: { authorization: `Bearer ${response.json().token}` } };
  }

  const changePassword = (headers: Record<string, string>, payload: object) =>
    app.inject({ method: 'POST', url: '/api/auth/password', headers, payload });

  it('allows only me, logout and the password change until the password is changed', async () => {
    const { headers } = await temporaryLogin('temp.admin');
    const blocked = await app.inject({ method: 'GET', url: '/admin/api-keys', headers });
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json()).toMatchObject({ code: 'password_change_required' });
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers })).json()).toMatchObject({
      loginId: 'temp.admin',
      mustChangePassword: true,
    });
  });

  it('names newPassword and every reason when the policy refuses it', async () => {
    const { headers, temporaryPassword } = await temporaryLogin('policy.user', ['customer']);
    const weak = await changePassword(headers, {
      currentPassword: temporaryPassword,
      newPassword: 'policy.user',
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toMatchObject({
      code: 'weak_password',
      errors: [
        { field: 'newPassword', reason: 'must be at least 12 characters long' },
        { field: 'newPassword', reason: expect.stringContaining('must mix at least 3 of') },
        { field: 'newPassword', reason: 'must not be the login id' },
      ],
    });
    const same = await changePassword(headers, {
      currentPassword: temporaryPassword,
      newPassword: temporaryPassword,
    });
    expect(same.json().errors).toEqual([
      { field: 'newPassword', reason: 'must differ from the current password' },
    ]);
  });

  it('refuses a wrong current password and counts it towards lock-out', async () => {
    const { headers } = await temporaryLogin('wrong.current', ['customer']);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const response = await changePassword(headers, {
        currentPassword: 'Not-The-One-1',
        newPassword: 'Brand-New-Pass-7',
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({
        code: 'invalid_credentials',
        errors: [{ field: 'currentPassword', reason: 'is wrong' }],
      });
    }
    const locked = await changePassword(headers, {
      currentPassword: 'Not-The-One-1',
      newPassword: 'Brand-New-Pass-7',
    });
    expect(locked.statusCode).toBe(423);
  });

  it('validates the body', async () => {
    const { headers } = await temporaryLogin('body.user', ['customer']);
    expect((await changePassword(headers, { newPassword: 'Brand-New-Pass-7' })).statusCode).toBe(400);
    expect(
      (await changePassword(headers, { currentPassword: 'x', newPassword: 'y'.repeat(257) })).statusCode,
    ).toBe(400);
  });

  it('a successful change returns a fresh token, opens the app and retires old tokens and the old password', async () => {
    const { headers, temporaryPassword } = await temporaryLogin('changing.admin');
    const changed = await changePassword(headers, {
      currentPassword: temporaryPassword,
      newPassword: 'Brand-New-Pass-7',
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().user).toMatchObject({ loginId: 'changing.admin', mustChangePassword: false });
    const fresh = { authorization: `Bearer ${changed.json().token}` };
    expect((await app.inject({ method: 'GET', url: '/admin/api-keys', headers: fresh })).statusCode).toBe(
      200,
    );
    const old = await app.inject({ method: 'GET', url: '/api/auth/me', headers });
    expect(old.statusCode).toBe(401);
    const loginWithOld = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { loginId: 'changing.admin', password: temporaryPassword },
    });
    expect(loginWithOld.statusCode).toBe(401);
  });
});
