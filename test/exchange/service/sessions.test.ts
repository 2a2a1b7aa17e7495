import { describe, expect, it } from 'vitest';
import {
  decideSessionAction,
  effectiveState,
  lastDayEnd,
  nextScheduleEvent,
  parseSchedule,
  type SessionAction,
  type SessionState,
  scheduledState,
} from '../../../src/exchange/service/index.ts';

describe('session transitions', () => {
  const table: Array<[SessionState, SessionAction, SessionState | string, boolean?]> = [
    ['open', 'open', 'open', false],
    ['closed', 'open', 'open', false],
    ['halted', 'open', 'halted_resume_instead'],
    ['open', 'close', 'closed', true],
    ['halted', 'close', 'closed', true],
    ['closed', 'close', 'closed', true],
    ['open', 'halt', 'halted', false],
    ['halted', 'halt', 'halted', false],
    ['closed', 'halt', 'closed_cannot_halt'],
    ['halted', 'resume', 'open', false],
    ['open', 'resume', 'open', false],
    ['closed', 'resume', 'closed_open_instead'],
  ];
  for (const [current, action, expected, expires] of table) {
    it(`given ${current}, when ${action}, then ${expected}`, () => {
      const transition = decideSessionAction(current, action);
      if (expires === undefined) expect(transition).toEqual({ ok: false, reason: expected });
      else expect(transition).toEqual({ ok: true, next: expected, expiresDayOrders: expires });
    });
  }

  it('an instrument trades only when the market and the instrument are both open; closed wins over halted', () => {
    const states: SessionState[] = ['open', 'halted', 'closed'];
    for (const market of states) {
      for (const instrument of states) {
        const expected =
          market === 'closed' || instrument === 'closed'
            ? 'closed'
            : market === 'halted' || instrument === 'halted'
              ? 'halted'
              : 'open';
        expect(effectiveState(market, instrument), `${market}/${instrument}`).toBe(expected);
      }
    }
  });
});

describe('trading schedule', () => {
  const at = (iso: string) => new Date(iso).getTime();

  it('parses always and UTC windows; refuses anything else', () => {
    expect(parseSchedule('always')).toEqual({ kind: 'always' });
    expect(parseSchedule('09:30-16:00')).toEqual({ kind: 'window', openMinute: 570, closeMinute: 960 });
    for (const bad of ['', 'sometimes', '9:30-16:00', '09:30-24:00', '09:30-09:30', '09:30 - 16:00']) {
      expect(parseSchedule(bad), bad).toBeNull();
    }
  });

  it('always: open, with the next event the daily roll at 00:00 UTC', () => {
    const schedule = parseSchedule('always')!;
    expect(scheduledState(schedule, at('2026-03-02T12:00:00Z'))).toBe('open');
    expect(nextScheduleEvent(schedule, at('2026-03-02T12:00:00Z'))).toEqual({
      kind: 'roll',
      atMs: at('2026-03-03T00:00:00Z'),
    });
    // Exactly at midnight the roll just happened: the next one is a day later.
    expect(nextScheduleEvent(schedule, at('2026-03-03T00:00:00Z')).atMs).toBe(at('2026-03-04T00:00:00Z'));
  });

  it('a day window: open from the open minute up to (not including) the close minute', () => {
    const schedule = parseSchedule('09:30-16:00')!;
    expect(scheduledState(schedule, at('2026-03-02T09:29:59Z'))).toBe('closed');
    expect(scheduledState(schedule, at('2026-03-02T09:30:00Z'))).toBe('open');
    expect(scheduledState(schedule, at('2026-03-02T15:59:59Z'))).toBe('open');
    expect(scheduledState(schedule, at('2026-03-02T16:00:00Z'))).toBe('closed');
    expect(nextScheduleEvent(schedule, at('2026-03-02T08:00:00Z'))).toEqual({
      kind: 'open',
      atMs: at('2026-03-02T09:30:00Z'),
    });
    expect(nextScheduleEvent(schedule, at('2026-03-02T09:30:00Z'))).toEqual({
      kind: 'close',
      atMs: at('2026-03-02T16:00:00Z'),
    });
    expect(nextScheduleEvent(schedule, at('2026-03-02T17:00:00Z'))).toEqual({
      kind: 'open',
      atMs: at('2026-03-03T09:30:00Z'),
    });
  });

  it('the last day end is the latest close (window) or 00:00 UTC (always) at or before the time', () => {
    const always = parseSchedule('always')!;
    expect(lastDayEnd(always, at('2026-03-02T12:00:00Z'))).toBe(at('2026-03-02T00:00:00Z'));
    expect(lastDayEnd(always, at('2026-03-03T00:00:00Z'))).toBe(at('2026-03-03T00:00:00Z'));
    const day = parseSchedule('09:30-16:00')!;
    expect(lastDayEnd(day, at('2026-03-02T15:59:59Z'))).toBe(at('2026-03-01T16:00:00Z'));
    expect(lastDayEnd(day, at('2026-03-02T16:00:00Z'))).toBe(at('2026-03-02T16:00:00Z'));
    expect(lastDayEnd(day, at('2026-03-03T08:00:00Z'))).toBe(at('2026-03-02T16:00:00Z'));
    const night = parseSchedule('22:00-06:00')!;
    expect(lastDayEnd(night, at('2026-03-03T05:00:00Z'))).toBe(at('2026-03-02T06:00:00Z'));
    expect(lastDayEnd(night, at('2026-03-03T12:00:00Z'))).toBe(at('2026-03-03T06:00:00Z'));
  });

  it('a window across midnight is open late and early, closed in between', () => {
    const schedule = parseSchedule('22:00-06:00')!;
    expect(scheduledState(schedule, at('2026-03-02T23:00:00Z'))).toBe('open');
    expect(scheduledState(schedule, at('2026-03-03T05:59:00Z'))).toBe('open');
    expect(scheduledState(schedule, at('2026-03-03T12:00:00Z'))).toBe('closed');
    expect(nextScheduleEvent(schedule, at('2026-03-02T23:00:00Z'))).toEqual({
      kind: 'close',
      atMs: at('2026-03-03T06:00:00Z'),
    });
  });
});
