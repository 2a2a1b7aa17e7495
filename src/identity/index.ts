/** Identity's public API: other modules and the composition root import from here only. */
export {
  type AccessDecision,
  type Action,
  accessTable,
  actions,
  assertAuthorized,
  assertOwns,
  authorize,
  type DenyReason,
  type OwnedResource,
} from './access.ts';
export type { EnsureAdminResult } from './admin.ts';
export type { ApiKeyPage, ApiKeyRequest, ApiKeyView, IssuedApiKey } from './api-keys.ts';
export type {
  AnonymousPrincipal,
  ApiKeyRole,
  MemberPrincipal,
  Principal,
  Role,
  UserPrincipal,
  UserRole,
  UserView,
} from './domain/types.ts';
export { anonymous, memberIdPattern } from './domain/types.ts';
export { identityErrors } from './errors.ts';
export {
  type AuthPluginOptions,
  authenticateHandshake,
  identityAuthPlugin,
  readCredentials,
} from './http/auth-plugin.ts';
export { identityRoutes } from './http/routes.ts';
export { createIdentityModule, type IdentityModule, type IdentityModuleDeps } from './module.ts';
export {
  createPasswordHasher,
  defaultScryptParams,
  type PasswordHasher,
  type ScryptParams,
  testScryptParams,
} from './password-hash.ts';
export { createIdentityService, type IdentityService, type IdentitySettings } from './service.ts';
export type { Session } from './sessions.ts';
