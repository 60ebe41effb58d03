import { assertName, RegistryError } from '@service-registry/core';
import { ttlMilliseconds } from './calls.js';
import { snapshotKey } from './keys.js';

/*
 * A service's snapshot is one plain string key beside its records (`snapshotKey`), written with
 * `SET key value PX <ms>` and read with `GET`: no script, index or channel takes part, so writing it
 * moves no counter and no list, probe or watch sees it. The stores send these commands themselves
 * (ioredis and @upstash/redis spell them differently); this module checks what goes into them.
 */

/** A snapshot write, its arguments checked. */
export interface SnapshotWrite {
  readonly key: string;
  readonly value: string;
  /** Whole milliseconds, at least 1: what `PX` takes. */
  readonly ttlMs: number;
}

/** `ns:snapshot:{svc}` for a valid namespace and service name, or `invalid-argument`. */
export function checkedSnapshotKey(namespace: string, service: string): string {
  assertName(namespace, 'namespace');
  assertName(service, 'service name');
  return snapshotKey(namespace, service);
}

/** The key, value and ttl of `SET ns:snapshot:{svc} <value> PX <ms>`, or `invalid-argument`. */
export function snapshotWrite(
  namespace: string,
  service: string,
  value: string,
  ttlMs: number,
): SnapshotWrite {
  const key = checkedSnapshotKey(namespace, service);
  if (typeof value !== 'string') throw new RegistryError('invalid-argument', 'a snapshot must be a string');
  return { key, value, ttlMs: ttlMilliseconds(ttlMs) };
}

/**
 * What `GET` of a snapshot key answered: the value, or null when the key holds none. A client asked
 * for raw replies (ioredis `callBuffer`) answers bytes, handed on as they are: a reader opens them
 * without making one long string of them (see `RegistryStore.getSnapshot`).
 */
export function parseSnapshotReply(reply: unknown): string | Uint8Array | null {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'string' || reply instanceof Uint8Array) return reply;
  throw new RegistryError('store-unavailable', `unexpected reply to GET of a snapshot: ${typeof reply}`);
}
