import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Principal } from './domain/types.ts';
import { authenticateHandshake, identityAuthPlugin } from './http/auth-plugin.ts';
import { identityRoutes } from './http/routes.ts';
import {
  createIdentityService,
  type IdentityService,
  type IdentityServiceDeps,
  type IdentitySettings,
} from './service.ts';

/** Settings the module reads; pass `config` (src/platform/config.ts) as is. */
export interface IdentityModuleSettings extends IdentitySettings {
  rateLimitLoginMax: number;
  rateLimitWindowMs: number;
}

export interface IdentityModuleDeps extends Omit<IdentityServiceDeps, 'settings'> {
  settings: IdentityModuleSettings;
  /** Overrides the URL prefixes whose routes must declare `config.access`. */
  protectedPrefixes?: readonly string[];
}

export interface IdentityModule {
  service: IdentityService;
  /** Register once on the root instance, before every module's routes. */
  authPlugin: FastifyPluginAsync;
  /** Identity's routes: `/api/auth/*` and `/admin/api-keys`. */
  routes: FastifyPluginAsyncTypebox;
  /** For WebSocket upgrades: the principal behind the handshake's credentials. */
  authenticateHandshake(headers: FastifyRequest['headers']): Promise<Principal>;
  /**
   * The rate-limit key of a request whose API key was verified recently (checked synchronously
   * against the cache, before authentication runs), else undefined: the app then limits the request
   * by its address, so inventing keys never buys a fresh allowance.
   */
  knownCaller(request: FastifyRequest): string | undefined;
}

/** Wires identity for the composition root. */
export function createIdentityModule(deps: IdentityModuleDeps): IdentityModule {
  const service = createIdentityService(deps);
  const { rateLimitLoginMax, rateLimitWindowMs } = deps.settings;
  return {
    service,
    authPlugin: identityAuthPlugin({
      service,
      ...(deps.protectedPrefixes ? { protectedPrefixes: deps.protectedPrefixes } : {}),
    }),
    routes: identityRoutes({
      service,
      loginRateLimit: { max: rateLimitLoginMax, timeWindowMs: rateLimitWindowMs },
    }),
    authenticateHandshake: (headers) => authenticateHandshake(service, headers),
    knownCaller(request) {
      const apiKey = request.headers['x-api-key'];
      if (typeof apiKey !== 'string' || !service.cachedApiKey(apiKey, request.raw.socket)) return undefined;
      // Per key, not per member: the key's id part (kinyu_<keyId>_<secret>), never the secret.
      return `key:${apiKey.split('_').slice(0, 2).join('_')}`;
    },
  };
}
