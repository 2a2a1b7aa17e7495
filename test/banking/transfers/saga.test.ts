import { describe, expect, it } from 'vitest';
import { type StreamView, showStream } from '../../../src/banking/admin/stream-views.ts';
import { postingId, transferIdForKey } from '../../../src/banking/transfers/ledger-ids.ts';
import {
  depositOutcome,
  evolveTransfer,
  holdOutcome,
  initialTransferState,
  nextStep,
  type TransferEvent,
  type TransferState,
  voidOutcome,
} from '../../../src/banking/transfers/saga.ts';

const at = new Date('2026-11-22T09:00:00.000Z');
const requested: TransferEvent = {
  type: 'TransferRequested',
  data: {
    transferId: '0190a0b0-0000-7000-8000-000000000001',
    sourceAccountId: '0190a0b0-0000-7000-8000-000000000002',
    targetAccountId: '0190a0b0-0000-7000-8000-000000000003',
    sourceCustomerId: '0190a0b0-0000-7000-8000-000000000004',
    targetCustomerId: '0190a0b0-0000-7000-8000-000000000005',
    sourceAccountNumber: '00100000017',
    targetAccountNumber: '00100000025',
    amountMinor: '1500',
    currency: 'JPY',
    description: null,
    requestedBy: '0190a0b0-0000-7000-8000-000000000006',
  },
};

function given(...events: TransferEvent[]): TransferState {
  return events.reduce(
    (state, event) => evolveTransfer(state, { ...event, recordedAt: at }),
    initialTransferState(),
  );
}

describe('transfer saga state', () => {
  it('walks RECEIVED → WITHDRAWING → DEPOSITING → COMPLETED', () => {
    const state = given(
      requested,
      { type: 'WithdrawalStarted', data: { holdId: 'h' } },
      { type: 'WithdrawalHeld', data: { holdId: 'h' } },
      { type: 'Deposited', data: { depositId: 'd', postId: 'p' } },
      { type: 'TransferCompleted', data: {} },
    );
    expect(state.status).toBe('COMPLETED');
    expect(state.amountMinor).toBe(1500n);
    expect(state.steps.map((step) => step.type)).toHaveLength(5);
  });

  it('refuses an event out of order as a broken invariant', () => {
    expect(() => given(requested, { type: 'WithdrawalHeld', data: { holdId: 'h' } })).toThrow(/invariant/);
    expect(() => given(requested, { type: 'TransferCompleted', data: {} })).toThrow(/invariant/);
    expect(() => given({ type: 'WithdrawalStarted', data: { holdId: 'h' } })).toThrow(/invariant/);
  });

  it('records why a transfer failed', () => {
    const state = given(
      requested,
      { type: 'WithdrawalStarted', data: { holdId: 'h' } },
      {
        type: 'TransferFailed',
        data: { reason: 'insufficient_funds', step: 'withdraw', holdVoided: false, voidId: null },
      },
    );
    expect(state).toMatchObject({ status: 'FAILED', reason: 'insufficient_funds' });
    expect(nextStep(state.status)).toBeUndefined();
  });

  it('names the step that moves each status on', () => {
    expect(['RECEIVED', 'WITHDRAWING', 'DEPOSITING', 'COMPLETED'].map((s) => nextStep(s as never))).toEqual([
      'withdraw',
      'withdraw',
      'deposit',
      undefined,
    ]);
  });
});

describe('decisions on ledger results', () => {
  it('maps hold results', () => {
    expect(holdOutcome('ok')).toEqual({ kind: 'held' });
    expect(holdOutcome('exists')).toEqual({ kind: 'held' });
    expect(holdOutcome('exceeds_credits')).toEqual({ kind: 'refused', reason: 'insufficient_funds' });
    expect(holdOutcome('debit_account_closed')).toEqual({ kind: 'refused', reason: 'source_account_closed' });
    expect(() => holdOutcome('exists_with_different_amount')).toThrow(/invariant/);
  });

  it('maps the linked deposit pair', () => {
    expect(depositOutcome(['ok', 'ok'])).toEqual({ kind: 'done' });
    expect(depositOutcome(['exists', 'linked_event_failed'])).toEqual({ kind: 'done' });
    expect(depositOutcome(['credit_account_closed', 'linked_event_failed'])).toEqual({
      kind: 'refused',
      reason: 'target_account_closed',
    });
    expect(depositOutcome(['linked_event_failed', 'pending_transfer_expired'])).toEqual({
      kind: 'refused',
      reason: 'hold_expired',
    });
    expect(() => depositOutcome(['linked_event_failed', 'pending_transfer_already_posted'])).toThrow(
      /invariant/,
    );
  });

  it('maps the compensation void', () => {
    for (const result of [
      'ok',
      'exists',
      'pending_transfer_already_voided',
      'pending_transfer_not_found',
    ] as const) {
      expect(voidOutcome(result)).toBe('released');
    }
    expect(voidOutcome('pending_transfer_already_posted')).toBe('posted');
    expect(() => voidOutcome('exceeds_credits')).toThrow(/invariant/);
  });

  it('derives the same ledger ids for the same transfer and step, and different ones otherwise', () => {
    const id = requested.data.transferId;
    expect(postingId(id, 'hold')).toBe(postingId(id, 'hold'));
    expect(new Set(['hold', 'post', 'deposit', 'void'].map((s) => postingId(id, s as never))).size).toBe(4);
    expect(postingId(id, 'hold')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(transferIdForKey('user:a POST /api/transfers', 'k')).not.toBe(
      transferIdForKey('user:b POST /api/transfers', 'k'),
    );
  });
});

describe('stream views', () => {
  it('folds masked events, so personal data reaches neither data nor state', () => {
    const view: StreamView<{ names: string[] }> = {
      category: 'example',
      initialState: () => ({ names: [] }),
      evolve: (state, event) => ({ names: [...state.names, (event.data as { name: string }).name] }),
      mask: (event) => ({ ...(event.data as object), name: '***' }),
    };
    const shown = showStream(view as StreamView<unknown>, [
      {
        version: 1n,
        type: 'Applied',
        data: { name: 'Taro Yamada', amount: 5n },
        metadata: {},
        recordedAt: at,
      },
    ]);
    expect(JSON.stringify(shown)).not.toContain('Taro');
    expect(shown[0]).toEqual({
      version: '1',
      time: at.toISOString(),
      type: 'Applied',
      data: { name: '***', amount: '5' },
      state: { names: ['***'] },
    });
  });
});
