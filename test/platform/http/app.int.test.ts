import { Type } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.ts';
import { buildApp, problemResponses } from '../../../src/platform/http/app.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

describe('HTTP kernel', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  const clock = new ManualClock('2026-11-22T10:00:00Z');
  let effects = 0;
  let release: () => void = () => {};

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildApp({
      logger: false,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      pool: db.pool,
      clock,
      rateLimit: { max: 1000, windowMs: 60_000 },
      idempotencyTtlHours: 24,
      readiness: [{ name: 'database', check: async () => true }],
      modules: [
        async (scope) => {
          scope.post(
            '/things',
            {
              schema: {
                body: Type.Object(
                  {
                    name: Type.String({ minLength: 1 }),
                    amount: Type.String(),
                    count: Type.Optional(Type.Integer({ minimum: 1 })),
                  },
                  { additionalProperties: false },
                ),
                response: {
                  201: Type.Object({ n: Type.Integer(), name: Type.String() }),
                  ...problemResponses,
                },
              },
            },
            async (request, reply) => {
              effects++;
              reply.code(201);
              return { n: effects, name: (request.body as { name: string }).name };
            },
          );
          scope.post('/echo-key', async (request) => ({
            key: request.idempotency?.key,
            hash: request.idempotency?.hash,
          }));
          scope.post('/slow', { config: { idempotencyKey: 'required' } }, async () => {
            await new Promise<void>((resolve) => {
              release = resolve;
            });
            return { done: true };
          });
          scope.get(
            '/items',
            { schema: { querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10 }) }) } },
            async (request) => ({ limit: (request.query as { limit: number }).limit }),
          );
          scope.get('/limited', { config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, async () => ({
            ok: true,
          }));
          scope.get('/boom', async () => {
            throw new Error('secret internal detail');
          });
        },
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('answers schema failures with problem+json naming every field', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/things',
      payload: { amount: 5, count: '7', extra: true },
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/problem\+json/);
    const body = response.json();
    expect(body).toMatchObject({
      type: '/problems/validation_failed',
      status: 400,
      code: 'validation_failed',
    });
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { field: 'name', reason: 'is required' },
        // A decimal sent as a JSON number, or a whole number sent as a string, is told how to send it.
        { field: 'amount', reason: 'must be a string, not the JSON number 5; send it quoted, e.g. "5"' },
        { field: 'count', reason: 'must be an integer, not the string "7"; send it unquoted, e.g. 10' },
        { field: 'extra', reason: 'is not a known field' },
      ]),
    );
  });

  it('refuses a float in the body before it can be rounded', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"a","amount":"1.00","count":1.5}',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].field).toBe('count');
  });

  it('refuses a body that repeats a key, naming it, rather than keep the last', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"a","amount":"1.00","count":1,"amount":"1000.00"}',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      detail: 'amount appears twice in the same object; send each key once',
      errors: [{ field: 'amount', reason: 'appears twice in the same object; send each key once' }],
    });
  });

  it('coerces query strings but still validates them', async () => {
    expect((await app.inject('/items?limit=5')).json()).toEqual({ limit: 5 });
    const bad = await app.inject('/items?limit=50');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('querystring.limit');
  });

  it('hides internal errors behind a 500 problem', async () => {
    const response = await app.inject('/boom');
    expect(response.statusCode).toBe(500);
    expect(response.json().code).toBe('internal_error');
    expect(response.body).not.toContain('secret internal detail');
  });

  it('answers unknown routes and malformed JSON with problems', async () => {
    expect((await app.inject('/nope')).json().code).toBe('route_not_found');
    const malformed = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('malformed_json');
  });

  describe('Idempotency-Key', () => {
    it('replays the first response for the same key and body, without a second effect', async () => {
      const before = effects;
      const send = () =>
        app.inject({
          method: 'POST',
          url: '/things',
          headers: { 'idempotency-key': 'k-1' },
          payload: { name: 'a', amount: '1.00' },
        });
      const first = await send();
      const second = await send();
      expect(first.statusCode).toBe(201);
      expect(second.statusCode).toBe(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.body).toBe(first.body);
      expect(effects).toBe(before + 1);
    });

    it('treats the same body with keys in another order as the same request', async () => {
      const a = await app.inject({
        method: 'POST',
        url: '/things',
        headers: { 'idempotency-key': 'k-order', 'content-type': 'application/json' },
        payload: '{"name":"x","amount":"2.00"}',
      });
      const b = await app.inject({
        method: 'POST',
        url: '/things',
        headers: { 'idempotency-key': 'k-order', 'content-type': 'application/json' },
        payload: '{"amount":"2.00","name":"x"}',
      });
      expect(a.statusCode).toBe(201);
      expect(b.headers['idempotent-replayed']).toBe('true');
    });

    it('answers 422 idempotency_key_reused for the same key with another body', async () => {
      await app.inject({
        method: 'POST',
        url: '/things',
        headers: { 'idempotency-key': 'k-2' },
        payload: { name: 'a', amount: '1.00' },
      });
      const reused = await app.inject({
        method: 'POST',
        url: '/things',
        headers: { 'idempotency-key': 'k-2' },
        payload: { name: 'b', amount: '1.00' },
      });
      expect(reused.statusCode).toBe(422);
      expect(reused.json().code).toBe('idempotency_key_reused');
    });

    it('answers 409 while the first request is still running, then replays', async () => {
      const first = app.inject({
        method: 'POST',
        url: '/slow',
        headers: { 'idempotency-key': 'k-slow' },
        payload: {},
      });
      await waitFor(
        async () =>
          (await db.pool.query("SELECT 1 FROM idempotency_keys WHERE key = 'k-slow'")).rowCount === 1,
      );
      const during = await app.inject({
        method: 'POST',
        url: '/slow',
        headers: { 'idempotency-key': 'k-slow' },
        payload: {},
      });
      expect(during.statusCode).toBe(409);
      expect(during.json().code).toBe('idempotency_request_in_progress');
      release();
      expect((await first).statusCode).toBe(200);
      const after = await app.inject({
        method: 'POST',
        url: '/slow',
        headers: { 'idempotency-key': 'k-slow' },
        payload: {},
      });
      expect(after.headers['idempotent-replayed']).toBe('true');
    });

    it('given a request that died before its answer was stored, then once its lock has passed a retry with the same body runs again, and one with another body is 422', async () => {
      const send = (key: string, payload: object) =>
        app.inject({ method: 'POST', url: '/echo-key', headers: { 'idempotency-key': key }, payload });
      // What a process killed mid-request leaves behind: the key in progress, no answer.
      const dieMidway = (key: string) =>
        db.pool.query(
          `UPDATE idempotency_keys SET state = 'in_progress', response_status = NULL, response_type = NULL,
                  response_body = NULL, locked_until = $2
            WHERE key = $1`,
          [key, new Date(clock.now().getTime() - 1)],
        );
      const first = (await send('k-died', { a: 1 })).json();
      expect(first).toMatchObject({ key: 'k-died', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      await dieMidway('k-died');
      const other = await send('k-died', { a: 2 });
      expect(other.statusCode).toBe(422);
      expect(other.json().code).toBe('idempotency_key_reused');
      // The route sees the same key and body hash again, to look for the effect it may have had.
      const retried = await send('k-died', { a: 1 });
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      expect(retried.json()).toEqual(first);
      expect((await send('k-died', { a: 1 })).headers['idempotent-replayed']).toBe('true');
    });

    it('requires the key where the route says so, and validates it', async () => {
      const missing = await app.inject({ method: 'POST', url: '/slow', payload: {} });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().errors[0].field).toBe('headers.idempotency-key');
      const tooLong = await app.inject({
        method: 'POST',
        url: '/things',
        headers: { 'idempotency-key': 'x'.repeat(201) },
        payload: { name: 'a', amount: '1' },
      });
      expect(tooLong.statusCode).toBe(400);
    });

    it('forgets a key after 24 hours', async () => {
      const send = () =>
        app.inject({
          method: 'POST',
          url: '/things',
          headers: { 'idempotency-key': 'k-ttl' },
          payload: { name: 'a', amount: '1.00' },
        });
      await send();
      clock.advance(24 * 3_600_000 + 1);
      const later = await send();
      expect(later.headers['idempotent-replayed']).toBeUndefined();
    });
  });

  it('rate limits with a problem and Retry-After', async () => {
    await app.inject('/limited');
    await app.inject('/limited');
    const limited = await app.inject('/limited');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('rate_limited');
    expect(limited.json().detail).toMatch(/^At most 2 requests per window on this route; retry in \d+ s$/);
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('serves health, readiness, metrics, the problem catalogue and OpenAPI', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready', checks: { database: true } });
    await app.inject('/no/such/route');
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(
      /kinyu_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /kinyu_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]/,
    );
    expect((await app.inject('/problems/rate_limited')).json()).toEqual({
      code: 'rate_limited',
      status: 429,
      title: 'Too many requests',
    });
    const openapi = (await app.inject('/docs/json')).json();
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toContain('/things');
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
