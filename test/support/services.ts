import { inject } from 'vitest';

/** The Redis URL for Redis-backed tests, or undefined when they should skip (never under KINYU_REQUIRE_SERVICES=1). */
export function testRedisUrl(): string | undefined {
  return inject('redisUrl') || undefined;
}
