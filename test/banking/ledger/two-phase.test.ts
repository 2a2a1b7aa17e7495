import { describe, it } from 'vitest';
import { accounts, customer, fund, given, hold, post, transfer, uuid, voidHold } from './support/scenario.ts';

describe('two-phase transfers', () => {
  const held = () =>
    given({ accounts: [customer('C')] }, accounts('M'), fund('C', 100n), {
      transfers: [hold('h', 'C', 'M', 60n)],
    });

  it('a hold moves the amount into the pending columns only', () => {
    held()
      .thenBalance('C', { debitsPending: 60n, creditsPosted: 100n })
      .thenBalance('M', { creditsPending: 60n });
  });

  it('posting in full moves the hold to posted', () => {
    held()
      .when(post('p', 'h'))
      .yields('ok')
      .thenBalance('C', { debitsPosted: 60n, creditsPosted: 100n })
      .thenBalance('M', { creditsPosted: 60n });
  });

  it('a partial post posts the amount named and releases the rest', () => {
    held()
      .when(post('p', 'h', { amount: 25n }))
      .yields('ok')
      .thenBalance('C', { debitsPosted: 25n, creditsPosted: 100n })
      .thenBalance('M', { creditsPosted: 25n });
  });

  it('voiding releases the whole hold', () => {
    held()
      .when(voidHold('v', 'h'))
      .yields('ok')
      .thenBalance('C', { creditsPosted: 100n })
      .thenBalance('M', {});
  });

  it('a hold resolves once: a second post, a post after a void, a void after a post are refused', () => {
    held().when(post('p', 'h')).yields('ok').when(post('p2', 'h')).yields('pending_transfer_already_posted');
    held()
      .when(voidHold('v', 'h'))
      .yields('ok')
      .when(post('p2', 'h'))
      .yields('pending_transfer_already_voided');
    held()
      .when(post('p', 'h'))
      .yields('ok')
      .when(voidHold('v', 'h'))
      .yields('pending_transfer_already_posted');
  });

  it('replaying the post is idempotent: exists, and nothing moves twice', () => {
    held()
      .when(post('p', 'h', { amount: 10n }))
      .yields('ok')
      .when(post('p', 'h', { amount: 10n }))
      .yields('exists')
      .when(post('p', 'h'))
      .yields('exists')
      .when(post('p', 'h', { amount: 11n }))
      .yields('exists_with_different_amount')
      .thenBalance('C', { debitsPosted: 10n, creditsPosted: 100n });
  });

  it('the fields a post may omit must match when given', () => {
    held()
      .when(post('p', 'h', { debitAccountId: uuid('M') }))
      .yields('pending_transfer_has_different_debit_account_id');
    held()
      .when(post('p', 'h', { debitAccountId: uuid('C'), creditAccountId: uuid('M') }))
      .yields('ok');
  });

  it('a held amount cannot be spent twice', () => {
    held()
      .when(transfer('t', 'C', 'M', 41n))
      .yields('exceeds_credits')
      .when(transfer('t2', 'C', 'M', 40n))
      .yields('ok');
  });

  it('a hold and its post can share one batch', () => {
    given({ accounts: [customer('C')] }, accounts('M'), fund('C', 100n))
      .when(hold('h', 'C', 'M', 60n), post('p', 'h', { amount: 50n }))
      .yields('ok', 'ok')
      .thenBalance('C', { debitsPosted: 50n, creditsPosted: 100n });
  });
});

describe('pending timeouts', () => {
  const timed = () =>
    given({ accounts: [customer('C')] }, accounts('M'), fund('C', 100n), {
      transfers: [hold('h', 'C', 'M', 60n, { timeoutSeconds: 30 })],
    });

  it('a hold can be posted before its timeout', () => {
    timed().advanceSeconds(29).when(post('p', 'h')).yields('ok');
  });

  it('posting or voiding at or after the timeout is refused as expired, even before the sweep', () => {
    timed().advanceSeconds(30).when(post('p', 'h')).yields('pending_transfer_expired');
    timed().advanceSeconds(31).when(voidHold('v', 'h')).yields('pending_transfer_expired');
  });

  it('the sweep voids expired holds with a new void transfer, once', () => {
    timed()
      .advanceSeconds(29)
      .sweep(0)
      .advanceSeconds(1)
      .sweep(1)
      .sweep(0)
      .thenBalance('C', { creditsPosted: 100n })
      .thenBalance('M', {})
      .when(post('p', 'h'))
      .yields('pending_transfer_expired');
  });

  it('the sweep leaves holds without a timeout and resolved holds alone', () => {
    given({ accounts: [customer('C')] }, accounts('M'), fund('C', 100n), {
      transfers: [
        hold('forever', 'C', 'M', 10n),
        hold('h', 'C', 'M', 20n, { timeoutSeconds: 5 }),
        post('p', 'h'),
      ],
    })
      .advanceSeconds(3_600)
      .sweep(0)
      .thenBalance('C', { debitsPending: 10n, debitsPosted: 20n, creditsPosted: 100n });
  });

  it('only a pending transfer may carry a timeout', () => {
    given(accounts('A', 'B'))
      .when(transfer('t', 'A', 'B', 1n, { timeoutSeconds: 1 }))
      .yields('timeout_reserved_for_pending_transfer');
  });
});

describe('closing accounts', () => {
  const closed = () =>
    given(accounts('A', 'B', 'S'), fund('A', 100n), {
      transfers: [hold('old', 'A', 'B', 5n), hold('close', 'A', 'S', 1n, { flags: { closingDebit: true } })],
    });

  it('a closing hold closes the account: no new transfer either way', () => {
    closed()
      .when(transfer('out', 'A', 'B', 1n))
      .yields('debit_account_closed');
    closed()
      .when(transfer('in', 'B', 'A', 1n))
      .yields('credit_account_closed');
  });

  it('a closed account still lets holds be voided, but not posted', () => {
    closed().when(post('p', 'old')).yields('debit_account_closed').when(voidHold('v', 'old')).yields('ok');
  });

  it('voiding the closing hold reopens the account; posting it keeps it closed', () => {
    closed()
      .when(voidHold('v', 'close'))
      .yields('ok')
      .when(transfer('out', 'A', 'B', 1n))
      .yields('ok');
    closed()
      .when(post('p', 'close'))
      .yields('ok')
      .when(transfer('out', 'A', 'B', 1n))
      .yields('debit_account_closed');
  });

  it('a closing transfer must be pending', () => {
    given(accounts('A', 'B'))
      .when(transfer('t', 'A', 'B', 1n, { flags: { closingCredit: true } }))
      .yields('closing_transfer_must_be_pending');
  });
});
