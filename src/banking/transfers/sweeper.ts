import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../platform/clock.ts';
import { pause } from '../../platform/event-store/notifications.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { enqueueOutbox } from '../../platform/outbox/index.ts';
import type { Pool, PoolClient } from '../../platform/sql/pool.ts';
import type { Ledger } from '../ledger/index.ts';
import { sweeperLockKey, transferLimits } from './limits.ts';
import { nextStep, type TransferStatus } from './saga.ts';
import { stepMessage } from './steps.ts';

export interface SweeperOptions {
  pool: Pool;
  ledger: Ledger;
  clock: Clock;
  metrics: Registry;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** A transfer whose stream has not moved for this long is stuck (KINYU_TRANSFER_STUCK_AFTER_MS). */
  stuckAfterMs: number;
  /** Pause between rounds; defaults to half the stuck threshold, within sweepIntervalMs bounds. */
  intervalMs?: number;
}

/** What one round did; `leader` false when another process holds the sweeper's lock. */
export interface SweepReport {
  leader: boolean;
  stuck: number;
  redriven: number;
  /** Stuck transfers past the retry budget: their alert waits for a human. */
  exhausted: number;
  holdsExpired: number;
}

/** Alert kind of a transfer that stopped moving. */
export const stuckTransferAlert = 'transfer_stuck';

const sweepIntervalMsMin = 50;
const sweepIntervalMsMax = 10_000;

interface StuckRow {
  id: string;
  status: TransferStatus;
  redrives: number;
  updated_at: Date;
}

/**
 * Finds transfers stuck in a non-final state, raises an alert (metric + `bank_alerts` row) and
 * re-enqueues their next step, at most `transferLimits.redrivesMax` times each; it also runs the
 * ledger's hold expiry. One process sweeps at a time: each round runs only while holding a
 * PostgreSQL session advisory lock (the relay's election, per round), so a crashed leader's lock
 * goes with its connection and the next round of another process takes over.
 */
export class TransferSweeper {
  readonly #options: SweeperOptions;
  readonly #intervalMs: number;
  readonly #stuckTotal: Counter;
  readonly #redrivesTotal: Counter;
  readonly #expiredTotal: Counter;
  #stopping = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: SweeperOptions) {
    this.#options = options;
    const fallback = Math.floor(options.stuckAfterMs / 2);
    this.#intervalMs = Math.min(
      sweepIntervalMsMax,
      Math.max(sweepIntervalMsMin, options.intervalMs ?? fallback),
    );
    const registers = [options.metrics];
    this.#stuckTotal = new Counter({
      name: 'kinyu_bank_transfers_stuck_total',
      help: 'Times the sweeper found a transfer stuck in a non-final state',
      registers,
    });
    this.#redrivesTotal = new Counter({
      name: 'kinyu_bank_transfer_redrives_total',
      help: 'Stuck transfers whose next step the sweeper re-enqueued',
      registers,
    });
    this.#expiredTotal = new Counter({
      name: 'kinyu_bank_ledger_holds_expired_total',
      help: 'Pending ledger holds voided by the timeout sweep',
      registers,
    });
    const pool = options.pool;
    new Gauge({
      name: 'kinyu_bank_alerts_open',
      help: 'Open bank alerts (stuck transfers waiting for the sweeper or a human)',
      registers,
      async collect() {
        const { rows } = await pool.query<{ n: bigint }>(
          "SELECT count(*) AS n FROM bank_alerts WHERE status = 'open'",
        );
        this.set(Number(rows[0]?.n ?? 0n));
      },
    });
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = new AbortController();
    this.#loop = this.#run(this.#stopping.signal);
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.runOnce();
      } catch (error) {
        this.#options.logger.error({ err: error }, 'transfer sweeper round failed');
      }
      await pause(this.#intervalMs, signal);
    }
  }

  /** One round, if this process wins the lock. */
  async runOnce(): Promise<SweepReport> {
    const client = await this.#options.pool.connect();
    let healthy = true;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        sweeperLockKey,
      ]);
      if (!rows[0]!.locked) return { leader: false, stuck: 0, redriven: 0, exhausted: 0, holdsExpired: 0 };
      try {
        return await this.#round(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [sweeperLockKey]).catch(() => {
          healthy = false;
        });
      }
    } catch (error) {
      healthy = false;
      throw error;
    } finally {
      // A connection in an unknown state could still hold the lock: drop it, and the lock with it.
      client.release(!healthy);
    }
  }

  async #round(client: PoolClient): Promise<SweepReport> {
    const now = this.#options.clock.now();
    const holdsExpired = await this.#options.ledger.expirePendingTransfers(now);
    this.#expiredTotal.inc(holdsExpired);
    const stuckBefore = new Date(now.getTime() - this.#options.stuckAfterMs);
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM bank_transfers
       WHERE status IN ('RECEIVED', 'WITHDRAWING', 'DEPOSITING') AND updated_at < $1
         AND (last_redrive_at IS NULL OR last_redrive_at < $1)
       ORDER BY updated_at LIMIT $2`,
      [stuckBefore, transferLimits.sweepBatchMax],
    );
    const report: SweepReport = { leader: true, stuck: 0, redriven: 0, exhausted: 0, holdsExpired };
    for (const { id } of rows) {
      const outcome = await this.#sweepOne(client, id, stuckBefore, now);
      if (outcome === 'moved') continue;
      report.stuck++;
      this.#stuckTotal.inc();
      if (outcome === 'redriven') {
        report.redriven++;
        this.#redrivesTotal.inc();
      } else report.exhausted++;
    }
    if (report.stuck > 0) this.#options.logger.warn(report, 'stuck bank transfers found');
    return report;
  }

  /** Re-checks one transfer under its row lock, raises its alert and re-drives it within budget. */
  async #sweepOne(
    client: PoolClient,
    id: string,
    stuckBefore: Date,
    now: Date,
  ): Promise<'moved' | 'redriven' | 'exhausted'> {
    await client.query('BEGIN');
    try {
      const { rows } = await client.query<StuckRow>(
        'SELECT id, status, redrives, updated_at FROM bank_transfers WHERE id = $1 FOR UPDATE',
        [id],
      );
      const row = rows[0];
      const step = row && nextStep(row.status);
      if (!row || !step || row.updated_at >= stuckBefore) {
        await client.query('COMMIT');
        return 'moved';
      }
      const budgetLeft = row.redrives < transferLimits.redrivesMax;
      const detail = budgetLeft
        ? `transfer stuck in ${row.status} since ${row.updated_at.toISOString()}; re-driving the ${step} step (${row.redrives + 1} of ${transferLimits.redrivesMax})`
        : `transfer stuck in ${row.status} since ${row.updated_at.toISOString()}; ${transferLimits.redrivesMax} re-drives did not move it: needs a human`;
      await client.query(
        `INSERT INTO bank_alerts (id, kind, subject_id, status, detail, attempts, raised_at, updated_at)
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $6)
         ON CONFLICT (kind, subject_id) WHERE status = 'open'
         DO UPDATE SET detail = EXCLUDED.detail, attempts = EXCLUDED.attempts, updated_at = EXCLUDED.updated_at`,
        [newId(), stuckTransferAlert, id, detail, row.redrives + (budgetLeft ? 1 : 0), now],
      );
      if (budgetLeft) {
        await enqueueOutbox(client, [stepMessage(step, id)], { clock: this.#options.clock });
      }
      await client.query(
        'UPDATE bank_transfers SET redrives = redrives + $2, last_redrive_at = $3 WHERE id = $1',
        [id, budgetLeft ? 1 : 0, now],
      );
      await client.query('COMMIT');
      return budgetLeft ? 'redriven' : 'exhausted';
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
}
