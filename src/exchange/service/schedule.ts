/*
 * The trading schedule from configuration (KINYU_EXCHANGE_SCHEDULE), as pure functions of a time.
 * `always`: open around the clock, with a daily roll at 00:00 UTC that expires DAY orders.
 * `HH:MM-HH:MM`: opens at the first and closes at the second minute (UTC) every day; a window may
 * cross midnight ("22:00-06:00"). The shell's timer asks `nextScheduleEvent` when to wake up.
 */

export type Schedule = { kind: 'always' } | { kind: 'window'; openMinute: number; closeMinute: number };

/** What happens at a schedule boundary. */
export type ScheduleEventKind = 'open' | 'close' | 'roll';

export interface ScheduleEvent {
  kind: ScheduleEventKind;
  /** Epoch milliseconds of the boundary. */
  atMs: number;
}

const minuteMs = 60_000;
const dayMs = 24 * 60 * minuteMs;
const windowPattern = /^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** Parses the configured schedule; null when it is neither `always` nor a valid window. */
export function parseSchedule(text: string): Schedule | null {
  if (text === 'always') return { kind: 'always' };
  const match = windowPattern.exec(text);
  if (!match) return null;
  const [, openHour, openMin, closeHour, closeMin] = match;
  const openMinute = Number(openHour) * 60 + Number(openMin);
  const closeMinute = Number(closeHour) * 60 + Number(closeMin);
  if (openMinute === closeMinute) return null;
  return { kind: 'window', openMinute, closeMinute };
}

/** Whether the schedule has the market open at `nowMs` (`always`: open). */
export function scheduledState(schedule: Schedule, nowMs: number): 'open' | 'closed' {
  if (schedule.kind === 'always') return 'open';
  const minute = Math.floor((((nowMs % dayMs) + dayMs) % dayMs) / minuteMs);
  const { openMinute, closeMinute } = schedule;
  const inside =
    openMinute < closeMinute
      ? minute >= openMinute && minute < closeMinute
      : minute >= openMinute || minute < closeMinute;
  return inside ? 'open' : 'closed';
}

/** The first boundary strictly after `nowMs`. */
export function nextScheduleEvent(schedule: Schedule, nowMs: number): ScheduleEvent {
  if (schedule.kind === 'always') return { kind: 'roll', atMs: nextMinuteOfDay(0, nowMs) };
  const open = nextMinuteOfDay(schedule.openMinute, nowMs);
  const close = nextMinuteOfDay(schedule.closeMinute, nowMs);
  return open < close ? { kind: 'open', atMs: open } : { kind: 'close', atMs: close };
}

/**
 * The last moment at or before `nowMs` when DAY orders expired by the schedule: the latest close
 * (window) or 00:00 UTC (`always`). A DAY order placed before it must not rest at `nowMs`.
 */
export function lastDayEnd(schedule: Schedule, nowMs: number): number {
  return previousMinuteOfDay(schedule.kind === 'always' ? 0 : schedule.closeMinute, nowMs);
}

function previousMinuteOfDay(minuteOfDay: number, nowMs: number): number {
  return nextMinuteOfDay(minuteOfDay, nowMs) - dayMs;
}

function nextMinuteOfDay(minuteOfDay: number, nowMs: number): number {
  const dayStart = Math.floor(nowMs / dayMs) * dayMs;
  const today = dayStart + minuteOfDay * minuteMs;
  return today > nowMs ? today : today + dayMs;
}
