import { assertName, type StoredRecord } from '@service-registry/core';
import { indexKey, recordKeyPrefix } from '@service-registry/redis-layout';
import type { RedisArgument, RedisClientLike } from './client.js';

/*
 * find(service) on a single Redis without Lua: `SORT <index> BY nosort GET # GET <record key prefix>*`
 * returns every indexed id beside its record in one native command, at about 40 % of the list
 * script's server time (no record keys built in Lua, no values copied into Lua and out again).
 *
 * A record whose key is gone (expired, evicted, deleted by hand) comes back nil and is skipped. SORT
 * does not prune the index, so when a reply holds any nil the caller runs the list script for that
 * service: it prunes expired and orphaned entries atomically (no race with a refresh that brings an
 * id back) and its reply, fresher still, is the answer. That second round trip happens once per dead
 * instance, not per find; the put script also prunes the index by expiry whenever it grows.
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

/**
 * The records of a SORT … GET reply, or `undefined` when some id's record was missing (the index
 * needs pruning: run the list script instead). Throws on a reply of an unexpected shape.
 */
export function parseSortReply(
  namespace: string,
  service: string,
  reply: unknown,
): StoredRecord[] | undefined {
  if (!Array.isArray(reply)) throw new Error(`unexpected reply to SORT: ${typeof reply}`);
  const records: StoredRecord[] = new Array(reply.length >> 1);
  for (let index = 0, at = 0; index + 1 < reply.length; index += 2, at++) {
    const value: unknown = reply[index + 1];
    if (value === null || value === undefined) return undefined;
    const instanceId: unknown = reply[index];
    records[at] = {
      namespace,
      service,
      instanceId: typeof instanceId === 'string' ? instanceId : String(instanceId),
      value: typeof value === 'string' ? value : String(value),
    };
  }
  return records;
}

/** A reply error that means "this server will not run SORT with GET patterns" rather than a data error. */
export function isSortRefused(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return false;
  return !/^(WRONGTYPE|OOM|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|MOVED|ASK)\b/.test(
    error.message,
  );
}
