import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { BookLimits } from '../matching/index.ts';
import { BookSet } from './book-set.ts';
import {
  JournalCorruptError,
  type JournalRecord,
  type JournalScan,
  type JournalTail,
  scanJournal,
} from './journal-format.ts';
import { listSnapshots, readSnapshot, type SnapshotProblem } from './snapshot-store.ts';

/** The journal's file name inside a data directory (one file, no segments). */
export const journalFileName = 'journal.log';

/** Thrown when the files of a data directory contradict each other (lost or damaged data). */
export class DataDirectoryDamagedError extends Error {
  override name = 'DataDirectoryDamagedError';
}

export interface RecoveredState {
  books: BookSet;
  /** Seq of the last command in the recovered state (0 when empty). */
  lastSeq: number;
  /** Seq of the snapshot used, or null when the journal was replayed from zero. */
  snapshotSeq: number | null;
  /** Snapshot files that were newer than the one used but unusable. */
  skippedSnapshots: Array<{ file: string; problem: SnapshotProblem }>;
  /** Journal records applied on top of the snapshot (or from zero). */
  replayed: number;
  /** Where the record with lastSeq starts (-1 when lastSeq is 0): the next snapshot's anchor. */
  lastRecordOffset: number;
  /** End of the valid records: where a writer continues (after truncating). */
  journalEndOffset: number;
  /**
   * The latest `meta.time` of the records read (the snapshot's own last record included), or 0: the
   * sequencer never stamps a command earlier than this, so time never goes back in seq order.
   */
  lastTimeMs: number;
  journalBytes: number;
  tail: JournalTail;
}

export interface RecoverOptions {
  /**
   * Rebuild the state as of this seq instead of the latest: the newest snapshot at or before it,
   * then journal records up to it. A reader that resumes from a checkpoint (the projector) uses it.
   */
  atMostSeq?: number;
}

/**
 * Rebuilds the books from `dir` without changing any file: the newest valid snapshot (skipping
 * corrupt ones), then the journal records after it up to the first torn or corrupt record.
 */
export function recoverState(
  dir: string,
  limits: Partial<BookLimits> = {},
  options: RecoverOptions = {},
): RecoveredState {
  const journal = join(dir, journalFileName);
  const seqMax = options.atMostSeq ?? Number.POSITIVE_INFINITY;
  const skippedSnapshots: RecoveredState['skippedSnapshots'] = [];
  let lastTimeMs = 0;
  const seeTime = (record: JournalRecord) => {
    const time = record.meta?.time ?? 0;
    if (time > lastTimeMs) lastTimeMs = time;
  };
  for (const { seq, file } of listSnapshots(dir)) {
    if (seq > seqMax) continue;
    const snapshot = readSnapshot(join(dir, file));
    if (typeof snapshot === 'string') {
      skippedSnapshots.push({ file, problem: snapshot });
      continue;
    }
    if (snapshot.seq !== seq) {
      skippedSnapshots.push({ file, problem: 'bad_format' });
      continue;
    }
    const books = BookSet.restore(snapshot.books, limits);
    const scan = replayAfterSnapshot(journal, books, snapshot, file, seqMax, seeTime);
    return { books, snapshotSeq: snapshot.seq, skippedSnapshots, lastTimeMs, ...summary(scan) };
  }
  const books = new BookSet(limits);
  const scan = replayFromZero(journal, books, seqMax, seeTime);
  return { books, snapshotSeq: null, skippedSnapshots, lastTimeMs, ...summary(scan) };
}

/** Applies every journal record to `books` (fresh ones), showing each to `see`. */
export function replayFromZero(
  journal: string,
  books: BookSet,
  seqMax = Number.POSITIVE_INFINITY,
  see: (record: JournalRecord) => void = () => {},
): JournalScan {
  if (!existsSync(journal)) {
    return {
      records: 0,
      lastSeq: 0,
      lastRecordOffset: -1,
      validEndOffset: 0,
      fileBytes: 0,
      tail: { kind: 'clean' },
    };
  }
  return scanJournal(journal, { fromOffset: 0, firstSeq: 1, seqMax }, (record) => {
    see(record);
    books.apply(record.symbol, record.command);
  });
}

/**
 * Applies the records after a snapshot's seq. The scan starts at the snapshot's own last record,
 * which must be there, intact and with that seq: otherwise the snapshot and the journal disagree and
 * replaying (or truncating) from a guessed offset could destroy acknowledged commands.
 */
function replayAfterSnapshot(
  journal: string,
  books: BookSet,
  { seq, lastRecordOffset }: { seq: number; lastRecordOffset: number },
  file: string,
  seqMax: number,
  see: (record: JournalRecord) => void,
): JournalScan & { snapshotRecords: number } {
  if (seq === 0) return { ...replayFromZero(journal, books, seqMax, see), snapshotRecords: 0 };
  const damaged = (why: string) =>
    new DataDirectoryDamagedError(`${file} ends at seq ${seq} (offset ${lastRecordOffset}) but ${why}`);
  if (!existsSync(journal)) throw damaged(`${journalFileName} is missing`);
  let first = true;
  let scan: JournalScan;
  try {
    scan = scanJournal(journal, { fromOffset: lastRecordOffset, firstSeq: seq, seqMax }, (record) => {
      see(record);
      if (first) first = false;
      else books.apply(record.symbol, record.command);
    });
  } catch (error) {
    if (error instanceof JournalCorruptError) throw damaged(error.message);
    throw error;
  }
  if (scan.records === 0) throw damaged(`no intact record with that seq is there (${scan.tail.kind})`);
  return { ...scan, snapshotRecords: 1 };
}

function summary(scan: JournalScan & { snapshotRecords?: number }) {
  return {
    lastSeq: scan.lastSeq,
    lastRecordOffset: scan.lastRecordOffset,
    replayed: scan.records - (scan.snapshotRecords ?? 0),
    journalEndOffset: scan.validEndOffset,
    journalBytes: scan.fileBytes,
    tail: scan.tail,
  };
}

/** Cuts a torn or corrupt tail off the journal and fsyncs it. */
export function truncateJournal(journal: string, endOffset: number): void {
  const fd = openSync(journal, 'r+');
  try {
    ftruncateSync(fd, endOffset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface VerifyReport {
  /** Commands in the journal (replayed from zero). */
  commands: number;
  lastSeq: number;
  /** State hash after replaying the whole journal from zero. */
  stateHash: string;
  /** State hash after recovering from the latest valid snapshot plus the journal tail (null if impossible). */
  recoveredStateHash: string | null;
  snapshotSeq: number | null;
  replayedFromSnapshot: number;
  replayedFromZero: number;
  skippedSnapshots: RecoveredState['skippedSnapshots'];
  /** How the journal ends; a torn/corrupt tail is ignored here and truncated by the next open. */
  tail: JournalTail;
  tailBytes: number;
  /** Why match is false, or null. */
  problem: string | null;
  /** Both ways give the same last seq and state hash. */
  match: boolean;
}

/**
 * Replays the whole journal from zero and, separately, recovers from the latest valid snapshot, and
 * compares the two. Read-only; run it on a stopped sequencer's directory (or a copy): on a live one the
 * two reads can see different prefixes of the journal and then do not match.
 */
export function verifyDataDirectory(dir: string, limits: Partial<BookLimits> = {}): VerifyReport {
  const fromZero = new BookSet(limits);
  const scan = replayFromZero(join(dir, journalFileName), fromZero);
  const stateHash = fromZero.stateHash();
  const base = {
    commands: scan.records,
    lastSeq: scan.lastSeq,
    stateHash,
    replayedFromZero: scan.records,
    tail: scan.tail,
    tailBytes: scan.fileBytes - scan.validEndOffset,
  };
  let recovered: RecoveredState;
  try {
    recovered = recoverState(dir, limits);
  } catch (error) {
    if (!(error instanceof DataDirectoryDamagedError)) throw error;
    const problem = error.message;
    return {
      ...base,
      recoveredStateHash: null,
      snapshotSeq: null,
      replayedFromSnapshot: 0,
      skippedSnapshots: [],
      problem,
      match: false,
    };
  }
  const recoveredStateHash = recovered.books.stateHash();
  const match = stateHash === recoveredStateHash && scan.lastSeq === recovered.lastSeq;
  return {
    ...base,
    recoveredStateHash,
    snapshotSeq: recovered.snapshotSeq,
    replayedFromSnapshot: recovered.replayed,
    skippedSnapshots: recovered.skippedSnapshots,
    problem: match ? null : 'the state recovered from the snapshot differs from the replay from zero',
    match,
  };
}
