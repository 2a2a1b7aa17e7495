import type {
  FastifyPluginAsync,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
} from 'fastify';
import { AppError } from '../../platform/errors.ts';
import { type Action, assertAuthorized, invalidCredentialError, isAction } from '../access.ts';
import { anonymous, type Principal } from '../domain/types.ts';
import type { IdentityService } from '../service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set by the identity auth plugin before any handler runs. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** What the route needs, from the table in src/identity/access.ts. */
    access?: Action;
  }
}

export type Authenticator = Pick<IdentityService, 'authenticateToken' | 'authenticateApiKey'> &
  Partial<Pick<IdentityService, 'cachedApiKey'>>;

export interface AuthPluginOptions {
  service: Authenticator;
  /**
   * A route whose URL starts with one of these must declare `config.access`, or registering it throws:
   * forgetting to protect an API route fails at start-up instead of shipping open.
   */
  protectedPrefixes?: readonly string[];
}

export const defaultProtectedPrefixes = ['/api/', '/admin/', '/v1/'] as const;

/**
 * Authentication and the access check for every route registered after it. Register it once on the
 * root instance before the module route plugins; it is not encapsulated (like fastify-plugin).
 * A route opts in with `config: { access: 'admin:*' }`; a route without `access` is public.
 *
 * Each route gets its own `onRequest` hook with its access rule bound in, so a request pays
 * no per-request route lookup. An API key verified in the last `apiKeyCacheMs` is checked without a
 * promise (the order-entry hot path); everything else goes through the asynchronous service.
 */
export function identityAuthPlugin(options: AuthPluginOptions): FastifyPluginAsync {
  const prefixes = options.protectedPrefixes ?? defaultProtectedPrefixes;
  const ours = new WeakSet<onRequestHookHandler>();
  const plugin: FastifyPluginAsync = async (app) => {
    // Fastify wants decorations declared up front; the route hooks set the real value on every request.
    app.decorateRequest('principal', null as never);
    app.addHook('onRoute', (route) => {
      const access: unknown = route.config?.access;
      if (access !== undefined && !isAction(access)) {
        throw new Error(`route ${route.method} ${route.url} declares unknown access "${String(access)}"`);
      }
      if (access === undefined && prefixes.some((prefix) => route.url.startsWith(prefix))) {
        throw new Error(
          `route ${route.method} ${route.url} must declare config.access (see src/identity/access.ts)`,
        );
      }
      const existing = route.onRequest === undefined ? [] : [route.onRequest].flat();
      // Fastify derives a HEAD route from a GET route's options: its hooks are already there.
      if (existing.some((hook) => ours.has(hook))) return;
      const hook = authHook(options.service, access === undefined || access === 'public' ? null : access);
      ours.add(hook);
      // After the global rate limit's hook (also added per route), as a global hook would run.
      route.onRequest = [...existing, hook];
    });
  };
  // The same hidden properties fastify-plugin sets: run in the parent's scope, with a readable name.
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'kinyu-identity-auth',
  });
}

/**
 * Sets `request.principal` and checks `access`. A public route (`access` null) treats a bad
 * credential as none, so a stale token never stops anyone from using a public route such as login.
 */
function authHook(service: Authenticator, access: Action | null): onRequestHookHandler {
  // A frozen principal (a cached API key's: the same object until its cache entry is refreshed)
  // cannot change, so once allowed here it skips the access table on later requests.
  const allowed = new WeakSet<Principal>();
  const admit = (request: FastifyRequest, principal: Principal, done: HookHandlerDoneFunction) => {
    request.principal = principal;
    if (access !== null && !allowed.has(principal)) {
      try {
        assertAuthorized(principal, access);
      } catch (error) {
        done(error as Error);
        return;
      }
      if (Object.isFrozen(principal)) allowed.add(principal);
    }
    done();
  };
  return (request, _reply, done) => {
    const credentials = readCredentials(request.headers);
    if (credentials.kind === 'none') return admit(request, anonymous, done);
    if (credentials.kind === 'api_key') {
      const cached = service.cachedApiKey?.(credentials.apiKey, request.raw.socket);
      if (cached) return admit(request, cached, done);
    }
    const authenticated = authenticate(service, credentials);
    (access === null ? authenticated.catch(anonymousOnBadCredentials) : authenticated).then(
      (principal) => admit(request, principal, done),
      done,
    );
  };
}

/**
 * Authenticates a WebSocket upgrade request. Besides the `Authorization` and `X-API-Key` headers it accepts
 * the credential as a subprotocol (`Sec-WebSocket-Protocol: kinyu.v1, kinyu.bearer.<token>` or
 * `kinyu.api-key.<key>`), because browsers cannot set headers on a WebSocket; never in the URL, which
 * ends up in logs. No credential gives the anonymous principal; a bad one throws 401 `unauthenticated`.
 * The caller then decides with `authorize(principal, 'exchange:read')` and echoes `kinyu.v1` only.
 */
export function authenticateHandshake(
  service: Authenticator,
  headers: FastifyRequest['headers'],
): Promise<Principal> {
  return authenticate(service, readCredentials(headers, { subprotocols: true }));
}

export type Credentials =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'api_key'; apiKey: string }
  | { kind: 'malformed'; problem: string };

/** The credential a request carries; more than one, or a non-Bearer scheme, is malformed. */
export function readCredentials(
  headers: FastifyRequest['headers'],
  options: { subprotocols?: boolean } = {},
): Credentials {
  const found: Credentials[] = [];
  const authorization = headers.authorization;
  if (authorization !== undefined) found.push(bearer(authorization));
  const apiKey = headers['x-api-key'];
  if (apiKey !== undefined) {
    found.push(
      typeof apiKey === 'string' ? { kind: 'api_key', apiKey } : malformed('Send one X-API-Key header'),
    );
  }
  if (options.subprotocols) found.push(...fromSubprotocols(headers['sec-websocket-protocol']));
  if (found.length > 1) return malformed('Send one credential: a bearer token or an API key');
  return found[0] ?? { kind: 'none' };
}

async function authenticate(service: Authenticator, credentials: Credentials): Promise<Principal> {
  switch (credentials.kind) {
    case 'none':
      return anonymous;
    case 'bearer':
      return service.authenticateToken(credentials.token);
    case 'api_key':
      return service.authenticateApiKey(credentials.apiKey);
    case 'malformed':
      throw invalidCredentialError(credentials.problem);
    default: {
      const unknown: never = credentials;
      throw new Error(`unknown credentials ${JSON.stringify(unknown)}`);
    }
  }
}

function anonymousOnBadCredentials(error: unknown): Principal {
  if (error instanceof AppError && error.code === 'unauthenticated') return anonymous;
  throw error;
}

function bearer(authorization: string): Credentials {
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization);
  return match ? { kind: 'bearer', token: match[1]! } : malformed('Use the Bearer scheme');
}

function fromSubprotocols(header: string | undefined): Credentials[] {
  if (header === undefined) return [];
  const found: Credentials[] = [];
  for (const protocol of header.split(',').map((p) => p.trim())) {
    if (protocol.startsWith('kinyu.bearer.')) found.push({ kind: 'bearer', token: protocol.slice(13) });
    if (protocol.startsWith('kinyu.api-key.')) found.push({ kind: 'api_key', apiKey: protocol.slice(14) });
  }
  return found;
}

function malformed(problem: string): Credentials {
  return { kind: 'malformed', problem };
}
