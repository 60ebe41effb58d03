import { assertName, type RecordRef, RegistryError, type StoredRecord } from '@service-registry/core';
import { changesChannel, indexKey, recordKey, recordKeyPrefix, servicesKey } from './keys.js';
import {
  deleteScript,
  listServiceScript,
  listServicesScript,
  putScript,
  type RedisScript,
  touchServiceScript,
} from './scripts.js';

/** One script invocation: what to send as `EVALSHA sha1 keys.length ...keys ...args`. */
export interface ScriptCall {
  readonly script: RedisScript;
  /** Every key the script declares; they share one hash slot. */
  readonly keys: readonly string[];
  readonly args: readonly string[];
}

/** Options of `putCall` and `deleteCall`. */
export interface DirectoryOptions {
  /**
   * Maintain the namespace's service directory inside the same script. True on a single Redis; false
   * on Redis Cluster, where the directory lives in another slot: `touchServiceCall` updates it beside
   * a put, and entries of deleted services expire instead of being removed. Default true.
   */
  readonly directory?: boolean;
}

/** `[numkeys, ...keys, ...args]`, the tail of an `EVAL`/`EVALSHA` command. */
export function scriptArguments(call: ScriptCall): (string | number)[] {
  return [call.keys.length, ...call.keys, ...call.args];
}

/** A ttl in whole milliseconds (at least 1), or `invalid-argument`. */
export function ttlArgument(ttlMs: number): string {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RegistryError('invalid-argument', `ttlMs must be a positive number of milliseconds: ${ttlMs}`);
  }
  return String(Math.max(1, Math.ceil(ttlMs)));
}

function assertRef(ref: RecordRef): void {
  if (typeof ref !== 'object' || ref === null)
    throw new RegistryError('invalid-argument', 'a record ref is required');
  assertName(ref.namespace, 'namespace');
  assertName(ref.service, 'service name');
  assertName(ref.instanceId, 'instance id');
}

/** Options of `putCall`. */
export interface PutCallOptions extends DirectoryOptions {
  /**
   * False when the record's content (all but its expiry) is what this instance wrote last time: the
   * script then publishes a change notice only if the instance was missing from the index. Default true.
   */
  readonly changed?: boolean;
}

/** A refresh: write the record, index it, (directory,) publish when something changed. */
export function putCall(
  ref: RecordRef,
  value: string,
  ttlMs: number,
  options: PutCallOptions = {},
): ScriptCall {
  assertRef(ref);
  if (typeof value !== 'string') throw new RegistryError('invalid-argument', 'value must be a string');
  const keys = [recordKey(ref), indexKey(ref.namespace, ref.service)];
  if (options.directory ?? true) keys.push(servicesKey(ref.namespace));
  return {
    script: putScript,
    keys,
    args: [
      value,
      ttlArgument(ttlMs),
      ref.instanceId,
      changesChannel(ref.namespace),
      ref.service,
      options.changed === false ? '0' : '1',
    ],
  };
}

/** The directory half of a refresh, sent beside `putCall(..., { directory: false })` on a Cluster. */
export function touchServiceCall(namespace: string, service: string, ttlMs: number): ScriptCall {
  assertName(namespace, 'namespace');
  assertName(service, 'service name');
  return { script: touchServiceScript, keys: [servicesKey(namespace)], args: [ttlArgument(ttlMs), service] };
}

/** A deregistration: remove the record and its index entry, publish if anything was there. */
export function deleteCall(ref: RecordRef, options: DirectoryOptions = {}): ScriptCall {
  assertRef(ref);
  const keys = [recordKey(ref), indexKey(ref.namespace, ref.service)];
  if (options.directory ?? true) keys.push(servicesKey(ref.namespace));
  return {
    script: deleteScript,
    keys,
    args: [ref.instanceId, changesChannel(ref.namespace), ref.service],
  };
}

/** Options of `listServiceCall`. */
export interface ListServiceCallOptions {
  /**
   * A prefix the client adds to every key it sends (ioredis `keyPrefix`). The script builds record
   * keys itself from an argument, which no client prefixes, so it must be told. Default none.
   */
  readonly keyPrefix?: string;
}

/** The live records of one service; parse the reply with `parseRecords`. */
export function listServiceCall(
  namespace: string,
  service: string,
  options: ListServiceCallOptions = {},
): ScriptCall {
  assertName(namespace, 'namespace');
  assertName(service, 'service name');
  return {
    script: listServiceScript,
    keys: [indexKey(namespace, service)],
    args: [`${options.keyPrefix ?? ''}${recordKeyPrefix(namespace, service)}`],
  };
}

/** The services of a namespace that may have live records; parse the reply with `parseServices`. */
export function listServicesCall(namespace: string): ScriptCall {
  assertName(namespace, 'namespace');
  return { script: listServicesScript, keys: [servicesKey(namespace)], args: [] };
}

// Clients hand back strings; a REST client that parses JSON may turn a numeric name into a number.
function replyString(item: unknown, what: string): string {
  if (typeof item === 'string') return item;
  if (typeof item === 'number') return String(item);
  throw new RegistryError('store-unavailable', `unexpected ${what} in a redis reply: ${typeof item}`);
}

function replyArray(reply: unknown, script: string): readonly unknown[] {
  if (!Array.isArray(reply)) {
    throw new RegistryError('store-unavailable', `unexpected reply to the ${script} script: ${typeof reply}`);
  }
  return reply;
}

// What `TYPE` answers for a key that is neither a sorted set nor missing.
const INDEX_TYPES_REFUSED = new Set(['string', 'list', 'set', 'hash', 'stream']);

/**
 * The entry that stands for a service index that is no sorted set (a key overwritten by hand): core
 * skips and counts it as a rejected record with `fault` as the reason, and lists the other services.
 */
export function brokenIndexRecord(namespace: string, service: string, kind: string): StoredRecord {
  const key = indexKey(namespace, service);
  return {
    namespace,
    service,
    instanceId: '',
    value: '',
    key,
    fault: `the service index ${key} is a ${kind}, not a sorted set`,
  };
}

/**
 * Reads the `{id, value, ...}` reply of `listServiceCall` into records; a broken index (the script
 * answers with its type) becomes one `brokenIndexRecord`.
 */
export function parseRecords(namespace: string, service: string, reply: unknown): StoredRecord[] {
  if (typeof reply === 'string' && INDEX_TYPES_REFUSED.has(reply)) {
    return [brokenIndexRecord(namespace, service, reply)];
  }
  const items = replyArray(reply, listServiceScript.name);
  const records: StoredRecord[] = [];
  for (let index = 0; index + 1 < items.length; index += 2) {
    const instanceId = replyString(items[index], 'instance id');
    records.push({ namespace, service, instanceId, value: replyString(items[index + 1], 'value') });
  }
  return records;
}

/** Reads the reply of `listServicesCall`. */
export function parseServices(reply: unknown): string[] {
  return replyArray(reply, listServicesScript.name).map((item) => replyString(item, 'service name'));
}
