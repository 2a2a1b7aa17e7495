import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideLogin,
  initialLockoutState,
  type LockoutState,
  type LoginDecision,
  type LoginOutcome,
} from '../../src/identity/domain/lockout.ts';

const policy = { threshold: 5, lockSeconds: 900 };
const t0 = new Date('2026-03-02T09:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const right = { passwordMatches: true };
const wrong = { passwordMatches: false };

/** given(state).when(attempt, time).thenExpect(outcome, next state) — the lock-out rules without a database. */
function given(state: LockoutState) {
  return {
    when(attempt: { passwordMatches: boolean }, now: Date = t0) {
      const decision = decideLogin(state, attempt, now, policy);
      return {
        decision,
        thenExpect(outcome: LoginOutcome, next: LockoutState = decision.next) {
          expect(decision.outcome).toBe(outcome);
          expect(decision.next).toEqual(next);
          return decision;
        },
      };
    },
  };
}

const failures = (count: number): LockoutState => ({ failedLoginCount: count, lockedUntil: null });
const lockedUntil = (seconds: number): LockoutState => ({ failedLoginCount: 0, lockedUntil: at(seconds) });

describe('decideLogin', () => {
  it('accepts the right password on a fresh account', () => {
    given(initialLockoutState()).when(right).thenExpect('ok', failures(0));
  });

  it('counts a wrong password', () => {
    const decision = given(failures(0)).when(wrong).thenExpect('invalid_credentials', failures(1));
    expect(decision).toMatchObject({ consecutiveFailures: 1, locksAccount: false });
  });

  it('a success resets the count', () => {
    given(failures(4)).when(right).thenExpect('ok', failures(0));
  });

  it('the fifth consecutive failure locks the account for lockSeconds and still answers invalid_credentials', () => {
    const decision = given(failures(4)).when(wrong).thenExpect('invalid_credentials', lockedUntil(900));
    expect(decision).toMatchObject({ consecutiveFailures: 5, locksAccount: true });
  });

  it('a locked account refuses even the right password, without changing state', () => {
    const decision = given(lockedUntil(900))
      .when(right, at(100))
      .thenExpect('account_locked', lockedUntil(900));
    expect(decision).toMatchObject({ retryAfterSeconds: 800 });
  });

  it('failures while locked do not extend the lock', () => {
    given(lockedUntil(900)).when(wrong, at(899)).thenExpect('account_locked', lockedUntil(900));
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    const decision = given(lockedUntil(900))
      .when(right, new Date(at(900).getTime() - 1))
      .thenExpect('account_locked');
    expect(decision).toMatchObject({ retryAfterSeconds: 1 });
  });

  it('the lock ends exactly at lockedUntil', () => {
    given(lockedUntil(900)).when(right, at(900)).thenExpect('ok', failures(0));
  });

  it('after the lock expires, failures are counted afresh', () => {
    given(lockedUntil(900)).when(wrong, at(1000)).thenExpect('invalid_credentials', failures(1));
  });
});

describe('decideLogin over any sequence of attempts', () => {
  const attempt = fc.record({
    passwordMatches: fc.boolean(),
    advanceSeconds: fc.integer({ min: 0, max: 400 }),
  });

  it('never lets more than `threshold` consecutive wrong guesses through without a lock', () => {
    fc.assert(
      fc.property(fc.array(attempt, { maxLength: 60 }), (attempts) => {
        let state = initialLockoutState();
        let now = t0;
        let wrongSinceUnlocked = 0;
        for (const { passwordMatches, advanceSeconds } of attempts) {
          now = new Date(now.getTime() + advanceSeconds * 1000);
          const decision: LoginDecision = decideLogin(state, { passwordMatches }, now, policy);
          if (decision.outcome === 'ok') wrongSinceUnlocked = 0;
          if (decision.outcome === 'invalid_credentials') wrongSinceUnlocked++;
          expect(wrongSinceUnlocked).toBeLessThanOrEqual(policy.threshold);
          if (decision.outcome === 'invalid_credentials' && decision.locksAccount) wrongSinceUnlocked = 0;
          expect(decision.next.failedLoginCount).toBeLessThan(policy.threshold);
          state = decision.next;
        }
      }),
    );
  });
});
