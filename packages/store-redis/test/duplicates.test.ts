import { type RegistryEvents, ServiceRegistry } from '@service-registry/core';
import { deleteNamespace, randomNamespace } from '@service-registry/redis-testing';
import { waitFor } from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisStore } from '../src/index.js';
import { redis } from './found-redis.js';
import { skipped } from './skipped.js';

const SECRET = 'duplicate-secret-0123456789';

// Issue 9: two live processes with one service and instance id overwrote each other silently.
if (redis) {
  const found = redis;
  const namespace = randomNamespace('dup');
  afterAll(async () => {
    const cleaner = new Redis(found.url);
    await deleteNamespace(cleaner, namespace);
    cleaner.disconnect();
    await found.stop();
  });

  describe('duplicate instance ids on real Redis', () => {
    it('two writers on their own connections both report the other within about one interval', async () => {
      const stores = [redisStore({ url: found.url }), redisStore({ url: found.url })];
      const registries = stores.map(
        (store) =>
          new ServiceRegistry({
            store,
            secret: SECRET,
            publicUrl: 'http://a.example',
            namespace,
            ttl: 2,
            interval: 0.5,
          }),
      );
      const events: RegistryEvents['duplicate'][][] = [[], []];
      for (const [index, registry] of registries.entries()) {
        registry.on('duplicate', (event) => {
          events[index]?.push(event);
        });
      }
      try {
        for (const registry of registries) {
          await registry.register(['thing'], { serviceName: 'svc', instanceId: 'same', port: 1 });
        }
        const waited = await waitFor(() => events.every((list) => list.length > 0), 5000, 50);
        expect(waited).toBeLessThan(3000);
        for (const registry of registries) expect(registry.health().duplicate.detected).toBe(true);
        await registries[0]?.close({ deregister: false });
        await waitFor(() => events[1]?.some((event) => event.ended) === true, 8000, 50);
        expect(registries[1]?.health().duplicate.detected).toBe(false);
      } finally {
        await Promise.allSettled(registries.map((registry) => registry.close()));
        await Promise.allSettled(stores.map((store) => store.close()));
      }
    }, 20_000);
  });
} else {
  skipped('duplicate instance ids');
}
