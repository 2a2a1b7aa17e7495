import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPasswordHasher,
  type PasswordHasher,
  testScryptParams,
} from '../../src/identity/password-hash.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import {
  buildTestApp,
  createTestIdentity,
  createUser,
  strongPassword,
  type TestApp,
  type TestIdentity,
} from './support.ts';

/** Counts the slow hash work, to prove unknown ids cost as much as known ones. */
function countingHasher(inner: PasswordHasher) {
  const counts = { verify: 0, verifyNothing: 0 };
  const hasher: PasswordHasher = {
    ...inner,
    verify: (password, encoded) => {
      counts.verify++;
      return inner.verify(password, encoded);
    },
    verifyNothing: (password) => {
      counts.verifyNothing++;
      return inner.verifyNothing(password);
    },
  };
  return { hasher, counts };
}

describe('login', () => {
  let db: TestDatabase;
  let identity: TestIdentity;
  let app: TestApp;
  const counting = countingHasher(createPasswordHasher(testScryptParams));

  beforeAll(async () => {
    db = await createTestDatabase(25);
    identity = createTestIdentity(db.pool, { hasher: counting.hasher });
    app = await buildTestApp(identity.module);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const login = (loginId: string, password: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload: { loginId, password }, headers });

  it('returns a token and the user; the token opens /api/auth/me', async () => {
    const { userId } = await createUser(identity.service, 'Alice.Login');
    const response = await login('alice.login', strongPassword);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toEqual({
      token: expect.any(String),
      expiresAt: '2026-03-02T09:15:00.000Z',
      user: {
        id: userId,
        loginId: 'Alice.Login',
        roles: ['customer'],
        mustChangePassword: false,
        customerId: null,
        createdAt: '2026-03-02T09:00:00.000Z',
      },
    });
    const me = await app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: userId, loginId: 'Alice.Login', customerId: null });
  });

  it('answers a wrong password and an unknown login id identically, after the same hash work', async () => {
    await createUser(identity.service, 'bob.login');
    const before = { ...counting.counts };
    const wrong = await login('bob.login', 'Wrong-Password-1');
    const unknown = await login('nobody.here', 'Wrong-Password-1');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toBe(wrong.body);
    expect(wrong.json()).toMatchObject({ code: 'invalid_credentials' });
    expect(counting.counts.verify - before.verify).toBe(1);
    expect(counting.counts.verifyNothing - before.verifyNothing).toBe(1);
  });

  it('locks after exactly 5 failures, answers 423 with Retry-After even to the right password, and unlocks', async () => {
    await createUser(identity.service, 'carol.login');
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect((await login('carol.login', `Wrong-Password-${attempt}`)).statusCode).toBe(401);
    }
    const locked = await login('carol.login', strongPassword);
    expect(locked.statusCode).toBe(423);
    expect(locked.json()).toMatchObject({ code: 'account_locked' });
    expect(locked.headers['retry-after']).toBe('900');
    identity.clock.advance(899_000);
    expect((await login('carol.login', strongPassword)).headers['retry-after']).toBe('1');
    identity.clock.advance(1_000);
    expect((await login('carol.login', strongPassword)).statusCode).toBe(200);
  });

  it('a success resets the failure count', async () => {
    await createUser(identity.service, 'dave.login');
    for (let attempt = 1; attempt <= 4; attempt++) await login('dave.login', 'Wrong-Password-1');
    expect((await login('dave.login', strongPassword)).statusCode).toBe(200);
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect((await login('dave.login', 'Wrong-Password-1')).statusCode).toBe(401);
    }
    expect((await login('dave.login', strongPassword)).statusCode).toBe(200);
  });

  it('concurrent wrong guesses cannot exceed the threshold', async () => {
    const { userId } = await createUser(identity.service, 'erin.login');
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        identity.service.login('erin.login', `Wrong-Password-${i}`).then(
          () => 'ok',
          (error: { code: string }) => error.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'invalid_credentials')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'account_locked')).toHaveLength(15);
    const { rows } = await db.pool.query(
      `SELECT type, count(*)::int AS n FROM identity_events WHERE subject_id = $1 AND type IN ('login_failed', 'account_locked') GROUP BY type ORDER BY type`,
      [userId],
    );
    expect(rows).toEqual([
      { type: 'account_locked', n: 1 },
      { type: 'login_failed', n: 5 },
    ]);
  });

  it('a token stops working when it expires (by the injected clock)', async () => {
    await createUser(identity.service, 'fay.login');
    const response = await login('fay.login', strongPassword);
    const headers = { authorization: `Bearer ${response.json().token}` };
    identity.clock.advance(899_000);
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers })).statusCode).toBe(200);
    identity.clock.advance(1_000);
    const expired = await app.inject({ method: 'GET', url: '/api/auth/me', headers });
    expect(expired.statusCode).toBe(401);
    expect(expired.json()).toMatchObject({ code: 'unauthenticated', detail: 'The token has expired' });
    expect(expired.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('logout revokes that token only', async () => {
    await createUser(identity.service, 'gil.login');
    const first = { authorization: `Bearer ${(await login('gil.login', strongPassword)).json().token}` };
    const second = { authorization: `Bearer ${(await login('gil.login', strongPassword)).json().token}` };
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: first })).statusCode).toBe(
      204,
    );
    const revoked = await app.inject({ method: 'GET', url: '/api/auth/me', headers: first });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json()).toMatchObject({ detail: 'The token was revoked' });
    expect((await app.inject({ method: 'GET', url: '/api/auth/me', headers: second })).statusCode).toBe(200);
  });

  it('refuses missing, malformed and doubled credentials on protected routes with a challenge', async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Basic YWxpY2U6c2VjcmV0' },
      { authorization: 'Bearer not-a-jwt' },
      { authorization: 'Bearer a.b.c', 'x-api-key': 'kinyu_x' },
    ];
    for (const headers of cases) {
      const response = await app.inject({ method: 'GET', url: '/api/auth/me', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(response.json()).toMatchObject({ code: 'unauthenticated' });
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="kinyu"/);
    }
  });

  it('a stale token does not stop a login', async () => {
    await createUser(identity.service, 'hal.login');
    const response = await login('hal.login', strongPassword, { authorization: 'Bearer stale.token.here' });
    expect(response.statusCode).toBe(200);
  });

  it('validates the body', async () => {
    const bad = [
      { loginId: 'x' },
      { loginId: 'x', password: 'y', extra: true },
      { loginId: 'x'.repeat(65), password: 'y' },
      { loginId: 'x', password: 12345 },
    ];
    for (const payload of bad) {
      const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('upgrades a hash made with older parameters at the next login', async () => {
    await createUser(identity.service, 'ivy.login');
    const cheaper = createTestIdentity(db.pool, { hasher: createPasswordHasher({ N: 512, r: 8, p: 1 }) });
    const { temporaryPassword } = await cheaper.service.resetPassword('ivy.login');
    const hashOf = async () =>
      (await db.pool.query(`SELECT password_hash FROM identity_users WHERE login_id = 'ivy.login'`)).rows[0]
        .password_hash;
    expect(await hashOf()).toMatch(/^scrypt\$512\$/);
    expect((await login('ivy.login', temporaryPassword)).statusCode).toBe(200);
    expect(await hashOf()).toMatch(/^scrypt\$1024\$/);
  });
});
