/*
 * Public API of the executions projector: follows the sequencer's journal and keeps orders, trades
 * and executions in PostgreSQL for queries and CSV export (docs/exchange-executions.md).
 */
export { projectorLimits, queryLimits } from './limits.ts';
export {
  ExecutionsProjector,
  type ExecutionsProjectorOptions,
  ProjectionAheadOfJournalError,
  type ProjectorLogger,
} from './projector.ts';
export { type ExecutionRow, type ProjectedRecord, projectRecord, type TradeRow, tradeId } from './rows.ts';
export {
  CheckpointMovedError,
  executionsProjectorName,
  loadOpenOrders,
  loadProjectionState,
  type ProjectionState,
  readCheckpoint,
} from './store.ts';
export { ProjectorThread, type ProjectorThreadOptions, type ProjectorThreadState } from './thread.ts';
