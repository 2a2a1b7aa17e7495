import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BookLimits } from '../matching/index.ts';
import { BookSet } from './book-set.ts';
import {
  findRecordsAfter,
  JournalCorruptError,
  type JournalTail,
  journalFileName,
  type RecordsAfterBadRecord,
  scanJournal,
} from './journal-format.ts';
import {
  DataDirectoryDamagedError,
  describeJournalDamage,
  type RecoveredState,
  recoverState,
  type SkippedSnapshot,
} from './recovery.ts';

/**
 * `match`: the replay from zero and the recovery from the latest valid snapshot give the same last
 * seq and state, and nothing is damaged. `mismatch`: both read their records but disagree (a
 * snapshot whose books are not what the journal gives). `damaged`: a file is damaged — a bad
 * record the replay cannot pass that had been acknowledged (valid records after it beyond the last
 * two writes, or a snapshot taken after it), a record with a valid CRC that breaks the journal's
 * rules (wrong seq, malformed payload), or a snapshot whose record is not in the journal; the
 * exchange refuses to start on most of these (docs/operations.md).
 */
export type VerifyResult = 'match' | 'mismatch' | 'damaged';

/** How the replay from zero ended: a scan's tail, or at a record with a valid CRC that breaks the rules. */
export type VerifyTail = JournalTail | { kind: 'invalid'; reason: 'invalid_record' };

export interface VerifyReport {
  result: VerifyResult;
  /** Commands in the journal (replayed from zero, up to a bad record). */
  commands: number;
  lastSeq: number;
  /** State hash after replaying the journal from zero. */
  stateHash: string;
  /** State hash after recovering from the latest valid snapshot plus the journal tail (null if impossible). */
  recoveredStateHash: string | null;
  snapshotSeq: number | null;
  replayedFromSnapshot: number;
  replayedFromZero: number;
  /** Snapshots newer than the one recovery used that it skipped, and why. */
  skippedSnapshots: SkippedSnapshot[];
  /** How the replay from zero ended. */
  tail: VerifyTail;
  /** Bytes from where the replay from zero stopped to the end of the file (not replayed). */
  tailBytes: number;
  /** Offset of the bad record the replay from zero stopped at, or null when it read to the end. */
  badRecordOffset: number | null;
  /**
   * What follows that bad record: the valid records (seq after lastSeq) the replay ignored — all of
   * them, counted to the end of the file — and whether one lies beyond the last two writes. Null
   * when the replay read to the end.
   */
  afterBadRecord: RecordsAfterBadRecord | null;
  /** Every reason the result is not 'match' (empty on a match). */
  problems: string[];
  /** The problems joined, or null. */
  problem: string | null;
  /** result === 'match'. */
  match: boolean;
}

/**
 * Replays the whole journal from zero and, separately, recovers from the latest valid snapshot, and
 * compares the two; reports damage the way recovery classifies it (see VerifyResult). Read-only; run
 * it on a stopped sequencer's directory (or a copy): on a live one the two reads can see different
 * prefixes of the journal and then do not match.
 */
export function verifyDataDirectory(dir: string, limits: Partial<BookLimits> = {}): VerifyReport {
  const journal = join(dir, journalFileName);
  const fromZero = new BookSet(limits);
  const damage: string[] = [];
  let commands = 0;
  let lastSeq = 0;
  let endOffset = 0;
  let fileBytes = 0;
  let tail: VerifyTail = { kind: 'clean' };
  if (existsSync(journal)) {
    try {
      const scan = scanJournal(journal, { fromOffset: 0, firstSeq: 1 }, (record, end) => {
        fromZero.apply(record.symbol, record.command);
        commands++;
        lastSeq = record.seq;
        endOffset = end;
      });
      tail = scan.tail;
      fileBytes = scan.fileBytes;
    } catch (error) {
      if (!(error instanceof JournalCorruptError)) throw error;
      tail = { kind: 'invalid', reason: 'invalid_record' };
      fileBytes = statSync(journal).size;
      damage.push(
        `${error.message}: a record with a valid CRC that breaks the journal's rules (a writer bug or ` +
          `a spliced file); the replay from zero stops before it, after seq ${lastSeq}`,
      );
    }
  }
  let afterBadRecord: RecordsAfterBadRecord | null = null;
  if (tail.kind !== 'clean') {
    afterBadRecord = findRecordsAfter(journal, {
      badOffset: endOffset,
      lastGoodSeq: lastSeq,
      endOffset: fileBytes,
      stopAtDamage: false,
    });
    if (tail.kind !== 'invalid' && afterBadRecord.damage !== null) {
      damage.push(describeJournalDamage(journal, tail, afterBadRecord));
    }
  }

  let recovered: RecoveredState | null = null;
  let skippedSnapshots: SkippedSnapshot[] = [];
  try {
    recovered = recoverState(dir, limits);
    skippedSnapshots = recovered.skippedSnapshots;
  } catch (error) {
    if (error instanceof DataDirectoryDamagedError) skippedSnapshots = error.skippedSnapshots;
    else if (!(error instanceof JournalCorruptError)) throw error;
    // The same bad record met by both reads gives the same message: report it once.
    const message = (error as Error).message;
    if (!damage.some((known) => known.startsWith(message))) damage.push(message);
  }
  if (
    recovered !== null &&
    tail.kind !== 'clean' &&
    recovered.snapshotSeq !== null &&
    recovered.snapshotSeq > lastSeq
  ) {
    damage.push(
      `the replay from zero stops at the bad record at offset ${endOffset}, after seq ${lastSeq}, but ` +
        `the snapshot at seq ${recovered.snapshotSeq} was taken after it: the records from seq ` +
        `${lastSeq + 1} on had been acknowledged (a full replay, e.g. rebuilding the projections, ` +
        'cannot pass it)',
    );
  }

  const stateHash = fromZero.stateHash();
  const recoveredStateHash = recovered?.books.stateHash() ?? null;
  const agree = recovered !== null && recoveredStateHash === stateHash && recovered.lastSeq === lastSeq;
  const result: VerifyResult = damage.length > 0 ? 'damaged' : agree ? 'match' : 'mismatch';
  const problems =
    result === 'damaged'
      ? damage
      : result === 'mismatch'
        ? ['the state recovered from the snapshot differs from the replay from zero']
        : [];
  return {
    result,
    commands,
    lastSeq,
    stateHash,
    recoveredStateHash,
    snapshotSeq: recovered?.snapshotSeq ?? null,
    replayedFromSnapshot: recovered?.replayed ?? 0,
    replayedFromZero: commands,
    skippedSnapshots,
    tail,
    tailBytes: fileBytes - endOffset,
    badRecordOffset: tail.kind === 'clean' ? null : endOffset,
    afterBadRecord,
    problems,
    problem: problems.length > 0 ? problems.join('; ') : null,
    match: result === 'match',
  };
}

/** `kinyu exchange verify`'s exit code: 0 match, 2 mismatch, 3 damaged (1 is left for usage errors). */
export function verifyExitCode(report: VerifyReport): number {
  return report.result === 'match' ? 0 : report.result === 'mismatch' ? 2 : 3;
}

/** `kinyu exchange verify`'s output. */
export function formatVerifyReport(report: VerifyReport): string {
  const { tail, afterBadRecord: after } = report;
  const lines: string[] = [];
  const ending =
    report.badRecordOffset === null
      ? `tail ${tail.kind}`
      : `tail ${tail.kind} (${tail.kind === 'clean' ? '' : tail.reason}) at offset ${report.badRecordOffset}, ` +
        `${report.tailBytes} bytes not replayed`;
  lines.push(`journal:    ${report.commands} commands, last seq ${report.lastSeq}, ${ending}`);
  if (after !== null) {
    const seqs = after.seqs === null ? '' : ` (seq ${after.seqs.min} … ${after.seqs.max})`;
    const first = after.first === null ? '' : `, the first at offset ${after.first.offset}`;
    const where =
      after.damage === null
        ? 'as a crash leaves them (within the last two writes, after a zeroed sector)'
        : `seq ${after.damage.seq} at offset ${after.damage.offset} shows damage (${after.damage.why})`;
    lines.push(
      `            after the bad record: ${after.records} valid records${seqs}${first}` +
        (after.records > 0 ? `; ${where}` : ''),
    );
  }
  lines.push(`from zero:  ${report.stateHash}`);
  lines.push(
    `from snapshot ${report.snapshotSeq ?? '(none)'} + ${report.replayedFromSnapshot} commands: ` +
      `${report.recoveredStateHash ?? '(could not recover)'}`,
  );
  for (const skipped of report.skippedSnapshots) {
    lines.push(
      `skipped snapshot ${skipped.file}: ${skipped.problem}${skipped.detail ? ` (${skipped.detail})` : ''}`,
    );
  }
  if (report.result === 'match') {
    lines.push('match: the journal and the snapshots agree');
    if (report.badRecordOffset !== null) {
      lines.push(
        `note: the next open truncates the journal at offset ${report.badRecordOffset} (${report.tailBytes} ` +
          `bytes, ${after?.records ?? 0} valid records after the bad one): what a crash leaves in the last ` +
          'two writes, which were never acknowledged',
      );
    }
  } else if (report.result === 'mismatch') {
    lines.push(`MISMATCH: ${report.problem}`);
  } else {
    for (const problem of report.problems) lines.push(`DAMAGED: ${problem}`);
    if (!report.problems.some((problem) => problem.includes('docs/operations.md'))) {
      lines.push(
        'Restore the exchange data directory from a standby or a backup (docs/operations.md, ' +
          '"A damaged exchange journal").',
      );
    }
  }
  return lines.join('\n');
}
