import type {} from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { assert } from '../../platform/errors.ts';
import type { UserPrincipal } from '../domain/types.ts';
import type { IdentityService } from '../service.ts';
import type { Session } from '../sessions.ts';
import {
  ApiKeyCreateBody,
  ApiKeyListQuery,
  ApiKeyPage,
  ApiKeyParams,
  IssuedApiKey,
  LoginBody,
  NoContent,
  PasswordChangeBody,
  Problem,
  SessionResponse,
  User,
} from './schemas.ts';

export interface IdentityRoutesDeps {
  service: IdentityService;
  /** Stricter limit for login attempts per client and window (config.rateLimitLoginMax / rateLimitWindowMs). */
  loginRateLimit: { max: number; timeWindowMs: number };
}

const tags = ['identity'];

/** Identity's HTTP routes: login, the caller's own account, and API keys for exchange members. */
export function identityRoutes(deps: IdentityRoutesDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    registerAuthRoutes(app, deps);
    registerApiKeyRoutes(app, deps);
  };
}

type App = Parameters<FastifyPluginAsyncTypebox>[0];

function registerAuthRoutes(app: App, { service, loginRateLimit }: IdentityRoutesDeps): void {
  app.post(
    '/api/auth/login',
    {
      config: {
        access: 'public',
        rateLimit: { max: loginRateLimit.max, timeWindow: loginRateLimit.timeWindowMs },
      },
      schema: {
        tags,
        summary: 'Sign in with a login id and password',
        body: LoginBody,
        response: { 200: SessionResponse, 400: Problem, 401: Problem, 423: Problem, 429: Problem },
      },
    },
    async (request) => toSessionResponse(await service.login(request.body.loginId, request.body.password)),
  );

  app.post(
    '/api/auth/password',
    {
      config: { access: 'identity:self' },
      schema: {
        tags,
        summary: 'Change the password (required after a temporary one); returns a fresh token',
        body: PasswordChangeBody,
        response: { 200: SessionResponse, 400: Problem, 401: Problem, 409: Problem, 423: Problem },
      },
    },
    async (request) => toSessionResponse(await service.changePassword(userOf(request), request.body)),
  );

  app.post(
    '/api/auth/logout',
    {
      config: { access: 'identity:self' },
      schema: {
        tags,
        summary: 'Revoke the token used for this request',
        response: { 204: NoContent, 401: Problem },
      },
    },
    async (request, reply) => {
      await service.logout(userOf(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/auth/me',
    {
      config: { access: 'identity:self' },
      schema: { tags, summary: 'The signed-in user', response: { 200: User, 401: Problem } },
    },
    async (request) => service.currentUser(userOf(request)),
  );
}

function registerApiKeyRoutes(app: App, { service }: IdentityRoutesDeps): void {
  const adminErrors = { 401: Problem, 403: Problem };
  app.post(
    '/admin/api-keys',
    {
      config: { access: 'admin:*' },
      schema: {
        tags,
        summary: 'Issue an API key for an exchange member; the key is in this response only',
        body: ApiKeyCreateBody,
        response: { 201: IssuedApiKey, 400: Problem, 409: Problem, ...adminErrors },
      },
    },
    async (request, reply) => reply.code(201).send(await service.issueApiKey(userOf(request), request.body)),
  );

  app.get(
    '/admin/api-keys',
    {
      config: { access: 'admin:*' },
      schema: {
        tags,
        summary: 'List API keys (never their secrets), oldest first',
        querystring: ApiKeyListQuery,
        response: { 200: ApiKeyPage, 400: Problem, ...adminErrors },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      return service.listApiKeys({ after, limit: limit === undefined ? undefined : Number(limit) });
    },
  );

  app.delete(
    '/admin/api-keys/:id',
    {
      config: { access: 'admin:*' },
      schema: {
        tags,
        summary: 'Revoke an API key; it stops working at once',
        params: ApiKeyParams,
        response: { 204: NoContent, 400: Problem, 404: Problem, ...adminErrors },
      },
    },
    async (request, reply) => {
      await service.revokeApiKey(userOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
}

/** The user principal of a route whose access rule admits only users (checked by the auth plugin). */
function userOf(request: FastifyRequest): UserPrincipal {
  const { principal } = request;
  assert(principal?.kind === 'user', 'route declared a users-only access but the principal is not a user');
  return principal;
}

function toSessionResponse(session: Session) {
  return { token: session.token, expiresAt: session.expiresAt.toISOString(), user: session.user };
}
