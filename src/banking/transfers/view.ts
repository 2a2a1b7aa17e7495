import { type CurrencyCode, currencyScale, formatDecimal } from '../../platform/money.ts';
import type { FailureReason, TransferEventType, TransferState, TransferStatus } from './saga.ts';

/** A transfer as GET /api/transfers/{id} (and the admin stream view) shows it. */
export interface TransferView {
  transferId: string;
  status: TransferStatus;
  reason?: FailureReason;
  amount: string;
  currency: string;
  sourceAccountId: string;
  targetAccountId: string;
  description: string | null;
  steps: Array<{ type: TransferEventType; time: string }>;
}

/** The view of a transfer that has been requested (state.request is set). */
export function transferView(state: TransferState): TransferView | undefined {
  const request = state.request;
  if (!request || state.status === 'NONE') return undefined;
  return {
    transferId: request.transferId,
    status: state.status,
    ...(state.reason ? { reason: state.reason } : {}),
    amount: formatDecimal(state.amountMinor, currencyScale(request.currency as CurrencyCode)),
    currency: request.currency,
    sourceAccountId: request.sourceAccountId,
    targetAccountId: request.targetAccountId,
    description: request.description,
    steps: state.steps,
  };
}
