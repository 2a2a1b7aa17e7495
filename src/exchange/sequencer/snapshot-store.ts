import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredBookSnapshot } from '../matching/index.ts';
import { syncDirectory } from './journal.ts';
import { journalFileName, readRecordAt } from './journal-format.ts';
import { sequencerLimits } from './limits.ts';

/*
 * Snapshot file `snapshot-<seq, 16 digits>.snap`: the SHA-256 (hex) of the body, a newline, then the
 * body: JSON {"format":"kinyu-exchange-snapshot-v2","seq":n,"lastRecordOffset":n,"lastRecordLength":n,
 * "lastRecordCrc":n,"books":{symbol: BookSnapshot}} (each book with its own version: 2 writes retired
 * ids as ranges; files holding version 1 still load).
 * `seq` is the last command the books include, `lastRecordOffset` where that command's journal
 * record starts (-1 when seq is 0), and `lastRecordLength`/`lastRecordCrc` that record's header
 * fields (payload length and CRC-32; 0 when seq is 0): recovery checks the record is there and is
 * the same record before replaying after it, so a snapshot copied from another data directory is
 * skipped rather than recovered on top of this journal. Version 1 ("kinyu-exchange-snapshot-v1",
 * the earlier files) has no length or CRC and still loads; only its seq and offset are checked.
 * Written to `….tmp`, fsynced, renamed, directory fsynced; the newest `snapshotsKept` are kept.
 */

const format = 'kinyu-exchange-snapshot-v2';
const formatV1 = 'kinyu-exchange-snapshot-v1';
const namePattern = /^snapshot-(\d{16})\.snap$/;

export interface ExchangeSnapshot {
  seq: number;
  lastRecordOffset: number;
  books: Record<string, StoredBookSnapshot>;
}

/** The journal record a snapshot was taken after, as its header has it. */
export interface SnapshotAnchor {
  /** Payload bytes (the header's length field). */
  length: number;
  /** The header's CRC-32 of the payload. */
  crc: number;
}

/** A snapshot as read from its file. */
export interface StoredSnapshot extends ExchangeSnapshot {
  /** The record it was taken after (version 2 on); null for a version-1 file, which has none. */
  anchor: SnapshotAnchor | null;
}

export function snapshotFileName(seq: number): string {
  return `snapshot-${String(seq).padStart(16, '0')}.snap`;
}

/** Snapshot file names in `dir`, newest (highest seq) first. */
export function listSnapshots(dir: string): Array<{ seq: number; file: string }> {
  const found: Array<{ seq: number; file: string }> = [];
  for (const file of readdirSync(dir)) {
    const match = namePattern.exec(file);
    if (match) found.push({ seq: Number(match[1]), file });
  }
  return found.sort((a, b) => b.seq - a.seq);
}

/** Removes `….snap.tmp` files a crash left behind mid-write (they were never renamed, so never used). */
export function removeTempSnapshots(dir: string): void {
  for (const file of readdirSync(dir)) {
    if (file.startsWith('snapshot-') && file.endsWith('.snap.tmp')) unlinkSync(join(dir, file));
  }
}

/**
 * Writes a snapshot atomically and removes older ones, keeping the newest `snapshotsKept` usable
 * ones at or before it (see `pruneSnapshots`). The journal record at `lastRecordOffset` (durable
 * by now) is read for its length and CRC, which the file stores; throws if it is not the record
 * with the snapshot's seq.
 */
export async function writeSnapshot(dir: string, snapshot: ExchangeSnapshot): Promise<string> {
  const anchor = readAnchor(dir, snapshot);
  const body = JSON.stringify({
    format,
    seq: snapshot.seq,
    lastRecordOffset: snapshot.lastRecordOffset,
    lastRecordLength: anchor.length,
    lastRecordCrc: anchor.crc,
    books: snapshot.books,
  });
  const checksum = createHash('sha256').update(body).digest('hex');
  const file = snapshotFileName(snapshot.seq);
  const target = join(dir, file);
  const temp = `${target}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(`${checksum}\n${body}`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  syncDirectory(dir);
  rememberUsable(target);
  pruneSnapshots(dir, snapshot.seq);
  return file;
}

/**
 * Removes the snapshots recovery no longer needs: walking down from `seq`, it keeps the first
 * `snapshotsKept` usable ones (intact, and taken after a record this journal holds) and removes
 * every file older than the last of them. A file that is not usable (corrupt, or copied from
 * another journal) is not counted, so it cannot push out a snapshot recovery could use; it stays
 * while it sits among the kept ones, for the operator to see, and goes once it is older. Files
 * named after `seq` are neither counted nor removed: none can be this journal's.
 */
function pruneSnapshots(dir: string, seq: number): void {
  let kept = 0;
  for (const old of listSnapshots(dir)) {
    if (old.seq > seq) continue;
    const path = join(dir, old.file);
    if (kept === sequencerLimits.snapshotsKept) {
      unlinkSync(path);
      usable.delete(path);
    } else if (isUsable(dir, path, old.seq)) kept++;
  }
}

/**
 * Snapshot files known usable, by path, with the size and mtime they had then: a file this
 * process wrote or checked is not read again while it is unchanged (a deep book's snapshot is
 * tens of megabytes).
 */
const usable = new Map<string, string>();

function fileSignature(path: string): string {
  const { size, mtimeMs } = statSync(path);
  return `${size}:${mtimeMs}`;
}

function rememberUsable(path: string): void {
  usable.set(path, fileSignature(path));
}

/** Whether a snapshot file can be recovered from: intact, and its anchor is this journal's record. */
function isUsable(dir: string, path: string, seq: number): boolean {
  if (usable.get(path) === fileSignature(path)) return true;
  const snapshot = readSnapshot(path);
  if (typeof snapshot === 'string' || snapshot.seq !== seq) return false;
  let anchor: SnapshotAnchor;
  try {
    anchor = readAnchor(dir, snapshot);
  } catch {
    return false;
  }
  if (
    snapshot.anchor !== null &&
    (snapshot.anchor.length !== anchor.length || snapshot.anchor.crc !== anchor.crc)
  )
    return false;
  rememberUsable(path);
  return true;
}

/** The header of the snapshot's own journal record ({0, 0} for seq 0, which has none). */
function readAnchor(dir: string, { seq, lastRecordOffset }: ExchangeSnapshot): SnapshotAnchor {
  if (seq === 0) return { length: 0, crc: 0 };
  const found = readRecordAt(join(dir, journalFileName), lastRecordOffset);
  if (typeof found === 'string' || found.record.seq !== seq) {
    const what = typeof found === 'string' ? found : `seq ${found.record.seq}`;
    throw new Error(
      `snapshot at seq ${seq}: the journal record at offset ${lastRecordOffset} is not that record (${what})`,
    );
  }
  return { length: found.payloadBytes, crc: found.crc };
}

/**
 * Why a snapshot file was not usable: 'anchor_mismatch' (found by recovery, not by readSnapshot)
 * when the journal's record at the snapshot's seq and offset is not the one it was taken after.
 */
export type SnapshotProblem = 'unreadable' | 'bad_checksum' | 'bad_format' | 'anchor_mismatch';

/** Reads and checks one snapshot file: the snapshot, or why it cannot be used. */
export function readSnapshot(path: string): StoredSnapshot | SnapshotProblem {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return 'unreadable';
  }
  const newline = text.indexOf('\n');
  if (newline !== 64) return 'bad_checksum';
  const body = text.slice(newline + 1);
  if (createHash('sha256').update(body).digest('hex') !== text.slice(0, newline)) return 'bad_checksum';
  let parsed:
    | (Partial<ExchangeSnapshot> & { format?: string; lastRecordLength?: number; lastRecordCrc?: number })
    | null;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'bad_format';
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    (parsed.format !== format && parsed.format !== formatV1) ||
    !Number.isSafeInteger(parsed.seq) ||
    !Number.isSafeInteger(parsed.lastRecordOffset) ||
    typeof parsed.books !== 'object' ||
    parsed.books === null
  ) {
    return 'bad_format';
  }
  let anchor: SnapshotAnchor | null = null;
  if (parsed.format === format) {
    const { lastRecordLength: length, lastRecordCrc: crc } = parsed;
    if (!isUint32(length) || !isUint32(crc)) return 'bad_format';
    anchor = { length, crc };
  }
  return { seq: parsed.seq!, lastRecordOffset: parsed.lastRecordOffset!, books: parsed.books, anchor };
}

function isUint32(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 0xffff_ffff;
}
