import { MemoryBus, type MemoryBusOptions } from './memory-bus.ts';
import { type RedisBusOptions, RedisStreamsBus } from './redis-bus.ts';
import type { Bus } from './types.ts';

export { BusBacklogFullError, partitionOf } from './common.ts';
export { busDefaults, busLimits } from './limits.ts';
export { MemoryBus, type MemoryBusOptions } from './memory-bus.ts';
export { type RedisBusOptions, RedisStreamsBus } from './redis-bus.ts';
export type { BusLogger } from './redis-context.ts';
export type * from './types.ts';

export type CreateBusOptions = MemoryBusOptions &
  Omit<RedisBusOptions, 'url'> & {
    /** Redis Streams when set (REDIS_URL), the in-process bus otherwise. */
    redisUrl?: string | undefined;
  };

/** The bus for this deployment: Redis Streams when a URL is given, in-process otherwise. */
export function createBus(options: CreateBusOptions = {}): Bus {
  const { redisUrl, ...rest } = options;
  if (redisUrl) return new RedisStreamsBus({ ...rest, url: redisUrl });
  const { backlogMax, deadLettersPerTopicMax, defaults, clock, newId } = rest;
  return new MemoryBus({ backlogMax, deadLettersPerTopicMax, defaults, clock, newId });
}
