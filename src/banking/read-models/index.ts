/** The bank's read models: account history and balances, and the posting details writers record. */
export {
  availableOf,
  HistoryProjector,
  type HistoryRow,
  historyPage,
  historyRowOf,
  pendingOf,
  postedOf,
} from './history-projector.ts';
export { readModelLimits } from './limits.ts';
export { type PostingDetails, postingDetailsOf, recordPostingDetails } from './posting-details.ts';
export { customerIdOf, customerReadRoutes, ownedAccount } from './routes.ts';
