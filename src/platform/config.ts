import path from 'node:path';

/** Every setting Kinyu reads, from environment variables only. docs/operations.md lists them all. */
export interface Config {
  dataDir: string;
  host: string;
  port: number;
  /** External PostgreSQL; when absent the embedded server in `dataDir/postgres` is used. */
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  /** Redis for the bus (Redis Streams); when absent the in-process bus is used. */
  redisUrl: string | undefined;
  roles: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  adminLogin: string | undefined;
  adminPassword: string | undefined;
  /** Secret for signing access tokens; when absent one is generated once and kept in `dataDir/secrets`. */
  tokenSecret: string | undefined;
  tokenTtlSeconds: number;
  lockoutThreshold: number;
  lockoutSeconds: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  rateLimitLoginMax: number;
  idempotencyTtlHours: number;
  busAckTimeoutMs: number;
  busMaxDeliveries: number;
  shutdownTimeoutMs: number;
  pgPoolMax: number;
}

/**
 * What one process does. api: the HTTP routes of identity, bank and brokerage; relay: the outbox
 * relay; workers: bus consumers; exchange: the sequencer (one writer per exchange data directory),
 * its projector and the exchange's HTTP and WebSocket routes.
 */
export const allRoles = ['api', 'relay', 'workers', 'exchange'] as const;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the configuration; reports every problem at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const reader = new EnvReader(env, problems);
  const config: Config = {
    dataDir: path.resolve(reader.string('KINYU_DATA_DIR') ?? './data'),
    host: reader.string('KINYU_HOST') ?? '127.0.0.1',
    port: reader.integer('KINYU_PORT', 8080, 0, 65535),
    databaseUrl: reader.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    embeddedPostgresPort: reader.integer('KINYU_EMBEDDED_PG_PORT', 54329, 1, 65535),
    redisUrl: reader.url('REDIS_URL', ['redis:', 'rediss:']),
    roles: reader.roles('KINYU_ROLES'),
    logLevel: reader.oneOf(
      'KINYU_LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    adminLogin: reader.string('KINYU_ADMIN_LOGIN'),
    adminPassword: reader.string('KINYU_ADMIN_PASSWORD'),
    tokenSecret: reader.string('KINYU_TOKEN_SECRET'),
    tokenTtlSeconds: reader.integer('KINYU_TOKEN_TTL_SECONDS', 900, 30, 86_400),
    lockoutThreshold: reader.integer('KINYU_LOCKOUT_THRESHOLD', 5, 1, 100),
    lockoutSeconds: reader.integer('KINYU_LOCKOUT_SECONDS', 900, 1, 604_800),
    rateLimitMax: reader.integer('KINYU_RATE_LIMIT_MAX', 600, 1, 10_000_000),
    rateLimitWindowMs: reader.integer('KINYU_RATE_LIMIT_WINDOW_MS', 60_000, 100, 86_400_000),
    rateLimitLoginMax: reader.integer('KINYU_RATE_LIMIT_LOGIN_MAX', 30, 1, 10_000_000),
    idempotencyTtlHours: reader.integer('KINYU_IDEMPOTENCY_TTL_HOURS', 24, 1, 720),
    busAckTimeoutMs: reader.integer('KINYU_BUS_ACK_TIMEOUT_MS', 30_000, 10, 3_600_000),
    busMaxDeliveries: reader.integer('KINYU_BUS_MAX_DELIVERIES', 5, 1, 1000),
    shutdownTimeoutMs: reader.integer('KINYU_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    pgPoolMax: reader.integer('KINYU_PG_POOL_MAX', 10, 1, 1000),
  };
  if (config.adminPassword !== undefined && config.adminLogin === undefined) {
    problems.push('KINYU_ADMIN_PASSWORD is set but KINYU_ADMIN_LOGIN is not: set both or neither');
  }
  if (config.redisUrl === undefined && !allRoles.every((role) => config.roles.includes(role))) {
    problems.push(
      'KINYU_ROLES splits the roles over processes, which needs REDIS_URL: the in-process bus does not cross processes',
    );
  }
  if (config.tokenSecret !== undefined && config.tokenSecret.length < 32) {
    problems.push('KINYU_TOKEN_SECRET must be at least 32 characters');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^[0-9]+$/.test(raw)) {
      this.problems.push(`${name} must be a whole number, got "${raw}"`);
      return fallback;
    }
    const value = Number(raw);
    if (value < min || value > max) {
      this.problems.push(`${name} must be between ${min} and ${max}, got ${raw}`);
      return fallback;
    }
    return value;
  }

  url(name: string, protocols: string[]): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const url = new URL(raw);
      if (!protocols.includes(url.protocol)) {
        this.problems.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      }
    } catch {
      this.problems.push(`${name} is not a valid URL`);
    }
    return raw;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  }

  roles(name: string): string[] {
    const raw = this.string(name);
    if (raw === undefined || raw === 'all') return [...allRoles];
    const roles = raw.split(',').map((r) => r.trim());
    for (const role of roles) {
      if (!(allRoles as readonly string[]).includes(role)) {
        this.problems.push(`${name} has unknown role "${role}"; known roles: ${allRoles.join(', ')}, or all`);
      }
    }
    return roles;
  }
}
