import {
  assertKnownOptions,
  assertName,
  type KeyLayout,
  type PutOptions,
  type PutResult,
  type RecordRef,
  RegistryError,
  type RegistryStore,
  type ServiceProbe,
  type StoredRecord,
  type StoreWatchOptions,
} from '@service-registry/core';
import {
  brokenIndexRecord,
  bumpNamespaceCall,
  changeCountCall,
  changesChannel,
  checkedSnapshotKey,
  deleteCall,
  listServiceCall,
  listServicesCall,
  parseChangeCount,
  parseProbe,
  parseProbes,
  parseRecords,
  parseServices,
  parseSnapshotReply,
  probeServiceCall,
  probeServicesCall,
  putCall,
  type RoutineOutcome,
  RoutineRefresh,
  readPutReply,
  recordKey,
  serviceChannel,
  snapshotWrite,
  touchServiceCall,
  UpkeepHorizons,
} from '@service-registry/redis-layout';
import type { RedisOptions } from 'ioredis';
import { apicrudView } from './apicrud.js';
import { openConnection, ownedConnectionDefaults, type RedisClientLike } from './client.js';
import {
  type ConnectionWatch,
  clientTarget,
  optionsTarget,
  parseRedisUrl,
  REDIS_STORE_OPTION_KEYS,
  watchConnection,
} from './connection.js';
import { closedError, storeError } from './errors.js';
import { corkableStream, RoutineBatches } from './routine-batch.js';
import { runScript, runScripts } from './run-scripts.js';
import { canSortList, isSortRefused, isWrongType, parseSortReply, sortListArguments } from './sort-list.js';
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

// Clients whose server refused a routine refresh's `SET ... PXAT` (before Redis 6.2): script only.
const routineRefused = new WeakSet<RedisClientLike>();

/**
 * A `RegistryStore` on Redis, Sentinel or Redis Cluster (see `@service-registry/redis-layout` for
 * the keys). A refresh is one round trip: two or three plain commands when routine (refreshes sent
 * together share one `ZADD` per service and one `PTTL`), else the put script.
 * `list(ns, service)` is one `SORT_RO … GET` on a single Redis (the read-only list script on a
 * Cluster); `list(ns)` is two round trips. Reads never write, so a server
 * out of memory under `noeviction` still answers them.
 * `withLayout('apicrud')` is the same connection in Python apicrud's layout (SCAN-based, no watch).
 */
export function redisStore(options: RedisStoreOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryError('invalid-argument', 'redisStore needs { url }, connection options or { client }');
  }
  assertKnownOptions(options, REDIS_STORE_OPTION_KEYS, 'redisStore option', { onlyNear: true });
  const owned = options.client === undefined;
  let client: RedisClientLike;
  let connection: ConnectionWatch;
  if (options.client === undefined) {
    const { url, client: _none, ...connectionOptions } = options;
    // A URL that cannot be right, or no connection at all, is refused here (connection.ts).
    const target =
      'url' in options ? parseRedisUrl(url, connectionOptions.db) : optionsTarget(connectionOptions);
    client = openConnection(url, connectionOptions);
    connection = watchConnection(client, target, { ...ownedConnectionDefaults, ...connectionOptions }, true);
  } else {
    client = options.client;
    connection = watchConnection(client, clientTarget(client), {}, false);
  }
  const cluster = client.isCluster === true;
  // The upkeep horizon of each service written through this store: routine puts skip the check.
  const horizons = new UpkeepHorizons();
  const routine = new RoutineRefresh(horizons);
  const keyPrefix = client.options?.keyPrefix ?? '';
  const notices = createWatchHub(client);
  let closed = false;

  const batches = new RoutineBatches(client);

  // A routine refresh in one write and one round trip. A single connection sends it corked, in the
  // batch of this turn's refreshes (routine-batch.ts): far cheaper for the client than an ioredis
  // pipeline. A Cluster pipelines its three commands (one slot).
  const sendRoutine = async (
    ref: RecordRef,
    value: string,
    expiresAt: number,
    ttlMs: number,
    expectPrevious: string | undefined,
    sentAt: number,
  ): Promise<RoutineOutcome> => {
    const stream = corkableStream(client);
    if (stream !== undefined) {
      const { set, entry } = routine.batchWrites(ref, value, expiresAt, expectPrevious);
      const { replies, storeNow } = await batches.send(stream, ref, set, entry, expiresAt);
      return routine.readWrites(replies, expiresAt, ttlMs, expectPrevious, sentAt, storeNow);
    }
    const pipeline = client.pipeline();
    for (const [command, ...args] of routine.commands(ref, value, expiresAt, expectPrevious)) {
      pipeline.call(command, ...args);
    }
    const replies = await pipeline.exec();
    if (!replies) throw new Error('the pipeline was discarded');
    return routine.read(replies, expiresAt, ttlMs, expectPrevious, sentAt);
  };

  async function attempt<T>(operation: string, action: () => Promise<T>): Promise<T> {
    if (closed) throw closedError(operation);
    try {
      const checking = connection.ready();
      if (checking !== undefined) await checking;
      const result = await action();
      connection.ok();
      return result;
    } catch (error) {
      throw storeError(operation, error, connection);
    }
  }

  const listServiceByScript = async (namespace: string, service: string): Promise<StoredRecord[]> =>
    parseRecords(
      namespace,
      service,
      await runScript(client, listServiceCall(namespace, service, { keyPrefix })),
    );

  // A single Redis reads with SORT_RO … GET (see sort-list.ts); a Cluster, or a server that refuses
  // it, with the list script. A service index of the wrong type is one bad entry, not a failed list.
  let sortList = canSortList(client, keyPrefix);

  const sortReply = (namespace: string, service: string, error: unknown, reply: unknown) => {
    if (!error) return parseSortReply(namespace, service, reply);
    if (isWrongType(error)) return [brokenIndexRecord(namespace, service, 'key of another type')];
    if (isSortRefused(error)) {
      sortList = false;
      return undefined;
    }
    throw error;
  };

  const listService = async (namespace: string, service: string): Promise<StoredRecord[]> => {
    if (sortList) {
      const args = sortListArguments(namespace, service);
      const records = await client.call('SORT_RO', ...args).then(
        (reply) => sortReply(namespace, service, null, reply),
        (error: unknown) => sortReply(namespace, service, error, undefined),
      );
      if (records) return records;
    }
    return listServiceByScript(namespace, service);
  };

  // Every service of a namespace: one pipeline of SORT_ROs (one list script call per service on a
  // Cluster, one pipeline per node).
  const listServices = async (namespace: string, services: readonly string[]): Promise<StoredRecord[][]> => {
    const lists: (StoredRecord[] | undefined)[] = new Array(services.length);
    if (sortList && services.length > 0) {
      const pipeline = client.pipeline();
      for (const name of services) pipeline.call('SORT_RO', ...sortListArguments(namespace, name));
      const replies = await pipeline.exec();
      if (!replies) throw new Error('the pipeline was discarded');
      for (const [index, [error, reply]] of replies.entries()) {
        lists[index] = sortReply(namespace, services[index] as string, error, reply);
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
      time: true,
      get: true,
      comparePrevious: true,
      changeCount: true,
      probe: true,
      snapshot: true,
    },

    /** `GET` of the record key (ioredis adds a `keyPrefix`; a Cluster routes it to the record's slot). */
    get(ref: RecordRef): Promise<string | null> {
      return attempt('get', async () => {
        const reply = await client.call('GET', recordKey(ref));
        return typeof reply === 'string' ? reply : reply instanceof Buffer ? reply.toString('utf8') : null;
      });
    },

    /** Redis `TIME` (on a Cluster, of whichever node answers: their clocks follow NTP like any host's). */
    time(): Promise<number> {
      return attempt('time', async () => parseTimeReply(await client.call('TIME')));
    },

    // A routine refresh is two or three plain commands in one write (routine-refresh.ts in
    // redis-layout, routine-batch.ts);
    // a join, a changed record or upkeep that is due runs the put script, which also compares what
    // the record held with `expectPrevious`: no extra command either way.
    put(
      ref: RecordRef,
      value: string,
      ttlMs: number,
      options: PutOptions = {},
    ): Promise<PutResult | undefined> {
      return attempt('put', async () => {
        const changed = options.changed !== false;
        const { expectPrevious } = options;
        let known: PutResult | undefined;
        const plannedAt = performance.now();
        const planned = routineRefused.has(client) ? undefined : routine.plan(ref, ttlMs, changed, plannedAt);
        if (planned !== undefined) {
          const outcome = await sendRoutine(ref, value, planned, ttlMs, expectPrevious, plannedAt);
          if (outcome.done) return expectPrevious === undefined ? undefined : outcome.result;
          if (outcome.unsupported) routineRefused.add(client);
          known = outcome.result;
        }
        // The routine SET already read what the record held: the script need not compare again.
        const compare = known === undefined ? expectPrevious : undefined;
        const horizon = horizons.get(ref);
        const sentAt = performance.now();
        const read = (reply: unknown) => {
          const answered = readPutReply(reply);
          routine.learnScript(ref, answered, ttlMs, sentAt);
          if (expectPrevious === undefined) return undefined;
          return known ?? answered.result;
        };
        if (!cluster) {
          return read(
            await runScript(
              client,
              putCall(ref, value, ttlMs, { changed, expectPrevious: compare, horizon }),
            ),
          );
        }
        // The directory lives in another slot: same round trip, another command. Only the script
        // path touches it (a join, a change, upkeep due): it extends the service's entry past the
        // upkeep horizon this put learns, so routine refreshes until then need not.
        const [reply] = await Promise.all([
          runScript(
            client,
            putCall(ref, value, ttlMs, { directory: false, changed, expectPrevious: compare, horizon }),
          ),
          runScript(client, touchServiceCall(ref.namespace, ref.service, ttlMs, { changed })),
        ]);
        return read(reply);
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

    // A plain string key in the service's slot (`snapshotKey`), outside every script: writing it
    // moves no counter, sends no notice, and no list or probe reads it.
    // As bytes: ioredis makes a string of a bulk reply, and a snapshot's (hundreds of kilobytes) cost
    // several times what reading it did.
    getSnapshot(namespace: string, service: string): Promise<string | Uint8Array | null> {
      return attempt('getSnapshot', async () =>
        parseSnapshotReply(
          await (client.callBuffer ?? client.call).call(
            client,
            'GET',
            checkedSnapshotKey(namespace, service),
          ),
        ),
      );
    },

    putSnapshot(namespace: string, service: string, value: string, ttlMs: number): Promise<void> {
      return attempt('putSnapshot', async () => {
        const write = snapshotWrite(namespace, service, value, ttlMs);
        await client.call('SET', write.key, write.value, 'PX', String(write.ttlMs));
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

/** `TIME` answers `[seconds, microseconds]` as strings; the store's clock in ms. */
export function parseTimeReply(reply: unknown): number {
  if (!Array.isArray(reply) || reply.length < 2)
    throw new Error('TIME answered something else than [seconds, microseconds]');
  const seconds = Number(reply[0]);
  const micros = Number(reply[1]);
  if (!Number.isFinite(seconds) || !Number.isFinite(micros)) throw new Error('TIME answered non-numbers');
  return seconds * 1000 + Math.floor(micros / 1000);
}

/** The store `redisStore` returns: a `RegistryStore` with `watch` and `withLayout`. */
export type RedisStore = ReturnType<typeof redisStore>;
