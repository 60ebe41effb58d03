import type { RecordRef } from '@service-registry/core';

/*
 * The native layout, for a namespace `ns` and a service `svc` (names never contain `:`, `{` or `}`):
 *
 *   ns:{svc}:<instanceId>  string  the record (the codec's ciphertext), expiring with PX ttl
 *   ns:index:{svc}         zset    instanceId -> its record's expiry in ms (Redis server clock); the per-service index
 *   ns:services            zset    service -> latest expiry written for it; the namespace's directory
 *   ns:changes             channel PUBLISH <service> on a join or change, and on a delete that removed something
 *   ns:changes:svc         channel the same notices, for readers of that service only
 *   ns:changed:{svc}       string  the service's change counter (moved by the same events)
 *   ns:{ns:services}:changed  string  the namespace's change counter, in the directory's slot
 *   ns:snapshot:{svc}      string  the service's snapshot (core's encrypted cache of decoded records),
 *                                  SET PX, read by GET; nothing else touches it
 *
 * Record and index share the hash tag `{svc}`: each per-service script touches one slot, and a
 * service lives on one Redis Cluster node. The directory lives in another slot. On a single Redis the
 * put and delete scripts maintain it in the same call; on a Cluster the store sends
 * `touchServiceCall` beside each put, and a deleted service's entry expires instead of being removed.
 *
 * Costs: put = 1 script (Cluster: 2, sent together); list(ns, svc) = 1 script; list(ns) = the
 * directory script, then one pipeline of per-service scripts (Cluster: one per node, in parallel);
 * delete = 1 script. Nothing scans the keyspace.
 *
 * Expiries always come from the clock of the node that holds the key, never from a client's: the put
 * script reads the record's own expiry back (`PEXPIRETIME`; `TIME` before Redis 7.0), the other
 * scripts read `TIME`. Clients drift, a node agrees with itself. (The upkeep horizon a store passes
 * to the put script is a value an earlier reply gave it, in the node's time, never its own clock's.) (Core separately drops records whose own
 * `expires_at` has passed.) Reads skip expired index and directory entries and never write (they run
 * read-only, so a full server still answers them); the put scripts prune them, and the zsets themselves carry a TTL at least as long as their longest entry, and a directory
 * entry's score is the latest expiry of any record of its service, so pruning it by score never hides
 * a live record. Nothing grows without bound.
 */

/** `ns:{svc}:` — the record keys of one service are this prefix plus the instance id. */
export function recordKeyPrefix(namespace: string, service: string): string {
  return `${namespace}:{${service}}:`;
}

/** `ns:{svc}:<instanceId>` — one record. */
export function recordKey(ref: RecordRef): string {
  return `${recordKeyPrefix(ref.namespace, ref.service)}${ref.instanceId}`;
}

/** `ns:index:{svc}` — the live instance ids of one service, scored by expiry. */
export function indexKey(namespace: string, service: string): string {
  return `${namespace}:index:{${service}}`;
}

/** `ns:services` — the services of a namespace, scored by the latest expiry written for each. */
export function servicesKey(namespace: string): string {
  return `${namespace}:services`;
}

/** `ns:changes` — the channel that carries change notices (the service name) of a namespace. */
export function changesChannel(namespace: string): string {
  return `${namespace}:changes`;
}

/**
 * The prune rule: an index or directory entry is live while its expiry is after the server's now.
 * Reads apply it with `ZRANGEBYSCORE key (<now> +inf`, writes with `ZREMRANGEBYSCORE key -inf <now>`.
 */
export function isLiveEntry(expiresAtMs: number, nowMs: number): boolean {
  return expiresAtMs > nowMs;
}

/** `ns:changes:svc` — the channel that carries change notices of one service only. */
export function serviceChannel(namespace: string, service: string): string {
  return `${namespace}:changes:${service}`;
}

/** `ns:changed:{svc}` — a service's change counter, in its records' slot. */
export function changeCounterKey(namespace: string, service: string): string {
  return `${namespace}:changed:{${service}}`;
}

/**
 * `ns:{ns:services}:changed` — the namespace's change counter. The hash tag puts it in the slot of
 * `ns:services` (a key without a tag hashes whole), so one Cluster script updates both.
 */
export function namespaceCounterKey(namespace: string): string {
  return `${namespace}:{${servicesKey(namespace)}}:changed`;
}

/**
 * `ns:snapshot:{svc}` — the service's snapshot, in its records' slot. No script reads or writes it,
 * so it moves no counter, sends no notice and never shows up in a list.
 */
export function snapshotKey(namespace: string, service: string): string {
  return `${namespace}:snapshot:{${service}}`;
}
