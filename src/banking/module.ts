import type { FastifyPluginAsync } from 'fastify';
import type { ModuleStarter } from '../app/module.ts';
import { configuredOrStoredSecret } from '../app/secrets.ts';
import type { IdentityService } from '../identity/index.ts';
import type { Bus, Subscription } from '../platform/bus/types.ts';
import type { Clock } from '../platform/clock.ts';
import type { Config } from '../platform/config.ts';
import { registerErrors } from '../platform/errors.ts';
import { EventStore } from '../platform/event-store/index.ts';
import { type IdGenerator, uuidv7Generator } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import type { Pool } from '../platform/sql/pool.ts';
import { bankAccountIds, ensureBankAccounts, findAccount, recordPostingDetails } from './accounts/index.ts';
import { createBankAdmin } from './admin/index.ts';
import { registerStreamView } from './admin/stream-views.ts';
import { coreLedgerRoutes } from './core-api/routes.ts';
import { seedDemoCustomers } from './demo/demo.ts';
import { bankErrors } from './errors.ts';
import { Ledger, ledgerErrors } from './ledger/index.ts';
import { subscribeOnboardingSteps } from './onboarding/consumer.ts';
import { onboardingRoutes } from './onboarding/routes.ts';
import { OnboardingService } from './onboarding/service.ts';
import { applicationStreamView } from './onboarding/stream-view.ts';
import { type Keyring, keyringOfGeneratedKey, parseKeyring } from './pii/index.ts';
import { HistoryProjector } from './read-models/history-projector.ts';
import { customerReadRoutes } from './read-models/routes.ts';
import { tellerRoutes } from './tellers/routes.ts';
import { Teller } from './tellers/teller.ts';
import { createTransfers } from './transfers/index.ts';

/** The settings the bank reads; `Config` satisfies it. */
export type BankSettings = Pick<
  Config,
  | 'bankBranch'
  | 'bankCurrencies'
  | 'rateLimitApplyMax'
  | 'rateLimitWindowMs'
  | 'bankHistoryPollMs'
  | 'busMaxDeliveries'
>;

export interface BankDeps {
  pool: Pool;
  identity: Pick<IdentityService, 'createUserWithTemporaryPassword' | 'resetPassword'>;
  keyring: Keyring;
  clock: Clock;
  settings: BankSettings;
  ids?: IdGenerator;
  log?: Logger;
}

/** The bank's parts (accounts, onboarding, tellers, core API, read models), built but not started. */
export interface Bank {
  ledger: Ledger;
  store: EventStore;
  onboarding: OnboardingService;
  teller: Teller;
  projector: HistoryProjector;
  routes: FastifyPluginAsync[];
}

/** Builds the bank's parts; tests use it with their own pool, identity and clock. */
export function createBank(deps: BankDeps): Bank {
  registerErrors(ledgerErrors);
  registerErrors(bankErrors);
  const { pool, clock, settings } = deps;
  const ledger = new Ledger(pool, { clock });
  const store = new EventStore(pool, clock);
  const onboarding = new OnboardingService({
    pool,
    store,
    ledger,
    identity: deps.identity,
    keyring: deps.keyring,
    clock,
    ids: deps.ids ?? uuidv7Generator(clock),
    branch: settings.bankBranch,
    offeredCurrencies: settings.bankCurrencies,
    ...(deps.log ? { log: deps.log } : {}),
  });
  const teller = new Teller(pool, ledger);
  const projector = new HistoryProjector({
    pool,
    ledger,
    clock,
    pollIntervalMs: settings.bankHistoryPollMs,
    ...(deps.log ? { log: deps.log } : {}),
  });
  const routes = [
    onboardingRoutes({
      service: onboarding,
      applyRateLimit: { max: settings.rateLimitApplyMax, timeWindowMs: settings.rateLimitWindowMs },
    }),
    customerReadRoutes({ pool, ledger, projector, clock }),
    tellerRoutes(teller),
    coreLedgerRoutes(ledger),
  ] as FastifyPluginAsync[];
  return { ledger, store, onboarding, teller, projector, routes };
}

/** Background work of the `workers` role: onboarding steps from the bus and the history projection. */
export function startBankWorkers(
  bank: Bank,
  bus: Bus,
  options: { maxDeliveries: number; retryDelayMs?: number; log?: Logger },
) {
  const steps: Subscription = subscribeOnboardingSteps(bus, bank.onboarding, options);
  bank.projector.start();
  return {
    async stop() {
      await steps.close();
      await bank.projector.stop();
    },
  };
}

/** The personal-data keys: from KINYU_PII_KEYS, else one generated once and kept in the data dir. */
export function loadKeyring(config: Pick<Config, 'piiKeys' | 'piiActiveKey' | 'dataDir'>): Keyring {
  if (config.piiKeys !== undefined) return parseKeyring(config.piiKeys, config.piiActiveKey);
  return keyringOfGeneratedKey(configuredOrStoredSecret(undefined, config.dataDir, 'pii-key'));
}

/** `kinyu projections rebuild`: the bank's history and balance read models, from the ledger. */
export async function rebuildBankProjections(pool: Pool, clock: Clock) {
  const projector = new HistoryProjector({
    pool,
    ledger: new Ledger(pool, { clock }),
    clock,
    pollIntervalMs: 1000,
  });
  return projector.rebuild();
}

/**
 * The bank as the runtime starts it. Routes are served by the `api` role; the onboarding consumers
 * and the history projection run with `workers`; the demo customers are created on a first start
 * that serves the API, unless KINYU_DEMO=0.
 */
export const startBanking: ModuleStarter = async (context) => {
  const { config, pool, clock, logger } = context;
  const bank = createBank({
    pool,
    identity: context.identity.service,
    keyring: loadKeyring(config),
    clock,
    settings: config,
    log: logger,
  });
  registerStreamView(applicationStreamView);
  await ensureBankAccounts(bank.ledger, config.bankCurrencies);
  const stops: Array<() => Promise<void>> = [];
  if (config.roles.includes('workers')) {
    const workers = startBankWorkers(bank, context.bus, {
      maxDeliveries: config.busMaxDeliveries,
      log: logger,
    });
    stops.push(() => workers.stop());
  }
  const transfers = createTransfers(context, {
    accounts: { findAccount, bankAccountIds, recordPostingDetails },
  });
  transfers.start();
  stops.push(() => transfers.stop());
  const admin = createBankAdmin({ pool, bus: context.bus, events: bank.store });
  if (config.demo && config.roles.includes('api')) {
    await seedDemoCustomers({
      onboarding: bank.onboarding,
      teller: bank.teller,
      announce: context.announce,
      log: logger,
    });
  }
  return {
    name: 'banking',
    routes: [...bank.routes, transfers.routes, admin.routes] as FastifyPluginAsync[],
    async stop() {
      for (const stop of stops.reverse()) await stop();
      await bank.store.close();
    },
  };
};
