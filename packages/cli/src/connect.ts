import { readFile } from 'node:fs/promises';
import {
  apicrudCodec,
  gcmCodec,
  type RecordCodec,
  type RecordRef,
  RegistryError,
  type RegistryStore,
  ServiceRegistry,
} from '@service-registry/core';
import type { Cluster, Redis } from 'ioredis';
import { DEMO_SECRET, type DemoFleet, startDemoFleet } from './demo-fleet.js';

/** The connection flags every command shares. */
export interface ConnectionFlags {
  redis?: string;
  upstash?: string;
  upstashToken?: string;
  memory?: boolean;
  demo?: boolean;
  secretFile?: string;
  namespace?: string;
  mode?: string;
}

/** The raw commands the CLI sends itself (TTL, SCAN), on whichever Redis client it opened. */
export interface RawRedis {
  pttl(key: string): Promise<number>;
  /** Every key under `<namespace>:`, on every master. */
  deleteNamespaceKeys(namespace: string): Promise<number>;
}

export interface Connection {
  readonly kind: 'redis' | 'upstash' | 'memory';
  readonly store: RegistryStore;
  readonly registry: ServiceRegistry;
  readonly codec: RecordCodec;
  readonly namespace: string;
  readonly mode: 'native' | 'apicrud';
  readonly secrets: readonly string[];
  /** The store's own key of a record (hash tags in the native Redis layout). */
  storeKey(ref: RecordRef): string;
  readonly raw: RawRedis | undefined;
  close(): Promise<void>;
}

export type Env = Record<string, string | undefined>;

async function readSecrets(flags: ConnectionFlags, env: Env): Promise<string[]> {
  let text: string | undefined;
  if (flags.secretFile !== undefined) {
    try {
      text = await readFile(flags.secretFile, 'utf8');
    } catch (error) {
      throw new RegistryError('invalid-secret', `cannot read --secret-file ${flags.secretFile}`, {
        cause: error,
      });
    }
  } else {
    text = env.REGISTRY_SECRET;
  }
  if (text === undefined || text.trim() === '') {
    if (flags.memory) return [DEMO_SECRET];
    throw new RegistryError('invalid-secret', 'no secret: set REGISTRY_SECRET or pass --secret-file <path>');
  }
  // One secret per line (the first encrypts, all decrypt), as for key rotation; never echoed.
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

function ioredisRaw(client: Redis | Cluster): RawRedis {
  return {
    pttl: (key) => client.pttl(key),
    async deleteNamespaceKeys(namespace) {
      const nodes =
        'isCluster' in client && client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
      let deleted = 0;
      for (const node of nodes) {
        let cursor = '0';
        do {
          // A shared Redis may hold many unrelated keys: large pages keep the round trips few.
          const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(namespace)}:*`, 'COUNT', 5000);
          cursor = next;
          for (const key of keys) deleted += await node.unlink(key);
        } while (cursor !== '0');
      }
      return deleted;
    },
  };
}

/** `redis+sentinel://[:password@]host:port[,host:port...]/<master name>` and `redis+cluster://host:port[,...]`. */
function hostList(text: string): { host: string; port: number }[] {
  return text.split(',').map((item) => {
    const [host, port] = item.split(':');
    if (!host || !port || !/^\d+$/.test(port)) {
      throw new RegistryError('invalid-argument', `"${item}" is not host:port`);
    }
    return { host, port: Number(port) };
  });
}

// Each store's client is loaded only when used: `--help`, `--memory` and Upstash never load ioredis.
async function openRedis(url: string): Promise<Redis | Cluster> {
  const { Cluster, Redis } = await import('ioredis');
  const defaults = {
    connectTimeout: 3_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
  };
  const special = /^redis\+(sentinel|cluster):\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/]+)(?:\/(.*))?$/.exec(url);
  let client: Redis | Cluster;
  if (special?.[1] === 'sentinel') {
    const name = special[4];
    if (!name)
      throw new RegistryError('invalid-argument', 'a redis+sentinel:// URL ends with /<master name>');
    client = new Redis({
      ...defaults,
      sentinels: hostList(special[3] as string),
      name,
      password: special[2] ? decodeURIComponent(special[2]) : undefined,
    });
  } else if (special?.[1] === 'cluster') {
    const password = special[2] ? decodeURIComponent(special[2]) : undefined;
    client = new Cluster(hostList(special[3] as string), { redisOptions: { ...defaults, password } });
  } else if (/^rediss?:\/\//.test(url)) {
    client = new Redis(url, defaults);
  } else {
    throw new RegistryError(
      'invalid-argument',
      '--redis takes redis://, rediss://, redis+sentinel://host:port,.../master or redis+cluster://host:port,...',
    );
  }
  client.on('error', () => {});
  return client;
}

/** Opens the store the flags (or the environment) name, and a read-only registry on it. */
export async function connect(flags: ConnectionFlags, env: Env): Promise<Connection> {
  const mode = flags.mode ?? 'native';
  if (mode !== 'native' && mode !== 'apicrud') {
    throw new RegistryError('invalid-argument', `--mode must be native or apicrud, got ${mode}`);
  }
  const namespace = flags.namespace ?? env.REGISTRY_NAMESPACE ?? 'reg';
  const secrets = await readSecrets(flags, env);
  const redisUrl = flags.redis ?? (flags.upstash || flags.memory ? undefined : env.REDIS_URL);
  const upstashUrl = flags.upstash ?? (flags.redis || flags.memory ? undefined : env.UPSTASH_REDIS_REST_URL);
  let kind: Connection['kind'];
  let store: RegistryStore;
  let raw: RawRedis | undefined;
  let closeClient: () => Promise<void> = async () => {};
  let fleet: DemoFleet | undefined;
  if (flags.memory) {
    kind = 'memory';
    const { memoryStore } = await import('@service-registry/store-memory');
    store = memoryStore();
    if (flags.demo !== false)
      fleet = await startDemoFleet({ store, namespace, secret: secrets[0] as string });
  } else if (redisUrl !== undefined) {
    kind = 'redis';
    const [client, { redisStore }] = await Promise.all([
      openRedis(redisUrl),
      import('@service-registry/store-redis'),
    ]);
    store = redisStore({ client });
    raw = ioredisRaw(client);
    closeClient = async () => {
      client.disconnect();
    };
  } else if (upstashUrl !== undefined) {
    kind = 'upstash';
    const token = flags.upstashToken ?? env.UPSTASH_REDIS_REST_TOKEN;
    if (!token) throw new RegistryError('invalid-argument', 'no Upstash token: set UPSTASH_REDIS_REST_TOKEN');
    const [{ upstashStore }, { Redis: UpstashRedis }] = await Promise.all([
      import('@service-registry/store-upstash'),
      import('@upstash/redis'),
    ]);
    store = upstashStore({ url: upstashUrl, token, timeoutMs: 5_000 });
    const client = new UpstashRedis({ url: upstashUrl, token, automaticDeserialization: false });
    raw = { pttl: (key) => client.pttl(key), deleteNamespaceKeys: async () => 0 };
  } else {
    throw new RegistryError(
      'invalid-argument',
      'no store: pass --redis URL, --upstash URL or --memory, or set REDIS_URL or UPSTASH_REDIS_REST_URL',
    );
  }
  // Commands that read the store directly (inspect, purge) read the mode's key layout too.
  if (mode === 'apicrud' && store.withLayout !== undefined) store = store.withLayout('apicrud');
  const registry = new ServiceRegistry({ store, secret: secrets, namespace, mode });
  const codec = mode === 'apicrud' ? apicrudCodec(secrets) : gcmCodec(secrets);
  // The memory store keeps logical keys; Redis and Upstash tag the service in the native layout.
  const apicrudLayout = mode === 'apicrud' || kind === 'memory';
  return {
    kind,
    store,
    registry,
    codec,
    namespace,
    mode,
    secrets,
    raw,
    storeKey: (ref) =>
      apicrudLayout
        ? `${ref.namespace}:${ref.service}:${ref.instanceId}`
        : `${ref.namespace}:{${ref.service}}:${ref.instanceId}`,
    async close() {
      await fleet?.stop();
      await registry.close();
      await store.close();
      await closeClient();
    },
  };
}
