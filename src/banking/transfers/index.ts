import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ModuleContext } from '../../app/module.ts';
import type { Subscription } from '../../platform/bus/types.ts';
import { registerErrors } from '../../platform/errors.ts';
import { EventStore } from '../../platform/event-store/index.ts';
import { registerStreamView } from '../admin/stream-views.ts';
import { Ledger } from '../ledger/index.ts';
import { transferErrors } from './errors.ts';
import { transferGroups, transferTopics } from './limits.ts';
import { handleNotification } from './notifier.ts';
import { transferRoutes } from './routes.ts';
import { parseStepMessage, runDepositStep, runWithdrawStep, type SagaContext } from './steps.ts';
import { TransferStore } from './store.ts';
import { transferStreamView } from './stream-view.ts';
import { TransferSweeper } from './sweeper.ts';
import type { BankAccountsApi, StepHook } from './types.ts';

export { transferErrors } from './errors.ts';
export { postingId, transferIdForKey } from './ledger-ids.ts';
export { transferCodes, transferGroups, transferLimits, transferTopics } from './limits.ts';
export { type TransferStatus, transferStatuses } from './saga.ts';
export { transferStreamId } from './store.ts';
export { type SweepReport, stuckTransferAlert, TransferSweeper } from './sweeper.ts';
export type { BankAccount, BankAccountsApi, PostingDetail, SagaStep, StepHook } from './types.ts';
export { sagaSteps } from './types.ts';

export interface TransferDeps {
  /** findAccount, bankAccountIds and recordPostingDetails from src/banking/accounts/index.ts. */
  accounts: BankAccountsApi;
  /** Called after each durable saga effect; tests use it to kill the process mid-saga. */
  hook?: StepHook;
  /** Parallel keys per consumer (bus `concurrency`); default 8. */
  concurrency?: number;
}

export interface Transfers {
  /** POST /api/transfers, GET /api/transfers/{id}: join them to the HTTP server (role `api`). */
  routes: FastifyPluginAsyncTypebox;
  /** Starts the withdraw, deposit and notification consumers and the sweeper (role `workers` only). */
  start(): void;
  stop(): Promise<void>;
  sweeper: TransferSweeper;
  store: TransferStore;
}

/**
 * The transfer saga (see docs/bank-transfers.md). The composition root calls it with the module
 * context and the accounts module's functions, adds `routes` to the module's routes, calls `start()`
 * and, on shutdown, `stop()`.
 */
export function createTransfers(ctx: ModuleContext, deps: TransferDeps): Transfers {
  registerErrors(transferErrors);
  registerStreamView(transferStreamView);
  const events = new EventStore(ctx.pool, ctx.clock);
  const store = new TransferStore(events, ctx.clock);
  const ledger = new Ledger(ctx.pool, { clock: ctx.clock });
  const hook: StepHook = deps.hook ?? (() => {});
  const saga: SagaContext = { pool: ctx.pool, store, ledger, accounts: deps.accounts, hook };
  const sweeper = new TransferSweeper({
    pool: ctx.pool,
    ledger,
    clock: ctx.clock,
    metrics: ctx.metrics,
    logger: ctx.logger,
    stuckAfterMs: ctx.config.transferStuckAfterMs,
  });
  const subscriptions: Subscription[] = [];
  const concurrency = deps.concurrency ?? 8;
  const workers = ctx.config.roles.includes('workers');
  return {
    routes: transferRoutes({ pool: ctx.pool, store, ledger, accounts: deps.accounts }),
    sweeper,
    store,
    start() {
      if (!workers || subscriptions.length > 0) return;
      subscriptions.push(
        ctx.bus.subscribe(
          transferTopics.withdraw,
          transferGroups.withdraw,
          (message) => runWithdrawStep(saga, parseStepMessage(message.payload).transferId),
          { concurrency },
        ),
        ctx.bus.subscribe(
          transferTopics.deposit,
          transferGroups.deposit,
          (message) => runDepositStep(saga, parseStepMessage(message.payload).transferId),
          { concurrency },
        ),
        ctx.bus.subscribe(
          transferTopics.notifications,
          transferGroups.notifier,
          (message) => handleNotification({ pool: ctx.pool, clock: ctx.clock, hook }, message),
          { concurrency },
        ),
      );
      sweeper.start();
    },
    async stop() {
      await sweeper.stop();
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
      await events.close();
    },
  };
}
