import { isRegistryError, type RegistryError, ServiceRegistry } from '@service-registry/core';
import { deleteNamespace, randomNamespace } from '@service-registry/redis-testing';
import { SECRET, waitFor } from '@service-registry/test-suite';
import type { FaultSpec, UpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { upstashStore } from '../src/index.js';
import { redis, skipped, startServer } from './support.js';

// Faults injected into the test server: the registry keeps running, find fails fast with a typed
// error, nothing rejects unhandled, and everything heals once the fault is cleared.

const TIMEOUT_MS = 400;
/** How long the `delay` fault holds a request: far past any deadline, so waiting for it shows. */
const DELAY_MS = 10_000;
/**
 * The bound on "fails fast". A call fails at its own deadline, and update() may first wait for a
 * loop refresh already in flight (puts never overlap), which has the same deadline: two deadlines,
 * plus room for a loaded CI machine. A call that waited for the delayed answer takes DELAY_MS.
 */
const FAST_MS = 2 * TIMEOUT_MS + 2_000;

async function rejection(call: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, ms: Date.now() - started };
}

const faults: { spec: FaultSpec; message: RegExp }[] = [
  { spec: { kind: 'http-500' }, message: /answered with an error: ERR injected fault/ },
  { spec: { kind: 'delay', delayMs: DELAY_MS }, message: /did not answer in time/ },
  { spec: { kind: 'malformed' }, message: /not JSON/ },
  { spec: { kind: 'drop' }, message: /unreachable \(fetch failed: \w+\)/ },
];

if (redis) {
  const found = redis;

  describe('upstash store faults', () => {
    let server: UpstashTestServer;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    const used: string[] = [];

    beforeAll(async () => {
      process.on('unhandledRejection', onUnhandled);
      server = await startServer(found.url);
      // Caches the scripts, so the first registration does not spend its short deadline on NOSCRIPT.
      const warm = upstashStore({ url: server.url, token: server.token });
      const namespace = randomNamespace('fault-warm');
      used.push(namespace);
      await warm.put({ namespace, service: 'warm', instanceId: 'i-1' }, 'v', 1_000);
      await warm.list(namespace);
    });
    afterEach(() => {
      server.faults.clear();
    });
    afterAll(async () => {
      process.off('unhandledRejection', onUnhandled);
      const cleaner = new Redis(found.url);
      for (const name of used) await deleteNamespace(cleaner, name);
      cleaner.disconnect();
      await server?.close();
      await found.stop();
    });

    for (const { spec, message } of faults) {
      it(`${spec.kind}: the refresh loop survives and recovers; find fails fast with store-unavailable`, async () => {
        const namespace = randomNamespace(`fault-${spec.kind}`);
        used.push(namespace);
        const store = upstashStore({ url: server.url, token: server.token, timeoutMs: TIMEOUT_MS });
        const registry = new ServiceRegistry({
          store,
          secret: SECRET,
          publicUrl: 'https://api.example.com',
          namespace,
          ttl: 2,
          interval: 0.25,
        });
        const failures: RegistryError[] = [];
        let recovered = 0;
        registry.on('refresh-failed', ({ error }) => failures.push(error));
        registry.on('recovered', () => recovered++);
        try {
          await registry.register(['things'], { serviceName: 'api', instanceId: 'i-1', port: 8080 });
          // A busy shared Redis may miss the first deadline; the loop retries within 250 ms.
          await waitFor(() => registry.health().ok, 3_000);

          server.faults.set(spec);
          await waitFor(() => failures.length >= 2, 5_000);
          expect(failures[0]?.code).toBe('store-unavailable');
          // Or the write's own deadline fired first: the record would have expired before the answer.
          const orDeadline = new RegExp(`${message.source}|no answer to the refresh within`);
          expect(failures[0]?.message).toMatch(orDeadline);
          expect(registry.health().ok).toBe(false);

          for (const call of [() => registry.find(), () => registry.find('api'), () => registry.update()]) {
            const { error, ms } = await rejection(call());
            expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
            // update() waits for the store's own answer (only the loop's refreshes have a deadline).
            expect((error as RegistryError).message).toMatch(message);
            expect((error as RegistryError).cause).toBeInstanceOf(Error);
            // Within the store's deadline, not after the delayed answer (see FAST_MS).
            expect(ms).toBeLessThan(FAST_MS);
          }

          server.faults.clear();
          await waitFor(() => recovered > 0, 2_000);
          expect(registry.health()).toMatchObject({ ok: true, consecutiveFailures: 0 });
          const { instances } = await registry.find('api');
          expect(instances.map((instance) => instance.id)).toEqual(['i-1']);
        } finally {
          server.faults.clear();
          await registry.close();
        }
        expect(unhandled).toEqual([]);
      });
    }

    it('a fault on /pipeline only fails find() of everything, not find(service) or refreshes', async () => {
      const namespace = randomNamespace('fault-pipe');
      used.push(namespace);
      const store = upstashStore({ url: server.url, token: server.token, timeoutMs: TIMEOUT_MS });
      const registry = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: 'https://a.example.com',
        namespace,
      });
      try {
        await registry.register(['things'], {
          serviceName: 'api',
          instanceId: 'i-1',
          port: 8080,
          refresh: false,
        });
        server.faults.set({ kind: 'http-500', paths: ['/pipeline'] });
        const { error } = await rejection(registry.find());
        expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
        expect((await registry.find('api')).instances).toHaveLength(1);
        await registry.update();
      } finally {
        server.faults.clear();
        await registry.close();
      }
      expect(unhandled).toEqual([]);
    });
  });
} else {
  skipped('upstash store faults');
}
