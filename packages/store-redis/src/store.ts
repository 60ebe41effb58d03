import {
  assertName,
  type KeyLayout,
  type PutOptions,
  type RecordRef,
  RegistryError,
  type RegistryStore,
  type ServiceProbe,
  type StoredRecord,
  type StoreWatchOptions,
} from '@service-registry/core';
import {
  bumpNamespaceCall,
  changeCountCall,
  changesChannel,
  deleteCall,
  listServiceCall,
  listServicesCall,
  parseChangeCount,
  parseProbe,
  parseProbes,
  parseRecords,
  parseServices,
  probeServiceCall,
  probeServicesCall,
  putCall,
  serviceChannel,
  touchServiceCall,
} from '@service-registry/redis-layout';
import type { RedisOptions } from 'ioredis';
import { apicrudView } from './apicrud.js';
import { openConnection, type RedisClientLike } from './client.js';
import { closedError, storeError } from './errors.js';
import { runScript, runScripts } from './run-scripts.js';
import { canSortList, isSortRefused, parseSortReply, sortListArguments } from './sort-list.js';
import { createWatchHub } from './watch.js';

/** `redisStore({ client })`: a connection the caller owns, opened and closed by the caller. */
export interface RedisStoreClientOptions {
  /**
   * An ioredis `Redis` (standalone or Sentinel) or `Cluster`. The store never closes it. For fast
   * failures during an outage give it the settings of `ownedConnectionDefaults` (at least
   * `maxRetriesPerRequest: 1` and a `commandTimeout`); ioredis' own defaults queue commands and
   * retry for a long time before an operation fails.
   */
  client: RedisClientLike;
}

/**
 * `redisStore({ url, ...options })`: the store opens, owns and closes the connection. Options are
 * ioredis `RedisOptions` (host, port, sentinels, tls, ...) over `ownedConnectionDefaults`.
 */
export type RedisStoreUrlOptions = RedisOptions & {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...`. Default: ioredis' host/port options. */
  url?: string;
  client?: undefined;
};

export type RedisStoreOptions = RedisStoreClientOptions | RedisStoreUrlOptions;

const LAYOUTS: readonly KeyLayout[] = ['native', 'apicrud'];

/**
 * A `RegistryStore` on Redis, Sentinel or Redis Cluster (see `@service-registry/redis-layout` for
 * the keys). A refresh is one script call; `list(ns, service)` one `SORT … GET` on a single Redis (the
 * list script on a Cluster, or to prune a stale index); `list(ns)` is two round trips.
 * `withLayout('apicrud')` is the same connection in Python apicrud's layout (SCAN-based, no watch).
 */
export function redisStore(options: RedisStoreOptions) {
  const owned = options.client === undefined;
  let client: RedisClientLike;
  if (options.client === undefined) {
    const { url, client: _none, ...connectionOptions } = options;
    client = openConnection(url, connectionOptions);
  } else {
    client = options.client;
  }
  const cluster = client.isCluster === true;
  const keyPrefix = client.options?.keyPrefix ?? '';
  const notices = createWatchHub(client);
  let closed = false;

  async function attempt<T>(operation: string, action: () => Promise<T>): Promise<T> {
    if (closed) throw closedError(operation);
    try {
      return await action();
    } catch (error) {
      throw storeError(operation, error);
    }
  }

  const listServiceByScript = async (namespace: string, service: string): Promise<StoredRecord[]> =>
    parseRecords(
      namespace,
      service,
      await runScript(client, listServiceCall(namespace, service, { keyPrefix })),
    );

  // A single Redis reads with SORT … GET (see sort-list.ts); a Cluster, or a server that refuses it,
  // with the list script.
  let sortList = canSortList(client, keyPrefix);

  const listService = async (namespace: string, service: string): Promise<StoredRecord[]> => {
    if (sortList) {
      const args = sortListArguments(namespace, service);
      try {
        const records = parseSortReply(namespace, service, await client.call('SORT', ...args));
        if (records) return records;
      } catch (error) {
        if (!isSortRefused(error)) throw error;
        sortList = false;
      }
    }
    return listServiceByScript(namespace, service);
  };

  // Every service of a namespace: one pipeline of SORTs, then the list script for any service whose
  // index needs pruning (or all of them, on a Cluster).
  const listServices = async (namespace: string, services: readonly string[]): Promise<StoredRecord[][]> => {
    const lists: (StoredRecord[] | undefined)[] = new Array(services.length);
    if (sortList && services.length > 0) {
      const pipeline = client.pipeline();
      for (const name of services) pipeline.call('SORT', ...sortListArguments(namespace, name));
      const replies = await pipeline.exec();
      if (!replies) throw new Error('the pipeline was discarded');
      for (const [index, [error, reply]] of replies.entries()) {
        if (!error) lists[index] = parseSortReply(namespace, services[index] as string, reply);
        else if (isSortRefused(error)) sortList = false;
        else throw error;
      }
    }
    const rest = services.flatMap((_name, index) => (lists[index] ? [] : [index]));
    if (rest.length > 0) {
      const calls = rest.map((index) => listServiceCall(namespace, services[index] as string, { keyPrefix }));
      const replies = await runScripts(client, calls);
      for (const [position, index] of rest.entries()) {
        lists[index] = parseRecords(namespace, services[index] as string, replies[position]);
      }
    }
    return lists as StoredRecord[][];
  };

  let apicrud: ReturnType<typeof apicrudView> | undefined;
  const withLayout = (layout: KeyLayout) => {
    if (layout === 'native') return store;
    if (layout === 'apicrud') {
      apicrud ??= apicrudView({
        client,
        keyPrefix,
        layouts: LAYOUTS,
        attempt,
        withLayout,
        close: store.close,
      });
      return apicrud;
    }
    throw new RegistryError('unsupported', `the redis store has no key layout ${String(layout)}`);
  };

  const store = {
    name: 'redis',
    capabilities: {
      watch: true,
      nativeExpiry: true,
      layout: 'native',
      layouts: LAYOUTS,
      changeCount: true,
      probe: true,
    },

    put(ref: RecordRef, value: string, ttlMs: number, options: PutOptions = {}): Promise<void> {
      return attempt('put', async () => {
        const changed = options.changed !== false;
        if (!cluster) {
          await runScript(client, putCall(ref, value, ttlMs, { changed }));
          return;
        }
        // The directory lives in another slot: same round trip, another command.
        await Promise.all([
          runScript(client, putCall(ref, value, ttlMs, { directory: false, changed })),
          runScript(client, touchServiceCall(ref.namespace, ref.service, ttlMs, { changed })),
        ]);
      });
    },

    delete(ref: RecordRef): Promise<void> {
      return attempt('delete', async () => {
        if (!cluster) {
          await runScript(client, deleteCall(ref));
          return;
        }
        // The namespace's counter lives in the directory's slot: same round trip, another command.
        await Promise.all([
          runScript(client, deleteCall(ref, { directory: false })),
          runScript(client, bumpNamespaceCall(ref.namespace)),
        ]);
      });
    },

    list(namespace: string, service?: string): Promise<StoredRecord[]> {
      return attempt('list', async () => {
        if (service !== undefined) return listService(namespace, service);
        const services = parseServices(await runScript(client, listServicesCall(namespace)));
        return (await listServices(namespace, services)).flat();
      });
    },

    changeCount(namespace: string, service?: string): Promise<number> {
      return attempt('changeCount', async () =>
        parseChangeCount(await runScript(client, changeCountCall(namespace, service))),
      );
    },

    probe(namespace: string, services: readonly string[], horizonMs: number): Promise<ServiceProbe[]> {
      return attempt('probe', async () => {
        if (services.length === 0) return [];
        // A single Redis answers every service in one command; a Cluster one per service (its slot).
        if (!cluster) {
          return parseProbes(
            services,
            await runScript(client, probeServicesCall(namespace, services, horizonMs)),
          );
        }
        const replies = await runScripts(
          client,
          services.map((service) => probeServiceCall(namespace, service, horizonMs)),
        );
        return services.map((service, index) => parseProbe(service, replies[index]));
      });
    },

    // With `services`, one channel per service: a join then reaches only the readers of its service.
    watch(
      namespace: string,
      onChange: (service: string) => void,
      options?: StoreWatchOptions,
    ): Promise<() => Promise<void>> {
      return attempt('watch', async () => {
        assertName(namespace, 'namespace');
        const services = options?.services;
        if (services !== undefined) for (const service of services) assertName(service, 'service name');
        const channels =
          services === undefined
            ? [changesChannel(namespace)]
            : services.map((service) => serviceChannel(namespace, service));
        const stop = await notices.watch(channels, onChange, options?.onInterruption);
        return () => stop().catch((error: unknown) => Promise.reject(storeError('unwatch', error)));
      });
    },

    withLayout: (layout: KeyLayout): RegistryStore => withLayout(layout),

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      notices.close();
      if (!owned) return;
      // QUIT waits behind commands queued offline, which nothing flushes while every sentinel is
      // unreachable (the connection never fails, it keeps asking): a connection that is not ready
      // has nothing to flush, so it is dropped at once.
      if (client.status !== undefined && client.status !== 'ready') client.disconnect();
      else await client.quit().catch(() => client.disconnect());
    },
  } satisfies RegistryStore;
  return store;
}

/** The store `redisStore` returns: a `RegistryStore` with `watch` and `withLayout`. */
export type RedisStore = ReturnType<typeof redisStore>;
