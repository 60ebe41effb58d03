import { createDiscovery, type DiscoveryView, gcmCodec } from '@service-registry/core';
import { deleteNamespace, findRedis, randomNamespace } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import { LeanWriters } from '../src/fleet-lean.js';
import { SECRET } from '../src/lib.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const next = (view: DiscoveryView, event: 'updated' | 'removed') =>
  new Promise<void>((resolve) => {
    const stop = view.on(event, () => {
      stop();
      resolve();
    });
  });

// A tiny lean fleet (ttl 3 s, interval 1 s): its records are what a registry writes, real views see
// its joins, status changes and leaves, and its routine refreshes pass the duplicate check.
test('the lean generator writes real records, refreshes them and churns them', async () => {
  const redis = await findRedis();
  if (!redis) {
    if (process.env.CI === 'true') throw new Error('no Redis for the lean fleet test under CI');
    console.warn('lean fleet test skipped: no Redis found');
    return;
  }
  const namespace = randomNamespace('lean');
  const client = new Redis(redis.url, { enableAutoPipelining: true });
  const store = redisStore({ client });
  const reader = redisStore({ url: redis.url });
  const service = (index: number) => `svc${index % 2}`;
  const writers = new LeanWriters([store], namespace, service, { ttlMs: 3000, intervalMs: 1000 });
  let view: DiscoveryView | undefined;
  try {
    await writers.registerAll(20);
    // Opened after the joins: its first load reads them all.
    view = createDiscovery({
      store: reader,
      codec: gcmCodec(SECRET),
      namespace,
      services: ['svc0', 'svc1'],
      ttl: 3,
      interval: 1,
    });
    await view.ready;
    expect(view.instances('svc0')).toHaveLength(10);
    const [first] = view.instances('svc1');
    expect(first?.info).toMatchObject({ port: 8080, endpoints: expect.arrayContaining(['orders']) });
    expect(first?.meta).toMatchObject({ version: '1.4.2' });

    // Every instance refreshes within an interval of its join, then once per interval.
    await sleep(2500);
    expect(writers.refreshes).toBeGreaterThanOrEqual(30);
    expect(writers.refreshFailures).toBe(0);
    expect(writers.foreignPrevious).toBe(0);

    const changed = writers.pick();
    if (!changed) throw new Error('no live instance');
    const updated = next(view, 'updated');
    await writers.setStatus(changed, 'draining');
    await updated;
    expect(view.instances(changed.service).find((item) => item.id === changed.id)?.status).toBe('draining');

    const leaving = writers.pick();
    if (!leaving) throw new Error('no live instance');
    const removed = next(view, 'removed');
    await writers.leave(leaving);
    await removed;
    expect(writers.size).toBe(19);
    await writers.join(20);
    expect(writers.size).toBe(20);

    // A record outlives its ttl only because it is refreshed: after two ttls every one is still there.
    await sleep(3500);
    expect(view.instances('svc0').length + view.instances('svc1').length).toBe(20);
    expect(writers.refreshFailures).toBe(0);
    expect(writers.foreignPrevious).toBe(0);
  } finally {
    await writers.close();
    await view?.close();
    await deleteNamespace(client, namespace);
    await Promise.all([store.close(), reader.close()]);
    client.disconnect();
    await redis.stop();
  }
});
