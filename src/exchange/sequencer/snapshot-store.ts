import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredBookSnapshot } from '../matching/index.ts';
import { syncDirectory } from './journal.ts';
import { sequencerLimits } from './limits.ts';

/*
 * Snapshot file `snapshot-<seq, 16 digits>.snap`: the SHA-256 (hex) of the body, a newline, then the
 * body: JSON {"format":"kinyu-exchange-snapshot-v1","seq":n,"lastRecordOffset":n,"books":{symbol: BookSnapshot}}
 * (each book with its own version: 2 writes retired ids as ranges; files holding version 1 still load).
 * `seq` is the last command the books include and `lastRecordOffset` where that command's journal
 * record starts (-1 when seq is 0), so recovery can check the record is there before replaying after it.
 * Written to `….tmp`, fsynced, renamed, directory fsynced; the newest `snapshotsKept` are kept.
 */

const format = 'kinyu-exchange-snapshot-v1';
const namePattern = /^snapshot-(\d{16})\.snap$/;

export interface ExchangeSnapshot {
  seq: number;
  lastRecordOffset: number;
  books: Record<string, StoredBookSnapshot>;
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
 * Writes a snapshot atomically and removes older ones, keeping the newest `snapshotsKept` at or
 * before it. Files named after it are neither counted nor removed: none can be this journal's (a
 * corrupt file, or one from another journal, which recovery skips or reports), and counting them
 * would remove the valid snapshots recovery needs.
 */
export async function writeSnapshot(dir: string, snapshot: ExchangeSnapshot): Promise<string> {
  const body = JSON.stringify({ format, ...snapshot });
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
  const upToThis = listSnapshots(dir).filter(({ seq }) => seq <= snapshot.seq);
  for (const old of upToThis.slice(sequencerLimits.snapshotsKept)) unlinkSync(join(dir, old.file));
  return file;
}

/** Why a snapshot file was not usable. */
export type SnapshotProblem = 'unreadable' | 'bad_checksum' | 'bad_format';

/** Reads and checks one snapshot file: the snapshot, or why it cannot be used. */
export function readSnapshot(path: string): ExchangeSnapshot | SnapshotProblem {
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
  let parsed: (Partial<ExchangeSnapshot> & { format?: string }) | null;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'bad_format';
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    parsed.format !== format ||
    !Number.isSafeInteger(parsed.seq) ||
    !Number.isSafeInteger(parsed.lastRecordOffset) ||
    typeof parsed.books !== 'object' ||
    parsed.books === null
  ) {
    return 'bad_format';
  }
  return { seq: parsed.seq!, lastRecordOffset: parsed.lastRecordOffset!, books: parsed.books };
}
