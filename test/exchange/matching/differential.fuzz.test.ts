import { describe, expect, it } from 'vitest';
import {
  type BookCommand,
  type BookLimits,
  FastOrderBook,
  type OrderBook,
  ReferenceOrderBook,
} from '../../../src/exchange/matching/index.ts';
import { Prng, RandomCommands, seedFromEnv } from './random-commands.ts';

/*
 * Differential fuzzing (exchange-core style): both books get the same random commands; every event
 * and the state hash must agree after every step, and both must pass their invariant checks. Every
 * few hundred steps each book is rebuilt from the other's snapshot, so restore is fuzzed too.
 * Reproduce a failure with FUZZ_SEED=<seed printed in the failure>.
 */

const runs = 8;
const stepsPerRun = 1_200;
/** Narrow: constant crossing. Medium and deep: more levels, across ladder chunk boundaries. */
const shapes: { spreadTicks: number; aggressiveness: number; limits?: Partial<BookLimits> }[] = [
  { spreadTicks: 6, aggressiveness: 1 },
  { spreadTicks: 40, aggressiveness: 0.3 },
  { spreadTicks: 1500, aggressiveness: 0.08 },
  // Tiny limits, so 'book_full' and 'session_order_ids_exhausted' are fuzzed too.
  { spreadTicks: 40, aggressiveness: 0.3, limits: { restingOrdersMax: 25, sessionOrderIdsMax: 150 } },
];
const restoreEverySteps = 300;
const baseSeed = seedFromEnv(0x5eed_2024);

describe('FastOrderBook vs ReferenceOrderBook, seeded differential fuzz', () => {
  for (let run = 0; run < runs; run++) {
    const seed = (baseSeed + run * 7919) >>> 0;
    const shape = shapes[run % shapes.length]!;
    it(`seed ${seed} (±${shape.spreadTicks} ticks, aggressiveness ${shape.aggressiveness}${shape.limits ? ', tiny limits' : ''})`, () => {
      fuzz(seed, shape.spreadTicks, shape.aggressiveness, shape.limits ?? {});
    });
  }
});

function fuzz(seed: number, spreadTicks: number, aggressiveness: number, limits: Partial<BookLimits>): void {
  const commands = new RandomCommands(new Prng(seed), 1024, spreadTicks, aggressiveness);
  let fast: OrderBook = new FastOrderBook(limits);
  let reference: OrderBook = new ReferenceOrderBook(limits);
  const history: BookCommand[] = [];
  for (let step = 0; step < stepsPerRun; step++) {
    const command = commands.next();
    history.push(command);
    const where = () =>
      `FUZZ_SEED=${seed} step ${step}: ${JSON.stringify(command)}\nlast commands: ${JSON.stringify(history.slice(-8))}`;
    // The failure message (seed, step, recent commands) is only built when something fails.
    try {
      const fastEvents = fast.apply(command);
      const referenceEvents = reference.apply(command);
      fast.assertInvariants();
      reference.assertInvariants();
      expect(fastEvents).toEqual(referenceEvents);
      expect(fast.stateHash()).toBe(reference.stateHash());
      if (step % restoreEverySteps === restoreEverySteps - 1) {
        const fastSnapshot = fast.snapshot();
        fast = FastOrderBook.restore(reference.snapshot(), limits);
        reference = ReferenceOrderBook.restore(fastSnapshot, limits);
        expect(fast.stateHash()).toBe(reference.stateHash());
      }
    } catch (error) {
      throw new Error(`${where()}\n${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
