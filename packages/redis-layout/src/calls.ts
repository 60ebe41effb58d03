import {
  assertName,
  type RecordRef,
  RegistryError,
  type ServiceProbe,
  type StoredRecord,
} from '@service-registry/core';
import {
  changeCounterKey,
  changesChannel,
  indexKey,
  namespaceCounterKey,
  recordKey,
  recordKeyPrefix,
  serviceChannel,
  servicesKey,
} from './keys.js';
import {
  bumpCounterScript,
  changeCountScript,
  deleteScript,
  listServiceScript,
  listServicesScript,
  probeServiceScript,
  probeServicesScript,
  putScript,
  type RedisScript,
  touchServiceScript,
} from './scripts.js';

/**
 * How long a change counter outlives the deregistration of a service's last instance, in ms (one
 * minute): long enough for polling readers to see it move, short enough to leave nothing behind.
 */
export const COUNTER_LIFETIME_MS = 60_000;

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

/** A ttl in whole milliseconds (at least 1), as the put script's `PX` gets it, or `invalid-argument`. */
export function ttlMilliseconds(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RegistryError('invalid-argument', `ttlMs must be a positive number of milliseconds: ${ttlMs}`);
  }
  return Math.max(1, Math.ceil(ttlMs));
}

/** A ttl in whole milliseconds (at least 1), or `invalid-argument`. */
export function ttlArgument(ttlMs: number): string {
  return String(ttlMilliseconds(ttlMs));
}

/** A put's value and duplicate-check prefix are strings, or `invalid-argument`. */
export function assertPutArguments(value: unknown, expectPrevious: unknown): void {
  if (typeof value !== 'string') throw new RegistryError('invalid-argument', 'value must be a string');
  if (expectPrevious !== undefined && typeof expectPrevious !== 'string') {
    throw new RegistryError('invalid-argument', 'expectPrevious must be a string');
  }
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
  /**
   * A prefix of the value this writer wrote last (`PutOptions.expectPrevious`): the script compares
   * what the record held with it before overwriting; read the reply with `parsePutReply`. Default none.
   */
  readonly expectPrevious?: string;
  /**
   * The upkeep horizon the last put of this service answered (`readPutReply`, kept by an
   * `UpkeepHorizons`), in the store's ms: while the record's new expiry is within it, the script does
   * no upkeep check. Default none: the script asks the store (one more call on the server).
   */
  readonly horizon?: number;
}

function horizonArgument(horizon: number | undefined): string {
  if (horizon === undefined) return '0';
  if (typeof horizon !== 'number' || !Number.isFinite(horizon)) {
    throw new RegistryError('invalid-argument', `horizon must be a finite number of ms: ${horizon}`);
  }
  return String(Math.max(0, Math.floor(horizon)));
}

/** What every put and delete of one record shares: its keys and channels, built and checked once. */
export interface PreparedRef {
  readonly namespace: string;
  readonly service: string;
  readonly instanceId: string;
  /** Record, index, counter, directory, namespace counter. */
  readonly keys: readonly string[];
  /** Record, index, counter: a Cluster's put, whose directory lives in another slot. */
  readonly slotKeys: readonly string[];
  readonly channel: string;
  readonly serviceChannel: string;
}

// A registration passes the same ref to every refresh: its keys are not rebuilt and its names not
// checked again while the ref still names the same record.
const preparedRefs = new WeakMap<RecordRef, PreparedRef>();

/** A ref's keys and channels, checked and built once per ref object (and again if it changed). */
export function prepareRef(ref: RecordRef): PreparedRef {
  const known = preparedRefs.get(ref);
  if (
    known !== undefined &&
    known.namespace === ref.namespace &&
    known.service === ref.service &&
    known.instanceId === ref.instanceId
  ) {
    return known;
  }
  assertRef(ref);
  const { namespace, service, instanceId } = ref;
  const slotKeys = [recordKey(ref), indexKey(namespace, service), changeCounterKey(namespace, service)];
  const prepared: PreparedRef = {
    namespace,
    service,
    instanceId,
    keys: [...slotKeys, servicesKey(namespace), namespaceCounterKey(namespace)],
    slotKeys,
    channel: changesChannel(namespace),
    serviceChannel: serviceChannel(namespace, service),
  };
  preparedRefs.set(ref, prepared);
  return prepared;
}

/** A refresh: write the record, index it, (directory,) publish when something changed. */
export function putCall(
  ref: RecordRef,
  value: string,
  ttlMs: number,
  options: PutCallOptions = {},
): ScriptCall {
  const prepared = prepareRef(ref);
  const expected = options.expectPrevious;
  assertPutArguments(value, expected);
  const args = [
    value,
    ttlArgument(ttlMs),
    prepared.instanceId,
    prepared.channel,
    prepared.service,
    options.changed === false ? '0' : '1',
    prepared.serviceChannel,
    horizonArgument(options.horizon),
  ];
  if (expected !== undefined) args.push(expected);
  return { script: putScript, keys: (options.directory ?? true) ? prepared.keys : prepared.slotKeys, args };
}

/**
 * The directory half of a put, sent beside `putCall(..., { directory: false })` on a Cluster (never
 * beside a routine refresh); a changed write (`changed` not false) also moves the namespace's change
 * counter.
 */
export function touchServiceCall(
  namespace: string,
  service: string,
  ttlMs: number,
  options: { readonly changed?: boolean } = {},
): ScriptCall {
  assertName(namespace, 'namespace');
  assertName(service, 'service name');
  return {
    script: touchServiceScript,
    keys: [servicesKey(namespace), namespaceCounterKey(namespace)],
    args: [ttlArgument(ttlMs), service, options.changed === false ? '0' : '1'],
  };
}

/** Moves the namespace's change counter: beside a delete on a Cluster, where it lives in another slot. */
export function bumpNamespaceCall(namespace: string): ScriptCall {
  assertName(namespace, 'namespace');
  return {
    script: bumpCounterScript,
    keys: [namespaceCounterKey(namespace)],
    args: [String(COUNTER_LIFETIME_MS)],
  };
}

/** The change counter of one service, or of the namespace; the reply is a number (0: none yet). */
export function changeCountCall(namespace: string, service?: string): ScriptCall {
  assertName(namespace, 'namespace');
  if (service !== undefined) assertName(service, 'service name');
  const key = service === undefined ? namespaceCounterKey(namespace) : changeCounterKey(namespace, service);
  return { script: changeCountScript, keys: [key], args: [] };
}

/** Count, counter and soon-expiring entries of one service; parse the reply with `parseProbe`. */
export function probeServiceCall(namespace: string, service: string, horizonMs: number): ScriptCall {
  assertName(namespace, 'namespace');
  assertName(service, 'service name');
  if (typeof horizonMs !== 'number' || !Number.isFinite(horizonMs) || horizonMs < 0) {
    throw new RegistryError('invalid-argument', `horizonMs must be a non-negative number, got ${horizonMs}`);
  }
  return {
    script: probeServiceScript,
    keys: [indexKey(namespace, service), changeCounterKey(namespace, service)],
    args: [String(Math.ceil(horizonMs))],
  };
}

/** A deregistration: remove the record and its index entry, publish if anything was there. */
export function deleteCall(ref: RecordRef, options: DirectoryOptions = {}): ScriptCall {
  const prepared = prepareRef(ref);
  return {
    script: deleteScript,
    keys: (options.directory ?? true) ? prepared.keys : prepared.slotKeys,
    args: [
      prepared.instanceId,
      prepared.channel,
      prepared.service,
      String(COUNTER_LIFETIME_MS),
      prepared.serviceChannel,
    ],
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

/**
 * Many services' probes in one call, for a single Redis (the keys span slots: never on a Cluster);
 * parse the reply with `parseProbes`.
 */
export function probeServicesCall(
  namespace: string,
  services: readonly string[],
  horizonMs: number,
): ScriptCall {
  const keys: string[] = [];
  let args: readonly string[] = [];
  for (const service of services) {
    const single = probeServiceCall(namespace, service, horizonMs);
    keys.push(...single.keys);
    args = single.args;
  }
  return { script: probeServicesScript, keys, args };
}

/** Reads the reply of `probeServicesCall`. */
export function parseProbes(services: readonly string[], reply: unknown): ServiceProbe[] {
  const items = replyArray(reply, probeServicesScript.name);
  if (items.length !== services.length) {
    throw new RegistryError(
      'store-unavailable',
      `the ${probeServicesScript.name} script answered ${items.length} of ${services.length}`,
    );
  }
  return services.map((service, index) => parseProbe(service, items[index]));
}

function replyNumber(item: unknown, what: string): number {
  const value = typeof item === 'string' ? Number(item) : item;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RegistryError('store-unavailable', `unexpected ${what} in a redis reply: ${typeof item}`);
  }
  return value;
}

/** Reads the reply of `changeCountCall`. */
export function parseChangeCount(reply: unknown): number {
  return replyNumber(reply, 'change count');
}

/** Reads the `{count, counter, id, ms, ...}` reply of `probeServiceCall`. */
export function parseProbe(service: string, reply: unknown): ServiceProbe {
  const items = replyArray(reply, probeServiceScript.name);
  const expiring: { instanceId: string; expiresInMs: number }[] = [];
  for (let index = 2; index + 1 < items.length; index += 2) {
    expiring.push({
      instanceId: replyString(items[index], 'instance id'),
      expiresInMs: replyNumber(items[index + 1], 'expiry'),
    });
  }
  return {
    service,
    count: replyNumber(items[0], 'count'),
    changes: replyNumber(items[1], 'change count'),
    expiring,
  };
}
