import type { DeliveredMessage } from '../../platform/bus/types.ts';
import type { Clock } from '../../platform/clock.ts';
import { handleOnce } from '../../platform/consumer/handle-once.ts';
import type { Pool } from '../../platform/sql/pool.ts';
import { transferGroups } from './limits.ts';
import type { StepHook } from './types.ts';

interface TransferNotification {
  kind: 'transfer.completed' | 'transfer.failed';
  customerId: string;
  transferId: string;
}

const kinds = new Set(['transfer.completed', 'transfer.failed']);

/**
 * Stores a transfer notification for the customer once per message (handleOnce): the table
 * `bank_transfer_notifications` is the customer's inbox until a notification module delivers mail.
 * Messages of other kinds on the topic are left to their own consumers.
 */
export async function handleNotification(
  deps: { pool: Pool; clock: Clock; hook: StepHook },
  message: DeliveredMessage,
): Promise<void> {
  const payload = message.payload as Partial<TransferNotification> | null;
  if (!payload || typeof payload.kind !== 'string' || !kinds.has(payload.kind)) return;
  const { customerId, transferId, kind } = payload as TransferNotification;
  await handleOnce(deps.pool, transferGroups.notifier, message.id, (tx) =>
    tx.query(
      `INSERT INTO bank_transfer_notifications (message_id, customer_id, transfer_id, kind, body, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [message.id, customerId, transferId, kind, JSON.stringify(payload), deps.clock.now()],
    ),
  );
  await deps.hook('notified', transferId);
}
