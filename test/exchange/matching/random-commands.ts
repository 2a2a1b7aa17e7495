import type { BookCommand, StpMode, TimeInForce } from '../../../src/exchange/matching/index.ts';

import { Prng } from '../../support/prng.ts';

export { Prng };

const accounts = ['acct-a', 'acct-b', 'acct-c'];
const timesInForce: readonly TimeInForce[] = ['GTC', 'GTC', 'GTC', 'DAY', 'DAY', 'IOC', 'IOC', 'FOK'];
const stpModes: readonly StpMode[] = ['none', 'cancel_newest', 'cancel_oldest', 'cancel_both'];

/**
 * Random commands of every type over a narrow price range that straddles a price-ladder chunk
 * boundary (1,024 ticks), so orders cross constantly; several accounts so STP triggers; ids that
 * sometimes repeat, sometimes are unknown; and a few malformed values.
 */
export class RandomCommands {
  private seq = 0;
  private nextId = 1;
  private midTicks: number;

  /**
   * Prices fall within ±spreadTicks of a drifting mid. An order is aggressive (any price in the
   * range) with probability `aggressiveness`, otherwise passive (on its own side of the mid), so a
   * low value builds deep books.
   */
  constructor(
    private readonly rng: Prng,
    startTicks = 1024,
    private readonly spreadTicks = 6,
    private readonly aggressiveness = 1,
  ) {
    this.midTicks = startTicks;
  }

  next(): BookCommand {
    const seq = this.seq++;
    // The mid price drifts, so levels are created and emptied all over the ladder.
    if (this.rng.chance(0.05)) this.midTicks += this.rng.chance(0.5) ? 1 : -1;
    const roll = this.rng.next();
    if (roll < 0.68) return this.newOrder(seq);
    if (roll < 0.84) return { type: 'cancel', seq, orderId: this.someId() };
    if (roll < 0.997) return this.replace(seq);
    return { type: 'expire_day_orders', seq };
  }

  private newOrder(seq: number): BookCommand {
    const r = this.rng;
    const isMarket = r.chance(0.08);
    const side = r.chance(0.5) ? 'buy' : 'sell';
    return {
      type: 'new',
      seq,
      orderId: r.chance(0.03) ? this.someId() : this.nextId++,
      account: r.pick(accounts),
      side,
      orderType: isMarket ? 'market' : 'limit',
      priceTicks: isMarket && !r.chance(0.02) ? undefined : this.price(side),
      quantityLots: r.chance(0.01) ? 0 : r.int(1, 10),
      timeInForce: r.pick(timesInForce),
      postOnly: r.chance(0.1) ? true : undefined,
      stp: r.chance(0.3) ? undefined : r.pick(stpModes),
    };
  }

  private replace(seq: number): BookCommand {
    const r = this.rng;
    const what = r.int(0, 9);
    return {
      type: 'replace',
      seq,
      orderId: this.someId(),
      priceTicks: what < 4 ? this.price(r.chance(0.5) ? 'buy' : 'sell') : undefined,
      quantityLots: what >= 2 && what < 9 ? r.int(what === 8 ? 0 : 1, 10) : undefined,
    };
  }

  private price(side: 'buy' | 'sell'): number {
    const r = this.rng;
    if (r.chance(this.aggressiveness)) return this.midTicks + r.int(-this.spreadTicks, this.spreadTicks);
    const distance = r.int(1, this.spreadTicks);
    return side === 'buy' ? this.midTicks - distance : this.midTicks + distance;
  }

  /** Mostly a recent id (likely resting), sometimes an old or never-used one. */
  private someId(): number {
    if (this.rng.chance(0.03)) return this.nextId + this.rng.int(0, 5);
    return Math.max(1, this.nextId - 1 - this.rng.int(0, 60));
  }
}

/** The seed from FUZZ_SEED, or the given default. */
export function seedFromEnv(fallback: number): number {
  const fromEnv = process.env.FUZZ_SEED;
  return fromEnv === undefined || fromEnv === '' ? fallback : Number(fromEnv);
}
