import { isRegistryError, type RegistryError, ServiceRegistry } from '@service-registry/core';
import {
  freePort,
  type RedisSentinel,
  randomNamespace,
  startRedisSentinel,
} from '@service-registry/redis-testing';
import { runRegistryScenarios, runStoreConformance, SECRET, waitFor } from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownedConnectionDefaults, type RedisStore, redisStore } from '../src/index.js';
import { skipped } from './skipped.js';

// Redis Sentinel on loopback: a master, a replica and a sentinel (redis-server from PATH, in sentinel
// mode), started here and stopped afterwards. The store reaches the master through ioredis' Sentinel
// support only. Without redis-server the suites skip with a notice, or fail under CI=true.

async function startSentinel(): Promise<RedisSentinel | undefined> {
  try {
    return await startRedisSentinel({ masterName: 'registry' });
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    console.warn(`\n!! SKIPPING THE REDIS SENTINEL SUITES: ${String(error)}\n`);
    return undefined;
  }
}

async function rejection(call: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, ms: Date.now() - started };
}

const deployment = await startSentinel();

if (deployment) {
  const clients: Redis[] = [];
  // A Sentinel client the caller owns, with the store's fast-failure settings.
  const connect = (sentinel: RedisSentinel) => {
    const client = new Redis({
      sentinels: [...sentinel.sentinels],
      name: sentinel.masterName,
      ...ownedConnectionDefaults,
    });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await deployment.stop();
  });

  runStoreConformance('redis sentinel (client)', {
    createStore: () => redisStore({ client: connect(deployment) }),
    capabilities: { watch: true, nativeExpiry: true, layout: 'native', layouts: ['native', 'apicrud'] },
  });
  runRegistryScenarios('redis sentinel (client)', {
    createStore: () => redisStore({ client: connect(deployment) }),
  });

  describe('redis sentinel (owned connection from sentinels and name)', () => {
    it('opens, uses, watches and closes its own Sentinel connection', async () => {
      const store = redisStore({ sentinels: [...deployment.sentinels], name: deployment.masterName });
      const ns = randomNamespace('sent');
      const ref = { namespace: ns, service: 'api', instanceId: 'i-1' };
      const notices: string[] = [];
      try {
        const stop = await store.watch(ns, (service) => notices.push(service));
        await store.put(ref, 'v', 60_000);
        expect(await store.list(ns, 'api')).toEqual([{ ...ref, value: 'v' }]);
        expect((await store.list(ns)).map((record) => record.instanceId)).toEqual(['i-1']);
        await waitFor(() => notices.includes('api'), 2000);
        // It wrote to the master the sentinel names, and the replica follows.
        const replica = new Redis(deployment.replica.url);
        try {
          await waitFor(async () => (await replica.keys(`*${ns}*`)).length > 0, 2000);
        } finally {
          replica.disconnect();
        }
        await store.delete(ref);
        expect(await store.list(ns, 'api')).toEqual([]);
        await stop();
      } finally {
        await store.close();
      }
      await expect(store.list(ns)).rejects.toSatisfy((error) => isRegistryError(error, 'store-closed'));
    });
  });
} else {
  skipped('redis sentinel store');
}

describe('redis sentinel, none reachable', () => {
  it('operations fail with store-unavailable at the command timeout, and close is prompt', async () => {
    // ioredis keeps asking the sentinels and never fails the connection, so only `commandTimeout`
    // bounds an operation (5 s in ownedConnectionDefaults; shortened here).
    const store = redisStore({
      sentinels: [{ host: '127.0.0.1', port: await freePort() }],
      name: 'nowhere',
      commandTimeout: 1000,
    });
    for (const call of [
      store.list('ns'),
      store.put({ namespace: 'ns', service: 'api', instanceId: 'i' }, 'v', 1000),
    ]) {
      const { error, ms } = await rejection(call);
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect(ms).toBeLessThan(2500);
    }
    // Those commands still sit in ioredis' offline queue: a QUIT would wait behind them.
    const started = Date.now();
    await store.close();
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe.skipIf(!deployment)('redis sentinel failover', () => {
  // Its own deployment: the failover kills its master.
  let sentinel: RedisSentinel;
  let client: Redis;
  let store: RedisStore;
  beforeAll(async () => {
    sentinel = await startRedisSentinel({ masterName: 'failover' });
    client = new Redis({
      sentinels: [...sentinel.sentinels],
      name: sentinel.masterName,
      ...ownedConnectionDefaults,
    });
    client.on('error', () => {});
    store = redisStore({ client });
  });
  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    await sentinel?.stop();
  });

  it('a registry keeps running through a failover, and the store follows the promoted replica', async () => {
    const namespace = randomNamespace('failover');
    const registry = new ServiceRegistry({
      store,
      secret: SECRET,
      publicUrl: 'https://api.example.com',
      namespace,
      ttl: 3,
      interval: 1,
    });
    const events: string[] = [];
    const failures: RegistryError[] = [];
    registry.on('refresh-failed', ({ error }) => {
      events.push('refresh-failed');
      failures.push(error);
    });
    registry.on('recovered', () => events.push('recovered'));
    const notices: string[] = [];
    const unwatch = await store.watch(namespace, (service) => notices.push(service));
    const present = () =>
      registry.find('api').then(
        (result) => result.instances.some((instance) => instance.id === 'i-1'),
        () => false,
      );
    try {
      await registry.register(['things'], { serviceName: 'api', instanceId: 'i-1', port: 8080 });
      expect(await present()).toBe(true);
      expect(await sentinel.masterAddress()).toEqual({ host: '127.0.0.1', port: sentinel.master.port });

      const killedAt = Date.now();
      const failover = sentinel.failover();
      // The master is gone and nothing is promoted yet (down-after alone is 1 s): a find fails fast.
      await waitFor(() => !sentinel.master.running, 1000, 10);
      const { error, ms } = await rejection(registry.find('api'));
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect(ms).toBeLessThan(3000);

      await failover;
      const promotedMs = Date.now() - killedAt;
      expect(await sentinel.masterAddress()).toEqual({ host: '127.0.0.1', port: sentinel.replica.port });
      // Found again through the new master: down-after (1 s) + the sentinel's vote and promotion
      // (1-2 s) + the client's reconnect (at most 1 s apart) + one refresh interval (1 s), well under 10 s.
      await waitFor(present, 10_000 - (Date.now() - killedAt), 50);
      const foundMs = Date.now() - killedAt;
      expect(foundMs).toBeLessThan(10_000);
      console.info(
        `sentinel failover: promoted after ${promotedMs} ms, registration found again after ${foundMs} ms`,
      );

      // The refresh loop saw the gap and reported its end.
      await waitFor(() => events.includes('recovered'), 3000);
      expect(events.indexOf('refresh-failed')).toBeGreaterThanOrEqual(0);
      expect(events.indexOf('refresh-failed')).toBeLessThan(events.indexOf('recovered'));
      expect(failures.every((failure) => failure.code === 'store-unavailable')).toBe(true);
      expect(registry.health().ok).toBe(true);

      // Writes land on the new master (no READONLY), and the watch connection followed it too.
      notices.length = 0;
      const ref = { namespace, service: 'other', instanceId: 'o-1' };
      await waitFor(
        async () => {
          await store.put(ref, 'v', 60_000);
          return notices.includes('other');
        },
        5000,
        200,
      );
      await store.delete(ref);
    } finally {
      await unwatch();
      await registry.close();
    }
  }, 30_000);
});
