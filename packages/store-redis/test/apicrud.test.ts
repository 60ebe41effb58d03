import {
  type FindResult,
  isRegistryError,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
} from '@service-registry/core';
import { keySlot } from '@service-registry/redis-layout';
import {
  apicrudDecrypt,
  apicrudEncrypt,
  apicrudVectors,
  deleteNamespace,
  pythonRecordVector,
  type RedisCluster,
  type RedisServer,
  randomNamespace,
  seedValue,
  startRedisCluster,
  startRedisServer,
  traceClient,
} from '@service-registry/redis-testing';
import { runRegistryScenarios } from '@service-registry/test-suite';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../src/index.js';
import { redis } from './found-redis.js';
import { skipped } from './skipped.js';

// The tests' own implementation of Python apicrud's record format (redis-testing's apicrud-format.ts),
// written from its description and not from core's codec, and the vectors Python apicrud made.
const vectors = apicrudVectors();
// A record that Python apicrud itself encrypted: the bytes of a real apicrud registry value.
const pythonRecord = pythonRecordVector();

const SECRET = pythonRecord.secret;
const OTHER_SECRET = 'another-cluster-secret-abcdef';
const names = (result: FindResult) => result.instances.map((instance) => `${instance.name}:${instance.id}`);

/** Registries in apicrud mode on one store, closed after each suite. */
function registries(getStore: () => RegistryStore) {
  const open: ServiceRegistry[] = [];
  const make = (overrides: Partial<RegistryOptions> = {}) => {
    const registry = new ServiceRegistry({
      store: getStore(),
      mode: 'apicrud',
      secret: SECRET,
      publicUrl: 'https://ts.example.com',
      baseUrl: '/api/v1',
      ...overrides,
    });
    open.push(registry);
    return registry;
  };
  const closeAll = () => Promise.allSettled(open.splice(0).map((registry) => registry.close()));
  return { make, closeAll };
}

describe("the test's own apicrud format", () => {
  it('decrypts every vector Python apicrud wrote, so it can judge the registry', () => {
    expect(vectors).toHaveLength(18);
    for (const vector of vectors)
      expect(apicrudDecrypt(vector.secret, vector.ciphertext)).toBe(vector.plaintext);
    const info = { endpoints: ['account', 'location'], ipv4: '10.0.0.7', port: 8080 };
    expect(apicrudDecrypt(SECRET, seedValue(SECRET, info))).toBe(pythonRecord.plaintext);
  });
});

if (redis) {
  const found = redis;
  afterAll(() => found.stop());

  describe('redis store, apicrud mode', () => {
    let admin: Redis;
    let store: RegistryStore;
    const namespaces: string[] = [];
    const namespace = () => {
      const created = randomNamespace('api');
      namespaces.push(created);
      return created;
    };
    const { make, closeAll } = registries(() => store);

    beforeAll(() => {
      admin = new Redis(found.url);
      store = redisStore({ url: found.url });
    });
    afterAll(async () => {
      await closeAll();
      await store.close();
      for (const name of namespaces) await deleteNamespace(admin, name);
      admin.disconnect();
    });

    it('finds a record that Python apicrud encrypted, at <namespace>:<service>:<id>', async () => {
      const ns = namespace();
      await admin.set(`${ns}:account:py-1`, pythonRecord.ciphertext, 'EX', 60);
      const result = await make({ namespace: ns }).find();
      expect(result).toEqual({
        instances: [
          {
            name: 'account',
            id: 'py-1',
            info: {
              endpoints: ['account', 'location'],
              ipv4: '10.0.0.7',
              port: 8080,
              publicUrl: 'https://api.example.com',
              created: '2026-11-26T20:00:00',
            },
            status: 'up',
            meta: {},
            expiresAt: null,
          },
        ],
        urlMap: {
          account: 'https://api.example.com/api/v1',
          location: 'https://api.example.com/api/v1',
        },
        conflicts: [],
        rejected: 0,
      });
    });

    it("finds records in apicrud's byte format, of one service or of all", async () => {
      const ns = namespace();
      await admin.set(`${ns}:main:i-1`, seedValue(SECRET, { endpoints: ['account'] }), 'EX', 60);
      await admin.set(
        `${ns}:media:m-1`,
        seedValue(SECRET, {
          endpoints: ['file', 'picture'],
          ipv4: null,
          public_url: 'https://media.example.com',
        }),
        'EX',
        60,
      );
      await admin.set(`${ns}:mediator:x-1`, seedValue(SECRET, { endpoints: ['queue'] }), 'EX', 60);
      const registry = make({ namespace: ns });
      const all = await registry.find();
      expect(names(all)).toEqual(['main:i-1', 'media:m-1', 'mediator:x-1']);
      expect(all.instances[1]?.info).toEqual({
        endpoints: ['file', 'picture'],
        ipv4: null,
        port: 8080,
        publicUrl: 'https://media.example.com',
        created: '2026-11-26T20:00:00',
      });
      expect(all.urlMap).toEqual({
        account: 'https://api.example.com/api/v1',
        file: 'https://media.example.com/api/v1',
        picture: 'https://media.example.com/api/v1',
        queue: 'https://api.example.com/api/v1',
      });
      expect(names(await registry.find('media'))).toEqual(['media:m-1']);
    });

    it('writes what apicrud reads: exactly its key, its fields and SET EX, nothing else', async () => {
      const ns = namespace();
      const registry = make({ namespace: ns });
      const before = Date.now();
      await registry.register(['account', 'zähler'], {
        serviceName: 'main',
        instanceId: 'ts-1',
        port: 8080,
        ipv4: '10.0.0.9',
        refresh: false,
      });
      const after = Date.now();
      const key = `${ns}:main:ts-1`;
      expect(await admin.keys(`${ns}:*`)).toEqual([key]);
      expect(await admin.type(key)).toBe('string');
      const ttl = await admin.ttl(key);
      expect(ttl).toBeGreaterThan(55);
      expect(ttl).toBeLessThanOrEqual(60);
      const plaintext = apicrudDecrypt(SECRET, (await admin.get(key)) as string);
      // ASCII, as Python's json.dumps writes it: apicrud's own character padding could encrypt it.
      expect(plaintext).toMatch(/^[\x20-\x7e]+$/);
      const json = JSON.parse(plaintext) as Record<string, unknown>;
      // apicrud's fields, then name, id and the record's own expiry (apicrud returns extra fields as they
      // are); no format version.
      expect(Object.keys(json)).toEqual([
        'endpoints',
        'ipv4',
        'port',
        'public_url',
        'created',
        'name',
        'id',
        'expires_at',
      ]);
      expect(json).toMatchObject({
        endpoints: ['account', 'zähler'],
        ipv4: '10.0.0.9',
        port: 8080,
        public_url: 'https://ts.example.com',
        name: 'main',
        id: 'ts-1',
      });
      expect(json.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      // Whole milliseconds since the epoch, the default apicrud-mode ttl (60 s) after the write.
      expect(Number.isInteger(json.expires_at)).toBe(true);
      expect(json.expires_at).toBeGreaterThanOrEqual(before + 60_000);
      expect(json.expires_at).toBeLessThanOrEqual(after + 60_000);

      // Status and meta only when not the defaults; apicrud ignores them, our readers use them.
      await registry.setStatus('draining');
      const changed = JSON.parse(apicrudDecrypt(SECRET, (await admin.get(key)) as string));
      expect(changed.status).toBe('draining');
      expect(changed.meta).toBeUndefined();
      expect(Object.keys(changed)).toEqual([
        'endpoints',
        'ipv4',
        'port',
        'public_url',
        'created',
        'name',
        'id',
        'expires_at',
        'status',
      ]);
      expect(changed.expires_at).toBeGreaterThanOrEqual(json.expires_at as number);
      await registry.deregister();
      expect(await admin.exists(key)).toBe(0);
    });

    it('rounds a fractional ttl up to whole seconds', async () => {
      const ns = namespace();
      await make({ namespace: ns, ttl: 2.2, interval: 1 }).register(['account'], {
        serviceName: 'main',
        instanceId: 'ts-1',
        port: 8080,
        refresh: false,
      });
      expect(await admin.ttl(`${ns}:main:ts-1`)).toBe(3);
    });

    it('a TypeScript and a Python-format instance find each other', async () => {
      const ns = namespace();
      await admin.set(`${ns}:media:py-1`, seedValue(SECRET, { endpoints: ['file'] }), 'EX', 60);
      const ts = make({ namespace: ns });
      await ts.register(['account'], { serviceName: 'main', instanceId: 'ts-1', port: 8080, refresh: false });
      const now = Date.now();
      const result = await ts.find();
      expect(names(result)).toEqual(['main:ts-1', 'media:py-1']);
      // Our record carries its own expiry; the Python-format one has none, and lives while Redis keeps it.
      expect(result.instances[0]?.expiresAt).toBeGreaterThan(now);
      expect(result.instances[0]?.expiresAt).toBeLessThanOrEqual(now + 60_000);
      expect(result.instances[1]?.expiresAt).toBeNull();
      expect(result.urlMap).toEqual({
        account: 'https://ts.example.com/api/v1',
        file: 'https://api.example.com/api/v1',
      });
    });

    it("the seed's scenario: two secrets on one Redis ignore each other", async () => {
      const ns = namespace();
      await admin.set(`${ns}:main:ours`, seedValue(SECRET, { endpoints: ['account'] }), 'EX', 60);
      await admin.set(
        `${ns}:main:theirs`,
        seedValue(OTHER_SECRET, { endpoints: ['account'], public_url: 'https://other.example.com' }),
        'EX',
        60,
      );
      const ours = await make({ namespace: ns }).find();
      expect(names(ours)).toEqual(['main:ours']);
      expect(ours.rejected).toBe(1);
      expect(ours.conflicts).toEqual([]);
      const theirs = await make({ namespace: ns, secret: OTHER_SECRET }).find('main');
      expect(names(theirs)).toEqual(['main:theirs']);
      expect(theirs.urlMap).toEqual({ account: 'https://other.example.com/api/v1' });
    });

    it("the seed's scenario: two public URLs for one resource are reported, except for metric", async () => {
      const ns = namespace();
      await admin.set(`${ns}:main:a`, seedValue(SECRET, { endpoints: ['account', 'metric'] }), 'EX', 60);
      await admin.set(
        `${ns}:main:b`,
        seedValue(SECRET, { endpoints: ['account', 'metric'], public_url: 'https://elsewhere.example.com' }),
        'EX',
        60,
      );
      const observer = make({ namespace: ns });
      const events: unknown[] = [];
      observer.on('conflict', (conflict) => events.push(conflict));
      const result = await observer.find();
      expect(result.urlMap).toEqual({
        account: 'https://api.example.com/api/v1',
        metric: 'https://api.example.com/api/v1',
      });
      expect(result.conflicts).toEqual([
        {
          resource: 'account',
          urls: ['https://api.example.com/api/v1', 'https://elsewhere.example.com/api/v1'],
          instances: ['main:a', 'main:b'],
        },
      ]);
      expect(events).toEqual(result.conflicts);
    });

    it('skips and counts keys with extra or missing parts and values that are not records', async () => {
      const ns = namespace();
      const good = seedValue(SECRET, { endpoints: ['account'] });
      await admin.set(`${ns}:main:good`, good, 'EX', 60);
      await admin.set(`${ns}:main:i-1:extra`, good, 'EX', 60);
      await admin.set(`${ns}:main`, good, 'EX', 60);
      await admin.set(`${ns}:main:garbage`, 'not base64 at all!', 'EX', 60);
      await admin.set(`${ns}:main:not-json`, apicrudEncrypt(SECRET, 'hello'), 'EX', 60);
      await admin.set(`${ns}:main:array`, apicrudEncrypt(SECRET, '[1, 2]'), 'EX', 60);
      await admin.set(`${ns}:main:no-port`, apicrudEncrypt(SECRET, '{"endpoints": []}'), 'EX', 60);
      // Not a string: MGET answers nil, as for a key that expired after the SCAN. Not counted.
      await admin.hset(`${ns}:main:hash`, 'field', 'value');
      await admin.expire(`${ns}:main:hash`, 60);
      // A native registry in the same namespace: its keys are not apicrud records, and not counted.
      const native = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: 'https://n.example.com',
        namespace: ns,
      });
      await native.register(['account'], {
        serviceName: 'main',
        instanceId: 'native',
        port: 8080,
        refresh: false,
      });

      const observer = make({ namespace: ns });
      const rejected: string[] = [];
      observer.on('rejected-record', (event) => rejected.push(event.key));
      const all = await observer.find();
      expect(names(all)).toEqual(['main:good']);
      expect(all.rejected).toBe(6);
      expect(rejected.sort()).toEqual(
        [
          `${ns}:main`,
          `${ns}:main:array`,
          `${ns}:main:garbage`,
          `${ns}:main:i-1:extra`,
          `${ns}:main:no-port`,
          `${ns}:main:not-json`,
        ].sort(),
      );
      const one = await observer.find('main');
      expect(names(one)).toEqual(['main:good']);
      expect(one.rejected).toBe(5);
      expect(observer.health().rejectedRecords).toBe(11);
      await native.close();
    });

    // SCAN of `ns:*`, or of `ns:snapshot:*` for a service named `snapshot`, finds the native layout's
    // snapshot keys; their hash tag keeps them out of the records, and nothing counts them as bad.
    it('lists no snapshot key of the native layout as a record, nor rejects one', async () => {
      const ns = namespace();
      expect(store.capabilities.snapshot).toBe(true);
      await store.putSnapshot?.(ns, 'main', 's1.sealed', 60_000);
      await store.putSnapshot?.(ns, 'snapshot', 's1.sealed', 60_000);
      expect(await admin.get(`${ns}:snapshot:{main}`)).toBe('s1.sealed');
      const pttl = await admin.pttl(`${ns}:snapshot:{main}`);
      expect(pttl).toBeGreaterThan(55_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      await admin.set(`${ns}:snapshot:py-1`, seedValue(SECRET, { endpoints: ['snapshot'] }), 'EX', 60);
      const view = store.withLayout?.('apicrud') as RegistryStore;
      expect((await view.list(ns)).map((record) => `${record.service}:${record.instanceId}`)).toEqual([
        'snapshot:py-1',
      ]);
      expect((await view.list(ns, 'snapshot')).map((record) => record.key ?? record.instanceId)).toEqual([
        'py-1',
      ]);
      const observer = make({ namespace: ns });
      expect(names(await observer.find())).toEqual(['snapshot:py-1']);
      expect(observer.health().rejectedRecords).toBe(0);
    });

    it('finds every record among many keys, over many SCAN calls', async () => {
      const ns = namespace();
      const noise = namespace();
      const value = seedValue(SECRET, { endpoints: ['account'] });
      const pipeline = admin.pipeline();
      for (let index = 0; index < 1500; index++) {
        pipeline.set(`${ns}:fleet:i-${index}`, value, 'EX', 60);
        pipeline.set(`${noise}:fleet:i-${index}`, value, 'EX', 60);
      }
      await pipeline.exec();
      const result = await make({ namespace: ns }).find('fleet');
      expect(result.instances).toHaveLength(1500);
      expect(result.rejected).toBe(0);
      expect(new Set(names(result)).size).toBe(1500);
    });

    it('works through a client with a keyPrefix', async () => {
      const ns = namespace();
      const prefixed = new Redis(found.url, { keyPrefix: 'app:' });
      try {
        const prefixedStore = redisStore({ client: prefixed });
        await admin.set(`app:${ns}:media:py-1`, seedValue(SECRET, { endpoints: ['file'] }), 'EX', 60);
        await admin.set(`${ns}:media:unprefixed`, seedValue(SECRET, { endpoints: ['file'] }), 'EX', 60);
        const registry = make({ store: prefixedStore, namespace: ns });
        await registry.register(['account'], {
          serviceName: 'main',
          instanceId: 'ts-1',
          port: 8080,
          refresh: false,
        });
        expect(await admin.exists(`app:${ns}:main:ts-1`)).toBe(1);
        expect(names(await registry.find())).toEqual(['main:ts-1', 'media:py-1']);
        expect(names(await registry.find('media'))).toEqual(['media:py-1']);
        await registry.close();
      } finally {
        await deleteNamespace(admin, `app:${ns}`);
        prefixed.disconnect();
      }
    });

    it('refuses a store that cannot write the apicrud layout, at construction', () => {
      const { withLayout: _, ...nativeOnly } = store;
      const narrowed = { ...nativeOnly, capabilities: { watch: true, nativeExpiry: true } };
      let error: unknown;
      try {
        make({ store: narrowed as RegistryStore });
      } catch (caught) {
        error = caught;
      }
      expect(isRegistryError(error, 'unsupported'), String(error)).toBe(true);
    });
  });

  runRegistryScenarios('redis (apicrud mode)', {
    createStore: () => redisStore({ url: found.url }),
    registryOptions: { mode: 'apicrud' },
  });

  describe("redis store, apicrud mode, in apicrud's own namespace `reg`", () => {
    let server: RedisServer;
    let admin: Redis;
    let store: RegistryStore;
    const { make, closeAll } = registries(() => store);

    beforeAll(async () => {
      // A private server: the test uses the namespace `reg` exactly, which a shared Redis may hold.
      server = await startRedisServer();
      admin = new Redis(server.url);
      store = redisStore({ url: server.url });
    });
    afterAll(async () => {
      await closeAll();
      await store.close();
      admin.disconnect();
      await server.stop();
    });

    it('with only the mode set: finds apicrud at reg:<service>:<id>, writes there with EX 60', async () => {
      await admin.set('reg:media:py-1', pythonRecord.ciphertext, 'EX', 60);
      const registry = make({ baseUrl: '' });
      await registry.register(['file-upload'], { serviceName: 'main', instanceId: 'ts-1', port: 8080 });
      expect((await admin.keys('*')).sort()).toEqual(['reg:main:ts-1', 'reg:media:py-1']);
      expect(await admin.ttl('reg:main:ts-1')).toBeGreaterThan(55);
      expect(await admin.ttl('reg:main:ts-1')).toBeLessThanOrEqual(60);
      const result = await registry.find();
      expect(names(result)).toEqual(['main:ts-1', 'media:py-1']);
      expect(result.urlMap).toEqual({
        account: 'https://api.example.com',
        location: 'https://api.example.com',
        'file-upload': 'https://ts.example.com',
      });
      expect(registry.health().nextRefreshAt).not.toBeNull();
    });
  });
} else {
  skipped('redis store, apicrud mode');
}

async function startCluster(): Promise<RedisCluster | undefined> {
  try {
    return await startRedisCluster({ masters: 3 });
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    console.warn(`\n!! SKIPPING THE REDIS CLUSTER APICRUD SUITE: ${String(error)}\n`);
    return undefined;
  }
}

const cluster = redis ? await startCluster() : undefined;

if (cluster) {
  describe('redis cluster, apicrud mode', () => {
    let admin: Cluster;
    let client: Cluster;
    let store: RegistryStore;
    const namespaces: string[] = [];
    const { make, closeAll } = registries(() => store);

    beforeAll(async () => {
      admin = new Cluster([...cluster.startupNodes]);
      client = new Cluster([...cluster.startupNodes]);
      await Promise.all([admin.ping(), client.ping()]);
      store = redisStore({ client });
    });
    afterAll(async () => {
      await closeAll();
      for (const name of namespaces) await deleteNamespace(admin, name);
      admin.disconnect();
      client.disconnect();
      await cluster.stop();
    });

    it('finds records on every master with one SCAN pass per master, and skips bad ones', async () => {
      const ns = randomNamespace('apic');
      namespaces.push(ns);
      // Similar keys hash to nearby slots: pick names until every master holds four records.
      const owner = (service: string) => admin.slots[keySlot(`${ns}:${service}:py-1`)]?.[0] as string;
      const perOwner = new Map<string, string[]>();
      for (let index = 0; [...perOwner.values()].filter((list) => list.length >= 4).length < 3; index++) {
        const service = `svc-${index}`;
        const list = perOwner.get(owner(service)) ?? [];
        if (list.length < 4) list.push(service);
        perOwner.set(owner(service), list);
      }
      const services = [...perOwner.values()].flat();
      expect(services).toHaveLength(12);
      for (const service of services) {
        await admin.set(`${ns}:${service}:py-1`, seedValue(SECRET, { endpoints: [service] }), 'EX', 60);
      }
      await admin.set(`${ns}:${services[0]}:py-1:extra`, seedValue(SECRET, { endpoints: ['x'] }), 'EX', 60);
      await admin.set(`${ns}:${services[1]}:garbage`, 'garbage', 'EX', 60);

      const registry = make({ namespace: ns });
      await registry.register(['account'], {
        serviceName: 'main',
        instanceId: 'ts-1',
        port: 8080,
        refresh: false,
      });
      expect(await admin.ttl(`${ns}:main:ts-1`)).toBeGreaterThan(55);

      await registry.find(); // connects to every master, so the trace sees every socket
      const trace = traceClient(client);
      const all = await registry.find();
      trace.stop();
      expect(names(all)).toEqual(
        ['main', ...services].sort().map((service) => `${service}:${service === 'main' ? 'ts-1' : 'py-1'}`),
      );
      expect(all.rejected).toBe(2);
      expect(trace.commands.filter((command) => command === 'scan')).toHaveLength(3);

      const one = await registry.find(services[1]);
      expect(names(one)).toEqual([`${services[1]}:py-1`]);
      expect(one.rejected).toBe(1);
      await registry.deregister();
      expect(await admin.exists(`${ns}:main:ts-1`)).toBe(0);
    });
  });
} else if (redis) {
  skipped('redis cluster, apicrud mode');
}
