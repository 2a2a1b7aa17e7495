import { AppError } from '../platform/errors.ts';
import type { Principal, Role } from './domain/types.ts';

/**
 * The one place that decides who may do what. Routes name an action (`config: { access: 'admin:*' }`);
 * the auth plugin calls `authorize`, and handlers call `assertOwns` for per-resource ownership.
 */
interface AccessRule {
  /** Kinds of principal the action is open to at all. */
  kinds: readonly Principal['kind'][];
  /** The principal needs at least one of these roles; empty means any role. */
  roles: readonly Role[];
  /** Whether a user still holding a temporary password may do it. */
  duringPasswordChange: boolean;
}

export const accessTable = {
  /** Anyone, signed in or not (login, health, public market data). */
  public: { kinds: ['anonymous', 'user', 'member'], roles: [], duringPasswordChange: true },
  /** A signed-in user acting on their own login: me, password change, logout. */
  'identity:self': { kinds: ['user'], roles: [], duringPasswordChange: true },
  /** Administration of the whole system. */
  'admin:*': { kinds: ['user'], roles: ['admin'], duringPasswordChange: false },
  /** Exchange members entering and cancelling orders with their API key. */
  'exchange:trade': { kinds: ['member'], roles: ['member'], duringPasswordChange: false },
  /** Any signed-in user or member reading exchange data (executions, books, candles). */
  'exchange:read': { kinds: ['user', 'member'], roles: [], duringPasswordChange: false },
  /** A bank customer using their own accounts (combine with `assertOwns`). */
  'banking:customer': { kinds: ['user'], roles: ['customer'], duringPasswordChange: false },
  /** A brokerage customer using their own orders and positions (combine with `assertOwns`). */
  'brokerage:customer': { kinds: ['user'], roles: ['customer'], duringPasswordChange: false },
} as const satisfies Record<string, AccessRule>;

export type Action = keyof typeof accessTable;
export const actions = Object.keys(accessTable) as Action[];

/** Why access is refused, in order of precedence; each is also the error code the client sees. */
export type DenyReason = 'unauthenticated' | 'password_change_required' | 'forbidden' | 'not_found';
export type AccessDecision = 'allow' | DenyReason;

/** A resource that belongs to one user. */
export interface OwnedResource {
  ownerUserId: string;
}

/** Decides whether `principal` may do `action` (on `resource`, when it belongs to someone). */
export function authorize(principal: Principal, action: Action, resource?: OwnedResource): AccessDecision {
  const rule: AccessRule = accessTable[action];
  if (!rule.kinds.includes(principal.kind)) {
    return principal.kind === 'anonymous' ? 'unauthenticated' : 'forbidden';
  }
  if (principal.kind === 'user' && principal.mustChangePassword && !rule.duringPasswordChange) {
    return 'password_change_required';
  }
  if (rule.roles.length > 0 && !hasAnyRole(principal, rule.roles)) return 'forbidden';
  if (resource && !owns(principal, resource.ownerUserId)) return 'not_found';
  return 'allow';
}

/** Throws the AppError for a refusal; returns quietly when allowed. */
export function assertAuthorized(principal: Principal, action: Action, resource?: OwnedResource): void {
  const decision = authorize(principal, action, resource);
  if (decision !== 'allow') throw accessError(decision);
}

/**
 * Throws 404 `not_found` unless the principal is the user who owns the resource: a 403 would tell a
 * stranger that the resource exists.
 */
export function assertOwns(principal: Principal, ownerUserId: string): void {
  if (!owns(principal, ownerUserId)) throw accessError('not_found');
}

/** The AppError a client receives for a refusal. */
export function accessError(reason: DenyReason): AppError {
  switch (reason) {
    case 'unauthenticated':
      return new AppError('unauthenticated', 'Sign in or send an API key', {
        headers: { 'www-authenticate': 'Bearer realm="kinyu"' },
      });
    case 'password_change_required':
      return new AppError(
        'password_change_required',
        'Change your temporary password with POST /api/auth/password',
      );
    case 'forbidden':
      return new AppError('forbidden');
    case 'not_found':
      return new AppError('not_found');
    default: {
      const unknown: never = reason;
      throw new Error(`unknown deny reason ${String(unknown)}`);
    }
  }
}

/** 401 for a credential that was sent but is wrong, expired or revoked (RFC 6750 `invalid_token`). */
export function invalidCredentialError(description: string): AppError {
  return new AppError('unauthenticated', description, {
    headers: {
      'www-authenticate': `Bearer realm="kinyu", error="invalid_token", error_description="${description}"`,
    },
  });
}

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.hasOwn(accessTable, value);
}

function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  if (principal.kind === 'anonymous') return false;
  return principal.roles.some((role: Role) => roles.includes(role));
}

function owns(principal: Principal, ownerUserId: string): boolean {
  return principal.kind === 'user' && principal.userId === ownerUserId;
}
