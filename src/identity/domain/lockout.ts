/**
 * Lock-out after repeated failed logins, as a pure decider: the repository loads the state under a row
 * lock, asks `decideLogin`, and writes `next` back in the same transaction, so concurrent guesses are
 * serialised and can never exceed the threshold.
 */
export interface LockoutState {
  /** Consecutive failures since the last success or the last lock. */
  failedLoginCount: number;
  lockedUntil: Date | null;
}

export interface LoginAttempt {
  passwordMatches: boolean;
}

export interface LockoutPolicy {
  /** Consecutive failures that lock the account. */
  threshold: number;
  lockSeconds: number;
}

/** Outcomes in order of precedence: a locked account answers "locked" even to the right password. */
export type LoginOutcome = 'account_locked' | 'invalid_credentials' | 'ok';

export type LoginDecision =
  | { outcome: 'account_locked'; next: LockoutState; retryAfterSeconds: number }
  | {
      outcome: 'invalid_credentials';
      next: LockoutState;
      /** Wrong passwords in a row, this one included. */
      consecutiveFailures: number;
      locksAccount: boolean;
    }
  | { outcome: 'ok'; next: LockoutState };

export function initialLockoutState(): LockoutState {
  return { failedLoginCount: 0, lockedUntil: null };
}

/** True while a lock is in force at `now`. */
export function isLocked(state: LockoutState, now: Date): boolean {
  return state.lockedUntil !== null && state.lockedUntil.getTime() > now.getTime();
}

/** Decides one login attempt. Pure: time and the password check come in as data. */
export function decideLogin(
  state: LockoutState,
  attempt: LoginAttempt,
  now: Date,
  policy: LockoutPolicy,
): LoginDecision {
  if (isLocked(state, now)) {
    return { outcome: 'account_locked', next: state, retryAfterSeconds: retryAfterSeconds(state, now) };
  }
  if (attempt.passwordMatches) return { outcome: 'ok', next: initialLockoutState() };
  const failures = failuresSinceLock(state, now) + 1;
  if (failures < policy.threshold) {
    const next = { failedLoginCount: failures, lockedUntil: null };
    return { outcome: 'invalid_credentials', next, consecutiveFailures: failures, locksAccount: false };
  }
  // The counter restarts with the lock, so after it expires the next run of failures is counted afresh.
  const lockedUntil = new Date(now.getTime() + policy.lockSeconds * 1000);
  const next = { failedLoginCount: 0, lockedUntil };
  return { outcome: 'invalid_credentials', next, consecutiveFailures: failures, locksAccount: true };
}

/** Whole seconds until the lock ends, at least 1 so a client never retries at once. */
export function retryAfterSeconds(state: LockoutState, now: Date): number {
  if (state.lockedUntil === null) return 0;
  return Math.max(1, Math.ceil((state.lockedUntil.getTime() - now.getTime()) / 1000));
}

function failuresSinceLock(state: LockoutState, now: Date): number {
  // An expired lock leaves lockedUntil in the past; its failures were already reset when it was set.
  return state.lockedUntil !== null && state.lockedUntil.getTime() <= now.getTime()
    ? 0
    : state.failedLoginCount;
}
