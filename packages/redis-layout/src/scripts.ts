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

// A change counter: INCR, or the server's time in microseconds when the key is new, so a counter lost
// with a restarted store restarts more than a million away from any value a reader saw (a reset). It outlives the last change by a
// while (ten ttls after a write); a reader that then finds it gone sees it move once.
const BUMP = `local function bump(key, lifetime)
  if redis.call('INCR', key) == 1 then redis.call('SET', key, now * 1000) end
  redis.call('PEXPIRE', key, lifetime)
end
local function lifetimeOf(key, fallback)
  local left = redis.call('PTTL', key)
  if left > fallback then return left end
  return fallback
end
`;

/**
 * A refresh. KEYS: record, index, counter, [directory, namespace counter]. ARGV: value, ttl ms,
 * instance id, channel, service, notify (`0` when the record's content did not change), service
 * channel, upkeep horizon (store ms, `0` when unknown), [expected previous].
 *
 * A routine refresh is three calls: `SET PX` (`SET PX GET` with an expected previous), `PEXPIRETIME`
 * of the record (its expiry in the store's own clock: no `TIME`, and the index score is exactly the
 * record's expiry) and `ZADD` of the index entry. No `ZSCORE`, no `PTTL`: the caller passes the upkeep
 * horizon an earlier reply gave it, and while this write's expiry is within it nothing else is due.
 * Otherwise (horizon unknown or passed, or the id new to the index) the script asks the store for the
 * horizon (the directory entry's score; on Redis Cluster, with no directory key here, the index's
 * own expiry) and, when a record would outlive it, runs the upkeep, about once per ttl per service:
 * prunes expired index (and directory) entries, extends the directory entry and the expiry of
 * index, directory and counters to a new horizon one ttl past this record's expiry. A join also
 * prunes the index. When the instance is new to the index (a join, or a store that lost it) or its
 * content changed, bumps the change counters and publishes the service name on the namespace's
 * channel and the service's own. Reads never prune: they run read-only.
 *
 * With an expected previous (a prefix of what this writer wrote last) the record is read in the same
 * `SET`: when it held a string that does not start with it (another writer's) the reply carries it;
 * a record of another type (made by hand) counts as empty, so it never fails the refresh. Reply:
 * `{added, horizon, expiresAt}`, or `{added, horizon, expiresAt, previous}` when the previous did not
 * match; expiresAt is the record's expiry in the store's ms, which also tells a writer the store's
 * time (`RoutineRefresh`). Before Redis
 * 7.0 (no `PEXPIRETIME`) the store's time comes from `TIME`; before 6.2 (no `SET GET`) from `GET`.
 */
export const putScript: RedisScript = define(
  'put',
  `local now
local ttl = tonumber(ARGV[2])
local held = false
if ARGV[9] then
  held = redis.pcall('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'GET')
  if type(held) == 'table' then
    held = redis.pcall('GET', KEYS[1])
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  end
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
local expiresAt = redis.pcall('PEXPIRETIME', KEYS[1])
if type(expiresAt) ~= 'number' then
  local clock = redis.call('TIME')
  expiresAt = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) + ttl
end
now = expiresAt - ttl
local added = redis.call('ZADD', KEYS[2], expiresAt, ARGV[3])
local horizon = tonumber(ARGV[8])
if added == 1 or horizon < expiresAt or horizon > expiresAt + ttl then
  if KEYS[4] then
    horizon = tonumber(redis.call('ZSCORE', KEYS[4], ARGV[5]) or '0')
  else
    horizon = now + redis.call('PTTL', KEYS[2])
  end
  if added == 1 or horizon < expiresAt then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
  if horizon < expiresAt then
    horizon = expiresAt + ttl
    if KEYS[4] then
      redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
      redis.call('ZADD', KEYS[4], horizon, ARGV[5])
      if redis.call('PTTL', KEYS[4]) < horizon - now then redis.call('PEXPIRE', KEYS[4], horizon - now) end
      redis.call('PEXPIRE', KEYS[5], horizon - now)
    end
    if redis.call('PTTL', KEYS[2]) < horizon - now then redis.call('PEXPIRE', KEYS[2], horizon - now) end
    redis.call('PEXPIRE', KEYS[3], horizon - now)
  elseif redis.call('PTTL', KEYS[2]) < ttl then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
if added == 1 or ARGV[6] ~= '0' then
${BUMP}  bump(KEYS[3], lifetimeOf(KEYS[2], ttl))
  if KEYS[5] then bump(KEYS[5], lifetimeOf(KEYS[4], ttl)) end
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  redis.call('PUBLISH', ARGV[7], ARGV[5])
end
if type(held) == 'string' and string.sub(held, 1, #ARGV[9]) ~= ARGV[9] then return {added, horizon, expiresAt, held} end
return {added, horizon, expiresAt}
`,
);

/**
 * The directory half of a put on Redis Cluster, sent beside the put script (joins, changes, due
 * upkeep), never beside a routine refresh. KEYS: directory, namespace counter. ARGV: ttl ms, service,
 * changed (`0` when the content did not change): a changed write bumps the namespace counter. The
 * service's entry (and the directory's expiry) reach two ttls ahead: past the upkeep horizon the put
 * script answers (one ttl past the record's expiry), until which the service's routine refreshes
 * skip the directory, as they do on a single Redis.
 */
export const touchServiceScript: RedisScript = define(
  'touch-service',
  `${NOW}${TOUCH_DIRECTORY}${BUMP}local ttl = tonumber(ARGV[1])
touchDirectory(KEYS[1], ARGV[2], now + 2 * ttl, 2 * ttl)
if KEYS[2] then
  if ARGV[3] ~= '0' then bump(KEYS[2], lifetimeOf(KEYS[1], ttl)) else redis.call('PEXPIRE', KEYS[2], lifetimeOf(KEYS[1], ttl)) end
end
return 1
`,
);

/** Bumps one change counter. KEYS: counter. ARGV: lifetime ms. (The namespace's, after a delete on a Cluster.) */
export const bumpCounterScript: RedisScript = define(
  'bump-counter',
  `${NOW}${BUMP}bump(KEYS[1], tonumber(ARGV[1]))
return 1
`,
);

/** A change counter's value, 0 when it does not exist. KEYS: counter. Read-only. */
export const changeCountScript: RedisScript = define(
  'change-count',
  `return tonumber(redis.call('GET', KEYS[1]) or '0')
`,
);

/**
 * What a reader needs to learn refreshed expiries without reading records. KEYS: index, counter.
 * ARGV: horizon ms. Returns `{count, counter, id, ms left, id, ms left, ...}`: the live entries, the
 * change counter, and the entries that expire within the horizon (soonest first) with milliseconds
 * left by this node's clock. Read-only; a few dozen bytes when nothing is about to expire.
 */
export const probeServiceScript: RedisScript = define(
  'probe-service',
  `${NOW}local reply = {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), tonumber(redis.call('GET', KEYS[2]) or '0')}
local soon = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, now + tonumber(ARGV[1]), 'WITHSCORES')
for position = 1, #soon, 2 do
  reply[#reply + 1] = soon[position]
  reply[#reply + 1] = tonumber(soon[position + 1]) - now
end
return reply
`,
);

/**
 * A deregistration. KEYS: record, index, counter, [directory, namespace counter]. ARGV: instance id,
 * channel, service, the counters' lifetime in ms, service channel. Drops the service from the
 * directory when given (single Redis) and its index is gone; bumps the counters and publishes only
 * when something was removed; returns how many keys and entries were.
 */
export const deleteScript: RedisScript = define(
  'delete',
  `${NOW}${BUMP}local removed = redis.call('DEL', KEYS[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
if KEYS[4] and redis.call('EXISTS', KEYS[2]) == 0 then redis.call('ZREM', KEYS[4], ARGV[3]) end
if removed > 0 then
  bump(KEYS[3], lifetimeOf(KEYS[2], tonumber(ARGV[4])))
  if KEYS[5] then bump(KEYS[5], lifetimeOf(KEYS[4], tonumber(ARGV[4]))) end
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  redis.call('PUBLISH', ARGV[5], ARGV[3])
end
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

/**
 * `probe-service` for many services in one call, on a single Redis (keys of several slots). KEYS:
 * index, counter, index, counter, ... ARGV: horizon ms. Returns one `probe-service` reply per service.
 */
export const probeServicesScript: RedisScript = define(
  'probe-services',
  `${NOW}local horizon = now + tonumber(ARGV[1])
local replies = {}
for first = 1, #KEYS, 2 do
  local reply = {redis.call('ZCOUNT', KEYS[first], '(' .. now, '+inf'), tonumber(redis.call('GET', KEYS[first + 1]) or '0')}
  local soon = redis.call('ZRANGEBYSCORE', KEYS[first], '(' .. now, horizon, 'WITHSCORES')
  for position = 1, #soon, 2 do
    reply[#reply + 1] = soon[position]
    reply[#reply + 1] = tonumber(soon[position + 1]) - now
  end
  replies[#replies + 1] = reply
end
return replies
`,
);

/** Every script of the layout, e.g. to `SCRIPT LOAD` them ahead of time. */
export const scripts: readonly RedisScript[] = [
  putScript,
  touchServiceScript,
  deleteScript,
  listServiceScript,
  listServicesScript,
  bumpCounterScript,
  changeCountScript,
  probeServiceScript,
  probeServicesScript,
];
