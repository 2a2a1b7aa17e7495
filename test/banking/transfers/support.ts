import type { ModuleContext } from '../../../src/app/module.ts';
import { bankAccountIds, ensureBankAccounts, findAccount } from '../../../src/banking/accounts/index.ts';
import { createBankAdmin } from '../../../src/banking/admin/index.ts';
import { Ledger } from '../../../src/banking/ledger/index.ts';
import { recordPostingDetails } from '../../../src/banking/read-models/index.ts';
import {
  type BankAccountsApi,
  createTransfers,
  type StepHook,
  type Transfers,
} from '../../../src/banking/transfers/index.ts';
import type { IdentityModule } from '../../../src/identity/index.ts';
import { createBus } from '../../../src/platform/bus/index.ts';
import type { Bus } from '../../../src/platform/bus/types.ts';
import { type Clock, systemClock } from '../../../src/platform/clock.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { EventStore } from '../../../src/platform/event-store/index.ts';
import { type App, buildApp } from '../../../src/platform/http/app.ts';
import { newId } from '../../../src/platform/ids.ts';
import { createLogger } from '../../../src/platform/log.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import type { CurrencyCode } from '../../../src/platform/money.ts';
import { OutboxRelay } from '../../../src/platform/outbox/index.ts';
import type { Pool } from '../../../src/platform/sql/pool.ts';
import { createTestIdentity, createUser, strongPassword } from '../../identity/support.ts';

/** The accounts module's functions, as the composition root passes them. */
export const accountsApi: BankAccountsApi = { findAccount, bankAccountIds, recordPostingDetails };

export interface BankHarness {
  app: App;
  bus: Bus;
  pool: Pool;
  ledger: Ledger;
  identity: IdentityModule;
  transfers: Transfers;
  relay: OutboxRelay;
  /** Starts the consumers and sweeper (the `workers` role). */
  startWorkers(): void;
  /** Stops the consumers and sweeper, as a killed worker would (messages stay on the bus). */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  redisUrl?: string | undefined;
  namespace?: string;
  stuckAfterMs?: number;
  hook?: StepHook;
  clock?: Clock;
  busMaxDeliveries?: number;
}

/** The bank's transfer saga and admin views behind the platform's real HTTP stack, auth and bus. */
export async function startBankHarness(pool: Pool, options: HarnessOptions = {}): Promise<BankHarness> {
  const clock = options.clock ?? systemClock;
  const { module: identity } = createTestIdentity(pool);
  const logger = createLogger('silent');
  const metrics = createMetricsRegistry();
  const bus = createBus({
    redisUrl: options.redisUrl,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    clock,
    defaults: { ackTimeoutMs: 2_000, maxDeliveries: options.busMaxDeliveries ?? 20, retryDelayMs: 20 },
  });
  const config = {
    ...loadConfig({ KINYU_TRANSFER_STUCK_AFTER_MS: String(options.stuckAfterMs ?? 60_000) }),
  };
  const context: ModuleContext = {
    config,
    pool,
    bus,
    identity,
    logger,
    clock,
    metrics,
    announce: () => {},
  };
  const ledger = new Ledger(pool, { clock });
  await ensureBankAccounts(ledger, ['JPY', 'USD']);
  let transfers = createTransfers(context, {
    accounts: accountsApi,
    ...(options.hook ? { hook: options.hook } : {}),
  });
  const admin = createBankAdmin({ pool, bus, events: new EventStore(pool, clock) });
  const app = await buildApp({
    logger: false,
    metrics,
    pool,
    clock,
    rateLimit: { max: 1_000_000, windowMs: 60_000 },
    idempotencyTtlHours: 24,
    readiness: [],
    hooks: [identity.authPlugin],
    rateLimitKeyOf: identity.knownCaller,
    modules: [identity.routes, transfers.routes, admin.routes],
    callerOf: (request) =>
      request.principal?.kind === 'user' ? `user:${request.principal.userId}` : `ip:${request.ip}`,
  });
  await app.ready();
  const relay = new OutboxRelay(pool, bus, () => {}, { pollIntervalMs: 20 });
  relay.start();
  let running = false;
  return {
    app,
    bus,
    pool,
    ledger,
    identity,
    get transfers() {
      return transfers;
    },
    relay,
    startWorkers() {
      if (running) return;
      running = true;
      transfers.start();
    },
    async stopWorkers() {
      if (!running) return;
      running = false;
      await transfers.stop();
      // A fresh instance, as a restarted process would have (metrics go to a new registry).
      transfers = createTransfers(
        { ...context, metrics: createMetricsRegistry() },
        { accounts: accountsApi, ...(options.hook ? { hook: options.hook } : {}) },
      );
    },
    async close() {
      await app.close();
      if (running) await transfers.stop();
      await relay.stop();
      await bus.close();
    },
  };
}

let serial = 0;

/** A bank customer: a login with the customer role and accounts funded from the bank's cash. */
export interface TestCustomer {
  customerId: string;
  userId: string;
  loginId: string;
  accounts: string[];
}

/** Opens a customer with `count` accounts in `currency`, each funded with `fundingMinor` from teller cash. */
export async function openCustomer(
  harness: BankHarness,
  options: { currency?: CurrencyCode; count?: number; fundingMinor?: bigint } = {},
): Promise<TestCustomer> {
  const currency = options.currency ?? 'JPY';
  const customerId = newId();
  serial++;
  const loginId = `cust${process.pid % 10_000}x${serial}`;
  const { user, temporaryPassword } = await harness.identity.service.createUserWithTemporaryPassword({
    loginId,
    roles: ['customer'],
    customerId,
  });
  const first = await harness.identity.service.login(loginId, temporaryPassword);
  const temporary = await harness.identity.service.authenticateToken(first.token);
  await harness.identity.service.changePassword(temporary, {
    currentPassword: temporaryPassword,
    newPassword: strongPassword,
  });
  const accounts: string[] = [];
  for (let i = 0; i < (options.count ?? 1); i++) {
    accounts.push(await openAccount(harness, customerId, currency, options.fundingMinor ?? 0n));
  }
  return { customerId, userId: user.id, loginId, accounts };
}

let accountSerial = 0;

/** A customer deposit account (ledger account + bank_accounts row), funded from the bank's cash. */
export async function openAccount(
  harness: BankHarness,
  customerId: string,
  currency: CurrencyCode,
  fundingMinor: bigint,
): Promise<string> {
  const id = newId();
  const { ledger, pool } = harness;
  const ledgerNumber = currency === 'JPY' ? 392 : 840;
  const [created] = await ledger.createAccounts([
    {
      id,
      ledger: ledgerNumber,
      code: 1,
      owner: `customer:${customerId}`,
      flags: { debitsMustNotExceedCredits: true },
    },
  ]);
  if (created !== 'ok') throw new Error(`opening ledger account: ${created}`);
  accountSerial++;
  const number = `9${String(process.pid % 1000).padStart(3, '0')}${String(accountSerial).padStart(7, '0')}`;
  await pool.query(
    `INSERT INTO bank_accounts (id, account_number, customer_id, currency, account_type, status, opened_at)
     VALUES ($1, $2, $3, $4, 'savings', 'open', now())`,
    [id, number, customerId, currency],
  );
  if (fundingMinor > 0n) {
    const [funded] = await ledger.createTransfers([
      {
        id: newId(),
        debitAccountId: bankAccountIds(currency).cash,
        creditAccountId: id,
        amount: fundingMinor,
        ledger: ledgerNumber,
        code: 10,
      },
    ]);
    if (funded !== 'ok') throw new Error(`funding: ${funded}`);
  }
  return id;
}

/** A bearer header for a customer (or admin) login. */
export async function bearer(harness: BankHarness, loginId: string): Promise<{ authorization: string }> {
  const session = await harness.identity.service.login(loginId, strongPassword);
  return { authorization: `Bearer ${session.token}` };
}

/** An admin login and its bearer header. */
export async function adminBearer(harness: BankHarness): Promise<{ authorization: string }> {
  const loginId = `admin${process.pid % 10_000}x${++serial}`;
  await createUser(harness.identity.service, loginId, strongPassword, ['admin']);
  return bearer(harness, loginId);
}

/** Posted balance (credits − debits) and pending debits of a ledger account. */
export async function balanceOf(ledger: Ledger, accountId: string) {
  const [account] = await ledger.lookupAccounts([accountId]);
  if (!account) throw new Error(`no ledger account ${accountId}`);
  return {
    posted: account.creditsPosted - account.debitsPosted,
    pendingDebits: account.debitsPending,
    pendingCredits: account.creditsPending,
  };
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs`. */
export async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The transfers not yet COMPLETED or FAILED. */
export async function inFlight(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: bigint }>(
    "SELECT count(*) AS n FROM bank_transfers WHERE status NOT IN ('COMPLETED', 'FAILED')",
  );
  return Number(rows[0]!.n);
}
