import { assertName, type StoredRecord } from '@service-registry/core';
import { indexKey, recordKeyPrefix } from '@service-registry/redis-layout';
import type { RedisArgument, RedisClientLike } from './client.js';

/*
 * find(service) on a single Redis without Lua: `SORT_RO <index> BY nosort GET # GET <record key prefix>*`
 * returns every indexed id beside its record in one native command, at about 40 % of the list
 * script's server time (no record keys built in Lua, no values copied into Lua and out again).
 * SORT_RO, not SORT: SORT counts as a write (it may STORE), which a full server under `noeviction`
 * refuses with OOM, and a replica refuses outright.
 *
 * A record whose key is gone (expired, evicted, deleted by hand) comes back nil and is skipped, as
 * the list script skips it: a record key expires with the same PX as its index entry's score. SORT
 * does not prune the index; the put script does (when the index grows, and about once per ttl), so
 * a dead id costs a little reading until then, never a write on the read path.
 *
 * Not used on Redis Cluster (Redis 7 refuses GET patterns in cluster mode), nor when the client's
 * `keyPrefix` holds a `*` (ioredis prefixes SORT's BY and GET patterns, and a `*` there would be the
 * one Redis substitutes). Names never contain `*`; a `->` only matters after the `*`, which ends the
 * pattern. A server that refuses the patterns (an ACL without full key access, a proxy) makes the
 * store fall back to the list script for good.
 */

/** Whether SORT … GET can serve find(service) through this client. */
export function canSortList(client: RedisClientLike, keyPrefix: string): boolean {
  return client.isCluster !== true && !keyPrefix.includes('*');
}

/** The SORT arguments for one service; ioredis adds a client `keyPrefix` to the key and patterns. */
export function sortListArguments(namespace: string, service: string): RedisArgument[] {
  assertName(namespace, 'namespace');
  assertName(service, 'service name');
  return [
    indexKey(namespace, service),
    'BY',
    'nosort',
    'GET',
    '#',
    'GET',
    `${recordKeyPrefix(namespace, service)}*`,
  ];
}

/** The records of a SORT … GET reply, ids without a record left out. Throws on a reply of an unexpected shape. */
export function parseSortReply(namespace: string, service: string, reply: unknown): StoredRecord[] {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply to SORT_RO: ${typeof reply}`);
  const records: StoredRecord[] = [];
  for (let index = 0; index + 1 < reply.length; index += 2) {
    const value: unknown = reply[index + 1];
    if (value === null || value === undefined) continue;
    const instanceId: unknown = reply[index];
    records.push({
      namespace,
      service,
      instanceId: typeof instanceId === 'string' ? instanceId : String(instanceId),
      value: typeof value === 'string' ? value : String(value),
    });
  }
  return records;
}

/** A WRONGTYPE reply: the service index is a key of another type (see `brokenIndexRecord`). */
export function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && /^WRONGTYPE\b/.test(error.message);
}

/** A reply error that means "this server will not run SORT with GET patterns" rather than a data error. */
export function isSortRefused(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return false;
  return !/^(WRONGTYPE|OOM|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|MOVED|ASK)\b/.test(
    error.message,
  );
}
