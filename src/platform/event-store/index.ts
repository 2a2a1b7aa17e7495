export {
  type Checkpoint,
  compareCheckpoints,
  formatCheckpoint,
  parseCheckpoint,
  startCheckpoint,
} from './checkpoint.ts';
export { EventStore, eventsChannel } from './event-store.ts';
export { eventStoreLimits } from './limits.ts';
export type { AllSubscription } from './subscription.ts';
export type * from './types.ts';
