/*
 * Trading sessions as pure rules: a market-wide state and one per instrument, each open, halted or
 * closed. An instrument trades only when both are open. The shell (ExchangeService) persists the
 * states and submits `expire_day_orders` through the sequencer when a transition asks for it.
 */

export type SessionState = 'open' | 'halted' | 'closed';
export type SessionAction = 'open' | 'close' | 'halt' | 'resume';
export const sessionStates: readonly SessionState[] = ['open', 'halted', 'closed'];
export const sessionActions: readonly SessionAction[] = ['open', 'close', 'halt', 'resume'];

/** Why an action does not apply to the current state. */
export type SessionRefusal = 'halted_resume_instead' | 'closed_cannot_halt' | 'closed_open_instead';

export type SessionTransition =
  | { ok: true; next: SessionState; expiresDayOrders: boolean }
  | { ok: false; reason: SessionRefusal };

/**
 * The state an action leads to. Repeating an action is harmless (open on open, halt on halted…);
 * closing an open or halted session expires its DAY orders; halting and resuming never expire any.
 */
export function decideSessionAction(current: SessionState, action: SessionAction): SessionTransition {
  switch (action) {
    case 'open':
      if (current === 'halted') return { ok: false, reason: 'halted_resume_instead' };
      return { ok: true, next: 'open', expiresDayOrders: false };
    case 'close':
      // Closing a closed session expires again: it completes a close whose expiry failed half way.
      return { ok: true, next: 'closed', expiresDayOrders: true };
    case 'halt':
      if (current === 'closed') return { ok: false, reason: 'closed_cannot_halt' };
      return { ok: true, next: 'halted', expiresDayOrders: false };
    case 'resume':
      if (current === 'closed') return { ok: false, reason: 'closed_open_instead' };
      return { ok: true, next: 'open', expiresDayOrders: false };
    default: {
      const unknown: never = action;
      throw new Error(`unknown session action ${String(unknown)}`);
    }
  }
}

/** A sentence for a refusal, for the problem's detail. */
export function sessionRefusalText(reason: SessionRefusal): string {
  switch (reason) {
    case 'halted_resume_instead':
      return 'the session is halted: resume it instead of opening it';
    case 'closed_cannot_halt':
      return 'the session is closed: a closed session cannot be halted';
    case 'closed_open_instead':
      return 'the session is closed: open it instead of resuming it';
    default: {
      const unknown: never = reason;
      throw new Error(`unknown refusal ${String(unknown)}`);
    }
  }
}

/** What an instrument's members see: closed wins over halted, halted over open. */
export function effectiveState(market: SessionState, instrument: SessionState): SessionState {
  if (market === 'closed' || instrument === 'closed') return 'closed';
  if (market === 'halted' || instrument === 'halted') return 'halted';
  return 'open';
}
