import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** The lock file in an exchange data directory: the record of the process that owns the sequencer. */
export const lockFileName = 'LOCK';

/** Thrown when another live process already owns the exchange data directory. */
export class DataDirectoryLockedError extends Error {
  override name = 'DataDirectoryLockedError';
}

export interface DataDirectoryLock {
  /** Removes the lock file if it is still the one this call created. */
  release(): void;
}

/**
 * A LOCK that cannot be parsed is left alone for this long: an older Kinyu created its LOCK empty
 * and wrote the pid afterwards, so an empty LOCK may belong to a process that is starting.
 */
const unreadableLockGraceMs = 10_000;

/**
 * Makes this process the only writer of an exchange data directory: two sequencers appending to one
 * journal would interleave records and destroy it.
 *
 * Design. `LOCK` holds an owner record: the pid on its first line (for humans and older versions),
 * then the process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot), the kernel's
 * boot id and a random token. pid + start time + boot id name one process for good, so a pid reused
 * by another process (a restarted container's node is PID 1 again) is recognised as not the owner;
 * without /proc only the pid is recorded and checked.
 * - Acquiring: the record is written to a temp file in the directory, fsynced, then `link()`ed to
 *   `LOCK`. link is atomic and fails with EEXIST, so `LOCK` never exists without its full record.
 *   A LOCK without a record (an older version created it empty, then wrote the pid) is taken as
 *   held for `unreadableLockGraceMs`, and only then as stale.
 * - Taking over a stale LOCK (its owner is gone: SIGKILL, crash, reboot, reused pid) needs a
 *   compare-and-swap that the file system does not offer: "unlink if still the stale one" races with
 *   a starter that has just taken it over. So a starter first claims the stale lock by linking its
 *   record to `LOCK.claim-<stale token>-0`; only the holder of that claim may replace that LOCK, and
 *   it re-reads LOCK under the claim and `rename()`s its record over it only if it is still the
 *   stale one (nobody else can change it meanwhile: its owner is dead, link fails on an existing
 *   LOCK, and replacing needs the claim). A claim whose holder died is itself stale and is claimed
 *   the same way one level up (`-1`, `-2`, …), so the claimant is always unique and nothing is ever
 *   judged by a timeout. Claims on a LOCK that has since been replaced are moot and are removed by
 *   the next owner, with temp files of dead starters.
 * - A live owner, or a live process in the middle of a takeover, means refusal: DataDirectoryLockedError.
 * Rejected alternatives: flock/fcntl locks need a native addon; an abstract Unix socket is released
 * by the kernel but binding it is asynchronous, and it is scoped to a network namespace rather than
 * to the directory; a mkdir mutex recognised as stale after a timeout lets two processes in when
 * its holder is merely paused past the timeout.
 * A pid is only meaningful on one host: the data directory must not be shared between hosts (or
 * between containers in different pid namespaces).
 */
export function lockDataDirectory(dir: string): DataDirectoryLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, lockFileName);
  const me = ownRecord();
  const temp = join(dir, `${lockFileName}.tmp-${me.pid}-${me.start ?? 'x'}-${me.token}`);
  writeRecord(temp, me);
  try {
    acquire(dir, file, temp);
  } finally {
    // After link() it is a second name of LOCK; after a takeover it has been renamed to LOCK.
    unlinkIfPresent(temp);
  }
  heldTokens.add(me.token);
  sweep(dir, me.token);
  return {
    release() {
      if (!heldTokens.delete(me.token)) return;
      // Only if LOCK is still our record: a lock taken over meanwhile is someone else's.
      if (readEntry(file)?.record?.token === me.token) unlinkIfPresent(file);
    },
  };
}

interface OwnerRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat; absent without /proc, and in a record from an older version. */
  start?: string;
  /** /proc/sys/kernel/random/boot_id; absent as `start` is. */
  boot?: string;
  /** Random per acquisition; absent in an older version's record (a pid only). */
  token?: string;
}

/** Tokens of the locks this process (this thread) holds. */
const heldTokens = new Set<string>();

function acquire(dir: string, file: string, temp: string): void {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (tryLink(temp, file)) return;
    const current = readEntry(file);
    if (current === undefined) continue; // released in between: try again
    const { record } = current;
    if (record === null) {
      if (Date.now() - current.mtimeMs < unreadableLockGraceMs) {
        throw new DataDirectoryLockedError(
          `${dir} is in use: its ${lockFileName} file has no owner record yet (a process may be creating it); one exchange process per data directory`,
        );
      }
    } else {
      const state = ownerState(record);
      if (state !== 'gone') {
        // An older version recorded only the pid, so a reused pid cannot be told from its owner.
        const pidOnly =
          record.token === undefined
            ? ` (this ${lockFileName} from an older version records only a pid: if that process is not the exchange, remove ${lockFileName})`
            : '';
        throw new DataDirectoryLockedError(
          `${dir} is in use by process ${record.pid}${state === 'this process' ? ' (this one)' : ''}: one exchange process per data directory${pidOnly}`,
        );
      }
    }
    const outcome = takeOver(dir, file, temp, current.id);
    if (outcome === 'acquired') return;
    if (outcome !== 'changed') {
      throw new DataDirectoryLockedError(
        `${dir} is being taken over by process ${outcome.claimant} (its lock was stale): one exchange process per data directory`,
      );
    }
  }
  throw new DataDirectoryLockedError(`${dir} was locked by another process while starting`);
}

/** Replaces the stale LOCK `staleId` with `temp`, holding the claim on it (see lockDataDirectory). */
function takeOver(
  dir: string,
  file: string,
  temp: string,
  staleId: string,
): 'acquired' | 'changed' | { claimant: number | string } {
  const deadClaims: string[] = [];
  let claim: string | undefined;
  for (let level = 0, tries = 0; claim === undefined; tries++) {
    const path = join(dir, `${lockFileName}.claim-${staleId}-${level}`);
    if (tryLink(temp, path)) claim = path;
    else {
      const holder = readEntry(path);
      if (holder === undefined) {
        // Removed as moot in between (LOCK was replaced): try the same level again.
        if (tries > 100) return 'changed';
        continue;
      }
      if (holder.record === null || ownerState(holder.record) !== 'gone') {
        return { claimant: holder.record?.pid ?? 'unknown' };
      }
      deadClaims.push(path);
      level++;
    }
  }
  let outcome: 'acquired' | 'changed' = 'changed';
  try {
    if (readEntry(file)?.id === staleId) {
      renameSync(temp, file);
      outcome = 'acquired';
    }
  } finally {
    unlinkIfPresent(claim);
  }
  // The stale LOCK is gone for good either way, so every claim on it is moot. (Not on an exception:
  // removing a lower claim while LOCK is still the stale one would let a second claimant in.)
  for (const path of deadClaims) unlinkIfPresent(path);
  return outcome;
}

/** Removes moot claims (on a LOCK that is not the current one) and dead starters' temp files. */
function sweep(dir: string, ownToken: string): void {
  try {
    for (const name of readdirSync(dir)) {
      if (name.startsWith(`${lockFileName}.claim-`)) {
        if (!name.startsWith(`${lockFileName}.claim-${ownToken}-`)) unlinkIfPresent(join(dir, name));
      } else if (name.startsWith(`${lockFileName}.tmp-`)) {
        const [pid, start, token] = name.slice(`${lockFileName}.tmp-`.length).split('-');
        const record: OwnerRecord = { pid: Number(pid), token };
        if (start !== 'x') record.start = start;
        if (Number.isSafeInteger(record.pid) && ownerState(record) === 'gone')
          unlinkIfPresent(join(dir, name));
      }
    }
  } catch {
    // Best effort: leftovers are harmless.
  }
}

/**
 * Whether the process a record names still runs: 'gone' only when that is certain (no such pid, a
 * zombie, another start time or boot), so a doubt keeps the lock.
 */
function ownerState(record: OwnerRecord): 'this process' | 'alive' | 'gone' {
  if (record.token !== undefined && heldTokens.has(record.token)) return 'this process';
  const boot = bootId();
  if (record.boot !== undefined && boot !== undefined && record.boot !== boot) return 'gone';
  if (record.pid === process.pid) {
    // An older version's pid-only record was not written by this process: a previous one had its pid.
    if (record.token === undefined) return 'gone';
    const start = processInfo(process.pid)?.start;
    // Another thread of this process, unless the start time says it was a previous process.
    return record.start === undefined || start === undefined || record.start === start
      ? 'this process'
      : 'gone';
  }
  const info = processInfo(record.pid);
  if (info !== undefined) {
    if (info.state === 'Z' || info.state === 'X') return 'gone';
    return record.start === undefined || record.start === info.start ? 'alive' : 'gone';
  }
  // No /proc entry: no /proc on this system, no such process, or hidden (hidepid): ask the kernel.
  try {
    process.kill(record.pid, 0);
    return 'alive';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'gone';
  }
}

function processInfo(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19]; // field 22
    return start && /^\d+$/.test(start) ? { state: fields[0] ?? '', start } : undefined;
  } catch {
    return undefined;
  }
}

let cachedBootId: string | null | undefined;
function bootId(): string | undefined {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId ?? undefined;
}

function ownRecord(): OwnerRecord & { token: string } {
  const record: OwnerRecord & { token: string } = {
    pid: process.pid,
    token: randomBytes(16).toString('hex'),
  };
  const start = processInfo(process.pid)?.start;
  const boot = bootId();
  if (start !== undefined && boot !== undefined) {
    record.start = start;
    record.boot = boot;
  }
  return record;
}

function formatRecord(record: OwnerRecord): string {
  let text = `${record.pid}\n`;
  if (record.start !== undefined) text += `start ${record.start}\n`;
  if (record.boot !== undefined) text += `boot ${record.boot}\n`;
  if (record.token !== undefined) text += `token ${record.token}\n`;
  return text;
}

function parseRecord(text: string): OwnerRecord | null {
  const [first, ...rest] = text.split('\n');
  if (!first || !/^\d+$/.test(first)) return null;
  const record: OwnerRecord = { pid: Number(first) };
  if (!Number.isSafeInteger(record.pid) || record.pid <= 0) return null;
  for (const line of rest) {
    const match = /^(start|boot|token) (\S+)$/.exec(line);
    if (match) record[match[1] as 'start' | 'boot' | 'token'] = match[2];
  }
  return record;
}

function writeRecord(path: string, record: OwnerRecord): void {
  const fd = openSync(path, 'wx');
  try {
    writeSync(fd, formatRecord(record));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface Entry {
  /** null: not a lock record (empty or garbage). */
  record: OwnerRecord | null;
  /** Names this version of the file for good: the token, or inode and mtime for a record without one. */
  id: string;
  mtimeMs: number;
}

/** Reads a lock or claim file, or undefined if there is none. */
function readEntry(path: string): Entry | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    const record = parseRecord(readFileSync(fd, 'utf8'));
    return { record, id: record?.token ?? `i${stat.ino}.${stat.mtimeNs}`, mtimeMs: Number(stat.mtimeMs) };
  } finally {
    closeSync(fd);
  }
}

function tryLink(existing: string, name: string): boolean {
  try {
    linkSync(existing, name);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
