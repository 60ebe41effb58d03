import {
  type FindResult,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
} from '@service-registry/core';
import { apicrudPutCommand } from '@service-registry/redis-layout';
import {
  apicrudDecrypt,
  deleteNamespace,
  pythonRecordVector,
  type RedisServer,
  randomNamespace,
  seedValue,
  startRedisServer,
} from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { runRegistryScenarios } from '@service-registry/test-suite';
import type { UpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UpstashStore, upstashStore } from '../src/index.js';
import { redis, skipped, startServer, upstashClient } from './support.js';

// apicrud mode on Upstash: Python apicrud's keys (`SET ns:svc:id EX`), found by SCAN, shared with
// store-redis and with records in apicrud's own byte format.

const pythonRecord = pythonRecordVector();
const SECRET = pythonRecord.secret;
const LONG_TTL_MS = 60_000;
const names = (result: FindResult) => result.instances.map((instance) => `${instance.name}:${instance.id}`);

/** Registries in apicrud mode, closed by `closeAll`. */
function registries() {
  const open: ServiceRegistry[] = [];
  const make = (store: RegistryStore, overrides: Partial<RegistryOptions> = {}) => {
    const registry = new ServiceRegistry({
      store,
      mode: 'apicrud',
      secret: SECRET,
      publicUrl: 'https://edge.example.com',
      baseUrl: '/api/v1',
      ...overrides,
    });
    open.push(registry);
    return registry;
  };
  const closeAll = () => Promise.allSettled(open.splice(0).map((registry) => registry.close()));
  return { make, closeAll };
}

/** HTTP requests of `action`, counted at the test server from zero. */
async function measure<T>(server: UpstashTestServer, action: () => Promise<T>) {
  server.resetCounts();
  const result = await action();
  const commands = server.requests.commands.map((command) => command.name);
  return { result, total: server.requests.total, byPath: { ...server.requests.byPath }, commands };
}

if (redis) {
  const found = redis;
  const server = await startServer(found.url);

  runRegistryScenarios('upstash (apicrud mode)', {
    createStore: () => upstashStore({ client: upstashClient(server) }),
    registryOptions: { mode: 'apicrud' },
  });

  describe('upstash store, apicrud mode, beside store-redis and Python apicrud', () => {
    let admin: Redis;
    let overTcp: RegistryStore;
    let overHttp: UpstashStore;
    const namespaces: string[] = [];
    const namespace = () => {
      const created = randomNamespace('api');
      namespaces.push(created);
      return created;
    };
    const { make, closeAll } = registries();

    beforeAll(() => {
      admin = new Redis(found.url);
      overTcp = redisStore({ url: found.url });
      overHttp = upstashStore({ url: server.url, token: server.token });
    });
    afterAll(async () => {
      await closeAll();
      await overTcp?.close();
      await overHttp?.close();
      for (const name of namespaces) await deleteNamespace(admin, name);
      admin?.disconnect();
    });

    it('records written through store-redis are found through store-upstash, and back', async () => {
      const ns = namespace();
      const node = make(overTcp, { namespace: ns, publicUrl: 'https://node.example.com' });
      const edge = make(overHttp, { namespace: ns });
      await node.register(['orders'], { serviceName: 'orders', instanceId: 'node-1', port: 8080 });
      await edge.register(['edge'], { serviceName: 'edge', instanceId: 'fn-1', port: 443, refresh: false });
      expect((await admin.keys(`${ns}:*`)).sort()).toEqual([`${ns}:edge:fn-1`, `${ns}:orders:node-1`]);

      for (const reader of [node, edge]) {
        const all = await reader.find();
        expect(names(all)).toEqual(['edge:fn-1', 'orders:node-1']);
        expect(all.urlMap).toEqual({
          edge: 'https://edge.example.com/api/v1',
          orders: 'https://node.example.com/api/v1',
        });
        expect(names(await reader.find('orders'))).toEqual(['orders:node-1']);
        expect(names(await reader.find('edge'))).toEqual(['edge:fn-1']);
      }
      await edge.deregister();
      expect(names(await node.find())).toEqual(['orders:node-1']);
      await node.deregister();
      expect(names(await edge.find())).toEqual([]);
    });

    it('the raw apicrud views agree record for record', async () => {
      const ns = namespace();
      const tcp = overTcp.withLayout?.('apicrud') as RegistryStore;
      const http = overHttp.withLayout('apicrud');
      const ref = { namespace: ns, service: 'raw', instanceId: 'i-1' };
      await http.put(ref, 'written over http ✓', LONG_TTL_MS);
      expect(await tcp.list(ns, 'raw')).toEqual([{ ...ref, value: 'written over http ✓' }]);
      await tcp.put(ref, 'written over tcp ✓', LONG_TTL_MS);
      expect(await http.list(ns)).toEqual([{ ...ref, value: 'written over tcp ✓' }]);
      await http.delete(ref);
      expect(await tcp.list(ns)).toEqual([]);
    });

    it("finds records in apicrud's byte format, Python's own and the test's", async () => {
      const ns = namespace();
      await admin.set(`${ns}:account:py-1`, pythonRecord.ciphertext, 'EX', 60);
      await admin.set(
        `${ns}:media:py-2`,
        seedValue(SECRET, { endpoints: ['file'], ipv4: null, public_url: 'https://media.example.com' }),
        'EX',
        60,
      );
      const registry = make(overHttp, { namespace: ns });
      const all = await registry.find();
      expect(names(all)).toEqual(['account:py-1', 'media:py-2']);
      expect(all.instances[0]).toEqual({
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
      });
      expect(all.urlMap).toEqual({
        account: 'https://api.example.com/api/v1',
        location: 'https://api.example.com/api/v1',
        file: 'https://media.example.com/api/v1',
      });
      expect(all.rejected).toBe(0);
      expect(names(await registry.find('media'))).toEqual(['media:py-2']);
    });

    it("writes what apicrud reads: its key, SET EX and a value in apicrud's format", async () => {
      const ns = namespace();
      const registry = make(overHttp, { namespace: ns });
      await registry.register(['account'], {
        serviceName: 'main',
        instanceId: 'ts-1',
        port: 8080,
        ipv4: '10.0.0.9',
        refresh: false,
      });
      const key = `${ns}:main:ts-1`;
      expect(await admin.keys(`${ns}:*`)).toEqual([key]);
      expect(await admin.ttl(key)).toBeGreaterThan(55);
      expect(await admin.ttl(key)).toBeLessThanOrEqual(60);
      const json = JSON.parse(apicrudDecrypt(SECRET, (await admin.get(key)) as string));
      expect(json).toMatchObject({
        endpoints: ['account'],
        ipv4: '10.0.0.9',
        port: 8080,
        public_url: 'https://edge.example.com',
        name: 'main',
        id: 'ts-1',
      });
      await registry.deregister();
      expect(await admin.exists(key)).toBe(0);
    });
  });

  afterAll(async () => {
    await server.close();
    await found.stop();
  });

  describe('upstash store, apicrud mode: requests per operation (a private Redis)', () => {
    let own: RedisServer;
    let admin: Redis;
    let privateServer: UpstashTestServer;
    let store: RegistryStore;
    const ns = randomNamespace('req-api');
    const { make, closeAll } = registries();

    beforeAll(async () => {
      // SCAN pages depend on every key of the database: on a Redis of our own the count is exact.
      own = await startRedisServer();
      admin = new Redis(own.url);
      privateServer = await startServer(own.url);
      store = upstashStore({ url: privateServer.url, token: privateServer.token }).withLayout('apicrud');
    });
    afterAll(async () => {
      await closeAll();
      admin?.disconnect();
      await privateServer?.close();
      await own?.stop();
    });

    it('a put is one request: the SET EX redis-layout builds', async () => {
      const ref = { namespace: ns, service: 'api', instanceId: 'i-1' };
      const { total, byPath } = await measure(privateServer, () => store.put(ref, 'v', LONG_TTL_MS));
      expect({ total, byPath }).toEqual({ total: 1, byPath: { '/': 1 } });
      const [sent] = privateServer.requests.commands;
      const [name, ...args] = apicrudPutCommand(ref, 'v', LONG_TTL_MS);
      expect(sent?.name).toBe(name);
      expect(sent?.args.map((arg) => arg.toUpperCase())).toEqual(args.map((arg) => arg.toUpperCase()));
    });

    it('a list of a small namespace is two requests: one SCAN page, one MGET pipeline', async () => {
      await store.put({ namespace: ns, service: 'api', instanceId: 'i-2' }, 'v', LONG_TTL_MS);
      await store.put({ namespace: ns, service: 'billing', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      const one = await measure(privateServer, () => store.list(ns, 'api'));
      expect(one.result).toHaveLength(2);
      expect(one).toMatchObject({ total: 2, byPath: { '/': 1, '/pipeline': 1 }, commands: ['SCAN', 'MGET'] });
      const all = await measure(privateServer, () => store.list(ns));
      expect(all.result).toHaveLength(3);
      expect(all).toMatchObject({ total: 2, commands: ['SCAN', 'MGET'] });
      // Nothing found: the SCAN alone.
      const empty = await measure(privateServer, () => store.list(randomNamespace('empty')));
      expect(empty).toMatchObject({ result: [], total: 1, commands: ['SCAN'] });
    });

    it('a delete is one request', async () => {
      const ref = { namespace: ns, service: 'gone', instanceId: 'i-1' };
      await store.put(ref, 'v', LONG_TTL_MS);
      expect(await measure(privateServer, () => store.delete(ref))).toMatchObject({
        total: 1,
        commands: ['DEL'],
      });
    });

    it('with only the mode set: finds apicrud at reg:<service>:<id>, writes there with EX 60', async () => {
      await admin.set('reg:media:py-1', pythonRecord.ciphertext, 'EX', 60);
      const registry = make(upstashStore({ url: privateServer.url, token: privateServer.token }), {
        baseUrl: '',
      });
      const registered = await measure(privateServer, () =>
        registry.register(['file-upload'], {
          serviceName: 'main',
          instanceId: 'ts-1',
          port: 443,
          refresh: false,
        }),
      );
      expect(registered.total).toBe(1);
      expect((await admin.keys('reg:*')).sort()).toEqual(['reg:main:ts-1', 'reg:media:py-1']);
      expect(await admin.ttl('reg:main:ts-1')).toBeGreaterThan(55);
      const found = await measure(privateServer, () => registry.find());
      expect(names(found.result)).toEqual(['main:ts-1', 'media:py-1']);
      expect(found.result.urlMap).toEqual({
        account: 'https://api.example.com',
        location: 'https://api.example.com',
        'file-upload': 'https://edge.example.com',
      });
      // One SCAN page (this database holds a handful of keys), then one MGET pipeline.
      expect(found.total).toBe(2);
      expect((await measure(privateServer, () => registry.update())).total).toBe(1);
    });

    it('many keys: one request per SCAN page, and still one pipeline for every MGET', async () => {
      const fleet = randomNamespace('fleet');
      const pipeline = admin.pipeline();
      for (let index = 0; index < 1500; index++) {
        pipeline.set(`${fleet}:fleet:i-${index}`, 'v', 'EX', 60);
        pipeline.set(`${fleet}-noise:fleet:i-${index}`, 'v', 'EX', 60);
      }
      await pipeline.exec();
      const listed = await measure(privateServer, () => store.list(fleet, 'fleet'));
      expect(listed.result).toHaveLength(1500);
      const scans = listed.commands.filter((command) => command === 'SCAN').length;
      expect(scans).toBeGreaterThan(1);
      expect(listed.total).toBe(scans + 1);
      expect(listed.byPath['/pipeline']).toBe(1);
      // 1000 keys per MGET.
      expect(listed.commands.filter((command) => command === 'MGET')).toHaveLength(2);
    });
  });
} else {
  skipped('upstash store, apicrud mode');
}
