import type { AccountInput, TransferInput } from '../../../../src/banking/ledger/index.ts';
import type { Random } from './random.ts';

/*
 * Seeded random ledger traffic: transfers between limit-flagged customers (many overdraw), holds with
 * and without timeouts, full, partial and oversized posts, voids, replays of earlier transfers (exact
 * and altered), cross-ledger attempts, malformed amounts and linked chains.
 */

export interface World {
  accounts: AccountInput[];
  /** Per ledger: its bank account (no limits) and its customers (debits must not exceed credits). */
  ledgers: Array<{ ledger: number; bank: string; customers: string[] }>;
}

export const worldLedgers = [1, 2];

export function makeWorld(rng: Random, customersPerLedger: number): World {
  const ledgers = worldLedgers.map((ledger) => ({
    ledger,
    bank: rng.uuid(),
    customers: Array.from({ length: customersPerLedger }, () => rng.uuid()),
  }));
  const accounts = ledgers.flatMap(({ ledger, bank, customers }) => [
    { id: bank, ledger, code: 9, owner: `bank:${ledger}` },
    ...customers.map((id, n) => ({
      id,
      ledger,
      code: 1,
      owner: `customer:${ledger}:${n}`,
      flags: { debitsMustNotExceedCredits: true },
    })),
  ]);
  return { accounts, ledgers };
}

/** Opening deposits: every customer gets `amount` from its ledger's bank. */
export function deposits(rng: Random, world: World, amount: bigint): TransferInput[] {
  return world.ledgers.flatMap(({ ledger, bank, customers }) =>
    customers.map((id) => ({
      id: rng.uuid(),
      debitAccountId: bank,
      creditAccountId: id,
      amount,
      ledger,
      code: 1,
    })),
  );
}

export class Workload {
  readonly #rng: Random;
  readonly #world: World;
  readonly #issued: TransferInput[] = [];
  readonly #holds: TransferInput[] = [];

  constructor(rng: Random, world: World) {
    this.#rng = rng;
    this.#world = world;
  }

  batch(sizeMax: number): TransferInput[] {
    const size = 1 + this.#rng.int(sizeMax);
    const batch = Array.from({ length: size }, () => this.#one());
    // A linked flag on the last transfer leaves the chain open; keep that rare.
    const last = batch[size - 1]!;
    if (last.flags?.linked && this.#rng.chance(0.8))
      batch[size - 1] = { ...last, flags: { ...last.flags, linked: false } };
    return batch;
  }

  #one(): TransferInput {
    const roll = this.#rng.next();
    const t =
      roll < 0.35
        ? this.#plain()
        : roll < 0.55
          ? this.#hold()
          : roll < 0.67
            ? this.#post()
            : roll < 0.75
              ? this.#void()
              : roll < 0.87
                ? this.#replay()
                : roll < 0.9
                  ? this.#crossLedger()
                  : roll < 0.92
                    ? { ...this.#plain(), amount: 0n }
                    : this.#plain();
    const linked = this.#rng.chance(0.15);
    const withLink = linked ? { ...t, flags: { ...t.flags, linked: true } } : t;
    this.#issued.push(withLink);
    return withLink;
  }

  #pair(): { ledger: number; debit: string; credit: string } {
    const { ledger, bank, customers } = this.#rng.pick(this.#world.ledgers);
    const debit = this.#rng.chance(0.05) ? bank : this.#rng.pick(customers);
    let credit = this.#rng.pick(customers);
    if (credit === debit) credit = bank;
    return { ledger, debit, credit };
  }

  #plain(): TransferInput {
    const { ledger, debit, credit } = this.#pair();
    const amount = BigInt(1 + this.#rng.int(300));
    return { id: this.#rng.uuid(), debitAccountId: debit, creditAccountId: credit, amount, ledger, code: 1 };
  }

  #hold(): TransferInput {
    const timeoutSeconds = this.#rng.pick([0, 0, 1, 2, 3]);
    const hold = { ...this.#plain(), flags: { pending: true }, timeoutSeconds };
    this.#holds.push(hold);
    return hold;
  }

  #post(): TransferInput {
    const hold = this.#holds.length > 0 ? this.#rng.pick(this.#holds) : this.#hold();
    const roll = this.#rng.next();
    const full = hold.amount!;
    const amount = roll < 0.6 ? undefined : roll < 0.9 ? BigInt(1 + this.#rng.int(Number(full))) : full + 1n;
    return { id: this.#rng.uuid(), pendingId: hold.id, amount, flags: { postPending: true } };
  }

  #void(): TransferInput {
    const hold = this.#holds.length > 0 ? this.#rng.pick(this.#holds) : this.#hold();
    return { id: this.#rng.uuid(), pendingId: hold.id, flags: { voidPending: true } };
  }

  #replay(): TransferInput {
    if (this.#issued.length === 0) return this.#plain();
    const earlier = this.#rng.pick(this.#issued);
    const { linked: _, ...flags } = earlier.flags ?? {};
    const exact = { ...earlier, flags };
    if (this.#rng.chance(0.7) || exact.amount === undefined) return exact;
    return { ...exact, amount: exact.amount + 1n };
  }

  #crossLedger(): TransferInput {
    const [one, two] = this.#world.ledgers;
    return {
      id: this.#rng.uuid(),
      debitAccountId: this.#rng.pick(one!.customers),
      creditAccountId: this.#rng.pick(two!.customers),
      amount: 1n,
      ledger: one!.ledger,
      code: 1,
    };
  }
}
