import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/log.ts';
import type { ExchangeService } from './exchange-service.ts';
import { exchangeServiceLimits } from './limits.ts';
import {
  lastDayEnd,
  nextScheduleEvent,
  type Schedule,
  type ScheduleEventKind,
  scheduledState,
} from './schedule.ts';

/**
 * The shell that applies the configured schedule: at start, and whenever it wakes at a boundary
 * (open, close, or the `always` schedule's daily roll), it puts the market in the state the
 * schedule says for the time it is now (a window schedule only) and expires every DAY order placed
 * before the schedule's last close or roll. So what happened while the exchange was down, or while
 * a late timer slept (a suspended host, a clock step), is made up before the next order, and a
 * late wake never applies the boundary it was armed for at the wrong time. Times come from the
 * Clock; the decisions from the pure functions in schedule.ts.
 */
export class ScheduleTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly service: ExchangeService,
    private readonly schedule: Schedule,
    private readonly clock: Clock,
    private readonly log?: Logger,
  ) {}

  /** Applies the schedule as of now and arms the timer. */
  async start(): Promise<void> {
    await this.catchUp();
    this.arm();
  }

  /** Stops the timer and waits for a boundary being applied. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** The schedule's state for now (window schedules), then the DAY orders it has expired since. */
  private async catchUp(): Promise<{ state: 'open' | 'closed'; expiredOrders: number }> {
    const nowMs = this.clock.nowMs();
    const state = scheduledState(this.schedule, nowMs);
    let expiredOrders = 0;
    if (this.schedule.kind === 'window') {
      expiredOrders += await this.service.applyScheduleEvent(state === 'open' ? 'open' : 'close');
    }
    expiredOrders += await this.service.expireStaleDayOrders(lastDayEnd(this.schedule, nowMs));
    return { state, expiredOrders };
  }

  private arm(): void {
    if (this.stopped) return;
    const nowMs = this.clock.nowMs();
    const next = nextScheduleEvent(this.schedule, nowMs);
    const delayMs = Math.min(next.atMs - nowMs, exchangeServiceLimits.scheduleTimerDelayMsMax);
    this.timer = setTimeout(() => this.fire(next.atMs, next.kind), delayMs);
    this.timer.unref();
  }

  private fire(atMs: number, kind: ScheduleEventKind): void {
    // A timer may fire early (long sleeps are capped, clocks drift): only act once the boundary passed.
    if (this.clock.nowMs() < atMs) {
      this.arm();
      return;
    }
    this.running = this.catchUp()
      .then(
        (applied) => this.log?.info({ event: kind, ...applied }, 'exchange schedule applied'),
        (error: unknown) => this.log?.error({ err: error, event: kind }, 'exchange schedule event failed'),
      )
      .finally(() => this.arm());
  }
}
