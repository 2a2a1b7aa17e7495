import { decodeJwt, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenService } from '../../src/identity/tokens.ts';
import { ManualClock } from '../../src/platform/clock.ts';
import { uuidv7Generator } from '../../src/platform/ids.ts';

const secret = 'kinyu-test-token-secret-0123456789abcdef';
const subject = {
  userId: '01960000-0000-7000-8000-00000000000a',
  roles: ['customer' as const],
  mustChangePassword: true,
  sessionEpoch: 3,
};

function setup(ttlSeconds = 900) {
  const clock = new ManualClock('2026-03-02T09:00:00.000Z');
  return { clock, tokens: createTokenService({ secret, ttlSeconds, clock, ids: uuidv7Generator(clock) }) };
}

describe('access tokens', () => {
  it('carries sub, roles, pwd_change, jti and the session epoch, and verifies', async () => {
    const { tokens } = setup();
    const issued = await tokens.issue(subject);
    expect(decodeJwt(issued.token)).toMatchObject({
      sub: subject.userId,
      roles: ['customer'],
      pwd_change: true,
      sep: 3,
      jti: issued.tokenId,
      iat: 1_772_442_000,
      exp: 1_772_442_900,
    });
    expect(issued.expiresAt.toISOString()).toBe('2026-03-02T09:15:00.000Z');
    expect(await tokens.verify(issued.token)).toEqual({
      outcome: 'ok',
      claims: { ...subject, tokenId: issued.tokenId, expiresAt: issued.expiresAt },
    });
  });

  it('expires after the TTL by the injected clock', async () => {
    const { tokens, clock } = setup(60);
    const { token } = await tokens.issue(subject);
    clock.advance(59_000);
    expect((await tokens.verify(token)).outcome).toBe('ok');
    clock.advance(1_000);
    expect(await tokens.verify(token)).toEqual({ outcome: 'expired' });
  });

  it('refuses a token signed with another secret, tampered, unsigned or too long', async () => {
    const { tokens } = setup();
    const other = createTokenService({
      secret: 'another-secret-another-secret-another!',
      ttlSeconds: 900,
      clock: new ManualClock('2026-03-02T09:00:00.000Z'),
      ids: uuidv7Generator(),
    });
    const foreign = await other.issue(subject);
    expect(await tokens.verify(foreign.token)).toEqual({ outcome: 'invalid' });

    const { token } = await tokens.issue(subject);
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(token), roles: ['admin'] })).toString(
      'base64url',
    );
    expect(await tokens.verify(`${header}.${payload}.${signature}`)).toEqual({ outcome: 'invalid' });

    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.`;
    expect(await tokens.verify(none)).toEqual({ outcome: 'invalid' });
    expect(await tokens.verify('x'.repeat(5000))).toEqual({ outcome: 'invalid' });
    expect(await tokens.verify('garbage')).toEqual({ outcome: 'invalid' });
  });

  it('refuses a correctly signed token without our claims', async () => {
    const { tokens } = setup();
    const token = await new SignJWT({ roles: ['superuser'], pwd_change: false, sep: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('someone')
      .setJti('x')
      .setIssuer('kinyu')
      .setAudience('kinyu-api')
      .setIssuedAt(1_772_442_000)
      .setExpirationTime(1_772_442_900)
      .sign(new TextEncoder().encode(secret));
    expect(await tokens.verify(token)).toEqual({ outcome: 'invalid' });
  });

  it('refuses a short secret', () => {
    expect(() =>
      createTokenService({
        secret: 'short',
        ttlSeconds: 60,
        clock: new ManualClock(),
        ids: uuidv7Generator(),
      }),
    ).toThrow(/at least 32 bytes/);
  });
});
