import type { Bus, Subscription } from '../../platform/bus/types.ts';
import { assert } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import { type OnboardingStep, onboardingSteps } from './application.ts';
import { type OnboardingService, onboardingGroup, onboardingTopic, type StepMessage } from './service.ts';

/**
 * Applications whose steps run at once per subscriber. A step holds a database connection for its
 * transaction and takes a second one for the ledger or identity, so this stays well under the pool.
 */
export const onboardingConcurrencyMax = 4;

export interface OnboardingConsumerOptions {
  /** Deliveries before a step's message goes to the dead-letter topic (config.busMaxDeliveries). */
  maxDeliveries: number;
  /** First redelivery delay; doubles per attempt (the bus's backoff). */
  retryDelayMs?: number;
  log?: Logger;
}

/**
 * Runs onboarding steps from the bus. A failing step is recorded on the application (so the admin
 * view shows where it stopped and why) and thrown, so the bus redelivers it with backoff; after
 * `maxDeliveries` it lands in `<topic>.dead-letter`, from where an admin can redrive it.
 */
export function subscribeOnboardingSteps(
  bus: Bus,
  service: OnboardingService,
  options: OnboardingConsumerOptions,
): Subscription {
  return bus.subscribe(
    onboardingTopic,
    onboardingGroup,
    async (message) => {
      const step = parseStepMessage(message.payload);
      try {
        await service.runStep(step, message.id);
      } catch (error) {
        const final = message.deliveryCount >= options.maxDeliveries;
        options.log?.warn(
          {
            applicationId: step.applicationId,
            step: step.step,
            attempt: message.deliveryCount,
            final,
            err: error,
          },
          'account opening step failed',
        );
        await service
          .recordStepFailure(step, message.deliveryCount, error, final)
          .catch((recordError: unknown) =>
            options.log?.error({ err: recordError }, 'recording an account opening failure failed'),
          );
        throw error;
      }
    },
    {
      maxDeliveries: options.maxDeliveries,
      concurrency: onboardingConcurrencyMax,
      ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    },
  );
}

function parseStepMessage(payload: unknown): StepMessage {
  const candidate = payload as Partial<StepMessage> | null;
  assert(
    typeof candidate?.applicationId === 'string' &&
      (onboardingSteps as readonly string[]).includes(candidate.step as string),
    'an onboarding message names an application and a known step',
  );
  return { applicationId: candidate.applicationId, step: candidate.step as OnboardingStep };
}
