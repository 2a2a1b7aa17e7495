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
  };
}
