import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertOwns } from '../../src/identity/access.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import {
  buildTestApp,
  createTestIdentity,
  createUser,
  loginHeader,
  type TestApp,
  type TestIdentity,
} from './support.ts';

describe('access through the auth plugin', () => {
  let db: TestDatabase;
  let identity: TestIdentity;
  let app: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    identity = createTestIdentity(db.pool);
    app = await buildTestApp(identity.module, {
      extraRoutes: (instance) => {
        // Stands in for a banking route: a customer reads a resource that belongs to one user.
        instance.get<{ Params: { ownerUserId: string } }>(
          '/api/test/statements/:ownerUserId',
          { config: { access: 'banking:customer' } },
          async (request) => {
            assertOwns(request.principal, request.params.ownerUserId);
            return { owner: request.params.ownerUserId };
          },
        );
        instance.get('/health', async () => ({ ok: true }));
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('a customer reads their own resource; another customer gets 404, not 403', async () => {
    const alice = await createUser(identity.service, 'alice.owner');
    await createUser(identity.service, 'bob.other');
    const url = `/api/test/statements/${alice.userId}`;
    const own = await app.inject({ method: 'GET', url, headers: await loginHeader(app, 'alice.owner') });
    expect(own.statusCode).toBe(200);
    const other = await app.inject({ method: 'GET', url, headers: await loginHeader(app, 'bob.other') });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ code: 'not_found' });
  });

  it('an admin is not a bank customer', async () => {
    await createUser(identity.service, 'owner.admin', undefined, ['admin']);
    const response = await app.inject({
      method: 'GET',
      url: '/api/test/statements/01960000-0000-7000-8000-000000000000',
      headers: await loginHeader(app, 'owner.admin'),
    });
    expect(response.statusCode).toBe(403);
  });

  it('routes outside the protected prefixes without an access rule are public', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('refuses at start-up an API route that forgot to declare access, or names an unknown action', async () => {
    for (const config of [{}, { access: 'everything' }]) {
      const bare = Fastify();
      await bare.register(identity.module.authPlugin);
      expect(() => bare.get('/api/forgotten', { config: config as object }, async () => ({}))).toThrow(
        /access/,
      );
      await bare.close();
    }
  });

  it('a role removed in the database takes effect on the next request', async () => {
    const { userId } = await createUser(identity.service, 'demoted.admin', undefined, ['admin']);
    const headers = await loginHeader(app, 'demoted.admin');
    expect((await app.inject({ method: 'GET', url: '/admin/api-keys', headers })).statusCode).toBe(200);
    await db.pool.query(`UPDATE identity_users SET roles = '{customer}' WHERE id = $1`, [userId]);
    expect((await app.inject({ method: 'GET', url: '/admin/api-keys', headers })).statusCode).toBe(403);
  });
});
