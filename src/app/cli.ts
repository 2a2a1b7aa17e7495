import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../platform/config.ts';

const usage = `Usage: kinyu <command> [options]

Commands:
  start [--roles api,relay,workers,exchange]
                                      run the system (default: every role, embedded PostgreSQL
                                      unless DATABASE_URL is set, in-process bus unless REDIS_URL is set)
  migrate                             apply database migrations and exit
  admin create <loginId>              create an admin; the password is read from KINYU_ADMIN_PASSWORD
                                      or generated and printed once
  admin reset-password <loginId>      set a temporary password (printed once; must be changed at login)
  projections rebuild                 rebuild the bank's history and balance read models from the ledger
                                      and print how many accounts and rows they hold
  exchange verify [dir]               replay an exchange journal from zero and from its latest snapshot
                                      and check both give the same state (default dir: $KINYU_DATA_DIR/exchange);
                                      run it on a stopped directory; exits 0 when they agree, 2 when
                                      they differ, 3 when the journal or a snapshot is damaged
  exchange standby [dir] [--once] [--interval-ms N]
                                      follow an exchange journal read-only (a standby) and print one
                                      JSON line {appliedSeq, lagRecords, lagBytes, tail, stateHash, …}
                                      each time it moves (checked every N ms, default 1000) until
                                      Ctrl-C; --once catches up, prints one line and exits; exits 3
                                      when the journal is damaged

Configuration comes from environment variables; see docs/operations.md.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      roles: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      once: { type: 'boolean' },
      'interval-ms': { type: 'string' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return values.help ? 0 : 1;
  }
  const env = { ...process.env, ...(values.roles ? { KINYU_ROLES: values.roles } : {}) };
  const config = loadConfig(env);
  if (command === 'exchange') {
    const dir = arg ?? path.join(config.dataDir, 'exchange');
    if (sub === 'verify') return verifyExchange(dir);
    const intervalMs = Number(values['interval-ms'] ?? 1_000);
    if (
      sub === 'standby' &&
      Number.isSafeInteger(intervalMs) &&
      intervalMs >= 10 &&
      intervalMs <= 3_600_000
    ) {
      return followExchange(dir, { once: values.once === true, intervalMs });
    }
    console.error(usage);
    return 1;
  }
  const runtime = await import('./runtime.ts');
  switch (command) {
    case 'start':
      await runtime.runUntilSignalled(config);
      return 0;
    case 'migrate':
      await runtime.migrateOnly(config);
      return 0;
    case 'projections':
      if (sub === 'rebuild') return rebuildProjections(runtime, config);
      console.error(usage);
      return 1;
    case 'admin':
      if ((sub === 'create' || sub === 'reset-password') && arg) {
        await runtime.adminCommand(config, sub, arg);
        return 0;
      }
      console.error(usage);
      return 1;
    default:
      console.error(`Unknown command "${command}".\n\n${usage}`);
      return 1;
  }
}

/** `kinyu projections rebuild`: truncates and rebuilds the bank's read models, printing counts. */
async function rebuildProjections(
  runtime: typeof import('./runtime.ts'),
  config: ReturnType<typeof loadConfig>,
): Promise<number> {
  const { createLogger } = await import('../platform/log.ts');
  const { systemClock } = await import('../platform/clock.ts');
  const { rebuildBankProjections } = await import('../banking/module.ts');
  const database = await runtime.openDatabase(
    config,
    createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
  );
  try {
    const counts = await rebuildBankProjections(database.pool, systemClock);
    console.log(`bank account history: rebuilt ${counts.rows} rows for ${counts.accounts} accounts`);
    return 0;
  } finally {
    await database.close();
  }
}

/** `kinyu exchange verify`: no database needed, only the journal and snapshots. */
async function verifyExchange(dir: string): Promise<number> {
  const { formatVerifyReport, journalFileName, verifyDataDirectory, verifyExitCode } = await import(
    '../exchange/sequencer/index.ts'
  );
  if (!existsSync(path.join(dir, journalFileName))) {
    console.error(`No exchange journal (${journalFileName}) in ${dir}`);
    return 1;
  }
  const report = verifyDataDirectory(dir);
  console.log(formatVerifyReport(report));
  return verifyExitCode(report);
}

/**
 * `kinyu exchange standby`: a read-only follower of a journal directory (the primary's, on the same
 * host, or a replicated copy). It never writes or truncates and takes no lock, so it can run beside
 * the primary. Prints a status line whenever the applied seq or the tail changes.
 */
async function followExchange(dir: string, options: { once: boolean; intervalMs: number }): Promise<number> {
  const { DataDirectoryDamagedError, JournalCorruptError, journalFileName, Standby } = await import(
    '../exchange/sequencer/index.ts'
  );
  const damaged = (error: unknown) =>
    error instanceof DataDirectoryDamagedError || error instanceof JournalCorruptError;
  if (!existsSync(path.join(dir, journalFileName))) {
    console.error(`No exchange journal (${journalFileName}) in ${dir}`);
    return 1;
  }
  let standby: InstanceType<typeof Standby>;
  try {
    standby = new Standby(dir);
    // Catch up first: a poll reads at most standbyPollBytesMax.
    while (standby.poll() > 0) {}
  } catch (error) {
    if (!damaged(error)) throw error;
    console.error((error as Error).message);
    return 3;
  }
  const report = () => console.log(JSON.stringify({ time: new Date().toISOString(), ...standby.status() }));
  report();
  if (options.once) return 0;
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  let reported = `${standby.appliedSeq} ${standby.tail.kind}`;
  while (!stop.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.intervalMs);
      stop.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (stop.signal.aborted) break;
    try {
      while (standby.poll() > 0) {}
    } catch (error) {
      if (!damaged(error)) throw error;
      console.error((error as Error).message);
      return 3;
    }
    const now = `${standby.appliedSeq} ${standby.tail.kind}`;
    if (now !== reported) {
      reported = now;
      report();
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
