import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('runs with no variables at all: embedded database, in-process bus, every role', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: undefined,
      redisUrl: undefined,
      roles: ['api', 'relay', 'workers', 'exchange'],
      lockoutThreshold: 5,
      idempotencyTtlHours: 24,
    });
    expect(config.dataDir).toMatch(/data$/);
  });

  it('reports every problem at once, naming the variable', () => {
    const found = problems({
      KINYU_PORT: 'eighty',
      KINYU_LOCKOUT_THRESHOLD: '0',
      DATABASE_URL: 'mysql://x',
      KINYU_LOG_LEVEL: 'loud',
      KINYU_TOKEN_SECRET: 'short',
    });
    expect(found).toHaveLength(5);
    expect(found.join('\n')).toMatch(/KINYU_PORT must be a whole number/);
    expect(found.join('\n')).toMatch(/KINYU_LOCKOUT_THRESHOLD must be between 1 and 100/);
    expect(found.join('\n')).toMatch(/DATABASE_URL must start with postgres:\/\//);
    expect(found.join('\n')).toMatch(/KINYU_LOG_LEVEL must be one of/);
    expect(found.join('\n')).toMatch(/KINYU_TOKEN_SECRET must be at least 32 characters/);
  });

  it('refuses split roles without Redis, and unknown roles', () => {
    expect(problems({ KINYU_ROLES: 'api' })).toEqual([expect.stringMatching(/needs REDIS_URL/)]);
    expect(problems({ KINYU_ROLES: 'api', REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([]);
    expect(problems({ KINYU_ROLES: 'api,matching', REDIS_URL: 'redis://x:1' })).toEqual([
      expect.stringMatching(/unknown role "matching"/),
    ]);
  });

  it('wants the admin login with the admin password', () => {
    expect(problems({ KINYU_ADMIN_PASSWORD: 'Correct-horse-9' })).toEqual([
      expect.stringMatching(/KINYU_ADMIN_LOGIN is not/),
    ]);
  });
});
