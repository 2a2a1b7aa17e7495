import type { UnsequencedCommand } from '../../../src/exchange/sequencer/index.ts';

import { Prng } from '../../support/prng.ts';

export { Prng };

export const workloadSymbols = ['AAPL', 'MSFT', 'TSLA'] as const;
const accounts = ['m1', 'm2', 'm3', 'm4'];

export interface WorkloadItem {
  symbol: string;
  command: UnsequencedCommand;
}

/**
 * A seeded stream of commands over three symbols: crossing limit orders (GTC/DAY/IOC/FOK), a few
 * market orders, cancels and replaces of earlier ids (some no longer resting), and a rare session
 * close. Item i depends only on the seed and i, so a crashed child's commands can be regenerated.
 */
export function* workload(seed: number): Generator<WorkloadItem> {
  const rng = new Prng(seed);
  const ids: Record<string, number[]> = {};
  let nextId = 1;
  for (;;) {
    const symbol = rng.pick(workloadSymbols);
    const known = ids[symbol] ?? [];
    ids[symbol] = known;
    const roll = rng.next();
    if (roll < 0.6 || known.length === 0) {
      const orderId = nextId++;
      known.push(orderId);
      if (known.length > 200) known.shift();
      const market = rng.next() < 0.05;
      const side = rng.next() < 0.5 ? 'buy' : 'sell';
      // Mostly passive prices (buys low, sells high) so books build depth, with some overlap.
      const priceTicks = side === 'buy' ? rng.int(985, 1003) : rng.int(997, 1015);
      yield {
        symbol,
        command: {
          type: 'new',
          orderId,
          account: rng.pick(accounts),
          side,
          orderType: market ? 'market' : 'limit',
          priceTicks: market ? undefined : priceTicks,
          quantityLots: rng.int(1, 50),
          timeInForce: market ? 'IOC' : rng.pick(['GTC', 'GTC', 'DAY', 'IOC', 'FOK'] as const),
          stp: rng.pick(['none', 'none', 'cancel_newest', 'cancel_oldest'] as const),
        },
      };
    } else if (roll < 0.85) {
      yield { symbol, command: { type: 'cancel', orderId: rng.pick(known) } };
    } else if (roll < 0.999) {
      yield {
        symbol,
        command: {
          type: 'replace',
          orderId: rng.pick(known),
          quantityLots: rng.int(1, 60),
          priceTicks: rng.int(990, 1010),
        },
      };
    } else {
      known.length = 0;
      yield { symbol, command: { type: 'expire_day_orders' } };
    }
  }
}

/** The seed of this run's workload: SEQUENCER_SEED, or one drawn from the clock (test names print it). */
export const workloadSeed = Number(process.env.SEQUENCER_SEED ?? Date.now() % 1_000_000);

/** The first `count` items of the seeded workload. */
export function takeWorkload(seed: number, count: number): WorkloadItem[] {
  const out: WorkloadItem[] = [];
  for (const item of workload(seed)) {
    if (out.length === count) break;
    out.push(item);
  }
  return out;
}
