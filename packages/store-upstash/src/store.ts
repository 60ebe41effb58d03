import {
  assertKnownOptions,
  type KeyLayout,
  type PutOptions,
  type PutResult,
  type RecordRef,
  RegistryError,
  type RegistryStore,
  type ServiceProbe,
  type StoredRecord,
} from '@service-registry/core';
import {
  changeCountCall,
  checkedSnapshotKey,
  deleteCall,
  listServiceCall,
  listServicesCall,
  parseChangeCount,
  parseProbe,
  parseRecords,
  parseServices,
  parseSnapshotReply,
  probeServiceCall,
  putCall,
  readPutReply,
  recordKey,
  snapshotWrite,
  UpkeepHorizons,
} from '@service-registry/redis-layout';
import { apicrudView } from './apicrud.js';
import {
  assertRawStrings,
  createClient,
  type UpstashClientLike,
  type UpstashConnectionOptions,
} from './client.js';
import { closedError, storeError } from './errors.js';
import { runScript, runScripts } from './run-scripts.js';

/** `upstashStore({ client })`: a client the caller created (and may share); the store never closes it. */
export interface UpstashStoreClientOptions {
  /**
   * An `@upstash/redis` `Redis` created with `automaticDeserialization: false` (a client that parses
   * JSON is refused). Give it a deadline and bounded retries: see `upstashClientDefaults`.
   */
  client: UpstashClientLike;
  url?: undefined;
  token?: undefined;
}

/** `upstashStore({ url, token })`: the store creates its client with `upstashClientDefaults`. */
export type UpstashStoreUrlOptions = UpstashConnectionOptions & { client?: undefined };

export type UpstashStoreOptions = UpstashStoreClientOptions | UpstashStoreUrlOptions;

const LAYOUTS: readonly KeyLayout[] = ['native', 'apicrud'];

/** Options of `upstashStore.fromEnv`. */
export interface UpstashFromEnvOptions {
  /**
   * Where to read `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` (or Vercel's
   * `KV_REST_API_URL` and `KV_REST_API_TOKEN`): a Worker's `env` binding. Default `process.env`.
   */
  env?: Readonly<Record<string, unknown>>;
  /** See `UpstashConnectionOptions.timeoutMs`. Default 5000. */
  timeoutMs?: number;
  /** See `UpstashConnectionOptions.retries`. Default 1. */
  retries?: number;
}

// The store is built by `createStore`, apart from `upstashStore`, so `UpstashStore` can name its type:
// derived from `upstashStore` with `fromEnv` attached, the published declarations were circular
// (TS2502 for every user whose tsc checks library types).
function createStore(options: UpstashStoreOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryError('invalid-argument', 'upstashStore needs { client } or { url, token }');
  }
  assertKnownOptions(options, ['client', 'url', 'token', 'timeoutMs', 'retries'], 'upstashStore option');
  let client: UpstashClientLike;
  let where: string | undefined;
  if (options.client === undefined) {
    client = createClient(options);
    where = new URL(options.url).host;
  } else {
    if (options.url !== undefined || options.token !== undefined) {
      throw new RegistryError('invalid-argument', 'pass either a client or url and token, not both');
    }
    client = options.client;
    assertRawStrings(client);
  }
  let closed = false;

  async function attempt<T>(operation: string, action: () => Promise<T>): Promise<T> {
    if (closed) throw closedError(operation);
    try {
      return await action();
    } catch (error) {
      throw storeError(operation, error, where);
    }
  }

  let apicrud: ReturnType<typeof apicrudView> | undefined;
  // The upkeep horizon of each service written through this store: routine puts skip the check.
  const horizons = new UpkeepHorizons();
  const withLayout = (layout: KeyLayout) => {
    if (layout === 'native') return store;
    if (layout === 'apicrud') {
      apicrud ??= apicrudView({ client, layouts: LAYOUTS, attempt, withLayout, close: store.close });
      return apicrud;
    }
    throw new RegistryError('unsupported', `the upstash store has no key layout ${String(layout)}`);
  };

  // A plain string key in the service's slot (`snapshotKey`), outside every script: writing it moves
  // no counter, and no list or probe reads it. Reading it takes GET, which a custom client may lack.
  const getKey = typeof client.get === 'function' ? client.get.bind(client) : undefined;
  const snapshotMethods = getKey && {
    getSnapshot(namespace: string, service: string): Promise<string | Uint8Array | null> {
      return attempt('getSnapshot', async () =>
        parseSnapshotReply(await getKey(checkedSnapshotKey(namespace, service))),
      );
    },
    putSnapshot(namespace: string, service: string, value: string, ttlMs: number): Promise<void> {
      return attempt('putSnapshot', async () => {
        const write = snapshotWrite(namespace, service, value, ttlMs);
        await client.set(write.key, write.value, { px: write.ttlMs });
      });
    },
  };

  const store = {
    name: 'upstash',
    // REST cannot hold a subscription: core polls, the change counter first (one small request).
    // Records expire through PX.
    capabilities: {
      watch: false,
      nativeExpiry: true,
      layout: 'native',
      layouts: LAYOUTS,
      time: typeof client.time === 'function',
      get: typeof client.get === 'function',
      comparePrevious: true,
      changeCount: true,
      probe: true,
      snapshot: snapshotMethods !== undefined,
    },
    ...snapshotMethods,

    /** `GET` of the record key: one request. */
    get(ref: RecordRef): Promise<string | null> {
      return attempt('get', async () => {
        if (typeof client.get !== 'function')
          throw new RegistryError('unsupported', 'this client has no get()');
        const reply = await client.get(recordKey(ref));
        return typeof reply === 'string' ? reply : null;
      });
    },

    /** Redis `TIME`: one request, at most once per 30 s per registry. */
    time(): Promise<number> {
      return attempt('time', async () => {
        if (typeof client.time !== 'function')
          throw new RegistryError('unsupported', 'this client has no time()');
        const reply = await client.time();
        if (!Array.isArray(reply) || reply.length < 2) throw new Error('TIME answered something else');
        const seconds = Number(reply[0]);
        const micros = Number(reply[1]);
        if (!Number.isFinite(seconds) || !Number.isFinite(micros))
          throw new Error('TIME answered non-numbers');
        return seconds * 1000 + Math.floor(micros / 1000);
      });
    },

    // One request, comparison with what this writer wrote last included (`expectPrevious`).
    put(
      ref: RecordRef,
      value: string,
      ttlMs: number,
      options: PutOptions = {},
    ): Promise<PutResult | undefined> {
      return attempt('put', async () => {
        const { expectPrevious } = options;
        // Routine refreshes publish nothing, so store-redis watchers of a shared database stay quiet.
        const answered = readPutReply(
          await runScript(
            client,
            putCall(ref, value, ttlMs, {
              changed: options.changed !== false,
              expectPrevious,
              horizon: horizons.get(ref),
            }),
          ),
        );
        horizons.learn(ref, answered.horizon);
        return expectPrevious === undefined ? undefined : answered.result;
      });
    },

    delete(ref: RecordRef): Promise<void> {
      return attempt('delete', async () => {
        await runScript(client, deleteCall(ref));
      });
    },

    list(namespace: string, service?: string): Promise<StoredRecord[]> {
      return attempt('list', async () => {
        if (service !== undefined) {
          const reply = await runScript(client, listServiceCall(namespace, service));
          return parseRecords(namespace, service, reply);
        }
        const services = parseServices(await runScript(client, listServicesCall(namespace)));
        const replies = await runScripts(
          client,
          services.map((name) => listServiceCall(namespace, name)),
        );
        return services.flatMap((name, index) => parseRecords(namespace, name, replies[index]));
      });
    },

    changeCount(namespace: string, service?: string): Promise<number> {
      return attempt('changeCount', async () =>
        parseChangeCount(await runScript(client, changeCountCall(namespace, service))),
      );
    },

    // Every service in one pipeline: one request.
    probe(namespace: string, services: readonly string[], horizonMs: number): Promise<ServiceProbe[]> {
      return attempt('probe', async () => {
        if (services.length === 0) return [];
        const calls = services.map((service) => probeServiceCall(namespace, service, horizonMs));
        const replies = await runScripts(client, calls);
        return services.map((service, index) => parseProbe(service, replies[index]));
      });
    },

    withLayout: (layout: KeyLayout): RegistryStore => withLayout(layout),

    // Nothing to release: requests are independent HTTP calls, and an injected client is the caller's.
    async close(): Promise<void> {
      closed = true;
    },
  } satisfies RegistryStore;
  return store;
}

/** The store `upstashStore` returns: a `RegistryStore` with `withLayout`, without `watch`. */
export type UpstashStore = ReturnType<typeof createStore>;

const URL_VARIABLES = ['UPSTASH_REDIS_REST_URL', 'KV_REST_API_URL'] as const;
const TOKEN_VARIABLES = ['UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_TOKEN'] as const;

function readVariable(env: Readonly<Record<string, unknown>>, names: readonly string[]): string {
  for (const name of names) {
    const value = env[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  throw new RegistryError(
    'invalid-argument',
    `${names[0]} is not set (nor ${names.slice(1).join(', ')}): set it to your Upstash database's REST ` +
      'credentials, or pass { url, token } to upstashStore',
  );
}

/**
 * `upstashStore({ url, token })` from `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`, read
 * from `options.env` (a Worker's bindings) or `process.env`. A missing variable is `invalid-argument`.
 */
export function fromEnv(options: UpstashFromEnvOptions = {}): UpstashStore {
  assertKnownOptions(options, ['env', 'timeoutMs', 'retries'], 'upstashStore.fromEnv option');
  const env = options.env ?? (globalThis as { process?: { env?: Record<string, unknown> } }).process?.env;
  if (typeof env !== 'object' || env === null) {
    throw new RegistryError(
      'invalid-argument',
      'no environment to read UPSTASH_REDIS_REST_URL from: pass fromEnv({ env }) (on Workers, the env binding)',
    );
  }
  return createStore({
    url: readVariable(env, URL_VARIABLES),
    token: readVariable(env, TOKEN_VARIABLES),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
  });
}

/** `upstashStore(options)`, and `upstashStore.fromEnv(options)`. */
export interface UpstashStoreFactory {
  (options: UpstashStoreOptions): UpstashStore;
  /** See `fromEnv`. */
  fromEnv(options?: UpstashFromEnvOptions): UpstashStore;
}

/**
 * A `RegistryStore` on Upstash Redis over HTTPS, with the same keys and scripts as store-redis
 * (see `@service-registry/redis-layout`), so both can share one database. One request per refresh,
 * per delete and per `list(ns, service)`; `list(ns)` is two (one when the namespace is empty).
 * `withLayout('apicrud')` is the same client in Python apicrud's layout (SET EX, listed by SCAN).
 */
export const upstashStore: UpstashStoreFactory = Object.assign(
  (options: UpstashStoreOptions): UpstashStore => createStore(options),
  { fromEnv },
);
