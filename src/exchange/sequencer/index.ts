/*
 * Public API of the exchange sequencer: the shell around the pure matching engine. It sequences
 * commands (one gap-free seq across symbols), journals them durably before acknowledging, applies
 * them to one book per symbol, snapshots all books every N commands (inline, or off the order-entry
 * thread with a SnapshotFollower), recovers a data directory (snapshot + journal tail, torn tail
 * truncated, damage before the last two writes refused), verifies it, and lets a standby follow it.
 */
export { BookSet, symbolProblem } from './book-set.ts';
export { type Durability, JournalBacklogFullError, JournalFailedError, JournalWriter } from './journal.ts';
export {
  type CommandMeta,
  encodeJsonRecord,
  encodeRecord,
  findRecordsAfter,
  JournalCorruptError,
  type JournalRecord,
  type JournalScan,
  type JournalTail,
  type RecordsAfterBadRecord,
  readRecordAt,
  scanJournal,
  sectorBytes,
  unacknowledgedBytesMax,
  unacknowledgedRecordsMax,
} from './journal-format.ts';
export { sequencerLimits } from './limits.ts';
export {
  DataDirectoryDamagedError,
  JournalDamagedError,
  journalFileName,
  type RecoveredState,
  type RecoverOptions,
  recoverState,
  type SkippedSnapshot,
  truncateJournal,
} from './recovery.ts';
export {
  type BookView,
  type RecoveryReport,
  type SequencedResult,
  Sequencer,
  type SequencerOptions,
  type UnsequencedCommand,
} from './sequencer.ts';
export { SnapshotFollower, type SnapshotFollowerOptions } from './snapshot-follower.ts';
export { type SnapshotLoop, type SnapshotLoopOptions, snapshotLoop } from './snapshot-loop.ts';
export {
  type ExchangeSnapshot,
  listSnapshots,
  readSnapshot,
  type SnapshotAnchor,
  type SnapshotProblem,
  type StoredSnapshot,
  snapshotFileName,
} from './snapshot-store.ts';
export { Standby, type StandbyOptions, type StandbyStatus } from './standby.ts';
export {
  formatVerifyReport,
  type VerifyReport,
  type VerifyResult,
  type VerifyTail,
  verifyDataDirectory,
  verifyExitCode,
} from './verify.ts';
