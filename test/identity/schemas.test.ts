import { describe, expect, it } from 'vitest';
import { apiKeyRoles, userRoles } from '../../src/identity/domain/types.ts';
import { ApiKey, User } from '../../src/identity/http/schemas.ts';

describe('HTTP schemas', () => {
  it('list exactly the roles the domain knows', () => {
    const roleItems = User.properties.roles.items as unknown as { anyOf: { const: string }[] };
    expect(roleItems.anyOf.map((s) => s.const)).toEqual([...userRoles]);
    expect([(ApiKey.properties.role as unknown as { const: string }).const]).toEqual([...apiKeyRoles]);
  });
});
