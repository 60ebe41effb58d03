import { ServiceRegistry } from '@service-registry/core';
import { indexKey } from '@service-registry/redis-layout';
import { type RedisServer, randomNamespace, startRedisServer } from '@service-registry/redis-testing';
import { SECRET } from '@service-registry/test-suite';
import type { UpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UpstashStore, upstashStore } from '../src/index.js';
import { redis, skipped, startServer } from './support.js';

// The shared list scripts through the REST API: a service index of the wrong type is one rejected
// record, and a database out of memory under noeviction still answers find (EVALSHA_RO). On a
// redis-server this file owns, since it caps its memory.

const SERVICES = ['api', 'billing', 'search'];

if (redis) {
  describe('upstash store reads: a broken index, a full database', () => {
    let backend: RedisServer;
    let server: UpstashTestServer;
    let store: UpstashStore;
    const registries: ServiceRegistry[] = [];
    const ns = randomNamespace('upfault');
    const reader = () =>
      new ServiceRegistry({ store, secret: SECRET, publicUrl: 'https://reader.example.com', namespace: ns });

    beforeAll(async () => {
      backend = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
      server = await startServer(backend.url);
      store = upstashStore({ url: server.url, token: server.token });
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
    });
    afterAll(async () => {
      for (const registry of registries) await registry.close().catch(() => {});
      await server?.close();
      await backend?.stop();
    });

    it('a service index of the wrong type is skipped and counted; the other services are listed', async () => {
      const admin = new Redis(backend.url);
      await admin.set(indexKey(ns, 'billing'), 'overwritten by hand');
      admin.disconnect();
      const found = await reader().find();
      expect(found.instances.map((instance) => instance.name).sort()).toEqual([
        'api',
        'api',
        'search',
        'search',
      ]);
      expect(found.rejected).toBe(1);
    });

    it('find() lists every record while the full database refuses writes with OOM', async () => {
      const admin = new Redis(backend.url);
      const filler = 'x'.repeat(10_000);
      for (let index = 0; index < 200; index++) await admin.set(`filler:${index}`, filler);
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
      await admin.config('SET', 'maxmemory', String(used - 500_000));
      await expect(admin.set('one-more', filler)).rejects.toThrow(/OOM/);
      admin.disconnect();
      await expect(
        store.put({ namespace: ns, service: 'api', instanceId: 'i-9' }, 'v', 60_000),
      ).rejects.toThrow(/OOM/);
      const found = await reader().find();
      expect(found.instances).toHaveLength(4);
      expect((await reader().find('search')).instances).toHaveLength(2);
    });
  });
} else {
  skipped('upstash store read faults');
}
