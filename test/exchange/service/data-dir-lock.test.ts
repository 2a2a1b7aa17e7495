import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DataDirectoryLockedError,
  lockDataDirectory,
  lockFileName,
} from '../../../src/exchange/data-dir-lock.ts';

describe('the exchange data directory lock', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kinyu-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('given a locked directory, when a second owner tries, then it is refused until the first releases', () => {
    const dir = newDir();
    const first = lockDataDirectory(dir);
    expect(() => lockDataDirectory(dir)).toThrow(DataDirectoryLockedError);
    first.release();
    expect(existsSync(path.join(dir, lockFileName))).toBe(false);
    lockDataDirectory(dir).release();
  });

  it('given a lock left by a process that died, when a new owner starts, then it takes the lock over', () => {
    const dir = newDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    writeFileSync(path.join(dir, lockFileName), `${dead}\n`);
    const lock = lockDataDirectory(dir);
    lock.release();
  });

  it('given a lock held by another live process, then it is refused naming that process', () => {
    const dir = newDir();
    writeFileSync(path.join(dir, lockFileName), `${process.ppid}\n`);
    expect(() => lockDataDirectory(dir)).toThrow(new RegExp(`in use by process ${process.ppid}`));
  });
});
