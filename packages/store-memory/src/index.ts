import {
  assertKnownOptions,
  type Clock,
  type KeyLayout,
  type PutResult,
  type RecordRef,
  RegistryError,
  type RegistryStore,
  type ServiceProbe,
  type StoredRecord,
  systemClock,
} from '@service-registry/core';

/** Options of `memoryStore()`. */
export interface MemoryStoreOptions {
  /** Time source for expiry. Default the system clock, which follows vitest/jest fake timers. */
  clock?: Pick<Clock, 'now'>;
  /**
   * Declare the `time` capability (the store's clock is `clock`), so registries on this store check
   * expiry on it. False models a store that cannot tell time. Default true.
   */
  time?: boolean;
}

/** The memory store in one key layout, as `withLayout` returns it. */
export interface MemoryStoreView extends RegistryStore {
  /** Every layout declares `capabilities.get`, so callers need no check for it. */
  get(ref: RecordRef): Promise<string | null>;
  /** The same store (same records, clock and `close`) declaring another key layout. */
  withLayout(layout: 'native'): MemoryStore;
  withLayout(layout: KeyLayout): MemoryStoreView;
  /** Removes every record and snapshot: what a store restart or `FLUSHALL` does, for tests. */
  clear(): void;
  /** Writes a raw value as-is, bypassing the registry: for tests of bad records. */
  putRaw(ref: RecordRef, value: string, ttlMs: number): void;
  /** Number of records held, expired ones not yet collected included. */
  readonly size: number;
}

/** What `memoryStore()` returns: the native layout, which also keeps each service's snapshot. */
export interface MemoryStore extends MemoryStoreView {
  getSnapshot(namespace: string, service: string): Promise<string | null>;
  putSnapshot(namespace: string, service: string, value: string, ttlMs: number): Promise<void>;
}

interface Entry {
  readonly ref: RecordRef;
  readonly value: string;
  readonly expiresAt: number;
}

interface SnapshotEntry {
  readonly value: string;
  readonly expiresAt: number;
}

const LAYOUTS: readonly KeyLayout[] = ['native', 'apicrud'];

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/**
 * An in-process store for tests and single-process use. Records expire lazily, on read. Nothing
 * outside the process reads it, so its key layouts are views of the same records; the apicrud view
 * rounds ttls up to whole seconds, as `SET ... EX` does.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryError('invalid-argument', 'memoryStore options must be an object, e.g. { clock }');
  }
  assertKnownOptions(options, ['clock', 'time'], 'memoryStore option');
  const clock = options.clock ?? systemClock;
  const tellsTime = options.time ?? true;
  // namespace -> service -> instanceId -> entry: listing one service never walks the others.
  const namespaces = new Map<string, Map<string, Map<string, Entry>>>();
  const watchers = new Map<string, Set<(service: string) => void>>();
  // Change counters per namespace and per `namespace:service`; they start from the clock in
  // microseconds, so a counter created again after `clear()` is seen to have been reset.
  const counters = new Map<string, number>();
  const bump = (key: string): void => {
    counters.set(key, (counters.get(key) ?? clock.now() * 1000) + 1);
  };
  // Snapshots per `namespace:service`, apart from the records: no list, probe, counter or watcher
  // looks here. Only the native view reads and writes them, as on Redis.
  const snapshots = new Map<string, SnapshotEntry>();
  const views = new Map<KeyLayout, MemoryStoreView>();
  let closed = false;

  const assertOpen = (operation: string): void => {
    if (closed) throw new RegistryError('store-closed', `memory store: ${operation} after close()`);
  };
  const notify = (namespace: string, service: string): void => {
    bump(namespace);
    bump(`${namespace}:${service}`);
    for (const listener of watchers.get(namespace) ?? []) queueMicrotask(() => listener(service));
  };
  const collect = (instances: Map<string, Entry>, now: number, into: StoredRecord[]): void => {
    for (const [id, entry] of instances) {
      if (entry.expiresAt <= now) instances.delete(id);
      else into.push({ ...entry.ref, value: entry.value });
    }
  };

  const view = (layout: KeyLayout): MemoryStoreView => {
    const existing = views.get(layout);
    if (existing) return existing;
    const write = (ref: RecordRef, value: string, ttlMs: number, changed = true): Entry | undefined => {
      if (typeof value !== 'string')
        throw new RegistryError('invalid-argument', 'memory store: value must be a string');
      if (!(ttlMs > 0))
        throw new RegistryError('invalid-argument', `memory store: ttlMs must be positive, got ${ttlMs}`);
      const lifetimeMs = layout === 'apicrud' ? Math.ceil(ttlMs / 1000) * 1000 : ttlMs;
      const services = getOrCreate(namespaces, ref.namespace, () => new Map<string, Map<string, Entry>>());
      const instances = getOrCreate(services, ref.service, () => new Map<string, Entry>());
      const previous = instances.get(ref.instanceId);
      instances.set(ref.instanceId, { ref: { ...ref }, value, expiresAt: clock.now() + lifetimeMs });
      // A routine refresh (same content, record still there) is not a change, as on Redis.
      if (changed || previous === undefined || previous.expiresAt <= clock.now())
        notify(ref.namespace, ref.service);
      return previous;
    };
    const snapshotMethods: Pick<RegistryStore, 'getSnapshot' | 'putSnapshot'> = {
      async getSnapshot(namespace, service) {
        assertOpen('getSnapshot');
        const key = `${namespace}:${service}`;
        const entry = snapshots.get(key);
        if (entry === undefined) return null;
        if (entry.expiresAt > clock.now()) return entry.value;
        snapshots.delete(key);
        return null;
      },
      async putSnapshot(namespace, service, value, ttlMs) {
        assertOpen('putSnapshot');
        if (typeof value !== 'string')
          throw new RegistryError('invalid-argument', 'memory store: a snapshot must be a string');
        if (!(ttlMs > 0))
          throw new RegistryError('invalid-argument', `memory store: ttlMs must be positive, got ${ttlMs}`);
        snapshots.set(`${namespace}:${service}`, { value, expiresAt: clock.now() + ttlMs });
      },
    };

    const store: MemoryStoreView = {
      name: 'memory',
      capabilities: {
        watch: true,
        nativeExpiry: true,
        layout,
        layouts: LAYOUTS,
        changeCount: true,
        probe: true,
        time: tellsTime,
        get: true,
        comparePrevious: true,
        ...(layout === 'native' && { snapshot: true }),
      },
      ...(layout === 'native' && snapshotMethods),
      async get(ref) {
        assertOpen('get');
        const entry = namespaces.get(ref.namespace)?.get(ref.service)?.get(ref.instanceId);
        return entry !== undefined && entry.expiresAt > clock.now() ? entry.value : null;
      },
      ...(tellsTime
        ? {
            async time() {
              assertOpen('time');
              return clock.now();
            },
          }
        : {}),
      async put(ref, value, ttlMs, options): Promise<PutResult | undefined> {
        assertOpen('put');
        const now = clock.now();
        const previous = write(ref, value, ttlMs, options?.changed !== false);
        const expected = options?.expectPrevious;
        if (expected === undefined) return undefined;
        // Read and write are one synchronous step here: nothing can write in between.
        const held = previous !== undefined && previous.expiresAt > now ? previous.value : undefined;
        return held === undefined || held.startsWith(expected)
          ? { matched: true }
          : { matched: false, previous: held };
      },
      async delete(ref) {
        assertOpen('delete');
        const removed = namespaces.get(ref.namespace)?.get(ref.service)?.delete(ref.instanceId);
        if (removed) notify(ref.namespace, ref.service);
      },
      async list(namespace, service) {
        assertOpen('list');
        const now = clock.now();
        const services = namespaces.get(namespace);
        const records: StoredRecord[] = [];
        if (!services) return records;
        if (service !== undefined) {
          const instances = services.get(service);
          if (instances) collect(instances, now, records);
        } else {
          for (const instances of services.values()) collect(instances, now, records);
        }
        return records;
      },
      async watch(namespace, onChange, options) {
        assertOpen('watch');
        const set = getOrCreate(watchers, namespace, () => new Set<(service: string) => void>());
        const only = options?.services === undefined ? undefined : new Set(options.services);
        const listener =
          only === undefined ? onChange : (service: string) => only.has(service) && onChange(service);
        set.add(listener);
        return async () => {
          set.delete(listener);
        };
      },
      async changeCount(namespace, service) {
        assertOpen('changeCount');
        return counters.get(service === undefined ? namespace : `${namespace}:${service}`) ?? 0;
      },
      async probe(namespace, services, horizonMs) {
        assertOpen('probe');
        const now = clock.now();
        return services.map((service): ServiceProbe => {
          const instances = namespaces.get(namespace)?.get(service);
          const expiring: { instanceId: string; expiresInMs: number }[] = [];
          let count = 0;
          for (const [id, entry] of instances ?? []) {
            if (entry.expiresAt <= now) continue;
            count++;
            if (entry.expiresAt - now <= horizonMs)
              expiring.push({ instanceId: id, expiresInMs: entry.expiresAt - now });
          }
          expiring.sort((left, right) => left.expiresInMs - right.expiresInMs);
          return { service, count, changes: counters.get(`${namespace}:${service}`) ?? 0, expiring };
        });
      },
      // Only the native view has the snapshot methods: the overload for it says so.
      withLayout: ((other: KeyLayout) => {
        if (!LAYOUTS.includes(other)) {
          throw new RegistryError('unsupported', `memory store: no key layout ${String(other)}`);
        }
        return view(other);
      }) as MemoryStoreView['withLayout'],
      async close() {
        closed = true;
        watchers.clear();
      },
      clear() {
        namespaces.clear();
        counters.clear();
        snapshots.clear();
      },
      putRaw(ref, value, ttlMs) {
        write(ref, value, ttlMs);
      },
      get size() {
        let count = 0;
        for (const services of namespaces.values())
          for (const instances of services.values()) count += instances.size;
        return count;
      },
    };
    views.set(layout, store);
    return store;
  };
  return view('native') as MemoryStore;
}
