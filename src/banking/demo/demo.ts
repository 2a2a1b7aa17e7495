import type { Logger } from '../../platform/log.ts';
import { namedUuid } from '../accounts/named-id.ts';
import { nextStep } from '../onboarding/application.ts';
import type { OnboardingService } from '../onboarding/service.ts';
import type { ApplicationInput } from '../onboarding/validation.ts';
import type { Teller } from '../tellers/teller.ts';

/** A demo customer: an application the bank submits and approves itself, and an opening deposit. */
interface DemoCustomer {
  loginId: string;
  application: ApplicationInput;
  openingDeposit: string;
}

/** The two demo customers of a newcomer's first start (fictitious people, example.com addresses). */
export const demoCustomers: readonly DemoCustomer[] = [
  {
    loginId: 'demo-alice',
    application: {
      customerInfo: {
        fullName: 'Alice Demo',
        email: 'alice@example.com',
        phoneNumber: '+819000000001',
        birthDate: '1990-04-01',
        idType: 'passport',
        idNumber: 'DEMO0001',
      },
      address: { postalCode: '100-0001', streetAddress: '1-1 Demo-cho, Chiyoda-ku, Tokyo' },
      accountType: 'savings',
      currency: 'JPY',
    },
    openingDeposit: '1000000',
  },
  {
    loginId: 'demo-bob',
    application: {
      customerInfo: {
        fullName: 'Bob Demo',
        email: 'bob@example.com',
        phoneNumber: '+819000000002',
        birthDate: '1985-10-15',
        idType: 'drivers_license',
        idNumber: 'DEMO0002',
      },
      address: { postalCode: '530-0001', streetAddress: '2-2 Demo-machi, Kita-ku, Osaka' },
      accountType: 'savings',
      currency: 'JPY',
    },
    openingDeposit: '250000',
  },
];

export interface DemoDeps {
  onboarding: OnboardingService;
  teller: Teller;
  /** Where the demo logins' temporary passwords go, once (the console, never the log). */
  announce: (text: string) => void;
  log?: Logger;
}

/** What seeding did for one demo customer. */
export interface DemoOutcome {
  loginId: string;
  accountId: string | null;
  /** Present only on the start that completed the customer: it is shown once. */
  temporaryPassword?: string;
}

/** Steps the demo runs for one application at most (the five steps, with room for a retry). */
const demoStepsMax = 10;

/**
 * Creates the demo customers through the same services as everyone else: application, approval,
 * the onboarding steps (run here directly; a bus delivery of the same step then finds it done),
 * and a teller deposit. Idempotent: application ids and deposit references are fixed, so a second
 * start, or two processes starting at once, change nothing. The temporary passwords are announced
 * on the start that completes the customers, and never stored in plaintext.
 */
export async function seedDemoCustomers(deps: DemoDeps): Promise<DemoOutcome[]> {
  const outcomes: DemoOutcome[] = [];
  for (const customer of demoCustomers) outcomes.push(await seedOne(deps, customer));
  const shown = outcomes.filter((outcome) => outcome.temporaryPassword !== undefined);
  if (shown.length > 0) {
    deps.announce(
      [
        '',
        '  Demo bank customers (KINYU_DEMO=0 turns them off). Temporary passwords, shown once:',
        ...shown.map((o) => `    login: ${o.loginId}   password: ${o.temporaryPassword}`),
        '  Each must be changed at the first login.',
        '',
      ].join('\n'),
    );
  }
  return outcomes;
}

async function seedOne(deps: DemoDeps, customer: DemoCustomer): Promise<DemoOutcome> {
  const { onboarding, teller } = deps;
  const applicationId = namedUuid(`kinyu:demo-application:${customer.loginId}`);
  let state = await onboarding.state(applicationId);
  if (!state.exists) {
    await onboarding
      .submit(customer.application, { applicationId, loginId: customer.loginId })
      .catch((error: unknown) => deps.log?.info({ err: error }, 'demo application already submitted'));
    state = await onboarding.state(applicationId);
  }
  if (state.status === 'PENDING') {
    await onboarding.review(applicationId, { kind: 'approve', by: 'system:demo' }).catch((error: unknown) => {
      deps.log?.info({ err: error }, 'demo application already reviewed');
    });
    state = await onboarding.state(applicationId);
  }
  for (let run = 0; run < demoStepsMax; run++) {
    const step = nextStep(state);
    if (step === null) break;
    await onboarding.runStep({ applicationId, step }, `demo:${applicationId}:${step}:${run}`);
    state = await onboarding.state(applicationId);
  }
  if (state.status !== 'COMPLETED' || state.accountId === null) {
    deps.log?.warn({ loginId: customer.loginId, status: state.status }, 'demo customer is not complete');
    return { loginId: customer.loginId, accountId: state.accountId };
  }
  await teller.deposit({
    accountId: state.accountId,
    amount: customer.openingDeposit,
    currency: customer.application.currency,
    reference: `demo-opening-deposit-${customer.loginId}`,
  });
  const view = await onboarding.view(applicationId);
  return {
    loginId: customer.loginId,
    accountId: state.accountId,
    ...(view.temporaryPassword === undefined ? {} : { temporaryPassword: view.temporaryPassword }),
  };
}
