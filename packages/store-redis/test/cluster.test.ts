import { indexKey, keySlot, recordKey, recordKeyPrefix, servicesKey } from '@service-registry/redis-layout';
import {
  flushNamespace,
  type RedisCluster,
  randomNamespace,
  startRedisCluster,
  traceClient,
} from '@service-registry/redis-testing';
import {
  runDiscoveryConformance,
  runRegistryScenarios,
  runStoreConformance,
} from '@service-registry/test-suite';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../src/index.js';
import { skipped } from './skipped.js';

// A real three-master Redis Cluster on loopback (redis-server and redis-cli from PATH), started here
// and stopped afterwards. Without them the suites skip with a notice, or fail under CI=true.

async function startCluster(): Promise<RedisCluster | undefined> {
  try {
    return await startRedisCluster({ masters: 3 });
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    console.warn(`\n!! SKIPPING THE REDIS CLUSTER SUITES: ${String(error)}\n`);
    return undefined;
  }
}

const cluster = await startCluster();

if (cluster) {
  const clients: Cluster[] = [];
  const connect = () => {
    const client = new Cluster([...cluster.startupNodes]);
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await cluster.stop();
  });

  runStoreConformance('redis cluster', {
    createStore: () => redisStore({ client: connect() }),
    capabilities: {
      watch: true,
      nativeExpiry: true,
      layout: 'native',
      layouts: ['native', 'apicrud'],
      changeCount: true,
      probe: true,
      comparePrevious: true,
      snapshot: true,
    },
  });
  runDiscoveryConformance('redis cluster', {
    createStore: () => redisStore({ client: connect() }),
    // Atomic per service (one slot, one UNLINK), not across the masters.
    flushIsAtomic: false,
    flush: async (name) => {
      await flushNamespace(connect(), name);
    },
  });
  runRegistryScenarios('redis cluster', { createStore: () => redisStore({ client: connect() }) });

  describe('redis cluster layout', () => {
    let client: Cluster;
    beforeAll(async () => {
      client = connect();
      await client.ping();
    });

    it('computes slots as the cluster does, and keeps each service in one slot', async () => {
      const ref = { namespace: 'ns', service: 'dienst-ü', instanceId: 'i-1' };
      const keys = [
        recordKey(ref),
        indexKey('ns', ref.service),
        servicesKey('ns'),
        'plain',
        'a{}b',
        '{x}{y}',
      ];
      const node = client.nodes('master')[0] as NonNullable<ReturnType<Cluster['nodes']>[number]>;
      for (const key of keys) expect(keySlot(key), key).toBe(await node.cluster('KEYSLOT', key));
      expect(keySlot(recordKey(ref))).toBe(keySlot(indexKey('ns', ref.service)));
      expect(keySlot(`${recordKeyPrefix('ns', ref.service)}other`)).toBe(keySlot(recordKey(ref)));
    });

    it('a refresh is the record script and the directory script, sent together', async () => {
      const store = redisStore({ client });
      const ref = { namespace: randomNamespace('clu'), service: 'api', instanceId: 'i-1' };
      await store.put(ref, 'warm', 60_000);
      const trace = traceClient(client);
      await store.put(ref, 'v', 60_000);
      trace.stop();
      expect(trace.commands).toEqual(['evalsha', 'evalsha']);
      await store.delete(ref);
      await client.del(servicesKey(ref.namespace));
    });

    it('a routine refresh goes to the record node alone; the directory entry reaches past the upkeep horizon', async () => {
      const store = redisStore({ client });
      const ttl = 60_000;
      const ref = { namespace: randomNamespace('clu'), service: 'api', instanceId: 'i-1' };
      await store.put(ref, 'v', ttl);
      const trace = traceClient(client);
      await store.put(ref, 'v', ttl, { changed: false });
      trace.stop();
      // SET PXAT, ZADD XX CH, PTTL as one pipeline to the service's master; no directory script.
      // (ioredis may refresh its slot map meanwhile: CLUSTER commands are not the refresh's.)
      expect(trace.commands.filter((command) => command !== 'cluster')).toEqual(['set', 'zadd', 'pttl']);
      // The join's directory touch covers every routine refresh until upkeep is due: the entry lies
      // at least one ttl past the record's expiry, and the directory lives as long.
      const score = Number(await client.zscore(servicesKey(ref.namespace), 'api'));
      const expiresAt = Number(await client.call('PEXPIRETIME', recordKey(ref)));
      expect(score).toBeGreaterThanOrEqual(expiresAt + ttl - 1_000);
      expect(await client.pttl(servicesKey(ref.namespace))).toBeGreaterThan(2 * ttl - 1_000);
      await store.delete(ref);
      await client.del(servicesKey(ref.namespace));
    });

    it('lists services that live on different nodes with one pipeline per node', async () => {
      const store = redisStore({ client });
      const ns = randomNamespace('clu');
      const services = Array.from({ length: 12 }, (_, index) => `svc-${index}`);
      await Promise.all(
        services.map((service) => store.put({ namespace: ns, service, instanceId: 'i-1' }, 'v', 60_000)),
      );
      const owners = new Set(services.map((service) => client.slots[keySlot(indexKey(ns, service))]?.[0]));
      expect(owners.size).toBe(3);

      const trace = traceClient(client);
      const records = await store.list(ns);
      trace.stop();
      expect(records.map((record) => record.service).sort()).toEqual([...services].sort());
      // The directory read, then at most one pipeline per master.
      expect(trace.commands).toHaveLength(1 + services.length);
      expect(trace.writes).toBeLessThanOrEqual(1 + 3);

      await Promise.all(
        services.map((service) => store.delete({ namespace: ns, service, instanceId: 'i-1' })),
      );
      await client.del(servicesKey(ns));
    });

    it('a service index of the wrong type is one bad entry; the services on every node are still listed', async () => {
      const store = redisStore({ client });
      const ns = randomNamespace('clu');
      const services = Array.from({ length: 6 }, (_, index) => `svc-${index}`);
      for (const service of services)
        await store.put({ namespace: ns, service, instanceId: 'i-1' }, 'v', 60_000);
      await client.set(indexKey(ns, 'svc-2'), 'overwritten by hand');
      const records = await store.list(ns);
      expect(
        records
          .filter((record) => record.fault === undefined)
          .map((record) => record.service)
          .sort(),
      ).toEqual(services.filter((service) => service !== 'svc-2'));
      expect(records.filter((record) => record.fault !== undefined)).toEqual([
        expect.objectContaining({
          service: 'svc-2',
          key: indexKey(ns, 'svc-2'),
          fault: expect.stringMatching(/string/),
        }),
      ]);
      for (const service of services) await client.del(indexKey(ns, service), `${ns}:{${service}}:i-1`);
      await client.del(servicesKey(ns));
    });
  });
} else {
  skipped('redis cluster store');
}
