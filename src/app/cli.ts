import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../platform/config.ts';

const usage = `Usage: kinyu <command> [options]

Commands:
  start [--roles api,relay,workers]   run the system (default: every role, embedded PostgreSQL
                                      unless DATABASE_URL is set, in-process bus unless REDIS_URL is set)
  migrate                             apply database migrations and exit
  admin create <loginId>              create an admin; the password is read from KINYU_ADMIN_PASSWORD
                                      or generated and printed once
  admin reset-password <loginId>      set a temporary password (printed once; must be changed at login)

Configuration comes from environment variables; see docs/operations.md.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { roles: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return values.help ? 0 : 1;
  }
  const env = { ...process.env, ...(values.roles ? { KINYU_ROLES: values.roles } : {}) };
  const config = loadConfig(env);
  const runtime = await import('./runtime.ts');
  switch (command) {
    case 'start':
      await runtime.runUntilSignalled(config);
      return 0;
    case 'migrate':
      await runtime.migrateOnly(config);
      return 0;
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
