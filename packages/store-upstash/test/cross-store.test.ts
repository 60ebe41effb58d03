import { type RegistryStore, ServiceRegistry } from '@service-registry/core';
import { deleteNamespace, randomNamespace } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { SECRET } from '@service-registry/test-suite';
import type { UpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstashStore } from '../src/index.js';
import { redis, skipped, startServer } from './support.js';

// One database, two ways in: Node services on TCP (store-redis), functions on HTTPS (store-upstash).
if (redis) {
  const found = redis;

  describe('store-redis and store-upstash share one database', () => {
    let server: UpstashTestServer;
    let overTcp: RegistryStore;
    let overHttp: RegistryStore;
    const namespace = randomNamespace('cross');
    const open: ServiceRegistry[] = [];
    const registry = (store: RegistryStore) => {
      const created = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: store === overTcp ? 'https://node.example.com' : 'https://edge.example.com',
        namespace,
      });
      open.push(created);
      return created;
    };
    const ids = (result: { instances: readonly { name: string; id: string }[] }) =>
      result.instances.map((instance) => `${instance.name}:${instance.id}`);

    beforeAll(async () => {
      server = await startServer(found.url);
      overTcp = redisStore({ url: found.url });
      overHttp = upstashStore({ url: server.url, token: server.token });
    });
    afterAll(async () => {
      await Promise.allSettled(open.map((item) => item.close()));
      await overTcp?.close();
      await overHttp?.close();
      const cleaner = new Redis(found.url);
      await deleteNamespace(cleaner, namespace);
      cleaner.disconnect();
      await server?.close();
      await found.stop();
    });

    it('records written through store-redis are found through store-upstash, and back', async () => {
      const node = registry(overTcp);
      const edge = registry(overHttp);
      await node.register(['orders'], { serviceName: 'orders', instanceId: 'node-1', port: 8080 });
      await edge.register(['edge'], { serviceName: 'edge', instanceId: 'fn-1', port: 443, refresh: false });

      for (const reader of [node, edge]) {
        const all = await reader.find();
        expect(ids(all)).toEqual(['edge:fn-1', 'orders:node-1']);
        expect(all.urlMap).toEqual({
          edge: 'https://edge.example.com',
          orders: 'https://node.example.com',
        });
        expect(ids(await reader.find('orders'))).toEqual(['orders:node-1']);
        expect(ids(await reader.find('edge'))).toEqual(['edge:fn-1']);
      }
    });

    it('a delete through one store is seen through the other at once', async () => {
      const [node, edge] = open as [ServiceRegistry, ServiceRegistry];
      await edge.deregister();
      expect(ids(await node.find())).toEqual(['orders:node-1']);
      await node.deregister();
      expect(ids(await edge.find())).toEqual([]);
    });

    it('the raw stores agree record for record', async () => {
      const ref = { namespace, service: 'raw', instanceId: 'i-1' };
      await overHttp.put(ref, 'written over http ✓', 60_000);
      expect(await overTcp.list(namespace, 'raw')).toEqual([{ ...ref, value: 'written over http ✓' }]);
      await overTcp.put(ref, 'written over tcp ✓', 60_000);
      expect(await overHttp.list(namespace)).toEqual([{ ...ref, value: 'written over tcp ✓' }]);
      await overHttp.delete(ref);
      expect(await overTcp.list(namespace)).toEqual([]);
    });
  });
} else {
  skipped('cross-store');
}
