import { createHash } from 'node:crypto';
import type {
  FastifyInstance,
  FastifyRequest,
  onResponseHookHandler,
  onSendHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import type { Clock } from '../clock.ts';
import { AppError, invalidField } from '../errors.ts';
import { limits } from '../limits.ts';
import type { Pool } from '../sql/pool.ts';

export interface IdempotencyOptions {
  pool: Pool;
  clock: Clock;
  /** How long a finished response is replayed (24 hours by default). */
  ttlHours: number;
  /** A request still `in_progress` after this long is taken to have died with its process. */
  inProgressTimeoutMs?: number;
  /** Who the caller is, so two callers' keys never collide (the principal id, else the IP). */
  callerOf: (request: FastifyRequest) => string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'required': POST without an Idempotency-Key is refused. Default: honoured when sent. */
    idempotencyKey?: 'required' | 'optional';
  }
  interface FastifyRequest {
    /**
     * The key this request holds, and the hash of its body. An earlier request with this key and
     * body may have had its effect without its answer being stored (its process died, or it
     * answered 5xx, which is not kept): a route whose effect is not idempotent by itself records
     * the key with the effect and looks for it first (exchange orders do).
     */
    idempotency?: { scope: string; key: string; hash: string };
  }
}

const header = 'idempotency-key';
const keyPattern = /^[\x21-\x7e]+$/;

/**
 * The Idempotency-Key plugin for POST routes (draft-ietf-httpapi-idempotency-key-header):
 * same key + same body replays the stored response with `Idempotent-Replayed: true`; same key with a
 * different body answers 422 `idempotency_key_reused`; while the first is still running, 409.
 * 5xx answers are not kept, so the client may retry. Keys expire after `ttlHours`.
 *
 * Only POST routes get its hooks, added per route with the route's URL and mode bound in; a request
 * without the header passes them synchronously (no promise, no lookup): the order-entry hot path.
 */
export const idempotencyPlugin = fp<IdempotencyOptions>(async (app: FastifyInstance, options) => {
  const inProgressTimeoutMs = options.inProgressTimeoutMs ?? 60_000;

  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (!methods.includes('POST')) return;
    const mode = route.config?.idempotencyKey ?? 'optional';

    const preHandler: preHandlerHookHandler = (request, reply, done) => {
      const key = request.headers[header];
      if (key === undefined) {
        done(
          mode === 'required'
            ? invalidField('headers.idempotency-key', 'is required for this route')
            : undefined,
        );
        return;
      }
      if (typeof key !== 'string' || key.length > limits.idempotencyKeyLengthMax || !keyPattern.test(key)) {
        done(
          invalidField(
            'headers.idempotency-key',
            `must be 1–${limits.idempotencyKeyLengthMax} visible ASCII characters`,
          ),
        );
        return;
      }
      const scope = `${options.callerOf(request)} ${request.method} ${route.url}`;
      const hash = requestHash(request);
      claim(options, scope, key, hash, inProgressTimeoutMs).then((replayed) => {
        if (!replayed) {
          request.idempotency = { scope, key, hash };
          done();
          return;
        }
        reply
          .code(replayed.status)
          .header('content-type', replayed.type)
          .header('idempotent-replayed', 'true')
          .send(replayed.body);
      }, done);
    };

    const onSend: onSendHookHandler = (request, reply, payload, done) => {
      const claimed = request.idempotency;
      if (!claimed || reply.getHeader('idempotent-replayed')) {
        done(null, payload);
        return;
      }
      request.idempotency = undefined;
      const stored =
        reply.statusCode >= 500
          ? options.pool.query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2', [
              claimed.scope,
              claimed.key,
            ])
          : options.pool.query(
              `UPDATE idempotency_keys SET state = 'done', response_status = $3, response_type = $4, response_body = $5
               WHERE scope = $1 AND key = $2`,
              [
                claimed.scope,
                claimed.key,
                reply.statusCode,
                String(reply.getHeader('content-type') ?? ''),
                String(payload),
              ],
            );
      stored.then(() => done(null, payload), done);
    };

    // A request that ended without a response (client gone, handler crashed) must not hold its key.
    const onResponse: onResponseHookHandler = (request, _reply, done) => {
      const claimed = request.idempotency;
      if (!claimed) {
        done();
        return;
      }
      options.pool
        .query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_progress'", [
          claimed.scope,
          claimed.key,
        ])
        .then(() => done(), done);
    };

    route.preHandler = [preHandler, ...hooksOf(route.preHandler)];
    route.onSend = [onSend, ...hooksOf(route.onSend)];
    route.onResponse = [onResponse, ...hooksOf(route.onResponse)];
  });
});

/** A route option's hooks as an array (Fastify accepts one function, an array or nothing). */
function hooksOf<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : ([hooks].flat() as T[]);
}

interface KeyRow {
  request_hash: string;
  state: 'in_progress' | 'done';
  response_status: number | null;
  response_type: string | null;
  response_body: string | null;
}

interface StoredResponse {
  status: number;
  type: string;
  body: string;
}

/** Takes the key for this request, or returns the stored response to replay; throws 409/422. */
async function claim(
  options: IdempotencyOptions,
  scope: string,
  key: string,
  hash: string,
  inProgressTimeoutMs: number,
): Promise<StoredResponse | undefined> {
  const now = options.clock.now();
  const expiresAt = new Date(now.getTime() + options.ttlHours * 3_600_000);
  const lockedUntil = new Date(now.getTime() + inProgressTimeoutMs);
  // Insert, or take over a row that expired or whose request (with the same body) died mid-way;
  // otherwise report what is there: another body under a key still held is 422, as for a done one.
  const { rows } = await options.pool.query(
    `INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at, locked_until, expires_at)
     VALUES ($1, $2, $3, 'in_progress', $4, $5, $6)
     ON CONFLICT (scope, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, state = 'in_progress', response_status = NULL,
           response_type = NULL, response_body = NULL, created_at = EXCLUDED.created_at,
           locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
       WHERE idempotency_keys.expires_at <= $4
          OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.locked_until <= $4
              AND idempotency_keys.request_hash = $3)
     RETURNING true AS claimed`,
    [scope, key, hash, now, lockedUntil, expiresAt],
  );
  if (rows.length > 0) return undefined;
  const existing = await options.pool.query<KeyRow>(
    'SELECT request_hash, state, response_status, response_type, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2',
    [scope, key],
  );
  const row = existing.rows[0];
  if (!row) return claim(options, scope, key, hash, inProgressTimeoutMs); // removed meanwhile: try again
  if (row.request_hash !== hash) {
    throw new AppError(
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request body; use a new key for a new request',
    );
  }
  if (row.state === 'in_progress') {
    throw new AppError(
      'idempotency_request_in_progress',
      'The first request with this Idempotency-Key is still running; retry shortly',
      { headers: { 'retry-after': '1' } },
    );
  }
  return {
    status: row.response_status ?? 200,
    type: row.response_type ?? 'application/json',
    body: row.response_body ?? '',
  };
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(canonicalJson(request.body ?? null))
    .digest('hex');
}

/** JSON with object keys sorted, so the same body hashes the same whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Removes expired keys; the API role runs it now and then. */
export async function purgeExpiredIdempotencyKeys(pool: Pool, now: Date): Promise<number> {
  const result = await pool.query('DELETE FROM idempotency_keys WHERE expires_at <= $1', [now]);
  return result.rowCount ?? 0;
}
