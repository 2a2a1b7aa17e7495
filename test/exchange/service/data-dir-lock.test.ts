import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DataDirectoryLockedError,
  lockDataDirectory,
  lockFileName,
} from '../../../src/exchange/data-dir-lock.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const lockModule = pathToFileURL(path.join(repoRoot, 'src/exchange/data-dir-lock.ts')).href;
/** pid reuse is told apart by /proc/<pid>/stat; elsewhere only the pid is recorded. */
const linux = existsSync('/proc/self/stat');

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** A lock record as lockDataDirectory writes it: pid, start time, boot id, token. */
function record(pid: number, start: string, token = randomBytes(16).toString('hex'), boot?: string) {
  const bootId = boot ?? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return { token, text: `${pid}\nstart ${start}\nboot ${bootId}\ntoken ${token}\n` };
}

/** The pid of a process that has exited (and been reaped). */
let exitedPid: number | undefined;
const deadPid = () => {
  exitedPid ??= spawnSync(process.execPath, ['-e', '0']).pid!;
  return exitedPid;
};

function spawnNode(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the exchange data directory lock', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kinyu-lock-'));
    dirs.push(dir);
    return dir;
  };
  const lockText = (dir: string) => readFileSync(path.join(dir, lockFileName), 'utf8');
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  // Another live process for records to name: a child that sleeps until the tests end.
  let sleeper: ChildProcess;
  beforeAll(() => {
    sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
  });
  afterAll(() => {
    sleeper.kill('SIGKILL');
  });

  it('given a locked directory, when a second owner tries, then it is refused until the first releases', () => {
    const dir = newDir();
    const first = lockDataDirectory(dir);
    expect(() => lockDataDirectory(dir)).toThrow(/in use by process \d+ \(this one\)/);
    first.release();
    expect(existsSync(path.join(dir, lockFileName))).toBe(false);
    lockDataDirectory(dir).release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('given a lock left by a process that died (an older version wrote only its pid), then it is taken over', () => {
    const dir = newDir();
    writeFileSync(path.join(dir, lockFileName), `${deadPid()}\n`);
    const lock = lockDataDirectory(dir);
    expect(lockText(dir).split('\n')[0]).toBe(String(process.pid));
    lock.release();
  });

  it('given a lock an older version left with only its pid, held by a live process, then it is refused naming it', () => {
    const dir = newDir();
    writeFileSync(path.join(dir, lockFileName), `${sleeper.pid}\n`);
    expect(() => lockDataDirectory(dir)).toThrow(new RegExp(`in use by process ${sleeper.pid}:`));
  });

  it('releases only its own lock: a lock that is no longer its record is left in place', () => {
    const dir = newDir();
    const lock = lockDataDirectory(dir);
    const other = `${sleeper.pid}\n`;
    writeFileSync(path.join(dir, lockFileName), other);
    lock.release();
    expect(lockText(dir)).toBe(other);
  });

  describe('a lock file in any intermediate state is never taken as stale', () => {
    it('given an empty LOCK, as a starting process has before writing its pid, then it is refused and kept', () => {
      const dir = newDir();
      writeFileSync(path.join(dir, lockFileName), '');
      expect(() => lockDataDirectory(dir)).toThrow(DataDirectoryLockedError);
      expect(() => lockDataDirectory(dir)).toThrow(/no owner record yet/);
      expect(lockText(dir)).toBe('');
    });

    it.runIf(linux)(
      'given a stale lock that a live process is taking over (its claim exists), then it is refused and kept',
      () => {
        const dir = newDir();
        const stale = record(deadPid(), '1');
        writeFileSync(path.join(dir, lockFileName), stale.text);
        const claimant = record(sleeper.pid!, startTimeOf(sleeper.pid!));
        writeFileSync(path.join(dir, `${lockFileName}.claim-${stale.token}-0`), claimant.text);
        expect(() => lockDataDirectory(dir)).toThrow(
          new RegExp(`being taken over by process ${sleeper.pid}`),
        );
        expect(lockText(dir)).toBe(stale.text);
        // The same one level up: the first claimant died, a live one claimed its claim.
        writeFileSync(path.join(dir, `${lockFileName}.claim-${stale.token}-0`), record(deadPid(), '1').text);
        writeFileSync(path.join(dir, `${lockFileName}.claim-${stale.token}-1`), claimant.text);
        expect(() => lockDataDirectory(dir)).toThrow(
          new RegExp(`being taken over by process ${sleeper.pid}`),
        );
        expect(lockText(dir)).toBe(stale.text);
      },
    );

    it.runIf(linux)(
      'given a stale lock whose claimants died mid-takeover, then it is taken over and moot or dead leftovers removed',
      () => {
        const dir = newDir();
        const stale = record(deadPid(), '1');
        writeFileSync(path.join(dir, lockFileName), stale.text);
        writeFileSync(path.join(dir, `${lockFileName}.claim-${stale.token}-0`), record(deadPid(), '1').text);
        writeFileSync(path.join(dir, `${lockFileName}.claim-${stale.token}-1`), record(deadPid(), '1').text);
        const deadTemp = `${lockFileName}.tmp-${deadPid()}-1-${randomBytes(16).toString('hex')}`;
        const liveTemp = `${lockFileName}.tmp-${sleeper.pid}-${startTimeOf(sleeper.pid!)}-${randomBytes(16).toString('hex')}`;
        writeFileSync(path.join(dir, deadTemp), '');
        writeFileSync(path.join(dir, liveTemp), '');
        // A live process's claim on a lock that is not the current one is moot.
        const moot = `${lockFileName}.claim-${randomBytes(16).toString('hex')}-0`;
        writeFileSync(path.join(dir, moot), record(sleeper.pid!, startTimeOf(sleeper.pid!)).text);
        const lock = lockDataDirectory(dir);
        expect(lockText(dir)).toMatch(
          new RegExp(`^${process.pid}\nstart \\d+\nboot \\S+\ntoken [0-9a-f]{32}\n$`),
        );
        expect(readdirSync(dir).sort()).toEqual([lockFileName, liveTemp]);
        lock.release();
      },
    );
  });

  it('given a lock held by a live process, then it is refused naming that pid; once that process is SIGKILLed, it is taken over', async () => {
    const dir = newDir();
    const script = path.join(dir, 'holder.mts');
    writeFileSync(
      script,
      `import { lockDataDirectory } from ${JSON.stringify(lockModule)};\n` +
        `lockDataDirectory(process.argv[2]);\nconsole.log('acquired');\nsetInterval(() => {}, 60_000);\n`,
    );
    const data = path.join(dir, 'exchange');
    const holder = spawnNode([script, data]);
    const exited = new Promise((resolve) => holder.on('exit', resolve));
    try {
      let output = '';
      holder.stdout?.on('data', (chunk) => {
        output += chunk;
      });
      holder.stderr?.on('data', (chunk) => {
        output += chunk;
      });
      await until(() => output.includes('acquired') || holder.exitCode !== null, 'the holder to lock');
      expect(output).toContain('acquired');
      expect(() => lockDataDirectory(data)).toThrow(DataDirectoryLockedError);
      expect(() => lockDataDirectory(data)).toThrow(new RegExp(`in use by process ${holder.pid}:`));
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    expect(lockText(data).split('\n')[0]).toBe(String(holder.pid));
    const lock = lockDataDirectory(data);
    expect(lockText(data).split('\n')[0]).toBe(String(process.pid));
    lock.release();
    expect(existsSync(path.join(data, lockFileName))).toBe(false);
  });

  describe.runIf(linux)('a stale lock whose pid now belongs to another process is taken over', () => {
    it('given a lock of this pid but another start time (a restarted container: node is PID 1 again), then it is taken over', () => {
      const dir = newDir();
      const old = record(process.pid, String(Number(startTimeOf(process.pid)) - 1));
      writeFileSync(path.join(dir, lockFileName), old.text);
      const lock = lockDataDirectory(dir);
      expect(lockText(dir)).not.toBe(old.text);
      lock.release();
    });

    it('given a lock an older version left with only this pid, then it is taken over', () => {
      const dir = newDir();
      writeFileSync(path.join(dir, lockFileName), `${process.pid}\n`);
      lockDataDirectory(dir).release();
    });

    it.runIf(existsSync('/proc/1/stat'))(
      'given a lock of pid 1 with another start time, then it is taken over; with its own start time, refused',
      () => {
        const dir = newDir();
        writeFileSync(path.join(dir, lockFileName), record(1, String(Number(startTimeOf(1)) + 12_345)).text);
        lockDataDirectory(dir).release();
        writeFileSync(path.join(dir, lockFileName), record(1, startTimeOf(1)).text);
        expect(() => lockDataDirectory(dir)).toThrow(/in use by process 1:/);
      },
    );

    it('given a lock of a live pid and start time but from before a reboot (another boot id), then it is taken over', () => {
      const dir = newDir();
      const before = record(sleeper.pid!, startTimeOf(sleeper.pid!), undefined, 'another-boot');
      writeFileSync(path.join(dir, lockFileName), before.text);
      lockDataDirectory(dir).release();
      writeFileSync(path.join(dir, lockFileName), record(sleeper.pid!, startTimeOf(sleeper.pid!)).text);
      expect(() => lockDataDirectory(dir)).toThrow(new RegExp(`in use by process ${sleeper.pid}:`));
    });
  });

  it('given many processes starting together, then exactly one acquires, every round (empty directory or a stale lock)', async () => {
    const children = 12;
    const rounds = 8;
    const base = newDir();
    const script = path.join(base, 'racer.mts');
    // Each round: say ready, spin until go (so all try within microseconds), try, report, wait for
    // done, release.
    writeFileSync(
      script,
      `import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockDataDirectory } from ${JSON.stringify(lockModule)};
const [base, rounds, id] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (let round = 0; round < rounds; round++) {
  writeFileSync(join(base, 'ready-' + round + '-' + id), '');
  while (!existsSync(join(base, 'go-' + round))) {}
  let result;
  let lock;
  try {
    lock = lockDataDirectory(join(base, 'dir-' + round));
    result = 'acquired';
  } catch (error) {
    result = error.name === 'DataDirectoryLockedError' ? 'refused' : 'failed ' + error.stack;
  }
  // Written whole, then renamed: the parent never reads a half-written result.
  writeFileSync(join(base, 'partial-' + round + '-' + id), result);
  renameSync(join(base, 'partial-' + round + '-' + id), join(base, 'result-' + round + '-' + id));
  while (!existsSync(join(base, 'done-' + round))) pause(2);
  lock?.release();
}
`,
    );
    for (let round = 0; round < rounds; round++) {
      const dir = path.join(base, `dir-${round}`);
      mkdirSync(dir);
      // A lock left by a SIGKILLed process: an older version's pid, or a record of a pid that has exited.
      if (round % 3 === 1) writeFileSync(path.join(dir, lockFileName), `${deadPid()}\n`);
      if (round % 3 === 2) writeFileSync(path.join(dir, lockFileName), record(deadPid(), '1').text);
    }
    const racers = Array.from({ length: children }, (_, id) => {
      const child = spawnNode([script, base, String(rounds), String(id)]);
      let output = '';
      child.stderr?.on('data', (chunk) => {
        output += chunk;
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      return { child, exited, output: () => output };
    });
    const files = (prefix: string) => readdirSync(base).filter((name) => name.startsWith(prefix));
    try {
      for (let round = 0; round < rounds; round++) {
        await until(
          () => files(`ready-${round}-`).length === children || racers.some((r) => r.child.exitCode !== null),
          `racers ready for round ${round}`,
        );
        expect(racers.map((r) => r.output()).join('')).toBe('');
        writeFileSync(path.join(base, `go-${round}`), '');
        await until(() => files(`result-${round}-`).length === children, `results of round ${round}`);
        const results = files(`result-${round}-`).map((name) => readFileSync(path.join(base, name), 'utf8'));
        expect({ round, results: results.sort() }).toEqual({
          round,
          results: ['acquired', ...Array(children - 1).fill('refused')],
        });
        writeFileSync(path.join(base, `done-${round}`), '');
      }
      await Promise.all(racers.map((r) => r.exited));
    } finally {
      for (const racer of racers) racer.child.kill('SIGKILL');
    }
  });
});
