/** Roles a login user can hold. */
export const userRoles = ['admin', 'customer'] as const;
export type UserRole = (typeof userRoles)[number];

/** Roles an API key can carry: exchange members only, for now. */
export const apiKeyRoles = ['member'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];

export type Role = UserRole | ApiKeyRole;

/**
 * An exchange member's id as API keys carry it: short, printable, and safe inside the engine's
 * `member:account` self-trade-prevention account (src/exchange/orders/order-state.ts).
 */
export const memberIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A person who logs in with a password (admins and bank/brokerage customers). */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  roles: readonly UserRole[];
  mustChangePassword: boolean;
  /** The banking customer this login belongs to, when there is one. */
  customerId: string | null;
  /** The access token this request came with, so logout can revoke exactly it. */
  session: { tokenId: string; expiresAt: Date };
}

/** An exchange member calling with an API key. */
export interface MemberPrincipal {
  kind: 'member';
  /** The member firm the key trades for (`identity_api_keys.member`); several keys may share it. */
  memberId: string;
  roles: readonly ApiKeyRole[];
  apiKeyName: string;
}

export interface AnonymousPrincipal {
  kind: 'anonymous';
}

/** Who is calling. Every authorisation decision is made on this alone (see access.ts). */
export type Principal = UserPrincipal | MemberPrincipal | AnonymousPrincipal;

export const anonymous: AnonymousPrincipal = Object.freeze({ kind: 'anonymous' });

/** The user as the API shows it: never the hash, counters or lock details. */
export interface UserView {
  id: string;
  loginId: string;
  roles: UserRole[];
  mustChangePassword: boolean;
  customerId: string | null;
  createdAt: string;
}
