import {
  assertName,
  isValidName,
  type KeyLayout,
  type RecordRef,
  RegistryError,
  type RegistryStore,
  type StoredRecord,
} from '@service-registry/core';

/*
 * The apicrud layout: Python apicrud's own keys, so TypeScript and Python services share one registry.
 *
 *   ns:svc:<instanceId>  string  the record, written with `SET key value EX <whole seconds>`
 *
 * Nothing else: no hash tags, index, directory or change channel, because writers that know nothing
 * of this project (apicrud) must find our records and be found. Listing therefore SCANs the record
 * pattern (`ns:svc:*`, or `ns:*`; on Redis Cluster on every master) with COUNT 1000 and reads the
 * values with MGET (on a Cluster one MGET per slot), so its cost grows with every key of the server,
 * not only the registry's: the price of compatibility. A command list per operation:
 *
 *   put     apicrudPutCommand          1 round trip
 *   delete  apicrudDeleteCommand       1 round trip
 *   list    apicrudScanCommand until the cursor is 0 (`scanKeys`), MGET of the keys found
 *           (`apicrudMgetCommands`, or per slot on a Cluster), then `apicrudRecords`.
 *
 * apicrud's ttl is whole seconds (`EX`): a ttl in ms is rounded up, never down, so a record lives at
 * least as long as asked. Keys that do not split into `ns:<service>:<instanceId>` with valid names
 * (`ns:svc:id:extra`, `ns:svc`) come back with `key` set, for core to skip and count; keys of the
 * native layout that share the namespace (`ns:{svc}:id`) are not apicrud records and are left out.
 */

/** SCAN's COUNT hint: how many keys a node examines per call. */
export const APICRUD_SCAN_COUNT = 1000;

const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

function assertRef(ref: RecordRef): void {
  if (typeof ref !== 'object' || ref === null)
    throw new RegistryError('invalid-argument', 'a record ref is required');
  assertName(ref.namespace, 'namespace');
  assertName(ref.service, 'service name');
  assertName(ref.instanceId, 'instance id');
}

/** `ns:svc:<instanceId>`, exactly as apicrud writes it. */
export function apicrudKey(ref: RecordRef): string {
  assertRef(ref);
  return `${ref.namespace}:${ref.service}:${ref.instanceId}`;
}

/** A ttl in ms as apicrud's whole seconds, rounded up (at least 1), or `invalid-argument`. */
export function apicrudTtlSeconds(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RegistryError('invalid-argument', `ttlMs must be a positive number of milliseconds: ${ttlMs}`);
  }
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/** A refresh: `SET ns:svc:id <value> EX <seconds>`. */
export function apicrudPutCommand(ref: RecordRef, value: string, ttlMs: number): string[] {
  if (typeof value !== 'string') throw new RegistryError('invalid-argument', 'value must be a string');
  return ['SET', apicrudKey(ref), value, 'EX', String(apicrudTtlSeconds(ttlMs))];
}

/** A deregistration: `DEL ns:svc:id`. */
export function apicrudDeleteCommand(ref: RecordRef): string[] {
  return ['DEL', apicrudKey(ref)];
}

/**
 * The SCAN MATCH pattern of one service's records (`ns:svc:*`) or of the namespace's (`ns:*`), glob
 * characters escaped. `keyPrefix`: what the client adds to keys (ioredis `keyPrefix`), which no client
 * adds to a pattern; the keys SCAN returns then start with it, and must lose it before MGET.
 */
export function apicrudScanPattern(namespace: string, service?: string, keyPrefix = ''): string {
  assertName(namespace, 'namespace');
  if (service !== undefined) assertName(service, 'service name');
  const prefix = service === undefined ? `${namespace}:` : `${namespace}:${service}:`;
  return `${escapeGlob(keyPrefix + prefix)}*`;
}

/** `SCAN <cursor> MATCH <pattern> COUNT 1000`. */
export function apicrudScanCommand(cursor: string, pattern: string): string[] {
  return ['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(APICRUD_SCAN_COUNT)];
}

/** Reads a SCAN reply, `[cursor, [key, ...]]` (a REST client may give the cursor as a number). */
export function parseScanReply(reply: unknown): { cursor: string; keys: string[] } {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) {
    throw new RegistryError('store-unavailable', 'unexpected reply to SCAN');
  }
  const [cursor, keys] = reply as [unknown, unknown[]];
  if (typeof cursor !== 'string' && typeof cursor !== 'number') {
    throw new RegistryError('store-unavailable', `unexpected SCAN cursor: ${typeof cursor}`);
  }
  if (!keys.every((key) => typeof key === 'string')) {
    throw new RegistryError('store-unavailable', 'unexpected key in a SCAN reply');
  }
  return { cursor: String(cursor), keys: keys as string[] };
}

/**
 * Runs a SCAN to its end: `scan(cursor)` sends `apicrudScanCommand(cursor, pattern)` to one node and
 * resolves to the raw reply. SCAN may return a key twice; each key is passed to `onKeys` (per reply,
 * so the caller can read values while the scan goes on) and returned once. Pass one `seen` set to the
 * scans of every master of a Cluster, where a migrating key may show up on two.
 */
export async function scanKeys(
  scan: (cursor: string) => Promise<unknown>,
  onKeys: (keys: string[]) => void = () => {},
  seen: Set<string> = new Set(),
): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const reply = parseScanReply(await scan(cursor));
    cursor = reply.cursor;
    const fresh = reply.keys.filter((key) => !seen.has(key));
    for (const key of fresh) seen.add(key);
    if (fresh.length > 0) {
      found.push(...fresh);
      onKeys(fresh);
    }
  } while (cursor !== '0');
  return found;
}

/** `MGET` commands for `keys`, at most `APICRUD_SCAN_COUNT` keys each (one node, one slot on a Cluster). */
export function apicrudMgetCommands(keys: readonly string[]): string[][] {
  const commands: string[][] = [];
  for (let first = 0; first < keys.length; first += APICRUD_SCAN_COUNT) {
    commands.push(['MGET', ...keys.slice(first, first + APICRUD_SCAN_COUNT)]);
  }
  return commands;
}

/**
 * One found key and its value as a record, or undefined when it is not one: no value (expired since
 * the SCAN, or not a string key) or a key of the native layout. `key` is without the client's prefix.
 */
export function apicrudRecord(namespace: string, key: string, value: unknown): StoredRecord | undefined {
  if (value === null || value === undefined) return undefined;
  // A REST client that parses JSON may turn a value into a number; anything else is a client bug.
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new RegistryError('store-unavailable', `unexpected value in a redis reply: ${typeof value}`);
  }
  const rest = key.startsWith(`${namespace}:`) ? key.slice(namespace.length + 1) : undefined;
  if (rest === undefined) return undefined;
  const separator = rest.indexOf(':');
  const service = separator === -1 ? rest : rest.slice(0, separator);
  const instanceId = separator === -1 ? '' : rest.slice(separator + 1);
  // Every key of the native layout carries a hash tag (`ns:{svc}:id`, `ns:changed:{svc}`, ...);
  // braces are not allowed in names, so no apicrud record has one.
  if (service.startsWith('{') && service.endsWith('}')) return undefined;
  if (/\{[^}]*\}/.test(rest)) return undefined;
  const record = { namespace, service, instanceId, value: String(value) };
  return isValidName(service) && isValidName(instanceId) ? record : { ...record, key };
}

/** Pairs the keys found with the MGET values, in order, into records (see `apicrudRecord`). */
export function apicrudRecords(namespace: string, keys: readonly string[], values: unknown): StoredRecord[] {
  if (!Array.isArray(values) || values.length !== keys.length) {
    throw new RegistryError('store-unavailable', `unexpected reply to MGET of ${keys.length} keys`);
  }
  const records: StoredRecord[] = [];
  keys.forEach((key, index) => {
    const record = apicrudRecord(namespace, key, values[index]);
    if (record) records.push(record);
  });
  return records;
}

/** What a Redis-speaking store supplies for its apicrud view; the view itself is the same for all. */
export interface ApicrudViewParts {
  /** The store's name, e.g. `redis`. */
  readonly name: string;
  readonly layouts: readonly KeyLayout[];
  /** Runs one operation, turning failures into `RegistryError`s (`store-unavailable`, `store-closed`). */
  attempt<T>(operation: string, action: () => Promise<T>): Promise<T>;
  /** Sends one command of this module (`SET ... EX`, `DEL`) and resolves with its reply. */
  send(command: readonly string[]): Promise<unknown>;
  /** Lists records by SCAN and MGET, as the client allows (`scanKeys`, `apicrudRecords`). */
  list(namespace: string, service?: string): Promise<StoredRecord[]>;
  withLayout(layout: KeyLayout): RegistryStore;
  close(): Promise<void>;
}

/**
 * The apicrud view of a store: one `SET ... EX` per put, one `DEL` per delete, SCAN + MGET per list.
 * No watch: apicrud writers publish nothing, so core polls.
 */
export function apicrudStoreView(parts: ApicrudViewParts): RegistryStore {
  const { attempt, send } = parts;
  return {
    name: parts.name,
    capabilities: { watch: false, nativeExpiry: true, layout: 'apicrud', layouts: parts.layouts },
    put(ref: RecordRef, value: string, ttlMs: number): Promise<void> {
      return attempt('put', async () => {
        await send(apicrudPutCommand(ref, value, ttlMs));
      });
    },
    delete(ref: RecordRef): Promise<void> {
      return attempt('delete', async () => {
        await send(apicrudDeleteCommand(ref));
      });
    },
    list(namespace: string, service?: string): Promise<StoredRecord[]> {
      return attempt('list', () => parts.list(namespace, service));
    },
    withLayout: (layout: KeyLayout) => parts.withLayout(layout),
    close: () => parts.close(),
  };
}
