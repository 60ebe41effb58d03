import { sha1Hex } from './sha1.js';

/** A Lua script and the name Redis knows it by (`EVALSHA <sha1>`). */
export interface RedisScript {
  /** Short name for logs and errors, e.g. `put`. */
  readonly name: string;
  /** The Lua source, sent with `EVAL` (or `SCRIPT LOAD`) when the server answers NOSCRIPT. */
  readonly source: string;
  /** Lowercase hex SHA-1 of `source`, as `SCRIPT LOAD` returns it. */
  readonly sha1: string;
  /**
   * True for a script that only reads: send it with `EVALSHA_RO` / `EVAL_RO` (Redis 7.0+, Upstash),
   * which a server out of memory under `noeviction` still runs, as a replica does. Plain `EVAL` counts
   * as a write, and a full server refuses writes with OOM.
   */
  readonly readOnly: boolean;
}

// Every script reads the time from the node that holds its keys, so expiries and pruning compare
// numbers from one clock. Milliseconds since the epoch stay exact in Lua's doubles.
const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

// The directory entry keeps the latest expiry written for a service, so pruning it by score never
// drops a service that still has a live record. The zset itself lives at least as long as that.
const TOUCH_DIRECTORY = `local function touchDirectory(key, service, expiresAt, ttl)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if tonumber(redis.call('ZSCORE', key, service) or '0') < expiresAt then
    redis.call('ZADD', key, expiresAt, service)
  end
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
`;

const define = (name: string, body: string, readOnly = false): RedisScript => {
  const source = `-- @service-registry/redis-layout ${name} v${readOnly ? 2 : 1}\n${body}`;
  return { name, source, sha1: sha1Hex(source), readOnly };
};

/**
 * A refresh. KEYS: record, index, [directory]. ARGV: value, ttl ms, instance id, channel, service,
 * notify (`0` when the record's content did not change). Writes the record with PX and its index entry;
 * publishes the service name when the instance is new to the index (a join, or a store that lost it)
 * or its content changed. The index is pruned of expired entries when it grows and at each upkeep
 * (reads never prune: they run read-only). Upkeep of the directory and of the index's
 * own expiry runs about once per ttl, not on every refresh: both are extended to a horizon one ttl past
 * the record's expiry, and touched again only once a record would outlive it. On Redis Cluster (no
 * directory key here) the index's expiry is checked on every refresh instead.
 */
export const putScript: RedisScript = define(
  'put',
  `${NOW}local ttl = tonumber(ARGV[2])
local expiresAt = now + ttl
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
local added = redis.call('ZADD', KEYS[2], expiresAt, ARGV[3])
if added == 1 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
if KEYS[3] then
  if tonumber(redis.call('ZSCORE', KEYS[3], ARGV[5]) or '0') < expiresAt then
    local horizon = expiresAt + ttl
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
    if added == 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
    redis.call('ZADD', KEYS[3], horizon, ARGV[5])
    if redis.call('PTTL', KEYS[3]) < horizon - now then redis.call('PEXPIRE', KEYS[3], horizon - now) end
    if redis.call('PTTL', KEYS[2]) < horizon - now then redis.call('PEXPIRE', KEYS[2], horizon - now) end
  elseif added == 1 and redis.call('PTTL', KEYS[2]) < ttl then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
elseif redis.call('PTTL', KEYS[2]) < ttl then
  if added == 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if added == 1 or ARGV[6] ~= '0' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return added
`,
);

/** The directory half of a refresh on Redis Cluster. KEYS: directory. ARGV: ttl ms, service. */
export const touchServiceScript: RedisScript = define(
  'touch-service',
  `${NOW}${TOUCH_DIRECTORY}local ttl = tonumber(ARGV[1])
touchDirectory(KEYS[1], ARGV[2], now + ttl, ttl)
return 1
`,
);

/**
 * A deregistration. KEYS: record, index, [directory]. ARGV: instance id, channel, service. Drops the
 * service from the directory when given (single Redis) and its index is gone; publishes only when
 * something was removed; returns how many keys and entries were.
 */
export const deleteScript: RedisScript = define(
  'delete',
  `local removed = redis.call('DEL', KEYS[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
if KEYS[3] and redis.call('EXISTS', KEYS[2]) == 0 then redis.call('ZREM', KEYS[3], ARGV[3]) end
if removed > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return removed
`,
);

/**
 * The live records of one service. KEYS: index. ARGV: record key prefix. Read-only (run it with
 * `EVALSHA_RO`): reads the entries not yet expired, then their records, and returns
 * `{id, value, id, value, ...}`, leaving out ids whose record is gone (expired, evicted, deleted by
 * hand); the put script prunes the index. An index of another type than a sorted set (overwritten by
 * hand) is not an error that would fail the whole namespace's list: the reply is then that type's
 * name as a string, for the store to report as one bad entry. Record keys are built here from the
 * index, in the index's slot thanks to the shared hash tag; MGET goes in chunks because Lua's unpack
 * is limited to a few thousand values.
 */
export const listServiceScript: RedisScript = define(
  'list-service',
  `${NOW}local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'zset' and kind ~= 'none' then return kind end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local reply = {}
for first = 1, #ids, 512 do
  local keys = {}
  for position = first, math.min(first + 511, #ids) do keys[#keys + 1] = ARGV[1] .. ids[position] end
  local values = redis.call('MGET', unpack(keys))
  for offset = 1, #keys do
    if values[offset] then
      reply[#reply + 1] = ids[first + offset - 1]
      reply[#reply + 1] = values[offset]
    end
  end
end
return reply
`,
  true,
);

/**
 * The services of a namespace that may have live records. KEYS: directory. Read-only: lists the
 * entries not yet expired (the put and touch-service scripts prune the directory).
 */
export const listServicesScript: RedisScript = define(
  'list-services',
  `${NOW}return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`,
  true,
);

/** Every script of the layout, e.g. to `SCRIPT LOAD` them ahead of time. */
export const scripts: readonly RedisScript[] = [
  putScript,
  touchServiceScript,
  deleteScript,
  listServiceScript,
  listServicesScript,
];
