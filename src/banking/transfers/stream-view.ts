import type { StreamView, StreamViewEvent } from '../admin/stream-views.ts';
import { evolveTransfer, initialTransferState, type TimedTransferEvent, type TransferState } from './saga.ts';
import { transferView } from './view.ts';

/**
 * The admin's view of `transfer-<id>` streams. Transfer events hold no personal data beyond account
 * ids and numbers, which an admin may see; the customer's free-text description is shown as sent.
 */
export const transferStreamView: StreamView<TransferState> = {
  category: 'transfer',
  initialState: initialTransferState,
  evolve: (state: TransferState, event: StreamViewEvent) =>
    evolveTransfer(state, {
      type: event.type,
      data: event.data,
      recordedAt: event.recordedAt,
    } as TimedTransferEvent),
  mask: (event: StreamViewEvent) => event.data,
  present: (state: TransferState) => transferView(state) ?? null,
};
