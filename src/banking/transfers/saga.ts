/*
 * The transfer saga's pure core: its events, the state they fold into, and the decisions taken on
 * ledger results. No I/O, no clock: the shells (steps.ts, request.ts) load, decide, append.
 *
 *   RECEIVED ──WithdrawalStarted──► WITHDRAWING ──WithdrawalHeld──► DEPOSITING ──Deposited,
 *      │                               │                               │      TransferCompleted──► COMPLETED
 *      │                               └─TransferFailed (no hold)──►   └─TransferFailed (hold voided)──► FAILED
 */
import { assert } from '../../platform/errors.ts';
import type { TransferResult } from '../ledger/index.ts';

export const transferStatuses = ['RECEIVED', 'WITHDRAWING', 'DEPOSITING', 'COMPLETED', 'FAILED'] as const;
export type TransferStatus = (typeof transferStatuses)[number];

/** Why a transfer failed, as the customer and the admin see it. */
export type FailureReason =
  | 'insufficient_funds'
  | 'source_account_closed'
  | 'source_account_not_found'
  | 'target_account_closed'
  | 'target_account_not_found'
  | 'hold_expired'
  | `ledger_refused_${string}`;

/** The request as recorded; money as a minor-unit string (event data is plain JSON). */
export interface TransferRequestedData {
  transferId: string;
  sourceAccountId: string;
  targetAccountId: string;
  sourceCustomerId: string;
  targetCustomerId: string;
  sourceAccountNumber: string;
  targetAccountNumber: string;
  amountMinor: string;
  currency: string;
  description: string | null;
  requestedBy: string;
}

export type TransferEvent =
  | { type: 'TransferRequested'; data: TransferRequestedData }
  | { type: 'WithdrawalStarted'; data: { holdId: string } }
  | { type: 'WithdrawalHeld'; data: { holdId: string } }
  | { type: 'Deposited'; data: { depositId: string; postId: string } }
  | { type: 'TransferCompleted'; data: Record<string, never> }
  | {
      type: 'TransferFailed';
      data: {
        reason: FailureReason;
        step: 'withdraw' | 'deposit';
        holdVoided: boolean;
        voidId: string | null;
      };
    };

export type TransferEventType = TransferEvent['type'];

/** An event as evolve sees it: the stored event's type, data and time. */
export type TimedTransferEvent = TransferEvent & { recordedAt: Date };

export interface TransferState {
  /** NONE: the stream has no events. */
  status: TransferStatus | 'NONE';
  request: TransferRequestedData | null;
  amountMinor: bigint;
  reason: FailureReason | null;
  steps: Array<{ type: TransferEventType; time: string }>;
}

export function initialTransferState(): TransferState {
  return { status: 'NONE', request: null, amountMinor: 0n, reason: null, steps: [] };
}

/** Folds one event into the state. Each event is legal only in the status the saga gives it. */
export function evolveTransfer(state: TransferState, event: TimedTransferEvent): TransferState {
  const steps = [...state.steps, { type: event.type, time: event.recordedAt.toISOString() }];
  switch (event.type) {
    case 'TransferRequested':
      assertStatus(state, ['NONE'], event.type);
      return {
        ...state,
        status: 'RECEIVED',
        request: event.data,
        amountMinor: BigInt(event.data.amountMinor),
        steps,
      };
    case 'WithdrawalStarted':
      assertStatus(state, ['RECEIVED'], event.type);
      return { ...state, status: 'WITHDRAWING', steps };
    case 'WithdrawalHeld':
      assertStatus(state, ['WITHDRAWING'], event.type);
      return { ...state, status: 'DEPOSITING', steps };
    case 'Deposited':
      assertStatus(state, ['DEPOSITING'], event.type);
      return { ...state, steps };
    case 'TransferCompleted':
      assertStatus(state, ['DEPOSITING'], event.type);
      return { ...state, status: 'COMPLETED', steps };
    case 'TransferFailed':
      assertStatus(state, ['WITHDRAWING', 'DEPOSITING'], event.type);
      return { ...state, status: 'FAILED', reason: event.data.reason, steps };
    default: {
      const unknown: never = event;
      throw new Error(`unknown transfer event ${JSON.stringify(unknown)}`);
    }
  }
}

function assertStatus(state: TransferState, allowed: TransferState['status'][], type: string): void {
  assert(allowed.includes(state.status), `${type} cannot follow status ${state.status}`);
}

export function isFinal(status: TransferState['status']): boolean {
  return status === 'COMPLETED' || status === 'FAILED';
}

/** The bus step that moves a transfer on from `status`; undefined when it is final (or absent). */
export function nextStep(status: TransferState['status']): 'withdraw' | 'deposit' | undefined {
  switch (status) {
    case 'RECEIVED':
    case 'WITHDRAWING':
      return 'withdraw';
    case 'DEPOSITING':
      return 'deposit';
    default:
      return undefined;
  }
}

export type HoldOutcome = { kind: 'held' } | { kind: 'refused'; reason: FailureReason };

/** What the result of placing the withdrawal hold means for the saga. */
export function holdOutcome(result: TransferResult): HoldOutcome {
  switch (result) {
    case 'ok':
    case 'exists':
      return { kind: 'held' };
    case 'exceeds_credits':
      return { kind: 'refused', reason: 'insufficient_funds' };
    case 'debit_account_closed':
      return { kind: 'refused', reason: 'source_account_closed' };
    case 'debit_account_not_found':
      return { kind: 'refused', reason: 'source_account_not_found' };
    default:
      assertNotAConflict(result, 'hold');
      return { kind: 'refused', reason: `ledger_refused_${result}` };
  }
}

export type DepositOutcome = { kind: 'done' } | { kind: 'refused'; reason: FailureReason };

/**
 * What the linked pair [deposit clearing → target, post of the hold] returned. The pair commits
 * whole or not at all, so a deposit that `exists` means its post exists too (a repeated step).
 */
export function depositOutcome(results: readonly TransferResult[]): DepositOutcome {
  assert(results.length === 2, `the deposit pair has two results, got ${results.length}`);
  const [deposit, post] = results as [TransferResult, TransferResult];
  if (deposit === 'ok' && post === 'ok') return { kind: 'done' };
  if (deposit === 'exists') return { kind: 'done' };
  const cause = deposit === 'linked_event_failed' ? post : deposit;
  assertNotAConflict(cause, 'deposit');
  assert(cause !== 'pending_transfer_already_posted', 'a hold was posted without its deposit');
  switch (cause) {
    case 'credit_account_closed':
      return { kind: 'refused', reason: 'target_account_closed' };
    case 'credit_account_not_found':
      return { kind: 'refused', reason: 'target_account_not_found' };
    case 'pending_transfer_expired':
    case 'pending_transfer_already_voided':
      return { kind: 'refused', reason: 'hold_expired' };
    default:
      return { kind: 'refused', reason: `ledger_refused_${cause}` };
  }
}

/**
 * What voiding the hold (compensation) returned: `released` when the hold no longer holds money
 * (voided now, before, or by expiry, or never placed), `posted` when a racing delivery of the
 * deposit step posted it first (the transfer completes instead).
 */
export function voidOutcome(result: TransferResult): 'released' | 'posted' {
  switch (result) {
    case 'ok':
    case 'exists':
    case 'pending_transfer_already_voided':
    case 'pending_transfer_expired':
    case 'pending_transfer_not_found':
      return 'released';
    case 'pending_transfer_already_posted':
      return 'posted';
    default:
      throw new Error(`invariant violated: voiding a transfer hold returned ${result}`);
  }
}

/** A saga id reused with different fields is a bug in id derivation, never a business outcome. */
function assertNotAConflict(result: TransferResult, what: string): void {
  assert(
    !result.startsWith('exists_with_different'),
    `${what} posting id reused with other fields: ${result}`,
  );
}
