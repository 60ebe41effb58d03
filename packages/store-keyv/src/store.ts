import {
  type PutOptions,
  type RecordRef,
  RegistryError,
  type RegistryStore,
  type StoredRecord,
} from '@service-registry/core';
import { backendOf, type KeyvLike, type RawRow } from './backend.js';
import { BackendGuard } from './guard.js';

/** Options of `keyvStore`. */
export interface KeyvStoreOptions {
  /**
   * A keyv 5 `Keyv` the caller created and owns (the store never disconnects it). Give the registry
   * a namespace (or a table) of its own: listing reads every row of the namespace. Required.
   */
  keyv: KeyvLike;
  /** How long one backend call may take before it fails as `store-unavailable`, in ms. Default 5000. */
  timeoutMs?: number;
  /**
   * Most expired rows one listing deletes, in rows. SQL adapters never delete expired rows themselves;
   * the store deletes those it meets while listing (and while registering), at most this many at once.
   * Default 100.
   */
  sweepLimit?: number;
}

/** A `RegistryStore` on Keyv, plus what its tests and benchmarks read. */
export interface KeyvStore extends RegistryStore {
  /** The backend kind: `map`, `sqlite`, `postgres`, `mysql`, `redis`, or the adapter's dialect. */
  readonly backend: string;
  /** Expired rows deleted so far (a row its owner rewrote meanwhile is left alone, but counted). */
  readonly sweptRows: number;
  changeCount(namespace: string, service?: string): Promise<number>;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_SWEEP_LIMIT = 100;
// A brace cannot start a namespace (core forbids braces in names), so no record key starts like this.
const CHANGES_PREFIX = '{changes}';
// Change tokens are random 52-bit integers (exact in a double).
const TOKEN_RANGE = 2 ** 52;

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RegistryError(
      'invalid-argument',
      `keyvStore: ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * A `RegistryStore` on any keyv 5 backend that can list its keys: the in-memory `Map`, `@keyv/sqlite`,
 * `@keyv/postgres`, `@keyv/mysql`, `@keyv/redis`. Rows are Keyv's own (`{ value, expires }` through the
 * Keyv's serializer), at `<keyv namespace>:<namespace>:<service>:<instanceId>`, so `keyv.get` reads them.
 * A refresh is one write; a listing is one query on SQLite and PostgreSQL, the adapter's iterator elsewhere.
 */
export function keyvStore(options: KeyvStoreOptions): KeyvStore {
  if (typeof options !== 'object' || options === null || typeof options.keyv !== 'object' || !options.keyv) {
    throw new RegistryError('invalid-argument', 'keyvStore needs { keyv }: a Keyv instance');
  }
  const { keyv } = options;
  if (typeof keyv.serializeData !== 'function' || typeof keyv.deserializeData !== 'function') {
    throw new RegistryError('invalid-argument', 'keyvStore: keyv must be a keyv 5 Keyv instance');
  }
  const timeoutMs = positiveInteger(options.timeoutMs, 'timeoutMs', DEFAULT_TIMEOUT_MS);
  const sweepLimit = positiveInteger(options.sweepLimit, 'sweepLimit', DEFAULT_SWEEP_LIMIT);
  const backend = backendOf(keyv);
  const guard = new BackendGuard(backend, timeoutMs);
  // The key space the adapter sees, as Keyv prefixes its own keys.
  const keyvPrefix = keyv.useKeyPrefix !== false && keyv.namespace ? `${keyv.namespace}:` : '';
  const rowKey = (ref: RecordRef) => `${keyvPrefix}${ref.namespace}:${ref.service}:${ref.instanceId}`;
  const changesKey = (namespace: string, service?: string) =>
    `${keyvPrefix}${CHANGES_PREFIX}:${namespace}${service === undefined ? '' : `:${service}`}`;
  let closed = false;
  let swept = 0;

  const assertOpen = (operation: string) => {
    if (closed) throw new RegistryError('store-closed', `keyv store: ${operation} after close()`);
  };

  /** Live records among `rows`, and the expired rows to delete. Undecodable rows go to core as-is. */
  async function decode(rows: readonly RawRow[], namespace: string, now: number) {
    const records: StoredRecord[] = [];
    const expired: RawRow[] = [];
    const skip = keyvPrefix.length + namespace.length + 1;
    for (const row of rows) {
      const rest = row.key.slice(skip);
      const parts = rest.split(':');
      let data: Awaited<ReturnType<KeyvLike['deserializeData']>>;
      try {
        data = await keyv.deserializeData(row.raw);
      } catch {
        data = undefined;
      }
      if (data && typeof data.expires === 'number' && data.expires <= now) {
        expired.push(row);
        continue;
      }
      // Garbage (not Keyv's envelope, or not a string inside): core rejects and counts it.
      const value =
        data && typeof data.value === 'string' ? data.value : typeof row.raw === 'string' ? row.raw : '';
      const [service = '', instanceId = ''] = parts;
      const base = { namespace, service, instanceId, value };
      records.push(
        parts.length === 2 && service && instanceId ? base : { ...base, key: `${namespace}:${rest}` },
      );
    }
    return { records, expired };
  }

  // When a registration last swept its service, per `<namespace>:<service>`.
  const lastSweepAt = new Map<string, number>();
  // Rows this process is deleting now: concurrent listings of one service do not delete them twice.
  const sweeping = new Set<string>();
  async function sweep(expired: readonly RawRow[]) {
    const batch = expired.filter((row) => !sweeping.has(row.key)).slice(0, sweepLimit);
    if (batch.length === 0) return;
    for (const row of batch) sweeping.add(row.key);
    try {
      await backend.deleteIfUnchanged(batch);
      swept += batch.length;
    } finally {
      for (const row of batch) sweeping.delete(row.key);
    }
  }

  async function listRows(namespace: string, service: string | undefined) {
    const prefix = `${keyvPrefix}${namespace}:${service === undefined ? '' : `${service}:`}`;
    // SQLite's and MySQL's LIKE ignore ASCII case: `Orders:` rows come back for `orders:`.
    const rows = (await backend.rows(prefix)).filter((row) => row.key.startsWith(prefix));
    const { records, expired } = await decode(rows, namespace, Date.now());
    await sweep(expired);
    return records;
  }

  /**
   * The rows that announce a change of `service`: a fresh random token per change, not an increment.
   * Keyv has no atomic increment, and two writers adding one to the same value would lose a move (and
   * a late writer could bring back a value a reader has seen); a token written with or after the
   * record always differs from what a reader saw before.
   */
  async function changeRows(namespace: string, service: string): Promise<RawRow[]> {
    const token = () => Math.floor(Math.random() * TOKEN_RANGE);
    return [
      { key: changesKey(namespace, service), raw: await keyv.serializeData({ value: token() }) },
      { key: changesKey(namespace), raw: await keyv.serializeData({ value: token() }) },
    ];
  }

  return {
    name: 'keyv',
    backend: backend.kind,
    // No `comparePrevious` (Keyv has no read-and-write in one step on every backend): a writer reads
    // its own row back with `get`, one single-row read at most once per ttl, never a listing.
    capabilities: { watch: false, nativeExpiry: true, changeCount: true, get: true },
    get sweptRows() {
      return swept;
    },
    async put(ref: RecordRef, value: string, ttlMs: number, putOptions?: PutOptions) {
      assertOpen('put');
      if (typeof value !== 'string')
        throw new RegistryError('invalid-argument', 'keyv store: value must be a string');
      if (!(typeof ttlMs === 'number' && ttlMs > 0 && Number.isFinite(ttlMs))) {
        throw new RegistryError('invalid-argument', `keyv store: ttlMs must be positive, got ${ttlMs}`);
      }
      const changed = putOptions?.changed !== false;
      await guard.run('put', async () => {
        const raw = await keyv.serializeData({ value, expires: Date.now() + ttlMs });
        if (!changed) return backend.set(rowKey(ref), raw, Math.ceil(ttlMs));
        const record = { key: rowKey(ref), raw, ttlMs: Math.ceil(ttlMs) };
        await backend.setMany([record, ...(await changeRows(ref.namespace, ref.service))]);
        // A new or changed registration also clears its service's dead rows, so a table stays bounded
        // under churn even where nobody lists. At most once per service and ttl in this process (1,000
        // registrations at start need not list the service 1,000 times); routine refreshes never do.
        const service = `${ref.namespace}:${ref.service}`;
        const now = Date.now();
        if (now - (lastSweepAt.get(service) ?? Number.NEGATIVE_INFINITY) < ttlMs) return;
        lastSweepAt.set(service, now);
        await listRows(ref.namespace, ref.service);
      });
    },
    /** One row by its key (the adapter's own get: one primary-key read on SQL), null when gone or expired. */
    async get(ref: RecordRef) {
      assertOpen('get');
      return guard.run('get', async () => {
        const raw = await backend.get(rowKey(ref));
        if (raw === undefined || raw === null) return null;
        const data = await Promise.resolve(keyv.deserializeData(raw)).catch(() => undefined);
        if (data && typeof data.expires === 'number' && data.expires <= Date.now()) return null;
        // As `list` hands it to core: garbage goes as-is, for core to reject.
        if (data && typeof data.value === 'string') return data.value;
        return typeof raw === 'string' ? raw : '';
      });
    },
    async delete(ref: RecordRef) {
      assertOpen('delete');
      await guard.run('delete', async () => {
        await backend.delete(rowKey(ref));
        await backend.setMany(await changeRows(ref.namespace, ref.service));
      });
    },
    async list(namespace: string, service?: string) {
      assertOpen('list');
      return guard.run('list', () => listRows(namespace, service));
    },
    async changeCount(namespace: string, service?: string) {
      assertOpen('changeCount');
      return guard.run('changeCount', async () => {
        const raw = await backend.get(changesKey(namespace, service));
        if (raw === undefined || raw === null) return 0;
        const data = await keyv.deserializeData(raw).catch(() => undefined);
        return typeof data?.value === 'number' ? data.value : 0;
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      guard.release();
    },
  };
}
