import { describe, expect, it } from 'vitest';
import { accessTable, actions, assertOwns, authorize } from '../../src/identity/access.ts';
import type { Principal, UserPrincipal } from '../../src/identity/domain/types.ts';
import { AppError } from '../../src/platform/errors.ts';

const session = { tokenId: 't', expiresAt: new Date('2026-03-02T09:15:00Z') };
const user = (roles: UserPrincipal['roles'], mustChangePassword = false, userId = 'u1'): UserPrincipal => ({
  kind: 'user',
  userId,
  roles,
  mustChangePassword,
  customerId: null,
  session,
});
const admin = user(['admin']);
const customer = user(['customer']);
const member: Principal = { kind: 'member', memberId: 'k1', roles: ['member'], apiKeyName: 'Broker A' };
const anonymous: Principal = { kind: 'anonymous' };

describe('authorize', () => {
  // One row per principal: what each action answers. The whole policy, readable at a glance.
  const expected: Record<string, Record<(typeof actions)[number], string>> = {
    anonymous: {
      public: 'allow',
      'identity:self': 'unauthenticated',
      'admin:*': 'unauthenticated',
      'exchange:trade': 'unauthenticated',
      'exchange:read': 'unauthenticated',
      'banking:customer': 'unauthenticated',
      'brokerage:customer': 'unauthenticated',
    },
    admin: {
      public: 'allow',
      'identity:self': 'allow',
      'admin:*': 'allow',
      'exchange:trade': 'forbidden',
      'exchange:read': 'allow',
      'banking:customer': 'forbidden',
      'brokerage:customer': 'forbidden',
    },
    customer: {
      public: 'allow',
      'identity:self': 'allow',
      'admin:*': 'forbidden',
      'exchange:trade': 'forbidden',
      'exchange:read': 'allow',
      'banking:customer': 'allow',
      'brokerage:customer': 'allow',
    },
    member: {
      public: 'allow',
      'identity:self': 'forbidden',
      'admin:*': 'forbidden',
      'exchange:trade': 'allow',
      'exchange:read': 'allow',
      'banking:customer': 'forbidden',
      'brokerage:customer': 'forbidden',
    },
    adminOnTemporaryPassword: {
      public: 'allow',
      'identity:self': 'allow',
      'admin:*': 'password_change_required',
      'exchange:trade': 'forbidden',
      'exchange:read': 'password_change_required',
      'banking:customer': 'password_change_required',
      'brokerage:customer': 'password_change_required',
    },
  };
  const principals: Record<string, Principal> = {
    anonymous,
    admin,
    customer,
    member,
    adminOnTemporaryPassword: user(['admin'], true),
  };

  it('covers every action in the table', () => {
    expect(Object.keys(expected.admin!).sort()).toEqual(Object.keys(accessTable).sort());
  });

  for (const [name, principal] of Object.entries(principals)) {
    it(`decides every action for ${name}`, () => {
      const actual = Object.fromEntries(actions.map((action) => [action, authorize(principal, action)]));
      expect(actual).toEqual(expected[name]);
    });
  }

  it('answers not_found when the resource belongs to someone else', () => {
    expect(authorize(customer, 'banking:customer', { ownerUserId: 'u1' })).toBe('allow');
    expect(authorize(customer, 'banking:customer', { ownerUserId: 'u2' })).toBe('not_found');
  });
});

describe('assertOwns', () => {
  it('passes for the owner and throws 404 not_found for anyone else', () => {
    expect(() => assertOwns(customer, 'u1')).not.toThrow();
    for (const principal of [user(['customer'], false, 'u2'), admin, member, anonymous]) {
      const error = catchError(() => assertOwns(principal, principal === admin ? 'u9' : 'u1'));
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'not_found', status: 404 });
    }
  });
});

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
