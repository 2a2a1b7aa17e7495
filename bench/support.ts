import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { type MigrationSource, migrate } from '../src/platform/sql/migrate.ts';
import { createPool, type Pool } from '../src/platform/sql/pool.ts';

/** The server benchmarks create their scratch databases on. */
export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs `work` on a fresh database with `migrations` applied, and drops it afterwards whatever happens. */
export async function withScratchDatabase<T>(
  name: string,
  poolMax: number,
  migrations: MigrationSource[],
  work: (pool: Pool, url: string) => Promise<T>,
): Promise<T> {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), poolMax);
  try {
    await migrate(pool, migrations);
    return await work(pool, url.toString());
  } finally {
    await pool.end();
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export const repoRoot = path.resolve(import.meta.dirname, '..');

/** The Node flags `npm start` uses (package.json); benches start every server with them. */
export const nodeSettings = ['--max-semi-space-size=64'];

/** The bench's administrator, created on the server's first start. */
export const benchAdmin = { loginId: 'bench-admin', password: 'Bench-passw0rd-e2e!' };

/**
 * `kinyu start` as `npm start` runs it, on a free port, quiet (warn), without demo customers, with
 * `benchAdmin` as its first administrator; `env` adds to or overrides that (DATABASE_URL,
 * KINYU_DATA_DIR, raised rate limits…).
 */
export function startKinyu(env: Record<string, string>): Promise<Child> {
  return startChild(
    [...nodeSettings, 'bin/kinyu.js', 'start'],
    {
      KINYU_PORT: '0',
      KINYU_ADMIN_LOGIN: benchAdmin.loginId,
      KINYU_ADMIN_PASSWORD: benchAdmin.password,
      KINYU_DEMO: '0',
      KINYU_LOG_LEVEL: 'warn',
      ...env,
    },
    /Kinyu is running at (http:\/\/\S+?) /,
  );
}

/** A server a bench started as a child process. */
export interface Child {
  process: ChildProcess;
  url: string;
  /** Everything the child printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` in the repository with only PATH, HOME and `env`, and resolves once its
 * output matches `ready`, whose first group is the server's URL.
 */
export function startChild(args: string[], env: Record<string, string>, ready: RegExp): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(ready);
      if (match) {
        resolve({
          process: child,
          url: match[1]!,
          output: () => output,
          async stop() {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}:\n${output}`)));
  });
}

/** A JSON request that must succeed; the problem body is in the error otherwise. */
export async function json<T>(
  url: string,
  init: RequestInit & { headers?: Record<string, string> },
): Promise<T> {
  const response = await fetch(url, {
    ...init,
    headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url} → ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** CPU seconds a process has used (all its threads), from /proc; null where there is no /proc. */
export function processCpuSeconds(pid: number | undefined): number | null {
  try {
    return cpuSecondsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** CPU seconds of every local postgres process; null when /proc shows none. */
export function postgresCpuSeconds(): number | null {
  let seconds = 0;
  let found = false;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      seconds += cpuSecondsOfStat(stat);
      found = true;
    } catch {
      // the process ended meanwhile
    }
  }
  return found ? seconds : null;
}

/** utime + stime of a /proc/<pid>/stat line, in seconds (clock ticks of 10 ms). */
function cpuSecondsOfStat(stat: string): number {
  const fields = stat.split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The machine's busy and idle CPU time so far (all cores, seconds), from /proc/stat; null elsewhere. */
export function machineCpuSeconds(): { busy: number; idle: number } | null {
  try {
    const [user, nice, system, idle, iowait, irq, softirq] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number) as number[];
    return { busy: (user! + nice! + system! + irq! + softirq!) / 100, idle: (idle! + iowait!) / 100 };
  } catch {
    return null;
  }
}
