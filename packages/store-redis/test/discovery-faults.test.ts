import {
  createDiscovery,
  type DiscoveryEvents,
  type DiscoveryView,
  type RemovalReason,
  ServiceRegistry,
} from '@service-registry/core';
import { type RedisServer, randomNamespace, startRedisServer } from '@service-registry/redis-testing';
import { SECRET, sleep, waitFor } from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisStore, redisStore } from '../src/index.js';

// The discovery view through faults of a redis-server this file owns: stopped, restarted empty,
// flushed. Any unhandled rejection anywhere in the file fails it.

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);

interface Watched {
  readonly view: DiscoveryView;
  readonly removed: RemovalReason[];
  readonly events: (keyof DiscoveryEvents)[];
  /** Samples (every 5 ms) at which a live instance was missing from the view. */
  missing(): number;
  stopWatching(): void;
}

describe('discovery view through redis faults', () => {
  let server: RedisServer;
  let store: RedisStore;
  let namespace: string;
  const registries: ServiceRegistry[] = [];
  const views: DiscoveryView[] = [];

  const fleet = async (count: number, ttl: number, interval: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const registry = new ServiceRegistry({
        store,
        secret: SECRET,
        namespace,
        publicUrl: `http://api-${index}.test`,
        ttl,
        interval,
      });
      registries.push(registry);
      await registry.register(['users'], { serviceName: 'api', instanceId: `api-${index}`, port: 80 });
      ids.push(`api-${index}`);
    }
    return ids;
  };
  const watch = async (
    ttl: number,
    interval: number,
    live: readonly string[],
    maxStaleness?: number,
    viewStore: RedisStore = store,
  ): Promise<Watched> => {
    const view = createDiscovery({
      store: viewStore,
      secret: SECRET,
      namespace,
      ttl,
      interval,
      ...(maxStaleness === undefined ? {} : { maxStaleness }),
    });
    views.push(view);
    const removed: RemovalReason[] = [];
    const events: (keyof DiscoveryEvents)[] = [];
    view.on('removed', ({ reason }) => removed.push(reason));
    for (const name of ['stale', 'fresh', 'guarded'] as const) view.on(name, () => events.push(name));
    await view.ready;
    let missing = 0;
    const timer = setInterval(() => {
      const held = new Set(view.instances('api').map((instance) => instance.id));
      if (live.some((id) => !held.has(id))) missing++;
    }, 5);
    return { view, removed, events, missing: () => missing, stopWatching: () => clearInterval(timer) };
  };

  beforeAll(async () => {
    server = await startRedisServer();
    store = redisStore({ url: server.url });
  });
  afterEach(async () => {
    await Promise.allSettled(views.splice(0).map((view) => view.close()));
    await Promise.allSettled(registries.splice(0).map((registry) => registry.close()));
    namespace = randomNamespace('dfault');
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled.map(String)).toEqual([]);
  });
  namespace = randomNamespace('dfault');

  it('a 2 s outage (restarted empty): stale with an age, nothing removed, current again', async () => {
    const live = await fleet(4, 4, 1);
    const watched = await watch(4, 1, live);
    await server.stop();
    await waitFor(() => watched.view.snapshot().stale, 3_000);
    await sleep(2_000);
    const during = watched.view.snapshot();
    expect(during.stale).toBe(true);
    expect(during.ageMs).toBeGreaterThan(1_000);
    expect(during.instances).toHaveLength(4);
    await server.restart();
    await waitFor(() => !watched.view.snapshot().stale, 5_000);
    await sleep(1_500);
    watched.stopWatching();
    expect(watched.missing()).toBe(0);
    expect(watched.removed).toEqual([]);
    expect(watched.events).toContain('fresh');
    expect(watched.view.instances('api').map((instance) => instance.id)).toEqual(live);
  });

  // Found by the chaos run's view bound: the records' expiries pass during the outage, unseen (the
  // instances cannot refresh either), so the first read after it must not take them as expired.
  it('an outage longer than ttl - interval (restarted empty): expiries that passed unseen remove nothing', async () => {
    // An interval longer than the instances' reconnect backoff (1 s at most), so one hold covers their return.
    const live = await fleet(4, 3, 1.5);
    // The view on its own connection that reconnects at once, so it tends to read before the
    // instances are back, as a separate process would.
    const own = redisStore({ url: server.url, retryStrategy: () => 50 });
    const watched = await watch(3, 1.5, live, 10, own);
    await server.stop();
    await waitFor(() => watched.view.snapshot().stale, 4_000);
    await sleep(3_000);
    expect(watched.view.instances('api')).toHaveLength(4);
    await server.restart();
    await waitFor(() => !watched.view.snapshot().stale, 5_000);
    await waitFor(() => watched.view.snapshot().guarded.length === 0, 5_000);
    await sleep(500);
    watched.stopWatching();
    expect(watched.removed).toEqual([]);
    expect(watched.missing()).toBe(0);
    expect(watched.view.instances('api').map((instance) => instance.id)).toEqual(live);
    await watched.view.close();
    await own.close();
  }, 20_000);

  it('an outage of 2 x ttl: stale, then empty at maxStaleness (saying why), then current again', async () => {
    const live = await fleet(3, 1.5, 0.5);
    const watched = await watch(1.5, 0.5, live);
    await server.stop();
    await waitFor(() => watched.view.snapshot().stale, 3_000);
    expect(watched.view.instances('api')).toHaveLength(3);
    await waitFor(() => watched.view.instances('api').length === 0, 4_000);
    expect(watched.removed).toEqual(['stale-bound', 'stale-bound', 'stale-bound']);
    expect(watched.view.snapshot()).toMatchObject({ stale: true, instances: [] });
    expect(() => watched.view.pick('api')).toThrow(expect.objectContaining({ code: 'no-instance' }));
    await sleep(1_000);
    await server.restart();
    // Back once the clients have reconnected (ioredis backs off while the server is down), within
    // one retry of the view and one refresh of the instances.
    await waitFor(() => watched.view.instances('api').length === 3, 10_000);
    watched.stopWatching();
    expect(watched.view.snapshot().stale).toBe(false);
  }, 30_000);

  // After a long outage a writer's refresh that waited in its connection's queue lands with the
  // expiry it was given before (dead on arrival): the view's first reload skips it, and the fix, the
  // writer's next write, is a routine refresh nothing pushes. The view reads again until none is skipped.
  it('after an outage past the bound, every live instance is back within a few intervals of fresh', async () => {
    const live = await fleet(3, 1.5, 0.5);
    const watched = await watch(1.5, 0.5, live);
    let freshAt = 0;
    watched.view.on('fresh', () => {
      freshAt = Date.now();
    });
    await server.stop();
    await waitFor(() => watched.view.instances('api').length === 0, 8_000);
    await sleep(1_000);
    await server.restart();
    await waitFor(() => freshAt > 0, 10_000);
    // Within one write interval of the view answering again, plus the follow-up's settle time.
    await waitFor(() => watched.view.instances('api').length === 3, 3_000);
    watched.stopWatching();
    expect(Date.now() - freshAt).toBeLessThan(1_500);
    expect(watched.view.instances('api').map((instance) => instance.id)).toEqual(live);
  }, 30_000);

  it('FLUSHALL: live instances never leave the view, no removed storm (guarded while they return)', async () => {
    const live = await fleet(6, 2, 0.5);
    const watched = await watch(2, 0.5, live);
    const admin = new Redis(server.url);
    await admin.flushall();
    admin.disconnect();
    // The view re-reads on the flush's notice-less silence or its next probe. When that read comes
    // before most instances wrote themselves back, the guard holds the service (`guarded`); when they
    // were quicker (a loaded machine reorders the two), nothing vanished and there is nothing to hold.
    // Either way no live instance may leave the view.
    await sleep(2_000);
    await waitFor(() => watched.view.snapshot().guarded.length === 0, 3_000);
    await sleep(500);
    watched.stopWatching();
    expect(watched.missing()).toBe(0);
    expect(watched.removed).toEqual([]);
  });

  it('restarted empty: the same, and one deregister during the hold is not a storm either', async () => {
    const live = await fleet(5, 2, 0.5);
    const watched = await watch(2, 0.5, live.slice(0, 4));
    await server.restart();
    await sleep(1_500);
    await registries.at(-1)?.close();
    await waitFor(() => watched.view.instances('api').length === 4, 3_000);
    watched.stopWatching();
    expect(watched.missing()).toBe(0);
    expect(watched.removed.length).toBeLessThanOrEqual(1);
  });

  it('100 views close at once, promptly, leaving nothing running', async () => {
    await fleet(2, 2, 0.5);
    const many = Array.from({ length: 100 }, () =>
      createDiscovery({ store, secret: SECRET, namespace, ttl: 2, interval: 0.5 }),
    );
    await Promise.all(many.map((view) => view.ready));
    expect(many.every((view) => view.instances('api').length === 2)).toBe(true);
    const started = Date.now();
    await Promise.all(many.map((view) => view.close()));
    expect(Date.now() - started).toBeLessThan(5_000);
    // Closed views are inert: reads still answer, no store work continues.
    const reads = many.map((view) => view.stats().storeReads);
    await sleep(1_500);
    expect(many.map((view) => view.stats().storeReads)).toEqual(reads);
  });
});
