import { ConcurrencyError } from '../../platform/errors.ts';
import { isUuid } from '../../platform/ids.ts';
import { type CurrencyCode, currencyScale, formatDecimal, isCurrencyCode } from '../../platform/money.ts';
import type { OutboxMessage } from '../../platform/outbox/types.ts';
import type { Pool } from '../../platform/sql/pool.ts';
import { ledgerOf as currencyLedger } from '../accounts/index.ts';
import type { Ledger, TransferInput } from '../ledger/index.ts';
import { postingId } from './ledger-ids.ts';
import { transferCodes, transferLimits, transferTopics } from './limits.ts';
import {
  depositOutcome,
  type FailureReason,
  holdOutcome,
  type TransferEvent,
  type TransferRequestedData,
  type TransferState,
  voidOutcome,
} from './saga.ts';
import type { LoadedTransfer, TransferStore } from './store.ts';
import type { BankAccountsApi, PostingDetail, StepHook } from './types.ts';

/** What the saga's step handlers work with. */
export interface SagaContext {
  pool: Pool;
  store: TransferStore;
  ledger: Ledger;
  accounts: BankAccountsApi;
  hook: StepHook;
}

/** The payload of withdraw and deposit messages. */
export interface StepMessage {
  transferId: string;
}

/** Reads a step message's payload; a malformed one is a bug upstream (it dead-letters). */
export function parseStepMessage(payload: unknown): StepMessage {
  const transferId = (payload as { transferId?: unknown } | null)?.transferId;
  if (typeof transferId !== 'string' || !isUuid(transferId)) {
    throw new TypeError(`transfer step message without a valid transferId: ${JSON.stringify(payload)}`);
  }
  return { transferId };
}

/** The outbox message that runs `step` of a transfer. Keyed by transfer: one transfer's steps run in order. */
export function stepMessage(step: 'withdraw' | 'deposit', transferId: string): OutboxMessage {
  return { topic: transferTopics[step], key: transferId, payload: { transferId } satisfies StepMessage };
}

/**
 * The withdraw phase: WithdrawalStarted, then a pending hold source → clearing under the transfer's
 * deterministic hold id, then WithdrawalHeld with the deposit message — or TransferFailed when the
 * ledger refuses the hold (nothing was touched). Safe to run any number of times, concurrently too:
 * the hold id makes a repeated hold `exists`, and each append expects the version it decided on.
 */
export async function runWithdrawStep(ctx: SagaContext, transferId: string): Promise<void> {
  for (let attempt = 0; attempt < transferLimits.stepAttemptsMax; attempt++) {
    const loaded = await ctx.store.load(transferId);
    const { state } = loaded;
    switch (state.status) {
      case 'RECEIVED':
        if (await tryAppend(ctx, transferId, loaded, [started(transferId)])) {
          await ctx.hook('withdrawal-started', transferId);
        }
        continue;
      case 'WITHDRAWING':
        if (await withdraw(ctx, transferId, loaded)) return;
        continue;
      case 'FAILED':
        // A run that lost the race to a refusal may have placed the hold after all; voiding is
        // idempotent and releases it (a redelivery of that run's message gets here too).
        await releaseHold(ctx, transferId, requestOf(state), state.reason ?? 'insufficient_funds');
        return;
      case 'NONE':
        throw new Error(`invariant violated: withdraw message for transfer ${transferId} without a stream`);
      default:
        return;
    }
  }
  throw new Error(`withdraw step of transfer ${transferId} kept losing races; the bus will redeliver it`);
}

function started(transferId: string): TransferEvent {
  return { type: 'WithdrawalStarted', data: { holdId: postingId(transferId, 'hold') } };
}

/** Places the hold and records the outcome; false when another writer moved the stream first. */
async function withdraw(ctx: SagaContext, transferId: string, loaded: LoadedTransfer): Promise<boolean> {
  const request = requestOf(loaded.state);
  const holdId = postingId(transferId, 'hold');
  await ctx.accounts.recordPostingDetails(ctx.pool, [
    detail(holdId, 'transfer_hold', request, request.targetAccountNumber),
  ]);
  const [result] = await ctx.ledger.createTransfers([holdInput(transferId, request, ctx)]);
  await ctx.hook('hold-placed', transferId);
  const outcome = holdOutcome(result!);
  if (outcome.kind === 'held') {
    const held: TransferEvent = { type: 'WithdrawalHeld', data: { holdId } };
    if (!(await tryAppend(ctx, transferId, loaded, [held], [stepMessage('deposit', transferId)])))
      return false;
    await ctx.hook('withdrawal-held', transferId);
    return true;
  }
  const failed: TransferEvent = {
    type: 'TransferFailed',
    data: { reason: outcome.reason, step: 'withdraw', holdVoided: false, voidId: null },
  };
  const failedState = { ...loaded.state, status: 'FAILED' as const, reason: outcome.reason };
  if (!(await tryAppend(ctx, transferId, loaded, [failed], [notification(failedState, transferId)])))
    return false;
  await ctx.hook('failed', transferId);
  return true;
}

function holdInput(transferId: string, request: TransferRequestedData, ctx: SagaContext): TransferInput {
  const { clearing } = ctx.accounts.bankAccountIds(request.currency as CurrencyCode);
  return {
    id: postingId(transferId, 'hold'),
    debitAccountId: request.sourceAccountId,
    creditAccountId: clearing,
    amount: BigInt(request.amountMinor),
    ledger: ledgerOf(request.currency),
    code: transferCodes.withdrawal,
    flags: { pending: true },
    timeoutSeconds: transferLimits.holdTimeoutSeconds,
    reference: transferId,
  };
}

/**
 * The deposit phase: one linked ledger pair — the deposit clearing → target and the post of the
 * hold — so the target is credited exactly when the source is debited, and a hold that expired or
 * was voided can never leave a deposit behind. Then Deposited + TransferCompleted. If the deposit is
 * refused for good (target closed or gone, any ledger refusal), the hold is voided (compensation)
 * and TransferFailed records why.
 */
export async function runDepositStep(ctx: SagaContext, transferId: string): Promise<void> {
  for (let attempt = 0; attempt < transferLimits.stepAttemptsMax; attempt++) {
    const loaded = await ctx.store.load(transferId);
    switch (loaded.state.status) {
      case 'DEPOSITING':
        if (await deposit(ctx, transferId, loaded)) return;
        continue;
      case 'COMPLETED':
      case 'FAILED':
        return;
      default:
        throw new Error(
          `invariant violated: deposit message for transfer ${transferId} in status ${loaded.state.status}`,
        );
    }
  }
  throw new Error(`deposit step of transfer ${transferId} kept losing races; the bus will redeliver it`);
}

async function deposit(ctx: SagaContext, transferId: string, loaded: LoadedTransfer): Promise<boolean> {
  const request = requestOf(loaded.state);
  const target = await ctx.accounts.findAccount(ctx.pool, request.targetAccountId);
  let refusal: FailureReason | undefined;
  if (!target) refusal = 'target_account_not_found';
  else if (target.status !== 'open') refusal = 'target_account_closed';
  else {
    const outcome = await postDepositPair(ctx, transferId, request);
    if (outcome.kind === 'refused') refusal = outcome.reason;
  }
  if (refusal === undefined) return complete(ctx, transferId, loaded);
  const released = await releaseHold(ctx, transferId, request, refusal);
  // A racing run posted the hold with its deposit first: the money moved, so the transfer completes.
  if (released === 'posted') return complete(ctx, transferId, loaded);
  const failed: TransferEvent = {
    type: 'TransferFailed',
    data: { reason: refusal, step: 'deposit', holdVoided: true, voidId: postingId(transferId, 'void') },
  };
  const failedState = { ...loaded.state, status: 'FAILED' as const, reason: refusal };
  if (!(await tryAppend(ctx, transferId, loaded, [failed], [notification(failedState, transferId)])))
    return false;
  await ctx.hook('failed', transferId);
  return true;
}

async function postDepositPair(ctx: SagaContext, transferId: string, request: TransferRequestedData) {
  const { clearing } = ctx.accounts.bankAccountIds(request.currency as CurrencyCode);
  const depositId = postingId(transferId, 'deposit');
  const postId = postingId(transferId, 'post');
  await ctx.accounts.recordPostingDetails(ctx.pool, [
    detail(depositId, 'transfer_in', request, request.sourceAccountNumber),
    detail(postId, 'transfer_out', request, request.targetAccountNumber),
  ]);
  const results = await ctx.ledger.createTransfers([
    {
      id: depositId,
      debitAccountId: clearing,
      creditAccountId: request.targetAccountId,
      amount: BigInt(request.amountMinor),
      ledger: ledgerOf(request.currency),
      code: transferCodes.deposit,
      flags: { linked: true },
      reference: transferId,
    },
    {
      id: postId,
      pendingId: postingId(transferId, 'hold'),
      flags: { postPending: true },
      reference: transferId,
    },
  ]);
  const outcome = depositOutcome(results);
  if (outcome.kind === 'done') await ctx.hook('deposit-posted', transferId);
  return outcome;
}

async function complete(ctx: SagaContext, transferId: string, loaded: LoadedTransfer): Promise<boolean> {
  const events: TransferEvent[] = [
    {
      type: 'Deposited',
      data: { depositId: postingId(transferId, 'deposit'), postId: postingId(transferId, 'post') },
    },
    { type: 'TransferCompleted', data: {} },
  ];
  const completedState = { ...loaded.state, status: 'COMPLETED' as const };
  if (!(await tryAppend(ctx, transferId, loaded, events, [notification(completedState, transferId)]))) {
    return false;
  }
  await ctx.hook('completed', transferId);
  return true;
}

/** Voids the hold (compensation); `posted` when the hold was posted instead. */
async function releaseHold(
  ctx: SagaContext,
  transferId: string,
  request: TransferRequestedData,
  reason: FailureReason,
): Promise<'released' | 'posted'> {
  const voidId = postingId(transferId, 'void');
  await ctx.accounts.recordPostingDetails(ctx.pool, [
    {
      ...detail(voidId, 'transfer_release', request, request.targetAccountNumber),
      description: `Transfer not made (${reason.replaceAll('_', ' ')}): hold released`,
    },
  ]);
  const [result] = await ctx.ledger.createTransfers([
    {
      id: voidId,
      pendingId: postingId(transferId, 'hold'),
      flags: { voidPending: true },
      reference: transferId,
    },
  ]);
  const outcome = voidOutcome(result!);
  if (outcome === 'released' && (result === 'ok' || result === 'exists'))
    await ctx.hook('hold-voided', transferId);
  return outcome;
}

/** Appends unless another writer moved the stream first (then the caller reloads and decides again). */
async function tryAppend(
  ctx: SagaContext,
  transferId: string,
  loaded: LoadedTransfer,
  events: TransferEvent[],
  outbox: OutboxMessage[] = [],
): Promise<boolean> {
  try {
    await ctx.store.append(transferId, loaded, events, outbox);
    return true;
  } catch (error) {
    if (error instanceof ConcurrencyError) return false;
    throw error;
  }
}

function requestOf(state: TransferState): TransferRequestedData {
  if (!state.request) throw new Error('invariant violated: a transfer step ran before the request');
  return state.request;
}

function detail(
  ledgerTransferId: string,
  type: string,
  request: TransferRequestedData,
  counterparty: string,
): PostingDetail {
  return {
    ledgerTransferId,
    type,
    description: request.description ?? `Transfer ${request.transferId}`,
    counterparty,
    transferId: request.transferId,
  };
}

/** The ledger of a currency (its ISO 4217 numeric code, numbered by the accounts module). */
function ledgerOf(currency: string): number {
  if (!isCurrencyCode(currency)) throw new Error(`invariant violated: no ledger for currency ${currency}`);
  return currencyLedger(currency);
}

/** The notification of a final transfer, to the customer who sent it. */
export function notification(state: TransferState, transferId: string): OutboxMessage {
  const request = requestOf(state);
  const amount = formatDecimal(state.amountMinor, currencyScale(request.currency as CurrencyCode));
  const completed = state.status === 'COMPLETED';
  return {
    topic: transferTopics.notifications,
    key: request.sourceCustomerId,
    payload: {
      kind: completed ? 'transfer.completed' : 'transfer.failed',
      customerId: request.sourceCustomerId,
      transferId,
      amount,
      currency: request.currency,
      targetAccountNumber: request.targetAccountNumber,
      ...(completed ? {} : { reason: state.reason }),
    },
  };
}
