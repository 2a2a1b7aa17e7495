import { expect } from 'vitest';
import {
  type AccountBalance,
  type AccountInput,
  type AccountResult,
  MemoryLedger,
  type TransferInput,
  type TransferResult,
} from '../../../../src/banking/ledger/index.ts';
import { ManualClock } from '../../../../src/platform/clock.ts';

/*
 * Given / when / then over the pure cores (through MemoryLedger, which adds nothing but Maps):
 *   given(accounts('A', 'B'), fund('B', 100n)).when(transfer('t', 'A', 'B', 5n)).then('ok')
 * Names stand for UUIDs, so scenarios read as prose.
 */

const uuids = new Map<string, string>();

/** The UUID a test name stands for (the same name always gives the same UUID). */
export function uuid(name: string): string {
  let id = uuids.get(name);
  if (id === undefined) {
    id = `00000000-0000-4000-8000-${(uuids.size + 1).toString(16).padStart(12, '0')}`;
    uuids.set(name, id);
  }
  return id;
}

export const usd = 1;
export const jpy = 2;
/** A system account with no limit: the source of funds in scenarios. */
export const bank = 'bank';

type Setup = { accounts?: AccountInput[]; transfers?: TransferInput[] };

/** Plain accounts on the USD ledger, unless options say otherwise. */
export function accounts(...names: string[]): Setup {
  return { accounts: names.map((name) => account(name)) };
}

export function account(name: string, options: Partial<Omit<AccountInput, 'id'>> = {}): AccountInput {
  return { id: uuid(name), ledger: usd, code: 1, owner: `owner:${name}`, ...options };
}

/** A customer account: debits may never exceed credits. */
export function customer(name: string, options: Partial<Omit<AccountInput, 'id'>> = {}): AccountInput {
  return account(name, { flags: { debitsMustNotExceedCredits: true }, ...options });
}

export function transfer(
  id: string,
  debit: string,
  credit: string,
  amount: bigint,
  extra: Partial<TransferInput> = {},
): TransferInput {
  return {
    id: uuid(id),
    debitAccountId: uuid(debit),
    creditAccountId: uuid(credit),
    amount,
    ledger: usd,
    code: 1,
    ...extra,
  };
}

export function hold(
  id: string,
  debit: string,
  credit: string,
  amount: bigint,
  extra: Partial<TransferInput> = {},
) {
  return transfer(id, debit, credit, amount, { ...extra, flags: { pending: true, ...extra.flags } });
}

export function post(id: string, pending: string, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: uuid(id), pendingId: uuid(pending), ...extra, flags: { postPending: true, ...extra.flags } };
}

export function voidHold(id: string, pending: string, extra: Partial<TransferInput> = {}): TransferInput {
  return { id: uuid(id), pendingId: uuid(pending), ...extra, flags: { voidPending: true, ...extra.flags } };
}

/** Credits `name` from the bank account. */
export function fund(name: string, amount: bigint): Setup {
  return { transfers: [transfer(`fund:${name}:${amount}:${uuids.size}`, bank, name, amount)] };
}

export function balance(parts: Partial<AccountBalance>): AccountBalance {
  return { debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n, ...parts };
}

export class Scenario {
  readonly clock = new ManualClock('2026-01-01T00:00:00.000Z');
  readonly ledger = new MemoryLedger({ clock: this.clock });
  #last: TransferResult[] = [];

  constructor(setups: Setup[]) {
    const bankAccount = account(bank);
    expect(this.ledger.createAccounts([bankAccount])).toEqual(['ok']);
    for (const setup of setups) this.apply(setup);
  }

  /** Applies setup events, which must all succeed. */
  apply(setup: Setup): this {
    const accountResults = this.ledger.createAccounts(setup.accounts ?? []);
    expect(accountResults, 'given accounts').toEqual(accountResults.map(() => 'ok'));
    const transferResults = this.ledger.createTransfers(setup.transfers ?? []);
    expect(transferResults, 'given transfers').toEqual(transferResults.map(() => 'ok'));
    return this;
  }

  when(...transfers: TransferInput[]): this {
    this.#last = this.ledger.createTransfers(transfers);
    return this;
  }

  whenAccounts(...inputs: AccountInput[]): AccountResult[] {
    return this.ledger.createAccounts(inputs);
  }

  /** Then: the results of the last `when`, one per transfer. */
  yields(...results: TransferResult[]): this {
    expect(this.#last).toEqual(results);
    return this;
  }

  thenBalance(name: string, expected: Partial<AccountBalance>): this {
    expect(this.ledger.getAccountBalance(uuid(name)), `balance of ${name}`).toEqual(balance(expected));
    return this;
  }

  advanceSeconds(seconds: number): this {
    this.clock.advance(seconds * 1000);
    return this;
  }

  sweep(expected: number): this {
    expect(this.ledger.expirePendingTransfers(this.clock.now())).toBe(expected);
    return this;
  }
}

export function given(...setups: Setup[]): Scenario {
  return new Scenario(setups);
}
