import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { buildTestApp, createTestIdentity, createUser, type TestApp, type TestIdentity } from './support.ts';

const admins = async (db: TestDatabase) =>
  (
    await db.pool.query(
      `SELECT login_id, must_change_password FROM identity_users WHERE 'admin' = ANY (roles)`,
    )
  ).rows;

describe('ensureAdmin (start-up bootstrap)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(20);
  });
  afterEach(async () => {
    await db.pool.query('TRUNCATE identity_users, identity_events CASCADE');
  });
  afterAll(() => db.drop());

  it('creates `admin` with a generated password exactly once, even when several nodes start together', async () => {
    const nodes = Array.from({ length: 6 }, () => createTestIdentity(db.pool).service);
    const results = await Promise.all(nodes.map((service) => service.ensureAdmin()));
    const created = results.filter((r) => r.outcome === 'created_with_generated_password');
    expect(created).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'admin_exists')).toHaveLength(5);
    expect(await admins(db)).toEqual([{ login_id: 'admin', must_change_password: true }]);
    const [first] = created;
    if (first?.outcome !== 'created_with_generated_password') throw new Error('unreachable');
    const session = await nodes[0]!.login('admin', first.temporaryPassword);
    expect(session.user).toMatchObject({ roles: ['admin'], mustChangePassword: true });
    expect(await nodes[0]!.ensureAdmin()).toEqual({ outcome: 'admin_exists' });
  });

  it('creates the configured admin with the configured password, no change required', async () => {
    const { service } = createTestIdentity(db.pool);
    expect(await service.ensureAdmin({ login: 'root', password: 'Configured-Admin-1' })).toEqual({
      outcome: 'created',
      loginId: 'root',
    });
    expect((await service.login('ROOT', 'Configured-Admin-1')).user.mustChangePassword).toBe(false);
  });

  it('a configured password that breaks the policy is a clear start-up error', async () => {
    const { service } = createTestIdentity(db.pool);
    await expect(service.ensureAdmin({ login: 'root', password: 'short' })).rejects.toMatchObject({
      code: 'weak_password',
      message: expect.stringMatching(/^password must be at least 12 characters long/),
      errors: expect.arrayContaining([{ field: 'password', reason: 'must be at least 12 characters long' }]),
    });
    await expect(service.ensureAdmin({ login: 'bad login' })).rejects.toMatchObject({
      code: 'invalid_login_id',
    });
    expect(await admins(db)).toEqual([]);
  });
});

describe('admin CLI operations', () => {
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

  it('createAdmin makes an admin who can sign in at once; login ids are unique in any case', async () => {
    const user = await identity.service.createAdmin('ops.admin', 'Ops-Admin-Pass-1');
    expect(user).toMatchObject({ loginId: 'ops.admin', roles: ['admin'], mustChangePassword: false });
    await expect(identity.service.createAdmin('OPS.ADMIN', 'Ops-Admin-Pass-1')).rejects.toMatchObject({
      code: 'login_id_taken',
      status: 409,
    });
    await expect(identity.service.createAdmin('weak.admin', 'password')).rejects.toMatchObject({
      code: 'weak_password',
    });
  });

  it('resetPassword unlocks, forces a change, signs out old sessions, and returns the password once', async () => {
    await createUser(identity.service, 'locked.out');
    const oldSession = await identity.service.login('locked.out', 'Correct-Horse-42');
    for (let i = 0; i < 5; i++)
      await identity.service.login('locked.out', 'Wrong-Password-1').catch(() => {});
    await expect(identity.service.login('locked.out', 'Correct-Horse-42')).rejects.toMatchObject({
      code: 'account_locked',
    });

    const { temporaryPassword, loginId } = await identity.service.resetPassword('LOCKED.OUT');
    expect(loginId).toBe('locked.out');
    const session = await identity.service.login('locked.out', temporaryPassword);
    expect(session.user.mustChangePassword).toBe(true);
    await expect(identity.service.login('locked.out', 'Correct-Horse-42')).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
    const me = await app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${oldSession.token}` },
    });
    expect(me.statusCode).toBe(401);
    await expect(identity.service.resetPassword('no.such.user')).rejects.toMatchObject({
      code: 'user_not_found',
    });
  });

  it('createUserWithTemporaryPassword links the banking customer', async () => {
    const { user, temporaryPassword } = await identity.service.createUserWithTemporaryPassword({
      loginId: 'new.customer',
      roles: ['customer'],
      customerId: 'cust-0001',
    });
    expect(user).toMatchObject({ customerId: 'cust-0001', mustChangePassword: true });
    const session = await identity.service.login('new.customer', temporaryPassword);
    const principal = await identity.service.authenticateToken(session.token);
    expect(principal).toMatchObject({ kind: 'user', customerId: 'cust-0001', mustChangePassword: true });
  });
});
