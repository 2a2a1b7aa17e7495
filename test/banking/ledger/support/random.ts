import { mulberry32 } from '../../../support/prng.ts';

/** A seeded PRNG (mulberry32): the same seed gives the same workload, so a failure can be replayed. */
export class Random {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A UUID drawn from this generator (version 4 layout). */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

/** LEDGER_SEED when set (to replay a failure), otherwise a fresh seed. */
export function ledgerSeed(): number {
  const env = process.env.LEDGER_SEED;
  return env ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}
