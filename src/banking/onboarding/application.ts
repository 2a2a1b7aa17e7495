/*
 * The account application aggregate (stream `application-<id>`), as a pure decider. Events carry no
 * personal data: the applicant's data is sealed in bank_application_pii, keyed by the application.
 */

export const applicationStatuses = ['PENDING', 'APPROVED', 'REJECTED', 'COMPLETED'] as const;
export type ApplicationStatus = (typeof applicationStatuses)[number];

/** The automatic steps after approval, in order; each is one bus message and one event. */
export const onboardingSteps = [
  'create_customer',
  'open_account',
  'create_login',
  'complete',
  'notify',
] as const;
export type OnboardingStep = (typeof onboardingSteps)[number];

export type ApplicationEvent =
  | {
      type: 'AccountApplicationSubmitted';
      data: {
        applicationId: string;
        transactionId: string;
        accountType: string;
        currency: string;
        /** A login id chosen by the bank (demo customers); null = the account number. */
        loginId: string | null;
      };
    }
  | { type: 'AccountApplicationApproved'; data: { approvedBy: string } }
  | { type: 'AccountApplicationRejected'; data: { rejectedBy: string; reason: string } }
  | { type: 'CustomerCreated'; data: { customerId: string } }
  | { type: 'BankAccountOpened'; data: { accountId: string; accountNumber: string } }
  /** Written (and committed) before each attempt to create the login, so a retry knows one was made. */
  | { type: 'LoginCreationStarted'; data: { loginId: string; attempt: number } }
  | { type: 'LoginCreated'; data: { loginId: string; userId: string | null } }
  /** The login id was taken before this application ever tried it: the step cannot complete. */
  | { type: 'LoginIdUnavailable'; data: { loginId: string } }
  | { type: 'AccountApplicationCompleted'; data: Record<string, never> }
  | { type: 'CustomerNotified'; data: { notificationId: string } }
  | {
      type: 'OnboardingStepFailed';
      data: { step: OnboardingStep; attempt: number; error: string; final: boolean };
    };

export type ApplicationEventType = ApplicationEvent['type'];

export interface StepFailure {
  step: OnboardingStep;
  attempt: number;
  error: string;
  /** The bus gave up: the message is in the dead-letter topic. */
  final: boolean;
  at: string;
}

export interface ApplicationState {
  exists: boolean;
  applicationId: string;
  transactionId: string;
  status: ApplicationStatus;
  accountType: string;
  currency: string;
  requestedLoginId: string | null;
  submittedAt: string | null;
  decidedBy: string | null;
  rejectionReason: string | null;
  customerId: string | null;
  accountId: string | null;
  accountNumber: string | null;
  loginAttempts: number;
  loginId: string | null;
  userId: string | null;
  loginCreated: boolean;
  loginIdUnavailable: boolean;
  notificationId: string | null;
  lastCompletedStep: OnboardingStep | null;
  failure: StepFailure | null;
}

export function initialApplicationState(): ApplicationState {
  return {
    exists: false,
    applicationId: '',
    transactionId: '',
    status: 'PENDING',
    accountType: '',
    currency: '',
    requestedLoginId: null,
    submittedAt: null,
    decidedBy: null,
    rejectionReason: null,
    customerId: null,
    accountId: null,
    accountNumber: null,
    loginAttempts: 0,
    loginId: null,
    userId: null,
    loginCreated: false,
    loginIdUnavailable: false,
    notificationId: null,
    lastCompletedStep: null,
    failure: null,
  };
}

/** Folds one event (with the time it was recorded) into the state. */
export function evolveApplication(
  state: ApplicationState,
  event: ApplicationEvent & { recordedAt?: Date },
): ApplicationState {
  const done = (step: OnboardingStep): Partial<ApplicationState> => ({
    lastCompletedStep: step,
    failure: null,
  });
  switch (event.type) {
    case 'AccountApplicationSubmitted':
      return {
        ...state,
        exists: true,
        applicationId: event.data.applicationId,
        transactionId: event.data.transactionId,
        accountType: event.data.accountType,
        currency: event.data.currency,
        requestedLoginId: event.data.loginId,
        status: 'PENDING',
        submittedAt: event.recordedAt?.toISOString() ?? null,
      };
    case 'AccountApplicationApproved':
      return { ...state, status: 'APPROVED', decidedBy: event.data.approvedBy };
    case 'AccountApplicationRejected':
      return {
        ...state,
        status: 'REJECTED',
        decidedBy: event.data.rejectedBy,
        rejectionReason: event.data.reason,
      };
    case 'CustomerCreated':
      return { ...state, customerId: event.data.customerId, ...done('create_customer') };
    case 'BankAccountOpened':
      return {
        ...state,
        accountId: event.data.accountId,
        accountNumber: event.data.accountNumber,
        ...done('open_account'),
      };
    case 'LoginCreationStarted':
      return { ...state, loginId: event.data.loginId, loginAttempts: event.data.attempt };
    case 'LoginCreated':
      return {
        ...state,
        loginId: event.data.loginId,
        userId: event.data.userId,
        loginCreated: true,
        ...done('create_login'),
      };
    case 'LoginIdUnavailable':
      return { ...state, loginIdUnavailable: true };
    case 'AccountApplicationCompleted':
      return { ...state, status: 'COMPLETED', ...done('complete') };
    case 'CustomerNotified':
      return { ...state, notificationId: event.data.notificationId, ...done('notify') };
    case 'OnboardingStepFailed':
      return { ...state, failure: { ...event.data, at: event.recordedAt?.toISOString() ?? '' } };
    default: {
      const unknown: never = event;
      throw new Error(`unknown application event ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * The step to run next, or null when nothing is due (not approved, rejected, finished, or blocked
 * by a login id that was never ours).
 */
export function nextStep(state: ApplicationState): OnboardingStep | null {
  if (!state.exists || (state.status !== 'APPROVED' && state.status !== 'COMPLETED')) return null;
  if (state.customerId === null) return 'create_customer';
  if (state.accountId === null) return 'open_account';
  if (!state.loginCreated) return state.loginIdUnavailable ? null : 'create_login';
  if (state.status !== 'COMPLETED') return 'complete';
  if (state.notificationId === null) return 'notify';
  return null;
}

/** The step after `step`, or null after the last. */
export function stepAfter(step: OnboardingStep): OnboardingStep | null {
  return onboardingSteps[onboardingSteps.indexOf(step) + 1] ?? null;
}

export type ReviewCommand = { kind: 'approve'; by: string } | { kind: 'reject'; by: string; reason: string };

export type ReviewOutcome =
  | { ok: true; event: ApplicationEvent }
  | { ok: false; reason: 'application_not_found' | 'application_not_pending' };

/** An admin's decision on an application: only a PENDING one can be approved or rejected. */
export function decideReview(state: ApplicationState, command: ReviewCommand): ReviewOutcome {
  if (!state.exists) return { ok: false, reason: 'application_not_found' };
  if (state.status !== 'PENDING') return { ok: false, reason: 'application_not_pending' };
  switch (command.kind) {
    case 'approve':
      return { ok: true, event: { type: 'AccountApplicationApproved', data: { approvedBy: command.by } } };
    case 'reject':
      return {
        ok: true,
        event: {
          type: 'AccountApplicationRejected',
          data: { rejectedBy: command.by, reason: command.reason },
        },
      };
    default: {
      const unknown: never = command;
      throw new Error(`unknown review command ${JSON.stringify(unknown)}`);
    }
  }
}

/** The stream of an application. */
export function applicationStream(applicationId: string): string {
  return `application-${applicationId}`;
}
