import { describe, expect, it } from 'vitest';
import { expectationOf } from '../../../src/platform/event-store/event-store.ts';
import { Wakeup } from '../../../src/platform/event-store/notifications.ts';

describe('Wakeup', () => {
  it('given a long wait, when woken, then the wait ends', async () => {
    const wakeup = new Wakeup();
    const waiting = wakeup.wait(3_600_000);
    wakeup.wake();
    await waiting;
  });

  it('given a wake with nobody waiting, then the next wait returns at once', async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    await wakeup.wait(3_600_000);
  });

  it('given a long wait, when the signal aborts, then the wait ends', async () => {
    const controller = new AbortController();
    const waiting = new Wakeup().wait(3_600_000, controller.signal);
    controller.abort();
    await waiting;
  });
});

describe('expectationOf', () => {
  it('given the expectations, then they map to the checks the SQL makes', () => {
    expect(expectationOf('no_stream')).toEqual({ expectation: 'no_stream', version: 0n });
    expect(expectationOf(0n)).toEqual({ expectation: 'no_stream', version: 0n });
    expect(expectationOf(7n)).toEqual({ expectation: 'exact', version: 7n });
    expect(expectationOf('any')).toEqual({ expectation: 'any', version: 0n });
    expect(expectationOf('stream_exists')).toEqual({ expectation: 'stream_exists', version: 0n });
  });

  it('given a negative version, then it is refused', () => {
    expect(() => expectationOf(-1n)).toThrow(RangeError);
  });
});
