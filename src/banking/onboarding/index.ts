/** Account opening (event-sourced): the application, its review and the automatic steps. */
export {
  type ApplicationEvent,
  type ApplicationState,
  type ApplicationStatus,
  applicationStatuses,
  applicationStream,
  decideReview,
  evolveApplication,
  initialApplicationState,
  nextStep,
  type OnboardingStep,
  onboardingSteps,
} from './application.ts';
export { subscribeOnboardingSteps } from './consumer.ts';
export { readNotificationBody } from './repository.ts';
export { onboardingRoutes } from './routes.ts';
export {
  type ApplicationView,
  type OnboardingDeps,
  OnboardingService,
  onboardingGroup,
  onboardingTopic,
  type StepMessage,
} from './service.ts';
export { applicationStreamView } from './stream-view.ts';
export { type ApplicationInput, checkBirthDate, idTypes, validateApplication } from './validation.ts';
