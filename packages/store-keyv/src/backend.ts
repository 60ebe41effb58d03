import { RegistryError } from '@service-registry/core';

/** The part of a Keyv (keyv 5) the store uses: typed narrowly so any keyv 5 release fits. */
export interface KeyvLike {
  /** The storage adapter (`@keyv/sqlite`, `@keyv/postgres`, ...) or a `Map`. */
  readonly store: unknown;
  readonly namespace?: string | undefined;
  readonly useKeyPrefix?: boolean;
  serializeData(data: { value: unknown; expires?: number | undefined }): Promise<unknown>;
  deserializeData(data: unknown): Promise<{ value?: unknown; expires?: number | null } | undefined>;
}

/** One row as the backend holds it: the adapter's key and the serialized `{ value, expires }`. */
export interface RawRow {
  readonly key: string;
  readonly raw: unknown;
}

/** How one kind of backend is read and written; every call throws on failure. */
export interface Backend {
  /** `sqlite`, `postgres`, `mysql`, `redis`, `map`, ... for the store's name and messages. */
  readonly kind: string;
  /** Every row whose key starts with `prefix` (more may come back; the caller filters exactly). */
  rows(prefix: string): Promise<RawRow[]>;
  get(key: string): Promise<unknown>;
  set(key: string, raw: unknown, ttlMs: number | undefined): Promise<void>;
  /** Writes several rows, in one statement where the backend allows (a record and its change tokens). */
  setMany(rows: ReadonlyArray<RawRow & { ttlMs?: number | undefined }>): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes each row only while it still holds what was read, where the backend can check atomically. */
  deleteIfUnchanged(rows: readonly RawRow[]): Promise<void>;
  /** Errors the adapter emitted instead of throwing (Keyv adapters often do): see `watchErrors`. */
  readonly emitter: EmitterLike | undefined;
}

interface EmitterLike {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off?(event: 'error', listener: (error: unknown) => void): unknown;
  removeListener?(event: 'error', listener: (error: unknown) => void): unknown;
}

interface AdapterLike {
  opts?: { dialect?: string; url?: string; table?: string; schema?: string };
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  iterator?(namespace?: string): AsyncIterable<unknown[]>;
  query?(sql: string, ...parameters: unknown[]): Promise<unknown>;
  namespace?: string;
  on?(event: 'error', listener: (error: unknown) => void): unknown;
}

/** `LIKE` pattern for "starts with", `\` escaping the wildcards (SQLite needs `ESCAPE '\'`). */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, '\\$&')}%`;
}

function asRows(result: unknown): Array<{ key: string; value: unknown }> {
  return Array.isArray(result) ? (result as Array<{ key: string; value: unknown }>) : [];
}

function mapBackend(map: Map<string, unknown>): Backend {
  return {
    kind: 'map',
    emitter: undefined,
    async rows(prefix) {
      const rows: RawRow[] = [];
      for (const [key, raw] of map)
        if (typeof key === 'string' && key.startsWith(prefix)) rows.push({ key, raw });
      return rows;
    },
    async get(key) {
      return map.get(key);
    },
    async set(key, raw) {
      map.set(key, raw);
    },
    async setMany(rows) {
      for (const { key, raw } of rows) map.set(key, raw);
    },
    async delete(key) {
      map.delete(key);
    },
    async deleteIfUnchanged(rows) {
      // One synchronous step in this process: nothing can write in between.
      for (const { key, raw } of rows) if (map.get(key) === raw) map.delete(key);
    },
  };
}

/**
 * SQLite and PostgreSQL: one `SELECT ... WHERE key LIKE` instead of the adapter's iterator, which pages
 * 10 rows at a time (a find of 1,000 instances would be 100 queries) and, on SQLite, by `OFFSET`, so a
 * row deleted by another process while paging shifts the pages and a live row is skipped.
 */
function sqlBackend(adapter: AdapterLike & { query: NonNullable<AdapterLike['query']> }): Backend {
  const dialect = adapter.opts?.dialect as 'sqlite' | 'postgres';
  const table =
    dialect === 'postgres'
      ? `${adapter.opts?.schema ?? 'public'}.${adapter.opts?.table}`
      : `${adapter.opts?.table}`;
  const select =
    dialect === 'postgres'
      ? `SELECT key, value FROM ${table} WHERE key LIKE $1`
      : `SELECT key, value FROM ${table} WHERE key LIKE ? ESCAPE '\\'`;
  // One statement (one transaction, one fsync) for the whole batch; a row rewritten since the read
  // no longer matches its old value and stays.
  const compareAndDelete = (count: number) => {
    const pairs = Array.from({ length: count }, (_, index) =>
      dialect === 'postgres' ? `($${2 * index + 1}, $${2 * index + 2})` : '(?, ?)',
    );
    return `DELETE FROM ${table} WHERE (key, value) IN (${dialect === 'postgres' ? '' : 'VALUES '}${pairs.join(', ')})`;
  };
  const remove =
    dialect === 'postgres' ? `DELETE FROM ${table} WHERE key = $1` : `DELETE FROM ${table} WHERE key = ?`;
  // The adapter's own upsert, for several rows in one statement (one transaction, one fsync).
  const upsert = (count: number) => {
    const pairs = Array.from({ length: count }, (_, index) =>
      dialect === 'postgres' ? `($${2 * index + 1}, $${2 * index + 2})` : '(?, ?)',
    );
    return `INSERT INTO ${table} (key, value) VALUES ${pairs.join(', ')} ON CONFLICT(key) DO UPDATE SET value = excluded.value`;
  };
  const run = (sql: string, parameters: unknown[]) =>
    // sqlite's query spreads its parameters; pg's takes them as one array.
    dialect === 'postgres' ? adapter.query(sql, parameters) : adapter.query(sql, ...parameters);
  return {
    kind: dialect,
    emitter: adapter.on ? (adapter as EmitterLike) : undefined,
    async rows(prefix) {
      const rows = asRows(await run(select, [likePrefix(prefix)]));
      return rows.map((row) => ({ key: row.key, raw: row.value }));
    },
    get: (key) => adapter.get(key),
    async set(key, raw, ttlMs) {
      await adapter.set(key, raw, ttlMs);
    },
    async delete(key) {
      // The adapter's delete is a SELECT and then a DELETE: one statement does.
      await run(remove, [key]);
    },
    async setMany(rows) {
      await run(
        upsert(rows.length),
        rows.flatMap((row) => [row.key, row.raw]),
      );
    },
    async deleteIfUnchanged(rows) {
      if (rows.length === 0) return;
      await run(
        compareAndDelete(rows.length),
        rows.flatMap((row) => [row.key, row.raw]),
      );
    },
  };
}

/** Any other listing adapter (`@keyv/redis`, `@keyv/mysql`, ...): its own iterator over the namespace. */
function iteratorBackend(adapter: AdapterLike & { iterator: NonNullable<AdapterLike['iterator']> }): Backend {
  const kind = adapter.opts?.dialect ?? 'keyv';
  return {
    kind,
    emitter: adapter.on ? (adapter as EmitterLike) : undefined,
    async rows(prefix) {
      const rows: RawRow[] = [];
      // The adapter's namespace is the one Keyv gave it, as Keyv's own iterator passes it.
      for await (const entry of adapter.iterator(adapter.namespace)) {
        const [key, raw] = entry as [unknown, unknown];
        if (typeof key === 'string' && key.startsWith(prefix)) rows.push({ key, raw });
      }
      return rows;
    },
    get: (key) => adapter.get(key),
    async set(key, raw, ttlMs) {
      await adapter.set(key, raw, ttlMs);
    },
    async delete(key) {
      await adapter.delete(key);
    },
    async setMany(rows) {
      // In order: a change token must not land before the record it announces.
      for (const row of rows) await adapter.set(row.key, row.raw, row.ttlMs);
    },
    async deleteIfUnchanged(rows) {
      // No compare-and-delete here: a row rewritten between the read and this delete is lost until
      // its owner's next refresh (within one interval). Redis expires rows itself, so it rarely gets here.
      for (const { key, raw } of rows) if ((await adapter.get(key)) === raw) await adapter.delete(key);
    },
  };
}

const SQL_DIALECTS = new Set(['sqlite', 'postgres']);

/** Picks how to reach the Keyv's backend, or refuses one that cannot list with `unsupported`. */
export function backendOf(keyv: KeyvLike): Backend {
  const store = keyv.store as AdapterLike | Map<string, unknown> | undefined;
  if (store instanceof Map) return mapBackend(store);
  if (typeof store !== 'object' || store === null || typeof store.get !== 'function') {
    throw new RegistryError('invalid-argument', 'keyvStore: keyv has no storage adapter');
  }
  const dialect = store.opts?.dialect;
  if (dialect && SQL_DIALECTS.has(dialect) && typeof store.query === 'function' && store.opts?.table) {
    return sqlBackend(store as AdapterLike & { query: NonNullable<AdapterLike['query']> });
  }
  if (typeof store.iterator === 'function') {
    return iteratorBackend(store as AdapterLike & { iterator: NonNullable<AdapterLike['iterator']> });
  }
  throw new RegistryError(
    'unsupported',
    `keyvStore: the Keyv adapter${dialect ? ` (${dialect})` : ''} cannot list its keys (no iterator), ` +
      'so the registry could not find instances; use a Map, @keyv/sqlite, @keyv/postgres, @keyv/mysql or @keyv/redis',
  );
}
