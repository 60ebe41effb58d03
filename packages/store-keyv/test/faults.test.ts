import { isRegistryError, type RegistryError, ServiceRegistry } from '@service-registry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { keyvStore } from '../src/index.js';
import { postgres } from './found.js';
import { startProxy } from './proxy.js';
import { dropSchema, postgresKeyv, randomName, skipped } from './support.js';

// PostgreSQL going away under a registered instance and a reader, through a proxy the test stops.
const SECRET = 'keyv-faults-secret-0123456789';

async function until(condition: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if (await condition().catch(() => false)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not within ${withinMs} ms`);
}

if (postgres) {
  const upstream = new URL(postgres.url);
  describe('PostgreSQL refusing connections', () => {
    const schema = randomName('reg_fault');
    const cleanup: Array<() => Promise<void>> = [];
    afterAll(async () => {
      for (const step of cleanup.reverse()) await step();
    });

    it('fails as store-unavailable within the timeout, never crashes, and heals within one interval', async () => {
      const proxy = await startProxy(upstream.hostname, Number(upstream.port || 5432));
      cleanup.push(() => proxy.stop());
      const through = new URL(upstream.toString());
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      const keyv = postgresKeyv(through.toString(), schema);
      keyv.on('error', () => {});
      cleanup.push(async () => {
        await proxy.start().catch(() => {});
        await dropSchema(keyv, schema);
        await keyv.disconnect();
      });
      const timeoutMs = 2000;
      const store = keyvStore({ keyv, timeoutMs });
      const options = {
        store,
        secret: SECRET,
        publicUrl: 'https://a.example.com',
        namespace: randomName('f'),
      };
      const instance = new ServiceRegistry({ ...options, ttl: 4, interval: 1 });
      const reader = new ServiceRegistry(options);
      const failures: RegistryError[] = [];
      instance.on('refresh-failed', (event) => failures.push(event.error));
      cleanup.push(() => instance.close().catch(() => {}));
      await instance.register(['orders'], { serviceName: 'orders', instanceId: 'o-1', port: 80 });
      expect((await reader.find('orders')).instances).toHaveLength(1);

      await proxy.stop();
      const started = Date.now();
      const error = await reader.find('orders').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect(Date.now() - started).toBeLessThan(timeoutMs + 1000);
      // The refresh loop keeps failing, reported as events, and the process goes on.
      await until(async () => failures.length >= 1, 5000);
      expect(failures.every((failure) => isRegistryError(failure, 'store-unavailable'))).toBe(true);

      // Meanwhile the record expired; it must come back within one interval of the store returning.
      await new Promise((resolve) => setTimeout(resolve, 4500));
      await proxy.start();
      const healedInMs = await until(
        async () => (await reader.find('orders')).instances.length === 1,
        1000 + 2000,
      );
      expect(healedInMs).toBeLessThan(3000);
      expect(instance.health().ok).toBe(true);
    }, 60_000);
  });
} else {
  skipped('keyv (@keyv/postgres) faults', 'a PostgreSQL');
}
