import { describe, expect, it } from 'vitest';
import {
  type TransferInput,
  type TransferResult,
  transferResults,
} from '../../../src/banking/ledger/index.ts';
import { ledgerLimits } from '../../../src/banking/ledger/limits.ts';
import {
  account,
  accounts,
  customer,
  fund,
  given,
  hold,
  jpy,
  post,
  type Scenario,
  transfer,
  uuid,
  voidHold,
} from './support/scenario.ts';

const max = ledgerLimits.amountMinorMax;
const half = max / 2n; // 2^62 - 1: two of them still fit, a third unit does not

/** A world most cases start from: plain A, B, D, E; A on JPY as J; limit-flagged L and K; funded L. */
function world(): Scenario {
  return given(
    accounts('A', 'B', 'D', 'E'),
    {
      accounts: [
        account('J', { ledger: jpy }),
        customer('L'),
        account('K', { flags: { creditsMustNotExceedDebits: true } }),
      ],
    },
    {
      transfers: [
        transfer('t1', 'A', 'B', 10n, { reference: 'order-1' }),
        hold('p1', 'A', 'B', 50n, { timeoutSeconds: 60 }),
      ],
    },
    { transfers: [hold('p2', 'A', 'B', 70n), transfer('q1', 'D', 'E', 5n), post('posted', 'p2')] },
    { transfers: [hold('p3', 'A', 'B', 30n), voidHold('voided', 'p3')] },
  );
}

/** One case per result: the transfer that produces it from world(), plus any extra setup. */
const cases: Array<{
  result: TransferResult;
  when: TransferInput[];
  setup?: (s: Scenario) => void;
  expect?: TransferResult[];
}> = [
  { result: 'ok', when: [transfer('new', 'A', 'B', 1n)] },
  {
    result: 'linked_event_failed',
    when: [transfer('c1', 'A', 'B', 1n, { flags: { linked: true } }), transfer('c2', 'A', 'B', 0n)],
    expect: ['linked_event_failed', 'amount_must_not_be_zero'],
  },
  { result: 'linked_event_chain_open', when: [transfer('open', 'A', 'B', 1n, { flags: { linked: true } })] },
  { result: 'reserved_flag', when: [transfer('r', 'A', 'B', 1n, { flags: { bogus: true } as never })] },
  { result: 'id_must_be_uuid', when: [{ ...transfer('x', 'A', 'B', 1n), id: 'not-a-uuid' }] },
  {
    result: 'id_must_not_be_zero',
    when: [{ ...transfer('x', 'A', 'B', 1n), id: '00000000-0000-0000-0000-000000000000' }],
  },
  {
    result: 'exists_with_different_flags',
    when: [transfer('t1', 'A', 'B', 10n, { flags: { pending: true } })],
  },
  { result: 'exists_with_different_pending_id', when: [post('posted', 'p1')] },
  { result: 'exists_with_different_timeout', when: [hold('p1', 'A', 'B', 50n, { timeoutSeconds: 61 })] },
  { result: 'exists_with_different_debit_account_id', when: [transfer('t1', 'D', 'B', 10n)] },
  { result: 'exists_with_different_credit_account_id', when: [transfer('t1', 'A', 'D', 10n)] },
  { result: 'exists_with_different_amount', when: [transfer('t1', 'A', 'B', 11n, { reference: 'order-1' })] },
  {
    result: 'exists_with_different_reference',
    when: [transfer('t1', 'A', 'B', 10n, { reference: 'order-2' })],
  },
  {
    result: 'exists_with_different_ledger',
    when: [transfer('t1', 'A', 'B', 10n, { reference: 'order-1', ledger: 9 })],
  },
  {
    result: 'exists_with_different_code',
    when: [transfer('t1', 'A', 'B', 10n, { reference: 'order-1', code: 9 })],
  },
  { result: 'exists', when: [transfer('t1', 'A', 'B', 10n, { reference: 'order-1' })] },
  {
    result: 'flags_are_mutually_exclusive',
    when: [hold('x', 'A', 'B', 1n, { flags: { voidPending: true } })],
  },
  {
    result: 'debit_account_id_must_be_uuid',
    when: [{ ...transfer('x', 'A', 'B', 1n), debitAccountId: 'nope' }],
  },
  {
    result: 'credit_account_id_must_be_uuid',
    when: [{ ...transfer('x', 'A', 'B', 1n), creditAccountId: undefined }],
  },
  { result: 'accounts_must_be_different', when: [transfer('x', 'A', 'A', 1n)] },
  { result: 'pending_id_must_be_zero', when: [transfer('x', 'A', 'B', 1n, { pendingId: uuid('p1') })] },
  { result: 'pending_id_must_not_be_zero', when: [{ id: uuid('x'), flags: { postPending: true } }] },
  {
    result: 'pending_id_must_be_uuid',
    when: [{ id: uuid('x'), pendingId: 'nope', flags: { postPending: true } }],
  },
  { result: 'pending_id_must_be_different', when: [post('x', 'x')] },
  {
    result: 'timeout_reserved_for_pending_transfer',
    when: [transfer('x', 'A', 'B', 1n, { timeoutSeconds: 5 })],
  },
  { result: 'timeout_must_be_whole_seconds', when: [hold('x', 'A', 'B', 1n, { timeoutSeconds: 1.5 })] },
  {
    result: 'closing_transfer_must_be_pending',
    when: [transfer('x', 'A', 'B', 1n, { flags: { closingDebit: true } })],
  },
  { result: 'amount_must_not_be_zero', when: [transfer('x', 'A', 'B', 0n)] },
  { result: 'amount_must_not_be_negative', when: [transfer('x', 'A', 'B', -1n)] },
  { result: 'reference_too_long', when: [transfer('x', 'A', 'B', 1n, { reference: 'r'.repeat(129) })] },
  { result: 'ledger_must_not_be_zero', when: [transfer('x', 'A', 'B', 1n, { ledger: 0 })] },
  { result: 'ledger_out_of_range', when: [transfer('x', 'A', 'B', 1n, { ledger: -1 })] },
  { result: 'code_must_not_be_zero', when: [transfer('x', 'A', 'B', 1n, { code: 0 })] },
  { result: 'code_out_of_range', when: [transfer('x', 'A', 'B', 1n, { code: 65_536 })] },
  { result: 'debit_account_not_found', when: [transfer('x', 'nobody', 'B', 1n)] },
  { result: 'credit_account_not_found', when: [transfer('x', 'A', 'nobody', 1n)] },
  { result: 'accounts_must_have_the_same_ledger', when: [transfer('x', 'A', 'J', 1n)] },
  {
    result: 'transfer_must_have_the_same_ledger_as_accounts',
    when: [transfer('x', 'A', 'B', 1n, { ledger: jpy })],
  },
  { result: 'pending_transfer_not_found', when: [post('x', 'nothing')] },
  { result: 'pending_transfer_not_pending', when: [post('x', 't1')] },
  {
    result: 'pending_transfer_has_different_debit_account_id',
    when: [post('x', 'p1', { debitAccountId: uuid('D') })],
  },
  {
    result: 'pending_transfer_has_different_credit_account_id',
    when: [post('x', 'p1', { creditAccountId: uuid('D') })],
  },
  { result: 'pending_transfer_has_different_ledger', when: [post('x', 'p1', { ledger: jpy })] },
  { result: 'pending_transfer_has_different_code', when: [post('x', 'p1', { code: 2 })] },
  { result: 'exceeds_pending_transfer_amount', when: [post('x', 'p1', { amount: 51n })] },
  { result: 'pending_transfer_has_different_amount', when: [voidHold('x', 'p1', { amount: 49n })] },
  { result: 'pending_transfer_already_posted', when: [voidHold('x', 'p2')] },
  { result: 'pending_transfer_already_voided', when: [post('x', 'p3')] },
  { result: 'pending_transfer_expired', when: [post('x', 'p1')], setup: (s) => s.advanceSeconds(60) },
  {
    result: 'debit_account_closed',
    when: [transfer('x', 'A', 'B', 1n)],
    setup: (s) => s.apply({ transfers: [hold('close', 'A', 'E', 1n, { flags: { closingDebit: true } })] }),
  },
  {
    result: 'credit_account_closed',
    when: [transfer('x', 'A', 'B', 1n)],
    setup: (s) => s.apply({ transfers: [hold('close', 'E', 'B', 1n, { flags: { closingCredit: true } })] }),
  },
  {
    result: 'overflows_debits_pending',
    when: [hold('x', 'D', 'B', 6n)],
    setup: (s) => s.apply({ transfers: [hold('big', 'D', 'E', max - 5n)] }),
  },
  {
    result: 'overflows_credits_pending',
    when: [hold('x', 'A', 'E', 6n)],
    setup: (s) => s.apply({ transfers: [hold('big', 'D', 'E', max - 5n)] }),
  },
  {
    result: 'overflows_debits_posted',
    when: [transfer('x', 'D', 'B', 1n)],
    setup: (s) => s.apply({ transfers: [transfer('big', 'D', 'E', max - 5n)] }),
  },
  {
    result: 'overflows_credits_posted',
    when: [transfer('x', 'A', 'E', 1n)],
    setup: (s) => s.apply({ transfers: [transfer('big', 'D', 'E', max - 5n)] }),
  },
  {
    result: 'overflows_debits',
    when: [hold('x', 'D', 'A', 6n)],
    setup: (s) =>
      s.apply({ transfers: [hold('big1', 'D', 'E', half), transfer('big2', 'D', 'B', half - 5n)] }),
  },
  {
    result: 'overflows_credits',
    when: [hold('x', 'A', 'E', 6n)],
    setup: (s) =>
      s.apply({ transfers: [hold('big1', 'D', 'E', half), transfer('big2', 'B', 'E', half - 5n)] }),
  },
  {
    result: 'overflows_timeout',
    when: [hold('x', 'A', 'B', 1n, { timeoutSeconds: ledgerLimits.timeoutSecondsMax + 1 })],
  },
  { result: 'exceeds_credits', when: [transfer('x', 'L', 'B', 1n)] },
  { result: 'exceeds_debits', when: [transfer('x', 'A', 'K', 1n)] },
];

describe('decideTransfer: every result', () => {
  it('has a case for every result code', () => {
    expect(new Set(cases.map((c) => c.result))).toEqual(new Set(transferResults));
  });

  it.each(cases)('$result', ({ result, when, setup, expect: expected }) => {
    const scenario = world();
    setup?.(scenario);
    scenario.when(...when).yields(...(expected ?? [result]));
  });
});

/** Pairs where both outcomes apply: the first in precedence order must win. */
const precedence: Array<{ name: string; when: TransferInput; wins: TransferResult; over: TransferResult }> = [
  {
    name: 'a replay with a bad amount is judged as a replay',
    when: transfer('t1', 'A', 'B', 0n),
    wins: 'exists_with_different_amount',
    over: 'amount_must_not_be_zero',
  },
  {
    name: 'different flags are reported before a different amount',
    when: transfer('t1', 'A', 'B', 11n, { flags: { pending: true } }),
    wins: 'exists_with_different_flags',
    over: 'exists_with_different_amount',
  },
  {
    name: 'field errors come before lookups',
    when: transfer('x', 'nobody', 'B', 0n),
    wins: 'amount_must_not_be_zero',
    over: 'debit_account_not_found',
  },
  {
    name: 'a missing account comes before ledgers',
    when: transfer('x', 'J', 'nobody', 1n),
    wins: 'credit_account_not_found',
    over: 'accounts_must_have_the_same_ledger',
  },
  {
    name: 'a closed account comes before limits',
    when: transfer('x', 'L', 'B', 10n),
    wins: 'debit_account_closed',
    over: 'exceeds_credits',
  },
  {
    name: 'overflow comes before limits',
    when: transfer('x', 'L', 'B', max),
    wins: 'overflows_credits_posted',
    over: 'exceeds_credits',
  },
  {
    name: 'a too large partial post comes before an already posted hold',
    when: post('x', 'p2', { amount: 71n }),
    wins: 'exceeds_pending_transfer_amount',
    over: 'pending_transfer_already_posted',
  },
  {
    name: 'the pending mismatch comes before the hold expiry',
    when: post('x', 'p1', { code: 3 }),
    wins: 'pending_transfer_has_different_code',
    over: 'pending_transfer_expired',
  },
  {
    name: 'exceeds_credits comes before exceeds_debits',
    when: transfer('x', 'L', 'K', 1n),
    wins: 'exceeds_credits',
    over: 'exceeds_debits',
  },
];

describe('decideTransfer: precedence', () => {
  it.each(precedence)('$name', ({ when, wins, over }) => {
    expect(transferResults.indexOf(wins)).toBeLessThan(transferResults.indexOf(over));
    const scenario = world();
    // Close L (for the closed-account pair) only where that pair needs it; expire p1 for every pair.
    if (wins === 'debit_account_closed') {
      scenario
        .apply(fund('L', 5n))
        .apply({ transfers: [hold('closeL', 'L', 'E', 1n, { flags: { closingDebit: true } })] });
    }
    scenario.advanceSeconds(60).when(when).yields(wins);
  });
});
