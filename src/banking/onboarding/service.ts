import type { IdentityService } from '../../identity/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { handleOnce } from '../../platform/consumer/handle-once.ts';
import { AppError, assert, ConcurrencyError } from '../../platform/errors.ts';
import type { EventStore, RecordedEvent } from '../../platform/event-store/index.ts';
import type { IdGenerator } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import type { CurrencyCode } from '../../platform/money.ts';
import type { OutboxMessage } from '../../platform/outbox/types.ts';
import type { Pool, PoolClient } from '../../platform/sql/pool.ts';
import {
  type AccountType,
  insertAccount,
  nextAccountNumber,
  openLedgerAccount,
} from '../accounts/bank-accounts.ts';
import { insertCustomer, loadCustomer, type PersonalData } from '../accounts/customers.ts';
import { namedUuid } from '../accounts/named-id.ts';
import type { Ledger } from '../ledger/index.ts';
import type { Keyring } from '../pii/index.ts';
import {
  type ApplicationEvent,
  type ApplicationState,
  type ApplicationStatus,
  applicationStream,
  decideReview,
  evolveApplication,
  initialApplicationState,
  nextStep,
  type OnboardingStep,
  type ReviewCommand,
  type StepFailure,
  stepAfter,
} from './application.ts';
import {
  type ApplicationRow,
  insertApplicationPii,
  insertApplicationRow,
  insertNotification,
  listApplicationRows,
  loadApplicationPii,
  lockApplication,
  storeTemporaryPassword,
  takeTemporaryPassword,
  updateApplicationRow,
} from './repository.ts';
import { type ApplicationInput, personalDataOf, validateApplication } from './validation.ts';

/** The bus topic of onboarding steps; one message per step, keyed by application. */
export const onboardingTopic = 'bank.account-opening';
/** The consumer group (and handleOnce consumer name) that runs the steps. */
export const onboardingGroup = 'bank-account-opening';

/** A step message's payload. */
export interface StepMessage {
  applicationId: string;
  step: OnboardingStep;
}

export interface OnboardingDeps {
  pool: Pool;
  store: EventStore;
  ledger: Ledger;
  identity: Pick<IdentityService, 'createUserWithTemporaryPassword' | 'resetPassword'>;
  keyring: Keyring;
  clock: Clock;
  ids: IdGenerator;
  /** The 3-digit branch of new account numbers. */
  branch: string;
  offeredCurrencies: readonly CurrencyCode[];
  log?: Logger;
}

/** What the applicant gets back. */
export interface Submitted {
  applicationId: string;
  transactionId: string;
  status: 'PENDING';
}

/** An application as an admin sees it. */
export interface ApplicationView {
  applicationId: string;
  transactionId: string;
  status: ApplicationStatus;
  accountType: string;
  currency: string;
  submittedAt: string | null;
  lastCompletedStep: OnboardingStep | null;
  failure: StepFailure | null;
  rejectionReason: string | null;
  customerId: string | null;
  accountId: string | null;
  accountNumber: string | null;
  loginId: string | null;
  /** Present exactly once: in the first read after the application is COMPLETED. */
  temporaryPassword?: string;
  applicant: PersonalData | null;
}

/** Times an admin decision is retried after a concurrent change of the same application. */
const reviewRetriesMax = 5;
/** Characters of a step failure kept in the event. */
const failureTextLengthMax = 300;

type Recorded = RecordedEvent<ApplicationEvent>;

/**
 * Account opening (seed 001): apply → admin approves or rejects → through the outbox, one bus
 * message per step: create the customer, open the ledger account, create the login with a
 * temporary password, mark COMPLETED, notify the customer. Each step runs under the
 * application's row lock inside `handleOnce`, checks from the stream that it is the step due, and
 * appends its event together with the next step's outbox message: a redelivered, replayed or
 * duplicated message changes nothing.
 */
export class OnboardingService {
  readonly #deps: OnboardingDeps;

  constructor(deps: OnboardingDeps) {
    this.#deps = deps;
  }

  /** POST /api/accounts: validates, seals the personal data, records the application as PENDING. */
  async submit(
    input: ApplicationInput,
    options: { applicationId?: string; loginId?: string } = {},
  ): Promise<Submitted> {
    const { clock, ids, keyring, store } = this.#deps;
    const now = clock.now();
    const errors = validateApplication(input, {
      today: now.toISOString().slice(0, 10),
      offeredCurrencies: this.#deps.offeredCurrencies,
    });
    if (errors.length > 0) {
      throw new AppError('validation_failed', errors.map((e) => `${e.field} ${e.reason}`).join('; '), {
        errors,
      });
    }
    const applicationId = options.applicationId ?? ids();
    const transactionId = ids();
    await store.transaction(async (tx) => {
      await insertApplicationRow(tx, {
        applicationId,
        transactionId,
        status: 'PENDING',
        accountType: input.accountType,
        currency: input.currency,
        lastStep: null,
        submittedAt: now,
      });
      await insertApplicationPii(tx, keyring, applicationId, personalDataOf(input));
      await store.appendToStream(
        applicationStream(applicationId),
        [
          {
            type: 'AccountApplicationSubmitted',
            data: {
              applicationId,
              transactionId,
              accountType: input.accountType,
              currency: input.currency,
              loginId: options.loginId ?? null,
            },
          },
        ],
        { expectedVersion: 'no_stream', tx },
      );
    });
    return { applicationId, transactionId, status: 'PENDING' };
  }

  /** Approves (enqueueing the first step) or rejects a PENDING application; else 409. */
  async review(applicationId: string, command: ReviewCommand): Promise<ApplicationStatus> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#deps.store.transaction(async (tx) => {
          if (!(await lockApplication(tx, applicationId))) throw new AppError('application_not_found');
          const { state, version } = await this.#load(applicationId, tx);
          const outcome = decideReview(state, command);
          if (!outcome.ok) throw new AppError(outcome.reason);
          const next = evolveApplication(state, outcome.event);
          const outbox = next.status === 'APPROVED' ? [stepMessage(applicationId, 'create_customer')] : [];
          await this.#append(tx, applicationId, version, [outcome.event], outbox);
          await updateApplicationRow(tx, applicationId, {
            status: next.status,
            lastStep: null,
            at: this.#deps.clock.now(),
          });
          return next.status;
        });
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= reviewRetriesMax) throw error;
      }
    }
  }

  /** The application for an admin; the first read after COMPLETED also takes the temporary password. */
  async view(applicationId: string): Promise<ApplicationView> {
    const { pool, keyring } = this.#deps;
    const { state } = await this.#load(applicationId);
    if (!state.exists) throw new AppError('application_not_found');
    const temporaryPassword =
      state.status === 'COMPLETED'
        ? await takeTemporaryPassword(pool, keyring, applicationId, 'display_password')
        : undefined;
    return {
      applicationId,
      transactionId: state.transactionId,
      status: state.status,
      accountType: state.accountType,
      currency: state.currency,
      submittedAt: state.submittedAt,
      lastCompletedStep: state.lastCompletedStep,
      failure: state.failure,
      rejectionReason: state.rejectionReason,
      customerId: state.customerId,
      accountId: state.accountId,
      accountNumber: state.accountNumber,
      loginId: state.loginCreated ? state.loginId : null,
      ...(temporaryPassword === undefined ? {} : { temporaryPassword }),
      applicant: (await loadApplicationPii(pool, keyring, applicationId)) ?? null,
    };
  }

  /** Applications, oldest first, optionally of one status. */
  list(filter: {
    status: ApplicationStatus | undefined;
    after: string | undefined;
    limit: number;
  }): Promise<ApplicationRow[]> {
    return listApplicationRows(this.#deps.pool, filter);
  }

  /** The application's state from its stream (for stream views and tests). */
  async state(applicationId: string): Promise<ApplicationState> {
    return (await this.#load(applicationId)).state;
  }

  /**
   * Runs one step for a bus message, at most once per message id, and only when it is the step due:
   * 'ran' or 'skipped'. Throws when the step failed; the bus then redelivers it with backoff.
   */
  async runStep(message: StepMessage, messageId: string): Promise<'ran' | 'skipped'> {
    if (message.step === 'create_login') await this.#markLoginAttempt(message.applicationId);
    const outcome = await handleOnce(this.#deps.pool, onboardingGroup, messageId, (tx) =>
      this.#stepInTransaction(tx, message),
    );
    return outcome.processed ? outcome.result : 'skipped';
  }

  /** Records a failed attempt of a step on the application's stream (shown in the admin view). */
  async recordStepFailure(
    message: StepMessage,
    attempt: number,
    error: unknown,
    final: boolean,
  ): Promise<void> {
    await this.#deps.store.transaction(async (tx) => {
      if (!(await lockApplication(tx, message.applicationId))) return;
      const { version } = await this.#load(message.applicationId, tx);
      const event: ApplicationEvent = {
        type: 'OnboardingStepFailed',
        data: { step: message.step, attempt, error: describeError(error), final },
      };
      await this.#append(tx, message.applicationId, version, [event], []);
    });
  }

  async #stepInTransaction(tx: PoolClient, message: StepMessage): Promise<'ran' | 'skipped'> {
    const { applicationId, step } = message;
    if (!(await lockApplication(tx, applicationId))) return 'skipped';
    const { state, version } = await this.#load(applicationId, tx);
    if (nextStep(state) !== step) return 'skipped';
    const events = await this.#perform(tx, state, step);
    const after = events.reduce(evolveApplication, state);
    const following = after.loginIdUnavailable ? null : stepAfter(step);
    await this.#append(
      tx,
      applicationId,
      version,
      events,
      following ? [stepMessage(applicationId, following)] : [],
    );
    await updateApplicationRow(tx, applicationId, {
      status: after.status,
      lastStep: after.lastCompletedStep,
      at: this.#deps.clock.now(),
    });
    return 'ran';
  }

  async #perform(tx: PoolClient, state: ApplicationState, step: OnboardingStep): Promise<ApplicationEvent[]> {
    switch (step) {
      case 'create_customer':
        return this.#createCustomer(tx, state);
      case 'open_account':
        return this.#openAccount(tx, state);
      case 'create_login':
        return this.#createLogin(tx, state);
      case 'complete':
        return [{ type: 'AccountApplicationCompleted', data: {} }];
      case 'notify':
        return this.#notify(tx, state);
      default: {
        const unknown: never = step;
        throw new Error(`unknown onboarding step ${String(unknown)}`);
      }
    }
  }

  async #createCustomer(tx: PoolClient, state: ApplicationState): Promise<ApplicationEvent[]> {
    const { keyring, ids, clock } = this.#deps;
    const data = await loadApplicationPii(tx, keyring, state.applicationId);
    assert(data !== undefined, `application ${state.applicationId} has no personal data`);
    const customerId = ids();
    await insertCustomer(tx, keyring, {
      id: customerId,
      applicationId: state.applicationId,
      data,
      createdAt: clock.now(),
    });
    return [{ type: 'CustomerCreated', data: { customerId } }];
  }

  async #openAccount(tx: PoolClient, state: ApplicationState): Promise<ApplicationEvent[]> {
    assert(state.customerId !== null, 'an account is opened for a created customer');
    // Derived from the application: a retry after a crash finds the same ledger account ('exists').
    const accountId = namedUuid(`kinyu:bank-account:${state.applicationId}`);
    const currency = state.currency as CurrencyCode;
    await openLedgerAccount(this.#deps.ledger, { id: accountId, customerId: state.customerId, currency });
    const accountNumber = await nextAccountNumber(tx, this.#deps.branch);
    await insertAccount(tx, {
      id: accountId,
      accountNumber,
      customerId: state.customerId,
      currency,
      accountType: state.accountType as AccountType,
      status: 'open',
      openedAt: this.#deps.clock.now(),
    });
    return [{ type: 'BankAccountOpened', data: { accountId, accountNumber } }];
  }

  /** The login id of an application: the one the bank chose (demo), else the account number. */
  #loginIdOf(state: ApplicationState): string {
    const loginId = state.requestedLoginId ?? state.accountNumber;
    assert(loginId !== null, 'a login is created after the account');
    return loginId;
  }

  /**
   * Commits a LoginCreationStarted event before each attempt to create the login. Identity commits
   * the user in its own transaction, so a crash can leave a login this application created but
   * never recorded; the retry then knows an attempt was made (attempt > 1) and resets that login's
   * password instead of failing on `login_id_taken`.
   */
  async #markLoginAttempt(applicationId: string): Promise<void> {
    await this.#deps.store.transaction(async (tx) => {
      if (!(await lockApplication(tx, applicationId))) return;
      const { state, version } = await this.#load(applicationId, tx);
      if (nextStep(state) !== 'create_login') return;
      const event: ApplicationEvent = {
        type: 'LoginCreationStarted',
        data: { loginId: this.#loginIdOf(state), attempt: state.loginAttempts + 1 },
      };
      await this.#append(tx, applicationId, version, [event], []);
    });
  }

  async #createLogin(tx: PoolClient, state: ApplicationState): Promise<ApplicationEvent[]> {
    assert(state.customerId !== null && state.loginAttempts > 0, 'a login attempt is recorded first');
    const loginId = this.#loginIdOf(state);
    const { identity, keyring } = this.#deps;
    let password: string;
    let userId: string | null;
    try {
      const created = await identity.createUserWithTemporaryPassword({
        loginId,
        roles: ['customer'],
        customerId: state.customerId,
      });
      password = created.temporaryPassword;
      userId = created.user.id;
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'login_id_taken') throw error;
      // The first attempt finding the id taken: someone else's login, never ours to touch.
      if (state.loginAttempts === 1) return [{ type: 'LoginIdUnavailable', data: { loginId } }];
      // An earlier attempt created it and crashed before recording it: give it a fresh password.
      password = (await identity.resetPassword(loginId)).temporaryPassword;
      userId = null;
    }
    await storeTemporaryPassword(tx, keyring, state.applicationId, password);
    return [{ type: 'LoginCreated', data: { loginId, userId } }];
  }

  async #notify(tx: PoolClient, state: ApplicationState): Promise<ApplicationEvent[]> {
    const { keyring, ids, clock } = this.#deps;
    assert(state.customerId !== null && state.accountNumber !== null, 'notify after the account is open');
    const customer = await loadCustomer(tx, keyring, state.customerId);
    assert(customer !== undefined, `customer ${state.customerId} is missing`);
    const password = await takeTemporaryPassword(tx, keyring, state.applicationId, 'notification_password');
    const notificationId = ids();
    await insertNotification(tx, keyring, {
      id: notificationId,
      customerId: state.customerId,
      applicationId: state.applicationId,
      kind: 'account_opened',
      body: [
        `Dear ${customer.fullName},`,
        `your ${state.currency} ${state.accountType} account ${state.accountNumber} is open.`,
        `Login id: ${state.loginId}`,
        password === undefined
          ? 'Your temporary password is available from the bank.'
          : `Temporary password: ${password} (you will be asked to change it when you first sign in)`,
      ].join('\n'),
      at: clock.now(),
    });
    return [{ type: 'CustomerNotified', data: { notificationId } }];
  }

  async #load(applicationId: string, tx?: PoolClient): Promise<{ state: ApplicationState; version: bigint }> {
    return this.#deps.store.aggregateStream<ApplicationState, ApplicationEvent>(
      applicationStream(applicationId),
      {
        initialState: initialApplicationState,
        evolve: (state, event: Recorded) =>
          evolveApplication(state, event as ApplicationEvent & { recordedAt: Date }),
        ...(tx ? { tx } : {}),
      },
    );
  }

  async #append(
    tx: PoolClient,
    applicationId: string,
    version: bigint,
    events: readonly ApplicationEvent[],
    outbox: readonly OutboxMessage[],
  ): Promise<void> {
    await this.#deps.store.appendToStream(applicationStream(applicationId), events, {
      expectedVersion: version,
      tx,
      outbox,
    });
  }
}

function stepMessage(applicationId: string, step: OnboardingStep): OutboxMessage {
  const payload: StepMessage = { applicationId, step };
  return { topic: onboardingTopic, key: applicationId, payload };
}

/** A failure as the admin view shows it: the error code or message, never a stack or a value dump. */
function describeError(error: unknown): string {
  const text =
    error instanceof AppError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error);
  return text.slice(0, failureTextLengthMax);
}
