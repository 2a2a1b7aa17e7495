import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Ledger, ledgerLimits, type TransferInput } from '../../../src/banking/ledger/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { newId } from '../../../src/platform/ids.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { balance } from './support/scenario.ts';

let db: TestDatabase;
let clock: ManualClock;
let ledger: Ledger;

beforeAll(async () => {
  db = await createTestDatabase(12);
});
afterAll(() => db.drop());
beforeEach(() => {
  clock = new ManualClock('2026-03-01T09:00:00.000Z');
  ledger = new Ledger(db.pool, { clock });
});

/** Fresh accounts for one test: a bank account without limits and flagged customers. */
async function open(customers: number): Promise<{ bank: string; c: string[] }> {
  const bank = newId();
  const c = Array.from({ length: customers }, () => newId());
  const results = await ledger.createAccounts([
    { id: bank, ledger: 1, code: 9, owner: 'bank' },
    ...c.map((id, n) => ({
      id,
      ledger: 1,
      code: 1,
      owner: `customer-${n}`,
      flags: { debitsMustNotExceedCredits: true },
    })),
  ]);
  expect(results.every((r) => r === 'ok')).toBe(true);
  return { bank, c };
}

/** The account's history page; the account must exist. */
async function history(id: string, options: Parameters<Ledger['getAccountTransfers']>[1] = {}) {
  const page = await ledger.getAccountTransfers(id, options);
  if (!page) throw new Error(`no account ${id}`);
  return page;
}

function move(
  debit: string,
  credit: string,
  amount: bigint,
  extra: Partial<TransferInput> = {},
): TransferInput {
  return {
    id: newId(),
    debitAccountId: debit,
    creditAccountId: credit,
    amount,
    ledger: 1,
    code: 1,
    ...extra,
  };
}

describe('accounts', () => {
  it('creates, replays and looks up accounts in the order asked', async () => {
    const [a, b] = [newId(), newId()];
    const input = { id: a, ledger: 1, code: 1, owner: 'alice' };
    expect(await ledger.createAccounts([input, { ...input, id: b, owner: 'bob' }])).toEqual(['ok', 'ok']);
    expect(await ledger.createAccounts([input, { ...input, owner: 'eve' }])).toEqual([
      'exists',
      'exists_with_different_owner',
    ]);
    const found = await ledger.lookupAccounts([b, newId(), a.toUpperCase()]);
    expect(found.map((x) => x.owner)).toEqual(['bob', 'alice']);
    expect(found[0]).toMatchObject({ ledger: 1, code: 1, flags: { closed: false }, ...balance({}) });
  });

  it('concurrent creations of one account: one ok, the rest exists', async () => {
    const input = { id: newId(), ledger: 1, code: 1, owner: 'racer' };
    const results = await Promise.all(Array.from({ length: 6 }, () => ledger.createAccounts([input])));
    expect(results.flat().sort()).toEqual(['exists', 'exists', 'exists', 'exists', 'exists', 'ok']);
  });
});

describe('idempotency', () => {
  it('the same id is exists; a different field is exists_with_different_*', async () => {
    const { bank, c } = await open(2);
    const t = move(bank, c[0]!, 100n, { reference: 'deposit-1' });
    expect(await ledger.createTransfers([t])).toEqual(['ok']);
    expect(
      await ledger.createTransfers([
        t,
        { ...t, amount: 101n },
        { ...t, debitAccountId: c[1]! },
        { ...t, creditAccountId: c[1]! },
        { ...t, reference: 'deposit-2' },
        { ...t, id: t.id.toUpperCase() },
      ]),
    ).toEqual([
      'exists',
      'exists_with_different_amount',
      'exists_with_different_debit_account_id',
      'exists_with_different_credit_account_id',
      'exists_with_different_reference',
      'exists',
    ]);
    expect(await ledger.getAccountBalance(c[0]!)).toEqual(balance({ creditsPosted: 100n }));
  });

  it('the same transfer from many connections at once is applied once', async () => {
    const { bank, c } = await open(1);
    const t = move(bank, c[0]!, 7n);
    const results = await Promise.all(Array.from({ length: 8 }, () => ledger.createTransfers([t])));
    expect(results.flat().filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.flat().filter((r) => r === 'exists')).toHaveLength(7);
    expect(await ledger.getAccountBalance(c[0]!)).toEqual(balance({ creditsPosted: 7n }));
  });

  it('one id racing with different accounts: one ok, the others exists_with_different_*', async () => {
    const { bank, c } = await open(4);
    const id = newId();
    const results = await Promise.all(c.map((to) => ledger.createTransfers([{ ...move(bank, to, 5n), id }])));
    expect(results.flat().filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.flat().filter((r) => r === 'exists_with_different_credit_account_id')).toHaveLength(3);
  });
});

describe('balances as of a past time', () => {
  it('sums only the transfers stamped at or before asOf', async () => {
    const { bank, c } = await open(2);
    const t0 = clock.now();
    await ledger.createTransfers([move(bank, c[0]!, 100n)]);
    clock.advance(60_000);
    const hold = move(c[0]!, c[1]!, 30n, { flags: { pending: true } });
    await ledger.createTransfers([hold]);
    clock.advance(60_000);
    await ledger.createTransfers([
      { id: newId(), pendingId: hold.id, amount: 20n, flags: { postPending: true } },
    ]);
    const at = (ms: number) => ledger.getAccountBalance(c[0]!, { asOf: new Date(t0.getTime() + ms) });
    expect(await at(-1)).toEqual(balance({}));
    expect(await at(0)).toEqual(balance({ creditsPosted: 100n }));
    expect(await at(59_999)).toEqual(balance({ creditsPosted: 100n }));
    expect(await at(60_000)).toEqual(balance({ debitsPending: 30n, creditsPosted: 100n }));
    expect(await at(120_000)).toEqual(balance({ debitsPosted: 20n, creditsPosted: 100n }));
    expect(await at(120_000)).toEqual(await ledger.getAccountBalance(c[0]!));
    expect(await ledger.getAccountBalance(newId())).toBeNull();
  });

  it('keeps each account in time order when the clock steps back', async () => {
    const { bank, c } = await open(1);
    await ledger.createTransfers([move(bank, c[0]!, 10n)]);
    clock.advance(-3_600_000);
    await ledger.createTransfers([move(bank, c[0]!, 5n)]);
    const [newest, older] = (await history(c[0]!)).entries;
    expect(newest!.transfer.createdAt.getTime()).toBeGreaterThanOrEqual(older!.transfer.createdAt.getTime());
  });
});

describe('history', () => {
  it('lists transfers newest first with the balance after each, page by page', async () => {
    const { bank, c } = await open(2);
    const amounts = [100n, 7n, 11n, 13n, 17n];
    await ledger.createTransfers([move(bank, c[0]!, amounts[0]!)]);
    for (const amount of amounts.slice(1)) {
      clock.advance(1_000);
      await ledger.createTransfers([move(c[0]!, c[1]!, amount)]);
    }
    const first = await history(c[0]!, { limit: 2 });
    const second = await history(c[0]!, { limit: 2, cursor: first.nextCursor });
    const third = await history(c[0]!, { limit: 2, cursor: second.nextCursor });
    const entries = [...first.entries, ...second.entries, ...third.entries];
    expect(entries.map((e) => e.transfer.amount)).toEqual([17n, 13n, 11n, 7n, 100n]);
    expect(entries.map((e) => e.balanceAfter.debitsPosted)).toEqual([48n, 31n, 18n, 7n, 0n]);
    expect(entries.every((e) => e.balanceAfter.creditsPosted === 100n)).toBe(true);
    expect(third.nextCursor).toBeNull();
    const past = await history(c[0]!, { asOf: new Date(clock.now().getTime() - 2_000) });
    expect(past.entries.map((e) => e.transfer.amount)).toEqual([11n, 7n, 100n]);
  });

  it('is null for an unknown account', async () => {
    expect(await ledger.getAccountTransfers(newId())).toBeNull();
  });

  it('refuses a page beyond the limit', async () => {
    await expect(
      ledger.getAccountTransfers(newId(), { limit: ledgerLimits.historyPageMax + 1 }),
    ).rejects.toThrow(AppError);
  });
});

describe('the timeout sweep', () => {
  it('voids expired holds once, with new void transfers, even when sweeps race', async () => {
    const { bank, c } = await open(1);
    await ledger.createTransfers([move(bank, c[0]!, 1_000n)]);
    const holds = Array.from({ length: 40 }, (_, n) =>
      move(c[0]!, bank, 10n, { flags: { pending: true }, timeoutSeconds: n < 30 ? 60 : 0 }),
    );
    expect((await ledger.createTransfers(holds)).every((r) => r === 'ok')).toBe(true);
    await ledger.createTransfers([{ id: newId(), pendingId: holds[0]!.id, flags: { postPending: true } }]);
    expect(await ledger.expirePendingTransfers(new Date(clock.now().getTime() + 59_999))).toBe(0);
    const later = new Date(clock.now().getTime() + 60_000);
    const counts = await Promise.all([1, 2, 3].map(() => ledger.expirePendingTransfers(later)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(29);
    expect(await ledger.getAccountBalance(c[0]!)).toEqual(
      balance({ debitsPending: 100n, debitsPosted: 10n, creditsPosted: 1_000n }),
    );
    clock.set(later);
    const late = await ledger.createTransfers([
      { id: newId(), pendingId: holds[1]!.id, flags: { postPending: true } },
    ]);
    expect(late).toEqual(['pending_transfer_expired']);
    expect(await ledger.verifyPendingTimeouts()).toEqual([]);
    expect(await ledger.verifyBalances()).toEqual([]);
  });
});

describe('linked batches', () => {
  it('a failed chain writes nothing, the rest of the batch commits', async () => {
    const { bank, c } = await open(2);
    await ledger.createTransfers([move(bank, c[0]!, 50n)]);
    const chain = [move(c[0]!, c[1]!, 30n, { flags: { linked: true } }), move(c[0]!, c[1]!, 30n)];
    const other = move(bank, c[1]!, 1n);
    expect(await ledger.createTransfers([...chain, other])).toEqual([
      'linked_event_failed',
      'exceeds_credits',
      'ok',
    ]);
    expect(await ledger.lookupTransfers([...chain.map((t) => t.id), other.id])).toHaveLength(1);
    expect(await ledger.getAccountBalance(c[0]!)).toEqual(balance({ creditsPosted: 50n }));
  });

  it('refuses a batch above the limit as a whole', async () => {
    const batch = Array.from({ length: ledgerLimits.transfersPerBatchMax + 1 }, () =>
      move(newId(), newId(), 1n),
    );
    await expect(ledger.createTransfers(batch)).rejects.toMatchObject({ code: 'batch_too_large' });
  });
});

describe('the transfers are the truth', () => {
  it('ledger_transfers refuses UPDATE and DELETE', async () => {
    await expect(db.pool.query('UPDATE ledger_transfers SET amount = amount + 1')).rejects.toThrow(
      /append-only/,
    );
    await expect(db.pool.query('DELETE FROM ledger_transfers')).rejects.toThrow(/append-only/);
  });

  it('PostgreSQL refuses a cache row that crosses a limit, whatever wrote it', async () => {
    const { c } = await open(1);
    await expect(
      db.pool.query('UPDATE ledger_accounts SET debits_posted = 1 WHERE id = $1', [c[0]]),
    ).rejects.toThrow(/debits_must_not_exceed_credits/);
  });

  it('verifyBalances finds a tampered cache and recomputeBalances repairs it', async () => {
    const { bank, c } = await open(1);
    await ledger.createTransfers([move(bank, c[0]!, 40n)]);
    await db.pool.query('UPDATE ledger_accounts SET credits_posted = 41 WHERE id = $1', [c[0]]);
    const mismatches = await ledger.verifyBalances();
    expect(mismatches).toEqual([
      {
        accountId: c[0],
        cached: { ...balance({ creditsPosted: 41n }), closed: false },
        derived: { ...balance({ creditsPosted: 40n }), closed: false },
      },
    ]);
    expect(await ledger.recomputeBalances()).toBe(1);
    expect(await ledger.verifyBalances()).toEqual([]);
  });

  it('derives closed accounts from closing holds', async () => {
    const { bank, c } = await open(1);
    await ledger.createTransfers([move(bank, c[0]!, 5n)]);
    const closing = move(c[0]!, bank, 1n, { flags: { pending: true, closingDebit: true } });
    expect(await ledger.createTransfers([closing])).toEqual(['ok']);
    expect((await ledger.lookupAccounts([c[0]!]))[0]!.flags.closed).toBe(true);
    expect(await ledger.verifyBalances()).toEqual([]);
    expect(
      await ledger.createTransfers([{ id: newId(), pendingId: closing.id, flags: { voidPending: true } }]),
    ).toEqual(['ok']);
    expect((await ledger.lookupAccounts([c[0]!]))[0]!.flags.closed).toBe(false);
    expect(await ledger.verifyBalances()).toEqual([]);
  });
});
