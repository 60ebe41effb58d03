import { isRegistryError } from '@service-registry/core';
import { indexKey, recordKey, servicesKey } from '@service-registry/redis-layout';
import { deleteNamespace, randomNamespace } from '@service-registry/redis-testing';
import { sleep, waitFor } from '@service-registry/test-suite';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisClientLike, type RedisStore, redisStore } from '../src/index.js';
import { redis } from './found-redis.js';
import { skipped } from './skipped.js';

const LONG_TTL_MS = 60_000;
const SHORT_TTL_MS = 150;

// Compile-time: ioredis clients of either reply mapping satisfy the store's narrow client type.
export const acceptedClients = (url: string): RedisClientLike[] => [
  new Redis(url, { lazyConnect: true }),
  new Redis(url, { lazyConnect: true, replyMapping: 'resp3' }),
  new Cluster([url], { lazyConnect: true }),
];

if (redis) {
  const found = redis;
  describe('redis store: pruning, watch and options', () => {
    let admin: Redis;
    let store: RedisStore;
    const namespaces: string[] = [];
    const namespace = () => {
      const created = randomNamespace('lay');
      namespaces.push(created);
      return created;
    };
    const ids = (records: readonly { service: string; instanceId: string }[]) =>
      records.map((record) => `${record.service}:${record.instanceId}`).sort();

    beforeAll(() => {
      admin = new Redis(found.url);
      store = redisStore({ url: found.url });
    });
    afterAll(async () => {
      await store.close();
      for (const name of namespaces) await deleteNamespace(admin, name);
      admin.disconnect();
      await found.stop();
    });

    it('a refresh prunes expired index entries, so the index does not grow with replaced instances', async () => {
      const ns = namespace();
      for (let generation = 0; generation < 5; generation++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            store.put(
              { namespace: ns, service: 'pods', instanceId: `g${generation}-${index}` },
              'v',
              SHORT_TTL_MS,
            ),
          ),
        );
        await sleep(SHORT_TTL_MS + 50);
      }
      await store.put({ namespace: ns, service: 'pods', instanceId: 'stable' }, 'v', LONG_TTL_MS);
      expect(await admin.zrange(indexKey(ns, 'pods'), '0', '-1')).toEqual(['stable']);
    });

    it('a find skips expired entries and entries whose record is gone, writing nothing; a refresh prunes them', async () => {
      const ns = namespace();
      await store.put({ namespace: ns, service: 'api', instanceId: 'long' }, 'v', LONG_TTL_MS);
      await store.put({ namespace: ns, service: 'api', instanceId: 'evicted' }, 'v', LONG_TTL_MS);
      for (const id of ['a', 'b', 'c'])
        await store.put({ namespace: ns, service: 'api', instanceId: id }, 'v', SHORT_TTL_MS);
      await admin.del(recordKey({ namespace: ns, service: 'api', instanceId: 'evicted' }));
      await sleep(SHORT_TTL_MS + 50);
      expect(await admin.zcard(indexKey(ns, 'api'))).toBe(5);
      expect(ids(await store.list(ns, 'api'))).toEqual(['api:long']);
      expect(ids(await store.list(ns))).toEqual(['api:long']);
      expect(await admin.zcard(indexKey(ns, 'api'))).toBe(5);
      // A join prunes the expired entries; the deleted record's entry goes when its score expires.
      await store.put({ namespace: ns, service: 'api', instanceId: 'new' }, 'v', LONG_TTL_MS);
      expect((await admin.zrange(indexKey(ns, 'api'), '0', '-1')).sort()).toEqual(['evicted', 'long', 'new']);
      expect(ids(await store.list(ns, 'api'))).toEqual(['api:long', 'api:new']);
    });

    it('the directory forgets services whose records expired or were all deleted', async () => {
      const ns = namespace();
      await store.put({ namespace: ns, service: 'long', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      await store.put({ namespace: ns, service: 'short', instanceId: 'i-1' }, 'v', SHORT_TTL_MS);
      await store.put({ namespace: ns, service: 'deleted', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      await store.delete({ namespace: ns, service: 'deleted', instanceId: 'i-1' });
      expect((await admin.zrange(servicesKey(ns), '0', '-1')).sort()).toEqual(['long', 'short']);
      await sleep(SHORT_TTL_MS + 50);
      expect(ids(await store.list(ns))).toEqual(['long:i-1']);
      // The directory keeps a service one ttl past its last record's expiry (its upkeep horizon).
      await sleep(SHORT_TTL_MS);
      expect(ids(await store.list(ns))).toEqual(['long:i-1']);
      // Reads leave the directory as it is; the next refresh that tends it prunes it.
      await store.put({ namespace: ns, service: 'fresh', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      expect((await admin.zrange(servicesKey(ns), '0', '-1')).sort()).toEqual(['fresh', 'long']);
    });

    it('a namespace whose records all expired leaves no key behind', async () => {
      const ns = namespace();
      await store.put({ namespace: ns, service: 'api', instanceId: 'i-1' }, 'v', SHORT_TTL_MS);
      await sleep(SHORT_TTL_MS + 50);
      expect(await admin.keys(`${ns}:*`)).not.toContain(`${ns}:{api}:i-1`);
      // Index and directory outlive the last record by at most one ttl.
      await sleep(SHORT_TTL_MS);
      expect(await admin.keys(`${ns}:*`)).toEqual([]);
    });

    it('publishes a change notice for joins and changes, not for routine refreshes', async () => {
      const ns = namespace();
      const seen: string[] = [];
      const stop = await store.watch(ns, (service) => seen.push(service));
      const ref = { namespace: ns, service: 'api', instanceId: 'i-1' };
      await store.put(ref, 'v1', LONG_TTL_MS, { changed: true }); // a join
      await store.put(ref, 'v2', LONG_TTL_MS, { changed: false }); // routine refreshes: silent
      await store.put(ref, 'v3', LONG_TTL_MS, { changed: false });
      await store.put({ ...ref, instanceId: 'i-2' }, 'v', LONG_TTL_MS, { changed: false }); // new to the index
      await admin.zrem(indexKey(ns, 'api'), 'i-1'); // the store lost the entry (flush, failover)
      await store.put(ref, 'v4', LONG_TTL_MS, { changed: false }); // back: announced
      await store.put(ref, 'v5', LONG_TTL_MS); // content changed (the default)
      await waitFor(() => seen.length >= 4, 2000);
      await sleep(100);
      expect(seen).toEqual(['api', 'api', 'api', 'api']);
      await stop();
    });

    it('watchers of one namespace share a subscription and stop independently', async () => {
      const ns = namespace();
      const first: string[] = [];
      const second: string[] = [];
      const stopFirst = await store.watch(ns, (service) => first.push(service));
      const stopSecond = await store.watch(ns, (service) => second.push(service));
      await store.put({ namespace: ns, service: 'api', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      await waitFor(() => first.length === 1 && second.length === 1, 2000);
      await stopFirst();
      await store.delete({ namespace: ns, service: 'api', instanceId: 'i-1' });
      await store.delete({ namespace: ns, service: 'api', instanceId: 'i-1' }); // nothing to remove: no notice
      await waitFor(() => second.length === 2, 2000);
      await sleep(100);
      expect({ first, second }).toEqual({ first: ['api'], second: ['api', 'api'] });
      await stopSecond();
      expect(await admin.pubsub('NUMSUB', `${ns}:changes`)).toEqual([`${ns}:changes`, 0]);
    });

    it('refuses names that would break the layout and non-positive ttls, with typed errors', async () => {
      const ns = namespace();
      const bad = [
        store.put({ namespace: ns, service: 'a:b', instanceId: 'i' }, 'v', 1000),
        store.put({ namespace: ns, service: '{api}', instanceId: 'i' }, 'v', 1000),
        store.list('ns*', 'api'),
      ];
      for (const call of bad)
        expect(isRegistryError(await call.catch((error) => error), 'invalid-name')).toBe(true);
      const ttl = await store
        .put({ namespace: ns, service: 'api', instanceId: 'i' }, 'v', 0)
        .catch((error) => error);
      expect(isRegistryError(ttl, 'invalid-argument')).toBe(true);
    });

    it('works through a client with a keyPrefix, and over RESP2', async () => {
      const ns = namespace();
      for (const options of [{ keyPrefix: 'app:' }, { protocol: 2 as const }]) {
        const client = new Redis(found.url, options);
        const prefixed = redisStore({ client });
        const seen: string[] = [];
        const stop = await prefixed.watch(ns, (service) => seen.push(service));
        await prefixed.put({ namespace: ns, service: 'api', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
        expect(ids(await prefixed.list(ns, 'api'))).toEqual(['api:i-1']);
        expect(ids(await prefixed.list(ns))).toEqual(['api:i-1']);
        await waitFor(() => seen.length === 1, 2000);
        await prefixed.delete({ namespace: ns, service: 'api', instanceId: 'i-1' });
        await stop();
        await prefixed.close();
        expect(client.status).toBe('ready'); // an injected client stays open
        client.disconnect();
      }
      await deleteNamespace(admin, `app:${ns}`);
    });
  });
} else {
  skipped('redis store layout');
}
