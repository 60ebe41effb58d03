import { deleteNamespace, flushNamespace, randomNamespace } from '@service-registry/redis-testing';
import {
  runDiscoveryConformance,
  runRegistryScenarios,
  runStoreConformance,
} from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { redisStore } from '../src/index.js';
import { redis } from './found-redis.js';
import { skipped } from './skipped.js';

if (redis) {
  const found = redis;
  const { url } = found;
  const namespaces: string[] = [];
  const namespace = () => {
    const created = randomNamespace('conf');
    namespaces.push(created);
    return created;
  };
  const clients: Redis[] = [];

  // The store opens its own connection from a URL...
  runStoreConformance('redis (url)', {
    createStore: () => redisStore({ url }),
    namespace,
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
  const flusher = new Redis(url);
  clients.push(flusher);
  runDiscoveryConformance('redis', {
    createStore: () => redisStore({ url }),
    // The namespace's keys only: this Redis may be shared (a real FLUSHALL is in faults.test.ts).
    flushIsAtomic: true,
    flush: async (name) => {
      await flushNamespace(flusher, name);
    },
  });
  // ...or uses one the caller owns and closes.
  runRegistryScenarios('redis (client)', {
    createStore: () => {
      const client = new Redis(url);
      clients.push(client);
      return redisStore({ client });
    },
  });

  afterAll(async () => {
    const cleaner = new Redis(url);
    // Directory entries outlive deleted records until their ttl; a shared Redis gets them back now.
    // The scenarios pick their own namespaces (prefix `scn-`) and leave only expiring keys.
    for (const name of namespaces) await deleteNamespace(cleaner, name);
    cleaner.disconnect();
    for (const client of clients) client.disconnect();
    await found.stop();
  });
} else {
  skipped('redis store conformance');
}
