import { describe, expect, it } from 'vitest';
import { RateWindow } from '../../src/platform/rate-window.ts';

describe('RateWindow (fixed window per key)', () => {
  it('given max 3 per second, allows 3 hits per key, refuses the 4th, and starts afresh after the window', () => {
    let now = 1_000;
    const limit = new RateWindow({ max: 3, windowMs: 1_000, now: () => now });
    expect([limit.hit('a'), limit.hit('a'), limit.hit('a')]).toEqual([2, 1, 0]);
    now += 400;
    expect(limit.hit('a')).toBe(-1);
    expect(limit.resetInMs('a')).toBe(600);
    expect(limit.hit('b')).toBe(2);
    now += 600;
    expect(limit.hit('a')).toBe(2);
    expect(limit.resetInMs('a')).toBe(1_000);
    expect(limit.resetInMs('unknown')).toBe(0);
  });

  it('keeps at most keysMax keys: ended windows go first, then the oldest', () => {
    let now = 0;
    const limit = new RateWindow({ max: 1, windowMs: 100, now: () => now, keysMax: 2 });
    limit.hit('a');
    now = 150;
    limit.hit('b');
    limit.hit('c'); // 'a' ended and is dropped
    expect(limit.hit('b')).toBe(-1);
    limit.hit('d'); // both live: the oldest ('b') is forgotten
    expect(limit.hit('b')).toBe(0);
  });

  it('refuses a window that could never admit anything', () => {
    expect(() => new RateWindow({ max: 0, windowMs: 1_000, now: () => 0 })).toThrow(RangeError);
  });
});
