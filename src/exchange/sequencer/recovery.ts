import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { BookLimits } from '../matching/index.ts';
import { BookSet } from './book-set.ts';
import {
  findRecordsAfter,
  JournalCorruptError,
  type JournalRecord,
  type JournalScan,
  type JournalTail,
  journalFileName,
  type RecordsAfterBadRecord,
  readRecordAt,
  scanJournal,
  sectorBytes,
  unacknowledgedBytesMax,
  unacknowledgedRecordsMax,
} from './journal-format.ts';
import { listSnapshots, readSnapshot, type SnapshotProblem, type StoredSnapshot } from './snapshot-store.ts';

export { journalFileName };

/** A snapshot file recovery did not use, and why. */
export interface SkippedSnapshot {
  file: string;
  problem: SnapshotProblem;
  /** For 'anchor_mismatch': what differs. */
  detail?: string;
}

/** Thrown when the files of a data directory contradict each other (lost or damaged data). */
export class DataDirectoryDamagedError extends Error {
  override name = 'DataDirectoryDamagedError';
  /** The snapshots skipped before the damage was found (set by recoverState). */
  skippedSnapshots: SkippedSnapshot[] = [];
}

/**
 * Thrown when the journal has a bad record that was acknowledged: valid records follow it further
 * than the writes in flight at a crash could reach. Nothing is truncated; the data directory must be
 * restored (docs/operations.md).
 */
export class JournalDamagedError extends DataDirectoryDamagedError {
  override name = 'JournalDamagedError';

  constructor(
    /** The journal file. */
    readonly journal: string,
    /** How the scan stopped at the bad record. */
    readonly tail: JournalTail,
    /** What lies after it. */
    readonly found: RecordsAfterBadRecord,
  ) {
    super(describeJournalDamage(journal, tail, found));
  }
}

/** The message of JournalDamagedError (verify prints the same). */
export function describeJournalDamage(
  journal: string,
  tail: JournalTail,
  found: RecordsAfterBadRecord,
): string {
  const { badOffset, lastGoodSeq, first } = found;
  const how = tail.kind === 'clean' ? 'unreadable' : `${tail.kind} (${tail.reason})`;
  const follows = first
    ? `a valid record follows it, seq ${first.seq} at offset ${first.offset}`
    : 'no valid record follows it';
  return (
    `journal ${journal} is damaged: the record at offset ${badOffset}, where seq ${lastGoodSeq + 1} ` +
    `should be (the last good seq is ${lastGoodSeq}), is ${how}; ${follows}, and ${found.bytes} bytes ` +
    `follow the bad record. ${evidence(found)}. So this is not what a crash leaves but damage to ` +
    `acknowledged records: truncating at offset ${badOffset} would delete acknowledged commands, so ` +
    `nothing was truncated. Restore the exchange data directory from a standby or a backup ` +
    `(docs/operations.md, "A damaged exchange journal").`
  );
}

/** Why the record found after the bad one shows that the bad one is not a crash's doing. */
function evidence({ badOffset, lastGoodSeq, damage }: RecordsAfterBadRecord): string {
  if (damage === null) return 'Nothing shows it was acknowledged';
  const record = `Seq ${damage.seq} at offset ${damage.offset}`;
  switch (damage.why) {
    case 'bytes':
      return (
        `${record} ends more than ${unacknowledgedBytesMax} bytes after the bad record, beyond the ` +
        'last two writes (the only ones a crash can leave unwritten)'
      );
    case 'seq':
      return (
        `${record} is more than ${unacknowledgedRecordsMax} seqs past seq ${lastGoodSeq}, more than ` +
        'the last two writes (the only ones a crash can leave unwritten) hold'
      );
    case 'not_zeroed':
      return (
        `The ${damage.offset - badOffset} bytes from the bad record to it hold no run of zeros as a ` +
        `crash leaves (unwritten bytes read as zeros, from the bad record or a ${sectorBytes}-byte ` +
        'boundary to the next valid record or such a boundary): the bad record was altered after it was written'
      );
  }
}

export interface RecoveredState {
  books: BookSet;
  /** Seq of the last command in the recovered state (0 when empty). */
  lastSeq: number;
  /** Seq of the snapshot used, or null when the journal was replayed from zero. */
  snapshotSeq: number | null;
  /** Snapshot files that were newer than the one used but unusable. */
  skippedSnapshots: SkippedSnapshot[];
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
  /**
   * When the journal ends in a bad record: the valid records (a valid CRC and a seq after lastSeq)
   * found after it, which truncating at journalEndOffset drops with it. They lie within the last
   * two writes (else recovery refuses with JournalDamagedError), so after a crash they were not
   * acknowledged. 0 when the journal ends clean or nothing valid follows the bad record.
   */
  droppedRecords: number;
  /** The lowest and highest seq among droppedRecords, or null. */
  droppedSeqs: { min: number; max: number } | null;
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
 * corrupt ones and ones taken after another journal's record), then the journal records after it up
 * to the first torn or corrupt record. Throws DataDirectoryDamagedError when a snapshot's record is
 * not in the journal, and JournalDamagedError when valid records follow the bad record further than
 * a crash can explain.
 */
export function recoverState(
  dir: string,
  limits: Partial<BookLimits> = {},
  options: RecoverOptions = {},
): RecoveredState {
  const skippedSnapshots: SkippedSnapshot[] = [];
  try {
    return recoverFrom(dir, limits, options, skippedSnapshots);
  } catch (error) {
    if (error instanceof DataDirectoryDamagedError) error.skippedSnapshots = skippedSnapshots;
    throw error;
  }
}

function recoverFrom(
  dir: string,
  limits: Partial<BookLimits>,
  options: RecoverOptions,
  skippedSnapshots: SkippedSnapshot[],
): RecoveredState {
  const journal = join(dir, journalFileName);
  const seqMax = options.atMostSeq ?? Number.POSITIVE_INFINITY;
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
    const mismatch = checkAnchor(journal, snapshot, file);
    if (mismatch !== null) {
      skippedSnapshots.push({ file, problem: 'anchor_mismatch', detail: mismatch });
      continue;
    }
    const books = BookSet.restore(snapshot.books, limits);
    const scan = replayAfterSnapshot(journal, books, snapshot, file, seqMax, seeTime);
    return { books, snapshotSeq: snapshot.seq, skippedSnapshots, lastTimeMs, ...summary(journal, scan) };
  }
  const books = new BookSet(limits);
  const scan = replayFromZero(journal, books, seqMax, seeTime);
  return { books, snapshotSeq: null, skippedSnapshots, lastTimeMs, ...summary(journal, scan) };
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
 * Checks that the journal holds the record a snapshot was taken after: intact, at the snapshot's
 * lastRecordOffset and with its seq — else throws DataDirectoryDamagedError: the journal lacks a
 * command the snapshot proves was acknowledged (older or damaged journal), and replaying or
 * truncating from a guessed offset could destroy acknowledged commands. For a version-2 snapshot
 * the record's length and CRC must also be those the snapshot stored: if not, the snapshot was
 * taken after another journal's record (copied from another directory) and is skipped; returns what
 * differs, or null when the snapshot belongs to this journal. A version-1 snapshot stored no CRC:
 * only its seq and offset can be checked.
 */
function checkAnchor(journal: string, snapshot: StoredSnapshot, file: string): string | null {
  const { seq, lastRecordOffset } = snapshot;
  if (seq === 0) return null;
  const damaged = (why: string) =>
    new DataDirectoryDamagedError(`${file} ends at seq ${seq} (offset ${lastRecordOffset}) but ${why}`);
  if (!existsSync(journal)) throw damaged(`${journalFileName} is missing`);
  let found: ReturnType<typeof readRecordAt>;
  try {
    found = readRecordAt(journal, lastRecordOffset);
  } catch (error) {
    if (error instanceof JournalCorruptError) throw damaged(error.message);
    throw error;
  }
  if (typeof found === 'string') {
    throw damaged(`no intact record with that seq is there (${found === 'end' ? 'clean' : found})`);
  }
  if (found.record.seq !== seq) {
    throw damaged(`record at offset ${lastRecordOffset} has seq ${found.record.seq}, expected ${seq}`);
  }
  const anchor = snapshot.anchor;
  if (anchor === null || (anchor.crc === found.crc && anchor.length === found.payloadBytes)) return null;
  return (
    `the record with seq ${seq} at offset ${lastRecordOffset} has length ${found.payloadBytes} and ` +
    `CRC ${found.crc}, the snapshot was taken after one with length ${anchor.length} and CRC ${anchor.crc}`
  );
}

/**
 * Applies the records after a snapshot's seq. The scan starts at the snapshot's own last record
 * (checked by checkAnchor); a record with a valid CRC but a wrong seq or a malformed payload after
 * it is reported as damage of the data directory.
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

/**
 * The scan's outcome for RecoveredState. When it stopped at a bad record, looks past it: valid
 * records beyond the last two writes mean acknowledged ones are damaged (JournalDamagedError);
 * within them they are what a crash leaves, and are counted as dropped.
 */
function summary(journal: string, scan: JournalScan & { snapshotRecords?: number }) {
  let found: RecordsAfterBadRecord | null = null;
  if (scan.tail.kind !== 'clean') {
    found = findRecordsAfter(journal, {
      badOffset: scan.validEndOffset,
      lastGoodSeq: scan.lastSeq,
      endOffset: scan.fileBytes,
      stopAtDamage: true,
    });
    if (found.damage !== null) throw new JournalDamagedError(journal, scan.tail, found);
  }
  return {
    lastSeq: scan.lastSeq,
    lastRecordOffset: scan.lastRecordOffset,
    replayed: scan.records - (scan.snapshotRecords ?? 0),
    journalEndOffset: scan.validEndOffset,
    journalBytes: scan.fileBytes,
    tail: scan.tail,
    droppedRecords: found?.records ?? 0,
    droppedSeqs: found?.seqs ?? null,
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
