import { describe, expect, it } from 'vitest';
import {
  type L2Delta,
  type L3Delta,
  MarketDataBook,
} from '../../../src/exchange/market-data/book-replica.ts';
import {
  type BookOrders,
  FastOrderBook,
  matchingLimits,
  type RestingOrder,
  type Side,
} from '../../../src/exchange/matching/index.ts';
import { Prng, RandomCommands, seedFromEnv } from '../matching/random-commands.ts';

/*
 * Differential test: seeded random commands go through the engine's FastOrderBook; the replica only
 * sees their events. After every command the replica's L1/L2/L3 must equal the engine's, and a
 * client that folds the published L2/L3 deltas into its own copy must hold the same book.
 * Reproduce a failure with FUZZ_SEED=<seed printed in the failure>.
 */

const runs = 4;
const warmupSteps = 150;
const stepsPerRun = 1_500;
const shapes = [
  { spreadTicks: 6, aggressiveness: 1 },
  { spreadTicks: 40, aggressiveness: 0.3 },
  { spreadTicks: 300, aggressiveness: 0.08 },
];
const baseSeed = seedFromEnv(0x3a7d_0b0c);

describe('MarketDataBook vs FastOrderBook, seeded differential', () => {
  for (let run = 0; run < runs; run++) {
    const seed = (baseSeed + run * 104_729) >>> 0;
    const shape = shapes[run % shapes.length]!;
    it(`seed ${seed} (±${shape.spreadTicks} ticks, aggressiveness ${shape.aggressiveness})`, () => {
      differential(seed, shape.spreadTicks, shape.aggressiveness);
    });
  }
});

function differential(seed: number, spreadTicks: number, aggressiveness: number): void {
  const commands = new RandomCommands(new Prng(seed), 1024, spreadTicks, aggressiveness);
  const engine = new FastOrderBook();
  // The engine runs ahead first, so the replica is seeded from a non-empty live book.
  for (let step = 0; step < warmupSteps; step++) engine.apply(commands.next());
  const replica = MarketDataBook.seed(engine.snapshot(), engine.lastSeq);
  const client = ClientBook.from(engine.l3());
  for (let step = 0; step < stepsPerRun; step++) {
    const command = commands.next();
    const where = `FUZZ_SEED=${seed} step ${step}: ${JSON.stringify(command)}`;
    const topBefore = engine.l1();
    const events = engine.apply(command);
    const changes = replica.apply(command.seq, events);
    expect(replica.lastSeq, where).toBe(command.seq);
    expect(replica.l1(), where).toEqual(engine.l1());
    expect(replica.l2(10), where).toEqual(engine.l2(10));
    expect(replica.l2(matchingLimits.l2DepthMax), where).toEqual(engine.l2(matchingLimits.l2DepthMax));
    expect(replica.l3(), where).toEqual(withoutFlags(engine.l3()));
    const [depth, orders] = [engine.l2(matchingLimits.l2DepthMax), engine.l3()];
    expect(replica.sideSize('buy'), where).toEqual({ levels: depth.bids.length, orders: orders.bids.length });
    expect(replica.sideSize('sell'), where).toEqual({
      levels: depth.asks.length,
      orders: orders.asks.length,
    });
    expect(changes.l1Changed, where).toBe(JSON.stringify(topBefore) !== JSON.stringify(engine.l1()));
    client.applyL2(changes.l2);
    client.applyL3(changes.l3);
    expect(client.l2(), where).toEqual(levelTotals(engine.l2(matchingLimits.l2DepthMax)));
    expect(client.l3(), where).toEqual(anonymous(engine.l3()));
  }
  expect(replica.orderCount).toBe(engine.snapshot().bids.length + engine.snapshot().asks.length);
}

function withoutFlags(orders: BookOrders) {
  const strip = ({ postOnly: _p, stp: _s, ...rest }: RestingOrder) => rest;
  return { bids: orders.bids.map(strip), asks: orders.asks.map(strip) };
}

/** L3 as the deltas carry it: no account, no time in force. */
function anonymous(orders: BookOrders) {
  const pick = (o: RestingOrder) => ({
    orderId: o.orderId,
    priceTicks: o.priceTicks,
    quantityLots: o.quantityLots,
  });
  return { bids: orders.bids.map(pick), asks: orders.asks.map(pick) };
}

function levelTotals(depth: {
  bids: { priceTicks: number; quantityLots: number }[];
  asks: typeof depth.bids;
}) {
  const pick = (l: { priceTicks: number; quantityLots: number }) => [l.priceTicks, l.quantityLots];
  return { bids: depth.bids.map(pick), asks: depth.asks.map(pick) };
}

/** What a subscriber keeps: L2 totals and L3 FIFO queues rebuilt only from published deltas. */
class ClientBook {
  readonly levels = { buy: new Map<number, number>(), sell: new Map<number, number>() };
  readonly queues = { buy: new Map<number, Set<number>>(), sell: new Map<number, Set<number>>() };
  readonly quantities = new Map<number, number>();

  static from(orders: BookOrders): ClientBook {
    const book = new ClientBook();
    for (const o of [...orders.bids, ...orders.asks]) {
      book.applyL3([{ action: 'add', ...o }]);
      book.levels[o.side].set(o.priceTicks, (book.levels[o.side].get(o.priceTicks) ?? 0) + o.quantityLots);
    }
    return book;
  }

  applyL2(deltas: L2Delta[]): void {
    for (const d of deltas) {
      if (d.quantityLots === 0) this.levels[d.side].delete(d.priceTicks);
      else this.levels[d.side].set(d.priceTicks, d.quantityLots);
    }
  }

  applyL3(deltas: L3Delta[]): void {
    for (const d of deltas) {
      const queues = this.queues[d.side];
      if (d.action === 'add') {
        const queue = queues.get(d.priceTicks) ?? new Set<number>();
        queues.set(d.priceTicks, queue);
        queue.add(d.orderId);
        this.quantities.set(d.orderId, d.quantityLots);
      } else if (d.action === 'modify') {
        expect(queues.get(d.priceTicks)?.has(d.orderId)).toBe(true);
        this.quantities.set(d.orderId, d.quantityLots);
      } else {
        const queue = queues.get(d.priceTicks)!;
        expect(queue.delete(d.orderId)).toBe(true);
        if (queue.size === 0) queues.delete(d.priceTicks);
        this.quantities.delete(d.orderId);
      }
    }
  }

  l2(): { bids: number[][]; asks: number[][] } {
    const sorted = (side: Side) =>
      [...this.levels[side].entries()].sort((a, b) => (side === 'buy' ? b[0] - a[0] : a[0] - b[0]));
    return { bids: sorted('buy'), asks: sorted('sell') };
  }

  l3() {
    const side = (s: Side) =>
      [...this.queues[s].entries()]
        .sort((a, b) => (s === 'buy' ? b[0] - a[0] : a[0] - b[0]))
        .flatMap(([priceTicks, queue]) =>
          [...queue.keys()].map((orderId) => ({
            orderId,
            priceTicks,
            quantityLots: this.quantities.get(orderId)!,
          })),
        );
    return { bids: side('buy'), asks: side('sell') };
  }
}
