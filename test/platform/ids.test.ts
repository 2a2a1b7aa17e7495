import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.ts';
import { isUuid, uuidv7Generator, uuidv7Time } from '../../src/platform/ids.ts';

describe('UUIDv7 ids', () => {
  it('are valid version-7 UUIDs carrying their creation time', () => {
    const clock = new ManualClock('2026-11-22T10:00:00.123Z');
    const id = uuidv7Generator(clock)();
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    expect(uuidv7Time(id).toISOString()).toBe('2026-11-22T10:00:00.123Z');
  });

  it('strictly increase within one millisecond and never repeat', () => {
    const next = uuidv7Generator(new ManualClock());
    const ids = Array.from({ length: 10_000 }, next);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keep increasing when the clock goes backwards', () => {
    const clock = new ManualClock('2026-11-22T10:00:01Z');
    const next = uuidv7Generator(clock);
    const before = next();
    clock.set('2026-11-22T10:00:00Z');
    expect(next() > before).toBe(true);
  });
});
