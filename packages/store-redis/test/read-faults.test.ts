import { isRegistryError, ServiceRegistry } from '@service-registry/core';
import { indexKey } from '@service-registry/redis-layout';
import { type RedisServer, randomNamespace, startRedisServer } from '@service-registry/redis-testing';
import { SECRET } from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisStore, redisStore } from '../src/index.js';

// Reads against a server that refuses writes (maxmemory reached under noeviction) and against a
// service index of the wrong type, on redis-servers this file owns. Each runs both read paths: SORT_RO
// (a plain client) and the list script (a client whose keyPrefix holds a `*`, as a Cluster reads).

const SERVICES = ['api', 'billing', 'search'];
const prefixes = { sort: '', script: 'x*:' } as const;

function storeFor(server: RedisServer, keyPrefix: string): RedisStore {
  return redisStore({ url: server.url, keyPrefix });
}

/** Registers two instances of every service in `ns` through `store`; returns the registries. */
async function registerAll(store: RedisStore, ns: string): Promise<ServiceRegistry[]> {
  const registries: ServiceRegistry[] = [];
  for (const service of SERVICES) {
    for (const id of ['i-1', 'i-2']) {
      const registry = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: `https://${service}-${id}.example.com`,
        namespace: ns,
        ttl: 60,
        interval: 20,
      });
      await registry.register([service], { serviceName: service, instanceId: id, port: 8080 });
      registries.push(registry);
    }
  }
  return registries;
}

function reader(store: RedisStore, ns: string): ServiceRegistry {
  return new ServiceRegistry({
    store,
    secret: SECRET,
    publicUrl: 'https://reader.example.com',
    namespace: ns,
  });
}

describe('redis reads on a full server (maxmemory reached, noeviction)', () => {
  let server: RedisServer;
  const registries: ServiceRegistry[] = [];
  const stores: RedisStore[] = [];
  const namespaces = { sort: randomNamespace('oom'), script: randomNamespace('oom') };

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    for (const path of ['sort', 'script'] as const) {
      const store = storeFor(server, prefixes[path]);
      stores.push(store);
      registries.push(...(await registerAll(store, namespaces[path])));
    }
    // Fill the server with 2 MB, then cap its memory below what it holds: full, refusing writes.
    const admin = new Redis(server.url);
    const filler = 'x'.repeat(10_000);
    for (let index = 0; index < 200; index++) await admin.set(`filler:${index}`, filler);
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
    await admin.config('SET', 'maxmemory', String(used - 500_000));
    await expect(admin.set('one-more', filler)).rejects.toThrow(/OOM/);
    admin.disconnect();
  });
  afterAll(async () => {
    for (const registry of registries) await registry.close().catch(() => {});
    for (const store of stores) await store.close();
    await server?.stop();
  });

  for (const path of ['sort', 'script'] as const) {
    it(`find() lists every record while writes fail with OOM (${path} path)`, async () => {
      const store = stores[path === 'sort' ? 0 : 1] as RedisStore;
      const ns = namespaces[path];
      const error = await store.put({ namespace: ns, service: 'api', instanceId: 'i-9' }, 'v', 60_000).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect(String(error)).toMatch(/OOM/);

      const registry = reader(store, ns);
      const all = await registry.find();
      expect(all.instances).toHaveLength(SERVICES.length * 2);
      expect(all.rejected).toBe(0);
      expect((await registry.find('billing')).instances.map((instance) => instance.id).sort()).toEqual([
        'i-1',
        'i-2',
      ]);
    });
  }

  it('after SCRIPT FLUSH the read-only scripts load again with EVAL_RO on the full server', async () => {
    const admin = new Redis(server.url);
    await admin.script('FLUSH');
    admin.disconnect();
    for (const path of ['sort', 'script'] as const) {
      const store = stores[path === 'sort' ? 0 : 1] as RedisStore;
      expect(await store.list(namespaces[path])).toHaveLength(SERVICES.length * 2);
    }
  });
});

describe('redis reads over a service index of the wrong type', () => {
  let server: RedisServer;
  const registries: ServiceRegistry[] = [];
  const stores: RedisStore[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const registry of registries) await registry.close().catch(() => {});
    for (const store of stores) await store.close();
    await server?.stop();
  });

  for (const path of ['sort', 'script'] as const) {
    it(`find() skips and counts the broken index and lists the other services (${path} path)`, async () => {
      const store = storeFor(server, prefixes[path]);
      stores.push(store);
      const ns = randomNamespace('wrongtype');
      registries.push(...(await registerAll(store, ns)));
      const admin = new Redis(server.url, { keyPrefix: prefixes[path] });
      await admin.set(indexKey(ns, 'billing'), 'overwritten by hand');
      admin.disconnect();

      const registry = reader(store, ns);
      const rejections: { key: string; reason: string }[] = [];
      registry.on('rejected-record', (rejection) => rejections.push(rejection));
      const all = await registry.find();
      expect(all.instances.map((instance) => instance.name).sort()).toEqual([
        'api',
        'api',
        'search',
        'search',
      ]);
      expect(all.rejected).toBe(1);
      expect(rejections).toEqual([
        { key: indexKey(ns, 'billing'), reason: expect.stringMatching(/service index .* not a sorted set/) },
      ]);
      const billing = await registry.find('billing');
      expect(billing.instances).toEqual([]);
      expect(billing.rejected).toBe(1);
      expect(registry.health().rejectedRecords).toBe(2);
    });
  }
});

describe('redis reads on a server without the read-only commands (before Redis 7.0)', () => {
  let server: RedisServer;
  let store: RedisStore;

  beforeAll(async () => {
    // Renamed away, the server answers as Redis 6 does: ERR unknown command.
    const gone = ['SORT_RO', 'EVALSHA_RO', 'EVAL_RO'].flatMap((command) => ['--rename-command', command, '']);
    server = await startRedisServer({ args: gone });
    store = storeFor(server, '');
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('find() falls back to the list script sent with EVALSHA, and keeps working', async () => {
    const ns = randomNamespace('old');
    for (const service of SERVICES) {
      await store.put({ namespace: ns, service, instanceId: 'i-1' }, service, 60_000);
    }
    for (let round = 0; round < 2; round++) {
      expect((await store.list(ns)).map((record) => record.value).sort()).toEqual([...SERVICES].sort());
      expect((await store.list(ns, 'api')).map((record) => record.value)).toEqual(['api']);
    }
  });
});
