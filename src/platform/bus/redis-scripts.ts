import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Lua scripts of the Redis bus. Each runs atomically on the server, which is what makes "check, then
 * write" steps (backlog limit, lease ownership, dead-letter move) safe between processes.
 */
const scripts = {
  /** KEYS: stream. ARGV: backlogMax, field, value, … → new entry id. */
  kinyuBusPublish: {
    numberOfKeys: 1,
    lua: `
      if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then
        return redis.error_reply('KINYU_BACKLOG_FULL ' .. KEYS[1])
      end
      return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))`,
  },
  /**
   * KEYS: stream, dead-letter stream, dead-letter index, dead-letter topic set.
   * ARGV: group, entry id, dead-letter id, topic, deadLettersMax, field, value, … → dead-letter entry id.
   */
  kinyuBusDeadLetter: {
    numberOfKeys: 4,
    lua: `
      if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[5]) then
        return redis.error_reply('KINYU_DEAD_LETTERS_FULL ' .. KEYS[2])
      end
      local entry = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 6))
      redis.call('HSET', KEYS[3], ARGV[3], ARGV[4] .. ' ' .. entry)
      redis.call('SADD', KEYS[4], ARGV[4])
      redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
      return entry`,
  },
  /** KEYS: lease. ARGV: owner, leaseMs → 1 when still ours and extended. */
  kinyuBusLeaseRenew: {
    numberOfKeys: 1,
    lua: `
      if redis.call('GET', KEYS[1]) == ARGV[1] then
        return redis.call('PEXPIRE', KEYS[1], ARGV[2])
      end
      return 0`,
  },
  /** KEYS: lease… ARGV: owner → leases released. */
  kinyuBusLeaseRelease: {
    numberOfKeys: null,
    lua: `
      local released = 0
      for _, key in ipairs(KEYS) do
        if redis.call('GET', key) == ARGV[1] then released = released + redis.call('DEL', key) end
      end
      return released`,
  },
  /**
   * KEYS: consumer registry (sorted set, score = expiry in server ms). ARGV: consumer, ttlMs, '1' to
   * register or '0' to leave → live consumers. Server time, so clocks of consumer hosts never matter.
   */
  kinyuBusHeartbeat: {
    numberOfKeys: 1,
    lua: `
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      local ttl = tonumber(ARGV[2])
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
      if ARGV[3] == '1' then
        redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ttl * 3)
      else
        redis.call('ZREM', KEYS[1], ARGV[1])
      end
      return redis.call('ZRANGE', KEYS[1], 0, -1)`,
  },
  /**
   * KEYS: stream. Trims entries every group has acknowledged: below the smallest pending id, or past
   * the last delivered id of a group with nothing pending. A stream without groups keeps everything.
   */
  kinyuBusTrim: {
    numberOfKeys: 1,
    lua: `
      local function parse(id)
        local ms, seq = string.match(id, '^(%d+)-(%d+)$')
        return tonumber(ms), tonumber(seq)
      end
      local function less(a, b)
        local ams, aseq = parse(a)
        local bms, bseq = parse(b)
        return ams < bms or (ams == bms and aseq < bseq)
      end
      if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
      local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
      if #groups == 0 then return 0 end
      local minid = nil
      for _, group in ipairs(groups) do
        local info = {}
        for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
        local candidate
        if info['pending'] > 0 then
          candidate = redis.call('XPENDING', KEYS[1], info['name'])[2]
        else
          local ms, seq = parse(info['last-delivered-id'])
          candidate = string.format('%.0f-%.0f', ms, seq + 1)
        end
        if minid == nil or less(candidate, minid) then minid = candidate end
      end
      return redis.call('XTRIM', KEYS[1], 'MINID', minid)`,
  },
  /**
   * KEYS: stream. ARGV: group, live consumer… Deletes the group's consumers that are gone and hold no
   * pending entry (each subscription has its own consumer name, so dead ones would pile up).
   */
  kinyuBusForgetConsumers: {
    numberOfKeys: 1,
    lua: `
      local live = {}
      for i = 2, #ARGV do live[ARGV[i]] = true end
      local removed = 0
      for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
        local info = {}
        for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
        if info['pending'] == 0 and not live[info['name']] then
          redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
          removed = removed + 1
        end
      end
      return removed`,
  },
} as const;

export type ScriptName = keyof typeof scripts;
type ScriptArgument = string | number;

/** Registers the scripts on a connection (ioredis sends EVALSHA, falling back to EVAL once). */
export function defineScripts(redis: Redis): void {
  for (const [name, { numberOfKeys, lua }] of Object.entries(scripts)) {
    redis.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua });
  }
}

/** Runs a script. For `kinyuBusLeaseRelease` the first argument is the number of keys. */
export function runScript(redis: Redis, name: ScriptName, ...args: ScriptArgument[]): Promise<unknown> {
  return scriptFunction<Promise<unknown>>(redis, name)(...args);
}

/** Queues a script on a pipeline or transaction. */
export function queueScript(pipeline: ChainableCommander, name: ScriptName, ...args: ScriptArgument[]): void {
  scriptFunction<unknown>(pipeline, name)(...args);
}

// ioredis adds defineCommand methods at run time; its types cannot know them, hence the one cast.
function scriptFunction<T>(target: object, name: ScriptName): (...args: ScriptArgument[]) => T {
  const method = (target as Record<string, unknown>)[name];
  if (typeof method !== 'function') throw new Error(`bus: Lua script ${name} is not defined`);
  return (...args) => method.apply(target, args) as T;
}
