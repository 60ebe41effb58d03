import { isRegistryError, type RegistryError, ServiceRegistry } from '@service-registry/core';
import { type RedisServer, randomNamespace, startRedisServer } from '@service-registry/redis-testing';
import { SECRET, waitFor } from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisStore, redisStore } from '../src/index.js';

// Faults on a redis-server this file owns: stopped, restarted empty, flushed.

async function rejection(call: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, ms: Date.now() - started };
}

describe('redis store faults', () => {
  let server: RedisServer;
  let store: RedisStore;
  const ns = randomNamespace('fault');
  const ref = { namespace: ns, service: 'api', instanceId: 'i-1' };

  beforeAll(async () => {
    server = await startRedisServer();
    store = redisStore({ url: server.url });
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('with the server down, put and list fail quickly with store-unavailable; after a restart they work', async () => {
    await store.put(ref, 'v', 60_000);
    await server.stop();
    for (const call of [store.list(ns), store.list(ns, 'api'), store.put(ref, 'v', 60_000)]) {
      const { error, ms } = await rejection(call);
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect((error as RegistryError).message).toMatch(/failed: redis unreachable/);
      expect((error as RegistryError).cause).toBeInstanceOf(Error);
      expect(ms).toBeLessThan(3000);
    }
    await server.restart(); // empty, and without the scripts: NOSCRIPT, then EVAL
    await waitFor(
      () =>
        store.put(ref, 'back', 60_000).then(
          () => true,
          () => false,
        ),
      5000,
      100,
    );
    expect((await store.list(ns)).map((record) => record.value)).toEqual(['back']);
  });

  it('closes promptly while the server is down', async () => {
    const other = redisStore({ url: server.url });
    await other.list(ns);
    await server.kill();
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await server.restart();
  });

  it('a registry keeps running through an outage, reports refresh-failed, and heals after a restart and a FLUSHALL', async () => {
    const registry = new ServiceRegistry({
      store,
      secret: SECRET,
      publicUrl: 'https://api.example.com',
      namespace: randomNamespace('heal'),
      ttl: 1,
      interval: 0.25,
    });
    const failures: RegistryError[] = [];
    registry.on('refresh-failed', ({ error }) => failures.push(error));
    const present = () =>
      registry.find('api').then(
        (result) => result.instances.some((instance) => instance.id === 'i-1'),
        () => false,
      );
    try {
      await registry.register(['things'], { serviceName: 'api', instanceId: 'i-1', port: 8080 });
      expect(await present()).toBe(true);

      await server.kill();
      await waitFor(() => failures.length > 0, 3000);
      expect(failures[0]?.code).toBe('store-unavailable');
      const { error, ms } = await rejection(registry.find());
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect(ms).toBeLessThan(3000);

      await server.restart();
      // Back within one interval of the store answering again (plus the client's reconnect delay).
      expect(await waitFor(present, 2500)).toBeLessThan(2500);

      const admin = new Redis(server.url);
      await admin.flushall();
      admin.disconnect();
      expect(await present()).toBe(false);
      expect(await waitFor(present, 1000)).toBeLessThan(1000);
    } finally {
      await registry.close();
    }
  });
});
