import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ensureBankAccounts } from '../../../src/banking/accounts/index.ts';
import { type Bank, createBank, startBankWorkers } from '../../../src/banking/module.ts';
import { type Keyring, parseKeyring } from '../../../src/banking/pii/index.ts';
import type { IdentityService } from '../../../src/identity/index.ts';
import { MemoryBus } from '../../../src/platform/bus/memory-bus.ts';
import type { Bus } from '../../../src/platform/bus/types.ts';
import { buildApp } from '../../../src/platform/http/app.ts';
import { createLogger } from '../../../src/platform/log.ts';
import { createMetricsRegistry } from '../../../src/platform/metrics.ts';
import { OutboxRelay } from '../../../src/platform/outbox/index.ts';
import { createTestIdentity, createUser, type TestIdentity } from '../../identity/support.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

export const adminPassword = 'Admin-Password-42';

export const bankTestSettings = {
  bankBranch: '001',
  bankCurrencies: ['JPY', 'USD'] as ('JPY' | 'USD')[],
  rateLimitApplyMax: 1000,
  rateLimitWindowMs: 60_000,
  bankHistoryPollMs: 20,
  busMaxDeliveries: 3,
};

export interface BankHarness {
  db: TestDatabase;
  identity: TestIdentity;
  keyring: Keyring;
  bank: Bank;
  app: FastifyInstance;
  bus: Bus;
  /** Every log line written so far (JSON text). */
  logs: string[];
  adminHeaders: { authorization: string };
  /** Starts the relay and the bank's workers (onboarding consumers, history projection). */
  startWorkers(options?: { maxDeliveries?: number; retryDelayMs?: number; bank?: Bank }): void;
  /** A second bank on the same database with another identity service (fault injection). */
  bankWith(identity: Pick<IdentityService, 'createUserWithTemporaryPassword' | 'resetPassword'>): Bank;
  close(): Promise<void>;
}

/** The bank on a fresh test database, behind the real HTTP kernel and identity, logs captured. */
export async function createBankHarness(
  options: { bus?: Bus; settings?: Partial<typeof bankTestSettings> } = {},
): Promise<BankHarness> {
  const settings = { ...bankTestSettings, ...options.settings };
  const db = await createTestDatabase();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('debug', sink);
  const identity = createTestIdentity(db.pool, { log: logger });
  const keyring = parseKeyring(`test1:${randomBytes(32).toString('base64')}`, undefined);
  const make = (service: Pick<IdentityService, 'createUserWithTemporaryPassword' | 'resetPassword'>) =>
    createBank({
      pool: db.pool,
      identity: service,
      keyring,
      clock: identity.clock,
      settings,
      log: logger,
    });
  const bank = make(identity.service);
  await ensureBankAccounts(bank.ledger, bankTestSettings.bankCurrencies);
  const app = await buildApp({
    logger,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    pool: db.pool,
    clock: identity.clock,
    rateLimit: { max: 100_000, windowMs: 60_000 },
    idempotencyTtlHours: 24,
    readiness: [],
    hooks: [identity.module.authPlugin],
    rateLimitKeyOf: identity.module.knownCaller,
    modules: [identity.module.routes, ...bank.routes],
  });
  await createUser(identity.service, 'bank-admin', adminPassword, ['admin']);
  const login = await identity.service.login('bank-admin', adminPassword);
  const bus = options.bus ?? new MemoryBus();
  const stops: Array<() => Promise<void>> = [];
  return {
    db,
    identity,
    keyring,
    bank,
    app,
    bus,
    logs,
    adminHeaders: { authorization: `Bearer ${login.token}` },
    startWorkers(options = {}) {
      const relay = new OutboxRelay(db.pool, bus, () => {}, { pollIntervalMs: 20 });
      relay.start();
      const workers = startBankWorkers(options.bank ?? bank, bus, {
        maxDeliveries: options.maxDeliveries ?? bankTestSettings.busMaxDeliveries,
        retryDelayMs: options.retryDelayMs ?? 10,
        log: logger,
      });
      stops.push(
        () => workers.stop(),
        () => relay.stop(),
      );
    },
    bankWith: make,
    async close() {
      await app.close();
      for (const stop of stops) await stop();
      await bus.close();
      await bank.store.close();
      await db.drop();
    },
  };
}

/** How long a test waits for the workers: each step of theirs crosses the outbox relay and the bus. */
export const workersTimeoutMs = 20_000;

/** A valid application with values distinctive enough to search for in a database dump. */
export function applicationBody(tag: string, overrides: { currency?: string } = {}) {
  return {
    customerInfo: {
      fullName: `Zebediah Quartermaine ${tag}`,
      email: `zq.${tag}@example.org`,
      phoneNumber: `+4479460${tag.padStart(5, '7').slice(-5)}`,
      birthDate: '1979-07-14',
      idType: 'passport',
      idNumber: `PQX${tag.padStart(6, '9')}`,
    },
    address: { postalCode: '987-6543', streetAddress: `42 Wimbledon Crescent ${tag}` },
    accountType: 'savings',
    currency: overrides.currency ?? 'JPY',
  };
}

/** A signed-in customer with one open account, made through the onboarding service directly. */
export interface TestCustomer {
  applicationId: string;
  accountId: string;
  accountNumber: string;
  customerId: string;
  loginId: string;
  temporaryPassword: string;
  password: string;
  headers: { authorization: string };
}

export async function openCustomer(h: BankHarness, tag: string, currency = 'JPY'): Promise<TestCustomer> {
  const { onboarding } = h.bank;
  const { applicationId } = await onboarding.submit(applicationBody(tag, { currency }));
  await onboarding.review(applicationId, { kind: 'approve', by: 'test' });
  for (const step of ['create_customer', 'open_account', 'create_login', 'complete', 'notify'] as const) {
    await onboarding.runStep({ applicationId, step }, `open-customer-${applicationId}-${step}`);
  }
  const view = await onboarding.view(applicationId);
  const password = `Customer-Password-${tag}`;
  const first = await h.identity.service.login(view.loginId!, view.temporaryPassword!);
  const principal = await h.identity.service.authenticateToken(first.token);
  const changed = await h.identity.service.changePassword(principal, {
    currentPassword: view.temporaryPassword!,
    newPassword: password,
  });
  return {
    applicationId,
    accountId: view.accountId!,
    accountNumber: view.accountNumber!,
    customerId: view.customerId!,
    loginId: view.loginId!,
    temporaryPassword: view.temporaryPassword!,
    password,
    headers: { authorization: `Bearer ${changed.token}` },
  };
}
