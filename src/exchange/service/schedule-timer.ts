import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/log.ts';
import type { ExchangeService } from './exchange-service.ts';
import { exchangeServiceLimits } from './limits.ts';
import { nextScheduleEvent, type Schedule, scheduledState } from './schedule.ts';

/**
 * The shell that applies the configured schedule: at start it puts the market in the state the
 * schedule says (a window schedule only), then sleeps until the next boundary and applies it
 * (open, close, or the `always` schedule's daily roll). Times come from the Clock; the decisions
 * from the pure functions in schedule.ts.
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

  /** Applies the schedule's current state (window schedules) and arms the timer. */
  async start(): Promise<void> {
    if (this.schedule.kind === 'window') {
      const state = scheduledState(this.schedule, this.clock.nowMs());
      await this.service.applyScheduleEvent(state === 'open' ? 'open' : 'close');
    }
    this.arm();
  }

  /** Stops the timer and waits for a boundary being applied. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    const nowMs = this.clock.nowMs();
    const next = nextScheduleEvent(this.schedule, nowMs);
    const delayMs = Math.min(next.atMs - nowMs, exchangeServiceLimits.scheduleTimerDelayMsMax);
    this.timer = setTimeout(() => this.fire(next.atMs, next.kind), delayMs);
    this.timer.unref();
  }

  private fire(atMs: number, kind: 'open' | 'close' | 'roll'): void {
    // A timer may fire early (long sleeps are capped, clocks drift): only act once the boundary passed.
    if (this.clock.nowMs() < atMs) {
      this.arm();
      return;
    }
    this.running = this.service
      .applyScheduleEvent(kind)
      .then(
        (expired) => this.log?.info({ event: kind, expiredOrders: expired }, 'exchange schedule applied'),
        (error: unknown) => this.log?.error({ err: error, event: kind }, 'exchange schedule event failed'),
      )
      .finally(() => this.arm());
  }
}
