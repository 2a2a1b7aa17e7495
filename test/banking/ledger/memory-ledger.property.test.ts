import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryLedger, type TransferInput } from '../../../src/banking/ledger/index.ts';
import { ManualClock } from '../../../src/platform/clock.ts';

/*
 * Random batches through the pure cores: whatever the commands, every account keeps its limit
 * (applyEffect asserts it on every transfer) and each ledger's debits equal its credits.
 */
const accountCount = 6;
const idOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

const command = fc.record({
  kind: fc.constantFrom('plain', 'hold', 'post', 'void'),
  id: fc.integer({ min: 1_000, max: 1_060 }),
  debit: fc.integer({ min: 0, max: accountCount - 1 }),
  credit: fc.integer({ min: 0, max: accountCount - 1 }),
  amount: fc.bigInt({ min: 0n, max: 150n }),
  partial: fc.option(fc.bigInt({ min: 1n, max: 150n })),
  pending: fc.integer({ min: 1_000, max: 1_060 }),
  linked: fc.boolean(),
  timeoutSeconds: fc.constantFrom(0, 0, 1, 3),
});

type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

function toInput(c: Command): TransferInput {
  const flags = { linked: c.linked };
  if (c.kind === 'post' || c.kind === 'void') {
    const amount = c.kind === 'post' ? (c.partial ?? undefined) : undefined;
    return {
      id: idOf(c.id),
      pendingId: idOf(c.pending),
      amount,
      flags: { ...flags, [`${c.kind}Pending`]: true },
    };
  }
  const hold = c.kind === 'hold';
  return {
    id: idOf(c.id),
    debitAccountId: idOf(c.debit),
    creditAccountId: idOf(c.credit),
    amount: c.amount,
    ledger: c.debit === 5 ? 2 : 1, // account 5 sits on ledger 2: cross-ledger attempts must fail
    code: 1,
    timeoutSeconds: hold ? c.timeoutSeconds : 0,
    flags: { ...flags, pending: hold },
  };
}

describe('MemoryLedger under random batches', () => {
  it('keeps limits and balances debits with credits per ledger', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(command, { minLength: 1, maxLength: 8 }), { maxLength: 25 }),
        (batches) => {
          const clock = new ManualClock();
          const ledger = new MemoryLedger({ clock });
          ledger.createAccounts(
            Array.from({ length: accountCount }, (_, n) => ({
              id: idOf(n),
              ledger: n === 5 ? 2 : 1,
              code: 1,
              owner: `o${n}`,
              flags: n === 0 ? {} : { debitsMustNotExceedCredits: true },
            })),
          );
          ledger.createTransfers(
            [1, 2, 3].map((n) => ({
              id: idOf(500 + n),
              debitAccountId: idOf(0),
              creditAccountId: idOf(n),
              amount: 100n,
              ledger: 1,
              code: 1,
            })),
          );
          for (const batch of batches) {
            ledger.createTransfers(batch.map(toInput));
            clock.advance(1_000);
            if (batch.length % 3 === 0) ledger.expirePendingTransfers();
          }
          for (const ledgerId of [1, 2]) {
            let debits = 0n;
            let credits = 0n;
            for (let n = 0; n < accountCount; n++) {
              if ((n === 5 ? 2 : 1) !== ledgerId) continue;
              const b = ledger.getAccountBalance(idOf(n))!;
              debits += b.debitsPending + b.debitsPosted;
              credits += b.creditsPending + b.creditsPosted;
              if (n !== 0) expect(b.debitsPending + b.debitsPosted).toBeLessThanOrEqual(b.creditsPosted);
            }
            expect(debits).toBe(credits);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
