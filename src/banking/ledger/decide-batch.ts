import { type AccountCommand, type AccountRecord, decideAccount } from './decide-account.ts';
import { decideTransfer, isResolution, type TransferCommand } from './decide-transfer.ts';
import { accountFlagBits, hasFlag, transferFlagBits } from './flags.ts';
import { isUuid } from './ids.ts';
import { decideLinked, UndoJournal } from './linked-batch.ts';
import type { AccountResult, TransferResult } from './results.ts';
import {
  type AccountState,
  applyEffect,
  type PendingState,
  type PendingStatus,
  type TransferRecord,
} from './state.ts';

/*
 * Whole batches, still pure: each event is decided against the state left by the events before it,
 * linked chains are honoured, and the caller's maps end in the batch's final state. The PostgreSQL
 * shell and the in-memory reference ledger both call these, so they cannot disagree on a rule.
 */

/** What a transfer batch is decided against; the maps are updated in place. */
export interface TransferBatchState {
  /** Every account the batch may touch (in the shell: locked FOR UPDATE). */
  accounts: Map<string, AccountState>;
  /** Stored transfers under the batch's ids and its pendingIds. */
  transfers: Map<string, TransferRecord>;
  /** How the pending transfers in `transfers` ended; absent means still pending. */
  pendingStatus: Map<string, PendingStatus>;
}

export interface TransferBatchOutcome {
  results: TransferResult[];
  /** The transfers to store, in batch order. */
  created: TransferRecord[];
}

/** Decides a batch of transfers at one timestamp. `expiring` is for the timeout sweep only. */
export function decideTransferBatch(
  commands: readonly TransferCommand[],
  state: TransferBatchState,
  now: Date,
  expiring = false,
): TransferBatchOutcome {
  const journal = new UndoJournal();
  const drafts = new Array<TransferRecord | undefined>(commands.length);
  const results = decideLinked(
    commands.length,
    (i) => hasFlag(commands[i]!.flags, transferFlagBits.linked),
    (i) => {
      const decision = decideOne(commands[i]!, state, now, expiring);
      if (decision.result !== 'ok') return decision.result;
      drafts[i] = decision.transfer;
      record(decision, state, journal, expiring);
      return 'ok';
    },
    journal,
  );
  return { results, created: collectCreated(results, drafts) };
}

function decideOne(t: TransferCommand, state: TransferBatchState, now: Date, expiring: boolean) {
  const pending = isResolution(t.flags) ? pendingState(state, t.pendingId) : undefined;
  const debitId = isResolution(t.flags) ? pending?.transfer.debitAccountId : t.debitAccountId;
  const creditId = isResolution(t.flags) ? pending?.transfer.creditAccountId : t.creditAccountId;
  return decideTransfer({
    command: t,
    existing: state.transfers.get(t.id),
    pending,
    debitAccount: debitId === undefined ? undefined : state.accounts.get(debitId),
    creditAccount: creditId === undefined ? undefined : state.accounts.get(creditId),
    now,
    expiring,
  });
}

function pendingState(state: TransferBatchState, pendingId: string | undefined): PendingState | undefined {
  const transfer = pendingId === undefined ? undefined : state.transfers.get(pendingId);
  return transfer && { transfer, status: state.pendingStatus.get(transfer.id) ?? 'pending' };
}

function record(
  decision: Extract<ReturnType<typeof decideTransfer>, { result: 'ok' }>,
  state: TransferBatchState,
  journal: UndoJournal,
  expiring: boolean,
): void {
  const { transfer, debit, credit } = decision;
  const dr = state.accounts.get(transfer.debitAccountId)!;
  const cr = state.accounts.get(transfer.creditAccountId)!;
  journal.set(state.accounts, dr.id, applyEffect(dr, debit));
  journal.set(state.accounts, cr.id, applyEffect(cr, credit));
  journal.set(state.transfers, transfer.id, transfer);
  if (transfer.pendingId !== null) {
    const posted = hasFlag(transfer.flags, transferFlagBits.postPending);
    journal.set(state.pendingStatus, transfer.pendingId, posted ? 'posted' : expiring ? 'expired' : 'voided');
  }
}

function collectCreated<T>(results: readonly string[], drafts: readonly (T | undefined)[]): T[] {
  const created: T[] = [];
  for (let i = 0; i < results.length; i++) if (results[i] === 'ok') created.push(drafts[i]!);
  return created;
}

export interface AccountBatchOutcome {
  results: AccountResult[];
  created: AccountRecord[];
}

/** Decides a batch of accounts; `existing` holds stored accounts under the batch's ids and is updated. */
export function decideAccountBatch(
  commands: readonly AccountCommand[],
  existing: Map<string, AccountRecord>,
  now: Date,
): AccountBatchOutcome {
  const journal = new UndoJournal();
  const drafts = new Array<AccountRecord | undefined>(commands.length);
  const results = decideLinked(
    commands.length,
    (i) => hasFlag(commands[i]!.flags, accountFlagBits.linked),
    (i) => {
      const command = commands[i]!;
      const decision = decideAccount(command, existing.get(command.id), now);
      if (decision.result !== 'ok') return decision.result;
      drafts[i] = decision.account;
      journal.set(existing, command.id, decision.account);
      return 'ok';
    },
    journal,
  );
  return { results, created: collectCreated(results, drafts) };
}

/** Valid UUIDs among `ids`, once each: what a batch may look up in storage. */
export function uniqueUuids(ids: Iterable<string | undefined>): string[] {
  const unique = new Set<string>();
  for (const id of ids) if (id !== undefined && isUuid(id)) unique.add(id);
  return [...unique];
}

/** The pending transfers a batch resolves. */
export function batchPendingIds(commands: readonly TransferCommand[]): string[] {
  return uniqueUuids(commands.map((t) => (isResolution(t.flags) ? t.pendingId : undefined)));
}

/**
 * The accounts a batch may touch: the debit and credit accounts it names, and for posts and voids
 * those of the stored pending transfer (a pending transfer created in the same batch names its
 * accounts itself).
 */
export function batchAccountIds(
  commands: readonly TransferCommand[],
  pendings: ReadonlyMap<string, TransferRecord>,
): string[] {
  const ids: Array<string | undefined> = [];
  for (const t of commands) {
    if (!isResolution(t.flags)) {
      ids.push(t.debitAccountId, t.creditAccountId);
      continue;
    }
    const pending = t.pendingId === undefined ? undefined : pendings.get(t.pendingId);
    if (pending) ids.push(pending.debitAccountId, pending.creditAccountId);
  }
  return uniqueUuids(ids);
}
