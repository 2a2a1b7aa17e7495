import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../../src/identity/access.ts';
import type { Pool } from '../../src/platform/sql/pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import {
  buildTestApp,
  createTestIdentity,
  createUser,
  loginHeader,
  type TestApp,
  type TestIdentity,
} from './support.ts';

describe('API keys for exchange members', () => {
  let db: TestDatabase;
  let identity: TestIdentity;
  let app: TestApp;
  let admin: Record<string, string>;
  let customer: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    identity = createTestIdentity(db.pool);
    app = await buildTestApp(identity.module, {
      extraRoutes: (instance) => {
        // Stands in for an exchange route: members only, echoes who called.
        instance.get(
          '/v1/test/whoami',
          { config: { access: 'exchange:trade' } },
          async (request) => request.principal,
        );
      },
    });
    await createUser(identity.service, 'keys.admin', undefined, ['admin']);
    await createUser(identity.service, 'keys.customer');
    admin = await loginHeader(app, 'keys.admin');
    customer = await loginHeader(app, 'keys.customer');
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const issue = (name: string, headers = admin) =>
    app.inject({ method: 'POST', url: '/admin/api-keys', headers, payload: { name, role: 'member' } });
  const whoami = (apiKey: string) =>
    app.inject({ method: 'GET', url: '/v1/test/whoami', headers: { 'x-api-key': apiKey } });

  it('issues a key once, lists it without the secret, lets it trade, and stops it at once on revoke', async () => {
    const issued = await issue('Broker A');
    expect(issued.statusCode).toBe(201);
    const key = issued.json();
    expect(key).toEqual({
      id: expect.any(String),
      name: 'Broker A',
      role: 'member',
      member: key.id,
      apiKey: expect.stringMatching(new RegExp(`^kinyu_${key.id}_[A-Za-z0-9_-]{43}$`)),
      createdAt: '2026-03-02T09:00:00.000Z',
    });

    const list = await app.inject({ method: 'GET', url: '/admin/api-keys', headers: admin });
    expect(list.json().items).toContainEqual({
      id: key.id,
      name: 'Broker A',
      role: 'member',
      member: key.id,
      createdAt: '2026-03-02T09:00:00.000Z',
      revokedAt: null,
    });
    expect(list.body).not.toContain(key.apiKey.slice(`kinyu_${key.id}_`.length));

    const used = await whoami(key.apiKey);
    expect(used.statusCode).toBe(200);
    expect(used.json()).toEqual({
      kind: 'member',
      memberId: key.id,
      roles: ['member'],
      apiKeyName: 'Broker A',
    });

    const revoked = await app.inject({ method: 'DELETE', url: `/admin/api-keys/${key.id}`, headers: admin });
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe('');
    const after = await whoami(key.apiKey);
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ code: 'unauthenticated' });
    const listed = await app.inject({ method: 'GET', url: '/admin/api-keys', headers: admin });
    expect(listed.json().items.find((k: { id: string }) => k.id === key.id).revokedAt).toBe(
      '2026-03-02T09:00:00.000Z',
    );
  });

  it('given two keys issued for one member firm, when each trades, then both act as that member', async () => {
    const issueFor = (name: string, member: unknown) =>
      app.inject({
        method: 'POST',
        url: '/admin/api-keys',
        headers: admin,
        payload: { name, role: 'member', member },
      });
    const first = (await issueFor('Firm X desk 1', 'firm-x')).json();
    const second = (await issueFor('Firm X desk 2', 'firm-x')).json();
    expect([first.member, second.member]).toEqual(['firm-x', 'firm-x']);
    for (const key of [first, second]) {
      expect((await whoami(key.apiKey)).json()).toEqual({
        kind: 'member',
        memberId: 'firm-x',
        roles: ['member'],
        apiKeyName: key.name,
      });
    }
    const listed = (await app.inject({ method: 'GET', url: '/admin/api-keys', headers: admin })).json();
    expect(listed.items.filter((k: { member: string }) => k.member === 'firm-x')).toHaveLength(2);

    for (const bad of ['', '-starts-with-dash', 'has space', 'x'.repeat(65), 'colon:inside', 42]) {
      const refused = await issueFor(`Bad ${String(bad).length}`, bad);
      expect(refused.statusCode, JSON.stringify(bad)).toBe(400);
      expect(refused.json().errors).toContainEqual(expect.objectContaining({ field: 'member' }));
    }
    expect((await issueFor('Longest member', 'x'.repeat(64))).statusCode).toBe(201);
  });

  it('refuses a key with a wrong secret or an unknown id', async () => {
    const key = (await issue('Broker B')).json();
    const wrongSecret = `${key.apiKey.slice(0, -4)}AAAA`;
    expect((await whoami(wrongSecret)).statusCode).toBe(401);
    expect(
      (await whoami(key.apiKey.replace(key.id, '01960000-0000-7000-8000-000000000000'))).statusCode,
    ).toBe(401);
    expect((await whoami('not-a-key')).statusCode).toBe(401);
  });

  it('given a key verified moments ago (cached), when its id comes with a wrong secret, then it is refused', async () => {
    const key = (await issue('Broker B2')).json();
    expect((await whoami(key.apiKey)).statusCode).toBe(200);
    const wrongSecret = `${key.apiKey.slice(0, -4)}${key.apiKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    expect((await whoami(wrongSecret)).statusCode).toBe(401);
    expect((await whoami(key.apiKey)).json()).toMatchObject({ kind: 'member', memberId: key.member });
  });

  it('revoking twice is harmless; an unknown key is 404 api_key_not_found', async () => {
    const key = (await issue('Broker C')).json();
    const url = `/admin/api-keys/${key.id}`;
    expect((await app.inject({ method: 'DELETE', url, headers: admin })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url, headers: admin })).statusCode).toBe(204);
    const { rows } = await db.pool.query(
      `SELECT k.revoked_at, (SELECT count(*)::int FROM identity_events WHERE subject_id = k.id AND type = 'api_key_revoked') AS events
         FROM identity_api_keys k WHERE k.id = $1`,
      [key.id],
    );
    expect(rows).toEqual([{ revoked_at: identity.clock.now(), events: 1 }]);
    const unknown = await app.inject({
      method: 'DELETE',
      url: '/admin/api-keys/01960000-0000-7000-8000-000000000000',
      headers: admin,
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'api_key_not_found' });
    const malformed = await app.inject({
      method: 'DELETE',
      url: '/admin/api-keys/urn:uuid:x',
      headers: admin,
    });
    expect(malformed.statusCode).toBe(400);
  });

  it('refuses a second active key with the same name, but allows it once the first is revoked', async () => {
    const first = (await issue('Broker D')).json();
    const duplicate = await issue('broker d');
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toMatchObject({ code: 'api_key_name_taken' });
    await app.inject({ method: 'DELETE', url: `/admin/api-keys/${first.id}`, headers: admin });
    expect((await issue('Broker D')).statusCode).toBe(201);
  });

  it('pages through keys', async () => {
    for (const name of ['Page 1', 'Page 2', 'Page 3']) await issue(name);
    const seen: { id: string; name: string }[] = [];
    let after: string | null = null;
    do {
      const url: string = `/admin/api-keys?limit=2${after ? `&after=${after}` : ''}`;
      const page = (await app.inject({ method: 'GET', url, headers: admin })).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      after = page.nextAfter;
    } while (after);
    expect(seen.map((k) => k.name)).toEqual(expect.arrayContaining(['Page 1', 'Page 2', 'Page 3']));
    expect(new Set(seen.map((k) => k.id)).size).toBe(seen.length);
    const all = (await app.inject({ method: 'GET', url: '/admin/api-keys', headers: admin })).json();
    expect(seen).toEqual(all.items);
    expect(
      (await app.inject({ method: 'GET', url: '/admin/api-keys?limit=0', headers: admin })).statusCode,
    ).toBe(400);
  });

  it('admin routes answer 403 to customers and members and 401 to anonymous callers', async () => {
    const member = { 'x-api-key': (await issue('Broker E')).json().apiKey as string };
    const requests = [
      { method: 'POST' as const, url: '/admin/api-keys', payload: { name: 'Nope', role: 'member' } },
      { method: 'GET' as const, url: '/admin/api-keys' },
      { method: 'DELETE' as const, url: '/admin/api-keys/01960000-0000-7000-8000-000000000000' },
    ];
    for (const request of requests) {
      for (const [headers, status] of [
        [customer, 403],
        [member, 403],
        [{}, 401],
      ] as const) {
        const response = await app.inject({ ...request, headers });
        expect(response.statusCode, `${request.method} ${request.url}`).toBe(status);
        expect(response.json().code).toBe(status === 403 ? 'forbidden' : 'unauthenticated');
      }
    }
  });

  it('a user token cannot trade as a member', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/test/whoami', headers: customer })).statusCode).toBe(
      403,
    );
  });

  it('authenticates WebSocket handshakes by header or subprotocol', async () => {
    const key = (await issue('Broker WS')).json();
    const handshake = identity.module.authenticateHandshake;
    expect(await handshake({})).toEqual({ kind: 'anonymous' });
    expect(
      await handshake({ 'sec-websocket-protocol': `kinyu.v1, kinyu.api-key.${key.apiKey}` }),
    ).toMatchObject({
      kind: 'member',
      memberId: key.id,
    });
    const token = customer.authorization!.slice('Bearer '.length);
    const viaProtocol = await handshake({ 'sec-websocket-protocol': `kinyu.v1, kinyu.bearer.${token}` });
    expect(authorize(viaProtocol, 'exchange:read')).toBe('allow');
    expect(await handshake({ authorization: customer.authorization! })).toMatchObject({ kind: 'user' });
    await expect(handshake({ 'x-api-key': 'kinyu_bad' })).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(
      handshake({ 'x-api-key': key.apiKey, 'sec-websocket-protocol': `kinyu.bearer.${token}` }),
    ).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('given a key cache, when another node revokes the key, then it stops working there within the cache time', async () => {
    const cached = { settings: { apiKeyCacheMs: 1000 } };
    const nodeA = createTestIdentity(db.pool, cached);
    const nodeB = createTestIdentity(db.pool, cached);
    const key = (await issue('Broker cached')).json();
    expect(await nodeA.service.authenticateApiKey(key.apiKey)).toMatchObject({ kind: 'member' });
    expect(await nodeB.service.authenticateApiKey(key.apiKey)).toMatchObject({ kind: 'member' });
    await expect(nodeB.service.authenticateApiKey(`${key.apiKey}x`)).rejects.toMatchObject({
      code: 'unauthenticated',
    });

    const actor = {
      kind: 'user' as const,
      userId: await adminId(),
      roles: ['admin' as const],
      mustChangePassword: false,
      customerId: null,
      session: { tokenId: key.id, expiresAt: new Date('2030-01-01') },
    };
    await nodeA.service.revokeApiKey(actor, key.id);
    await expect(nodeA.service.authenticateApiKey(key.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    expect(await nodeB.service.authenticateApiKey(key.apiKey)).toMatchObject({ kind: 'member' });
    nodeB.clock.advance(1000);
    await expect(nodeB.service.authenticateApiKey(key.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('given a key cache, when a request reads the key while its revocation commits, then the key is not cached again', async () => {
    const node = createTestIdentity(db.pool, { settings: { apiKeyCacheMs: 1000 } });
    const key = (await issue('Broker racing')).json();
    const actor = await adminActor(key.id);
    // Hold the key's row so that the revocation waits to commit while a request reads the row.
    const locker = await db.pool.connect();
    let revoking: Promise<void> | undefined;
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM identity_api_keys WHERE id = $1 FOR UPDATE', [key.id]);
      revoking = node.service.revokeApiKey(actor, key.id);
      await eventually(async () => {
        const { rows } = await db.pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE identity_api_keys%'",
        );
        return rows.length > 0 ? true : undefined;
      });
      // Read before the revocation commits: still active, answered as such.
      expect(await node.service.authenticateApiKey(key.apiKey)).toMatchObject({ kind: 'member' });
    } finally {
      await locker.query('COMMIT');
      locker.release();
    }
    await revoking;
    await expect(node.service.authenticateApiKey(key.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    expect(node.service.cachedApiKey(key.apiKey)).toBeUndefined();
  });

  it('given a key cache, when a read of the key started before its revocation returns after it, then that read is not cached', async () => {
    // The pool holds back the answer of key reads while `held` is set: PostgreSQL answers at once,
    // the request sees it late, as on a busy event loop.
    let held: Promise<void> | undefined;
    const pool = new Proxy(db.pool, {
      get(target, property) {
        if (property === 'query') {
          return async (...args: Parameters<Pool['query']>) => {
            const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
            if (held && String(args[0]).includes('FROM identity_api_keys')) await held;
            return result;
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const node = createTestIdentity(pool, { settings: { apiKeyCacheMs: 1000 } });
    const key = (await issue('Broker late read')).json();
    let release = () => {};
    held = new Promise((resolve) => {
      release = resolve;
    });
    const lateRead = node.service.authenticateApiKey(key.apiKey);
    await node.service.revokeApiKey(await adminActor(key.id), key.id);
    held = undefined;
    release();
    // The late read answers as of when it read (the key was active then), but leaves nothing behind.
    expect(await lateRead).toMatchObject({ kind: 'member' });
    expect(node.service.cachedApiKey(key.apiKey)).toBeUndefined();
    await expect(node.service.authenticateApiKey(key.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('given a keep-alive connection that presented a key before, it is not re-verified until a wrong key, a revocation or the cache time', async () => {
    const node = createTestIdentity(db.pool, { settings: { apiKeyCacheMs: 1000 } });
    const key = (await issue('Broker connection')).json();
    const connection = {};
    const other = {};
    expect(node.service.cachedApiKey(key.apiKey, connection)).toBeUndefined(); // nothing cached yet
    await node.service.authenticateApiKey(key.apiKey);
    expect(node.service.cachedApiKey(key.apiKey, connection)).toMatchObject({ memberId: key.member });
    expect(node.service.cachedApiKey(key.apiKey, connection)).toMatchObject({ memberId: key.member });
    // Another secret for the same key id, on the same or another connection: refused.
    const wrong = `${key.apiKey.slice(0, -4)}${key.apiKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    expect(node.service.cachedApiKey(wrong, connection)).toBeUndefined();
    expect(node.service.cachedApiKey(wrong, other)).toBeUndefined();
    // After the cache time the connection's verification lapses with the cache entry.
    node.clock.advance(1000);
    expect(node.service.cachedApiKey(key.apiKey, connection)).toBeUndefined();
    await node.service.authenticateApiKey(key.apiKey);
    expect(node.service.cachedApiKey(key.apiKey, connection)).toMatchObject({ memberId: key.member });
    // A revocation on this node ends it at once.
    await node.service.revokeApiKey(
      {
        kind: 'user',
        userId: await adminId(),
        roles: ['admin'],
        mustChangePassword: false,
        customerId: null,
        session: { tokenId: key.id, expiresAt: new Date('2030-01-01') },
      },
      key.id,
    );
    expect(node.service.cachedApiKey(key.apiKey, connection)).toBeUndefined();
  });

  async function adminActor(tokenId: string) {
    return {
      kind: 'user' as const,
      userId: await adminId(),
      roles: ['admin' as const],
      mustChangePassword: false,
      customerId: null,
      session: { tokenId, expiresAt: new Date('2030-01-01') },
    };
  }

  async function adminId(): Promise<string> {
    const { rows } = await db.pool.query("SELECT id FROM identity_users WHERE login_id = 'keys.admin'");
    return rows[0].id;
  }
});
