import { describe, expect, it } from 'vitest';
import {
  type AccountInput,
  type AccountResult,
  accountResults,
  MemoryLedger,
} from '../../../src/banking/ledger/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import { account, uuid } from './support/scenario.ts';

/** Given the stored account 'S', when `inputs` are created, then `expected`. */
function whenCreating(inputs: AccountInput[]): AccountResult[] {
  const ledger = new MemoryLedger({ clock: new ManualClock() });
  expect(ledger.createAccounts([account('S', { code: 7, owner: 'alice' })])).toEqual(['ok']);
  return ledger.createAccounts(inputs);
}

const linked = { linked: true };
const cases: Array<{ result: AccountResult; when: AccountInput[]; expect?: AccountResult[] }> = [
  { result: 'ok', when: [account('new')] },
  {
    result: 'linked_event_failed',
    when: [account('n1', { flags: linked }), account('n2', { code: 0 })],
    expect: ['linked_event_failed', 'code_must_not_be_zero'],
  },
  { result: 'linked_event_chain_open', when: [account('n1', { flags: linked })] },
  { result: 'reserved_flag', when: [account('n1', { flags: { closed: true } as never })] },
  { result: 'id_must_be_uuid', when: [{ ...account('n1'), id: 'S' }] },
  { result: 'id_must_not_be_zero', when: [{ ...account('n1'), id: '00000000-0000-0000-0000-000000000000' }] },
  {
    result: 'exists_with_different_flags',
    when: [account('S', { code: 7, owner: 'alice', flags: { debitsMustNotExceedCredits: true } })],
  },
  { result: 'exists_with_different_owner', when: [account('S', { code: 7, owner: 'bob' })] },
  { result: 'exists_with_different_ledger', when: [account('S', { code: 7, owner: 'alice', ledger: 2 })] },
  { result: 'exists_with_different_code', when: [account('S', { code: 8, owner: 'alice' })] },
  { result: 'exists', when: [{ ...account('S', { code: 7, owner: 'alice' }), id: uuid('S').toUpperCase() }] },
  {
    result: 'flags_are_mutually_exclusive',
    when: [account('n1', { flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true } })],
  },
  { result: 'owner_must_not_be_empty', when: [account('n1', { owner: '' })] },
  { result: 'owner_too_long', when: [account('n1', { owner: 'o'.repeat(129) })] },
  { result: 'ledger_must_not_be_zero', when: [account('n1', { ledger: 0 })] },
  { result: 'ledger_out_of_range', when: [account('n1', { ledger: 2 ** 31 })] },
  { result: 'code_must_not_be_zero', when: [account('n1', { code: 0 })] },
  { result: 'code_out_of_range', when: [account('n1', { code: 1.5 })] },
];

describe('decideAccount: every result', () => {
  it('has a case for every result code', () => {
    expect(new Set(cases.map((c) => c.result))).toEqual(new Set(accountResults));
  });

  it.each(cases)('$result', ({ result, when, expect: expected }) => {
    expect(whenCreating(when)).toEqual(expected ?? [result]);
  });

  it('a replay with different fields is judged as a replay before its fields are checked', () => {
    expect(whenCreating([account('S', { code: 0, owner: 'alice' })])).toEqual(['exists_with_different_code']);
  });

  it('a failed linked chain creates none of its accounts', () => {
    const ledger = new MemoryLedger({ clock: new ManualClock() });
    expect(ledger.createAccounts([account('a1', { flags: linked }), account('a2', { owner: '' })])).toEqual([
      'linked_event_failed',
      'owner_must_not_be_empty',
    ]);
    expect(ledger.createAccounts([account('a1')])).toEqual(['ok']);
  });
});
