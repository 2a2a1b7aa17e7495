import path from 'node:path';
import { type CurrencyCode, isCurrencyCode } from './money.ts';

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
  /** How long a verified API key is trusted without a database read; 0 reads on every request. */
  apiKeyCacheMs: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  rateLimitLoginMax: number;
  idempotencyTtlHours: number;
  busAckTimeoutMs: number;
  busMaxDeliveries: number;
  shutdownTimeoutMs: number;
  pgPoolMax: number;
  /** A bank transfer whose saga has not moved for this long is stuck: alerted and re-driven. */
  transferStuckAfterMs: number;
  /** When an exchange command counts as acknowledged: fsync per group commit, per record, or never. */
  exchangeDurability: 'batch' | 'record' | 'none';
  /** The exchange snapshots all books after every this many commands (0 = never). */
  exchangeSnapshotEvery: number;
  /** `always` (open around the clock, DAY orders expire at the 00:00 UTC roll) or `HH:MM-HH:MM` (UTC). */
  exchangeSchedule: string;
  /** Order entry requests (new, cancel, replace) per member and rate-limit window. */
  exchangeOrderRateMax: number;
  /** Bank: the 3-digit branch code that starts every account number. */
  bankBranch: string;
  /** Bank: currencies accounts can be opened in (the bank's cash and clearing accounts exist for each). */
  bankCurrencies: CurrencyCode[];
  /** Bank: create the two demo customers on first start. */
  demo: boolean;
  /** Bank: personal-data keys `id:base64key,…` (32-byte AES keys); absent = one generated key in `dataDir/secrets`. */
  piiKeys: string | undefined;
  /** Bank: the key id new personal data is sealed with; required when KINYU_PII_KEYS holds several keys. */
  piiActiveKey: string | undefined;
  /** Bank: account applications (POST /api/accounts) per client address and rate-limit window. */
  rateLimitApplyMax: number;
  /** Bank: how often the history projection looks for new ledger transfers. */
  bankHistoryPollMs: number;
}

/** `always` or a daily UTC trading window `HH:MM-HH:MM` (src/exchange/service/schedule.ts parses it). */
const exchangeSchedulePattern = /^(always|([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])$/;

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
    apiKeyCacheMs: reader.integer('KINYU_API_KEY_CACHE_MS', 1000, 0, 60_000),
    rateLimitMax: reader.integer('KINYU_RATE_LIMIT_MAX', 600, 1, 10_000_000),
    rateLimitWindowMs: reader.integer('KINYU_RATE_LIMIT_WINDOW_MS', 60_000, 100, 86_400_000),
    rateLimitLoginMax: reader.integer('KINYU_RATE_LIMIT_LOGIN_MAX', 30, 1, 10_000_000),
    idempotencyTtlHours: reader.integer('KINYU_IDEMPOTENCY_TTL_HOURS', 24, 1, 720),
    busAckTimeoutMs: reader.integer('KINYU_BUS_ACK_TIMEOUT_MS', 30_000, 10, 3_600_000),
    busMaxDeliveries: reader.integer('KINYU_BUS_MAX_DELIVERIES', 5, 1, 1000),
    shutdownTimeoutMs: reader.integer('KINYU_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    pgPoolMax: reader.integer('KINYU_PG_POOL_MAX', 10, 1, 1000),
    transferStuckAfterMs: reader.integer('KINYU_TRANSFER_STUCK_AFTER_MS', 60_000, 100, 3_600_000),
    exchangeDurability: reader.oneOf('KINYU_EXCHANGE_DURABILITY', ['batch', 'record', 'none'], 'batch'),
    exchangeSnapshotEvery: reader.integer('KINYU_EXCHANGE_SNAPSHOT_EVERY', 100_000, 0, 100_000_000),
    exchangeSchedule: reader.string('KINYU_EXCHANGE_SCHEDULE') ?? 'always',
    exchangeOrderRateMax: reader.integer('KINYU_EXCHANGE_ORDER_RATE_MAX', 6_000, 1, 10_000_000),
    bankBranch: reader.string('KINYU_BANK_BRANCH') ?? '001',
    bankCurrencies: reader.currencies('KINYU_BANK_CURRENCIES', ['JPY', 'USD', 'EUR']),
    demo: reader.oneOf('KINYU_DEMO', ['0', '1'], '1') === '1',
    piiKeys: reader.string('KINYU_PII_KEYS'),
    piiActiveKey: reader.string('KINYU_PII_ACTIVE_KEY'),
    rateLimitApplyMax: reader.integer('KINYU_RATE_LIMIT_APPLY_MAX', 10, 1, 10_000_000),
    bankHistoryPollMs: reader.integer('KINYU_BANK_HISTORY_POLL_MS', 1000, 10, 60_000),
  };
  if (!/^[0-9]{3}$/.test(config.bankBranch)) {
    problems.push(`KINYU_BANK_BRANCH must be 3 digits, got "${config.bankBranch}"`);
  }
  problems.push(...piiKeyProblems(config.piiKeys, config.piiActiveKey));
  if (!exchangeSchedulePattern.test(config.exchangeSchedule)) {
    problems.push(
      `KINYU_EXCHANGE_SCHEDULE must be "always" or a UTC window "HH:MM-HH:MM", got "${config.exchangeSchedule}"`,
    );
  } else if (config.exchangeSchedule !== 'always') {
    const [open, close] = config.exchangeSchedule.split('-');
    if (open === close) problems.push('KINYU_EXCHANGE_SCHEDULE opens and closes at the same minute');
  }
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

/** Checks KINYU_PII_KEYS (`id:base64key,…`, each key 32 bytes) and KINYU_PII_ACTIVE_KEY. */
function piiKeyProblems(keys: string | undefined, active: string | undefined): string[] {
  if (keys === undefined) {
    return active === undefined ? [] : ['KINYU_PII_ACTIVE_KEY is set but KINYU_PII_KEYS is not'];
  }
  const problems: string[] = [];
  const ids: string[] = [];
  for (const entry of keys.split(',')) {
    const [id = '', key = '', ...rest] = entry.trim().split(':');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || rest.length > 0) {
      problems.push(
        'KINYU_PII_KEYS entries must be id:base64key with ids of 1 to 32 letters, digits, _ or -',
      );
      continue;
    }
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length !== 32) {
      problems.push(`KINYU_PII_KEYS key "${id}" must be 32 bytes, base64-encoded`);
    }
    if (ids.includes(id)) problems.push(`KINYU_PII_KEYS names key "${id}" twice`);
    ids.push(id);
  }
  if (active !== undefined && !ids.includes(active)) {
    problems.push(`KINYU_PII_ACTIVE_KEY "${active}" is not one of the ids in KINYU_PII_KEYS`);
  }
  if (active === undefined && ids.length > 1) {
    problems.push('KINYU_PII_KEYS holds several keys: set KINYU_PII_ACTIVE_KEY to the one new data uses');
  }
  return problems;
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

  currencies(name: string, fallback: CurrencyCode[]): CurrencyCode[] {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const codes = raw.split(',').map((code) => code.trim());
    const unknown = codes.filter((code) => !isCurrencyCode(code));
    if (unknown.length > 0) {
      this.problems.push(`${name} has unknown currencies ${unknown.join(', ')}`);
      return fallback;
    }
    return [...new Set(codes)] as CurrencyCode[];
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
