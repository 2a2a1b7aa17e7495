import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The lock file in an exchange data directory: the pid of the process that owns the sequencer. */
export const lockFileName = 'LOCK';

/** Thrown when another live process already owns the exchange data directory. */
export class DataDirectoryLockedError extends Error {
  override name = 'DataDirectoryLockedError';
}

export interface DataDirectoryLock {
  /** Removes the lock file if this process still owns it. */
  release(): void;
}

/**
 * Makes this process the only writer of an exchange data directory: two sequencers appending to one
 * journal would interleave records and destroy it. The lock is a file holding the owner's pid,
 * created exclusively; a lock whose process is gone (after a crash or SIGKILL) is stale and taken
 * over. A pid is only meaningful on one host: the data directory must not be shared between hosts.
 */
export function lockDataDirectory(dir: string): DataDirectoryLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, lockFileName);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${process.pid}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return {
        release() {
          if (ownerOf(file) === process.pid) unlinkSync(file);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = ownerOf(file);
      if (owner !== null && (owner === process.pid || isAlive(owner))) {
        throw new DataDirectoryLockedError(
          `${dir} is in use by process ${owner}${owner === process.pid ? ' (this one)' : ''}: one exchange process per data directory`,
        );
      }
      // Stale: its process is gone. Remove it and try once more (a racing starter may win).
      unlinkSync(file);
    }
  }
  throw new DataDirectoryLockedError(`${dir} was locked by another process while starting`);
}

function ownerOf(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
