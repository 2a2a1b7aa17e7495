import { describe, it } from 'vitest';
import {
  account,
  accounts,
  customer,
  fund,
  given,
  hold,
  post,
  transfer,
  voidHold,
} from './support/scenario.ts';

const linked = { flags: { linked: true } };

describe('linked chains', () => {
  const world = () => given({ accounts: [customer('C')] }, accounts('M', 'F'), fund('C', 100n));

  it('a chain that succeeds applies every transfer', () => {
    world()
      .when(transfer('a', 'C', 'M', 60n, linked), transfer('b', 'C', 'F', 40n))
      .yields('ok', 'ok')
      .thenBalance('C', { debitsPosted: 100n, creditsPosted: 100n });
  });

  it('one failure fails the chain: the failing transfer says why, the rest get linked_event_failed', () => {
    world()
      .when(
        transfer('a', 'C', 'M', 60n, linked),
        transfer('b', 'C', 'F', 30n, linked),
        transfer('c', 'C', 'F', 20n, linked),
        transfer('d', 'M', 'F', 1n),
      )
      .yields('linked_event_failed', 'linked_event_failed', 'exceeds_credits', 'linked_event_failed')
      .thenBalance('C', { creditsPosted: 100n })
      .thenBalance('M', {});
  });

  it('chains are independent of the transfers around them', () => {
    world()
      .when(
        transfer('before', 'M', 'F', 1n),
        transfer('a', 'C', 'M', 60n, linked),
        transfer('b', 'C', 'F', 60n),
        transfer('after', 'C', 'F', 60n),
      )
      .yields('ok', 'linked_event_failed', 'exceeds_credits', 'ok')
      .thenBalance('C', { debitsPosted: 60n, creditsPosted: 100n });
  });

  it('the ids of a failed chain are not taken: the corrected chain succeeds', () => {
    world()
      .when(transfer('a', 'C', 'M', 60n, linked), transfer('b', 'C', 'F', 60n))
      .yields('linked_event_failed', 'exceeds_credits')
      .when(transfer('a', 'C', 'M', 60n, linked), transfer('b', 'C', 'F', 40n))
      .yields('ok', 'ok');
  });

  it('replaying a committed chain: the first is exists, which (as in TigerBeetle) fails the rest', () => {
    world()
      .when(transfer('a', 'C', 'M', 10n, linked), transfer('b', 'C', 'F', 10n))
      .yields('ok', 'ok')
      .when(transfer('a', 'C', 'M', 10n, linked), transfer('b', 'C', 'F', 10n))
      .yields('exists', 'linked_event_failed')
      .thenBalance('C', { debitsPosted: 20n, creditsPosted: 100n });
  });

  it('a batch may not end inside a chain', () => {
    world()
      .when(
        transfer('a', 'C', 'M', 1n),
        transfer('b', 'C', 'M', 1n, linked),
        transfer('c', 'C', 'M', 1n, linked),
      )
      .yields('ok', 'linked_event_failed', 'linked_event_chain_open')
      .thenBalance('C', { debitsPosted: 1n, creditsPosted: 100n });
  });

  it('a hold and its post in one chain roll back together', () => {
    world()
      .when(hold('h', 'C', 'M', 50n, linked), post('p', 'h', linked), transfer('x', 'C', 'F', 51n))
      .yields('linked_event_failed', 'linked_event_failed', 'exceeds_credits')
      .thenBalance('C', { creditsPosted: 100n })
      .when(post('p2', 'h'))
      .yields('pending_transfer_not_found');
  });

  it('the same id twice in one batch: the second is exists', () => {
    world()
      .when(transfer('a', 'C', 'M', 1n), transfer('a', 'C', 'M', 1n))
      .yields('ok', 'exists');
  });
});

describe('balance limits', () => {
  it('debits_must_not_exceed_credits counts pending debits, and only posted credits', () => {
    given({ accounts: [customer('C')] }, accounts('M'), fund('C', 100n), {
      transfers: [hold('in', 'M', 'C', 500n)],
    })
      .when(hold('h', 'C', 'M', 70n))
      .yields('ok')
      .when(transfer('t', 'C', 'M', 31n))
      .yields('exceeds_credits')
      .when(transfer('t', 'C', 'M', 30n))
      .yields('ok')
      .thenBalance('C', { debitsPending: 70n, debitsPosted: 30n, creditsPending: 500n, creditsPosted: 100n });
  });

  it('credits_must_not_exceed_debits caps what an account may receive', () => {
    given({ accounts: [account('K', { flags: { creditsMustNotExceedDebits: true } })] }, accounts('M'), {
      transfers: [transfer('out', 'K', 'M', 10n)],
    })
      .when(transfer('in', 'M', 'K', 11n))
      .yields('exceeds_debits')
      .when(transfer('in', 'M', 'K', 10n))
      .yields('ok');
  });

  it('a voided hold gives its amount back to spend', () => {
    given({ accounts: [customer('C')] }, accounts('M'), fund('C', 10n), {
      transfers: [hold('h', 'C', 'M', 10n)],
    })
      .when(transfer('t', 'C', 'M', 1n))
      .yields('exceeds_credits')
      .when(voidHold('v', 'h'), transfer('t', 'C', 'M', 10n))
      .yields('ok', 'ok');
  });

  it('an account cannot have both limit flags', () => {
    const scenario = given();
    const results = scenario.whenAccounts(
      account('X', { flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true } }),
    );
    if (results[0] !== 'flags_are_mutually_exclusive') throw new Error(`got ${results[0]}`);
  });
});
