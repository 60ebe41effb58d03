import { deleteNamespace, flushNamespace } from '@service-registry/redis-testing';
import {
  runDiscoveryConformance,
  runRegistryScenarios,
  runStoreConformance,
} from '@service-registry/test-suite';
import { Redis } from 'ioredis';
import { afterAll, describe } from 'vitest';
import { upstashStore } from '../src/index.js';
import { namespaces, realUpstash, redis, skipped, startServer, upstashClient } from './support.js';

// With `layouts`, each suite runs again on the apicrud view (`withLayout('apicrud')`).
const capabilities = {
  watch: false,
  nativeExpiry: true,
  layout: 'native',
  layouts: ['native', 'apicrud'],
  changeCount: true,
  probe: true,
  comparePrevious: true,
  snapshot: true,
} as const;

// The real @upstash/redis client against the Upstash-compatible test server over a real Redis.
if (redis) {
  const found = redis;
  const server = await startServer(found.url);
  const names = namespaces('conf');

  // The store creates its client from url and token...
  runStoreConformance('upstash (url, token)', {
    createStore: () => upstashStore({ url: server.url, token: server.token }),
    namespace: names.next,
    capabilities,
  });
  // ...or uses one the caller made, with or without the client's auto-pipelining.
  runStoreConformance('upstash (auto-pipelining client)', {
    createStore: () => upstashStore({ client: upstashClient(server, { enableAutoPipelining: true }) }),
    namespace: names.next,
    capabilities,
  });
  runRegistryScenarios('upstash (client)', {
    createStore: () => upstashStore({ client: upstashClient(server) }),
  });
  const flusher = new Redis(found.url);
  runDiscoveryConformance('upstash (client)', {
    createStore: () => upstashStore({ client: upstashClient(server) }),
    flushIsAtomic: true,
    flush: async (name) => {
      await flushNamespace(flusher, name);
    },
  });

  afterAll(async () => {
    const cleaner = new Redis(found.url);
    // Directory entries outlive deleted records until their ttl; the Redis may be shared.
    for (const name of names.all) await deleteNamespace(cleaner, name);
    cleaner.disconnect();
    flusher.disconnect();
    await server.close();
    await found.stop();
  });
} else {
  skipped('upstash store conformance');
}

// The same suites against a real Upstash database, when its credentials are in the environment.
if (!realUpstash) {
  console.warn(
    '\n!! Skipping the suites against a real Upstash database: set UPSTASH_REDIS_REST_URL and ' +
      'UPSTASH_REDIS_REST_TOKEN to run them.\n',
  );
}
describe.skipIf(!realUpstash)('a real Upstash database', () => {
  const credentials = realUpstash ?? { url: 'https://unused.invalid', token: 'unused' };
  runStoreConformance('upstash (real)', {
    createStore: () => upstashStore({ ...credentials, timeoutMs: 10_000 }),
    capabilities,
  });
  runRegistryScenarios('upstash (real)', {
    createStore: () => upstashStore({ ...credentials, timeoutMs: 10_000 }),
  });
});
