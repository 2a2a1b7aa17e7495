import type { Clock } from '../../platform/clock.ts';
import { assert } from '../../platform/errors.ts';
import type { EventStore } from '../../platform/event-store/index.ts';
import type { OutboxMessage } from '../../platform/outbox/types.ts';
import type { PoolClient } from '../../platform/sql/pool.ts';
import {
  evolveTransfer,
  initialTransferState,
  isFinal,
  type TimedTransferEvent,
  type TransferEvent,
  type TransferState,
} from './saga.ts';

export interface LoadedTransfer {
  state: TransferState;
  version: bigint;
}

/** The stream of one transfer. */
export function transferStreamId(transferId: string): string {
  return `transfer-${transferId}`;
}

/**
 * Loads and appends transfer streams. Every append also writes the transfer's row in
 * `bank_transfers` (the sweeper's index) and, when the transfer ends, resolves its open alerts —
 * in the append's transaction, so the index never disagrees with the stream.
 */
export class TransferStore {
  readonly #events: EventStore;
  readonly #clock: Clock;

  constructor(events: EventStore, clock: Clock) {
    this.#events = events;
    this.#clock = clock;
  }

  async load(transferId: string): Promise<LoadedTransfer> {
    return this.#events.aggregateStream<TransferState, TimedEventAsStored>(transferStreamId(transferId), {
      initialState: initialTransferState,
      evolve: (state, event) => evolveTransfer(state, event as unknown as TimedTransferEvent),
    });
  }

  /**
   * Appends `events` if the stream is still at `loaded.version` (else ConcurrencyError, nothing
   * written) with `outbox` messages; returns the state after them.
   */
  async append(
    transferId: string,
    loaded: LoadedTransfer,
    events: TransferEvent[],
    outbox: OutboxMessage[] = [],
  ): Promise<TransferState> {
    const now = this.#clock.now();
    const state = events.reduce((s, e) => evolveTransfer(s, { ...e, recordedAt: now }), loaded.state);
    await this.#events.transaction(async (tx) => {
      const { nextExpectedVersion } = await this.#events.appendToStream(
        transferStreamId(transferId),
        events,
        {
          expectedVersion: loaded.version,
          outbox,
          tx,
        },
      );
      await writeIndex(tx, transferId, state, nextExpectedVersion, now, loaded.version === 0n);
    });
    return state;
  }
}

/** The stored shape aggregateStream hands evolve (a NewEvent with RecordedFields). */
type TimedEventAsStored = { type: string; data: unknown };

async function writeIndex(
  tx: PoolClient,
  transferId: string,
  state: TransferState,
  version: bigint,
  now: Date,
  created: boolean,
): Promise<void> {
  const request = state.request;
  assert(request !== null && state.status !== 'NONE', `transfer ${transferId} appended without a request`);
  if (created) {
    await tx.query(
      `INSERT INTO bank_transfers (id, status, source_account_id, target_account_id, source_customer_id,
         target_customer_id, currency, amount_minor, reason, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
      [
        transferId,
        state.status,
        request.sourceAccountId,
        request.targetAccountId,
        request.sourceCustomerId,
        request.targetCustomerId,
        request.currency,
        state.amountMinor,
        state.reason,
        version,
        now,
      ],
    );
    return;
  }
  const updated = await tx.query(
    'UPDATE bank_transfers SET status = $2, reason = $3, version = $4, updated_at = $5 WHERE id = $1',
    [transferId, state.status, state.reason, version, now],
  );
  assert(updated.rowCount === 1, `transfer ${transferId} has no index row`);
  if (isFinal(state.status)) {
    await tx.query(
      `UPDATE bank_alerts SET status = 'resolved', resolved_at = $2, updated_at = $2
       WHERE subject_id = $1 AND status = 'open'`,
      [transferId, now],
    );
  }
}
