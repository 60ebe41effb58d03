import { ServiceRegistry } from '@service-registry/core';
import { scripts } from '@service-registry/redis-layout';
import {
  deleteNamespace,
  type RedisServer,
  randomNamespace,
  startRedisServer,
} from '@service-registry/redis-testing';
import { SECRET, sleep } from '@service-registry/test-suite';
import type { UpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UpstashStore, upstashStore } from '../src/index.js';
import { redis, skipped, startServer, upstashClient } from './support.js';

// HTTP requests per operation, counted at the test server. A fresh count per measurement.
async function measure<T>(server: UpstashTestServer, action: () => Promise<T>) {
  server.resetCounts();
  const result = await action();
  return { result, total: server.requests.total, byPath: { ...server.requests.byPath } };
}

const LONG_TTL_MS = 60_000;

if (redis) {
  const found = redis;

  describe('upstash store: requests per operation', () => {
    let server: UpstashTestServer;
    let store: UpstashStore;
    let piped: UpstashStore;
    const ns = randomNamespace('req');
    const registryNs = randomNamespace('req-reg');

    beforeAll(async () => {
      server = await startServer(found.url);
      store = upstashStore({ url: server.url, token: server.token });
      piped = upstashStore({ client: upstashClient(server, { enableAutoPipelining: true }) });
      // Caches the scripts (a fresh Redis answers NOSCRIPT once per script) before anything is counted.
      await store.put({ namespace: ns, service: 'warm', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      await store.list(ns);
      await store.delete({ namespace: ns, service: 'warm', instanceId: 'i-1' });
    });
    afterAll(async () => {
      const cleaner = new Redis(found.url);
      await deleteNamespace(cleaner, ns);
      await deleteNamespace(cleaner, registryNs);
      cleaner.disconnect();
      await server?.close();
      await found.stop();
    });

    it('a refresh (put) is one request: one EVALSHA', async () => {
      const { total, byPath } = await measure(server, () =>
        store.put({ namespace: ns, service: 'api', instanceId: 'i-1' }, 'v', LONG_TTL_MS),
      );
      expect({ total, byPath }).toEqual({ total: 1, byPath: { '/': 1 } });
      expect(server.requests.commands.map((command) => command.name)).toEqual(['EVALSHA']);
    });

    it('a refresh that checks for another writer (expectPrevious) is still one request', async () => {
      const ref = { namespace: ns, service: 'dup', instanceId: 'i-1' };
      await store.put(ref, 'g1.mine.first', LONG_TTL_MS);
      const mine = await measure(server, () =>
        store.put(ref, 'g1.mine.second', LONG_TTL_MS, { expectPrevious: 'g1.mine.f' }),
      );
      expect(mine).toEqual({ result: { matched: true }, total: 1, byPath: { '/': 1 } });
      await store.put(ref, 'theirs-ü', LONG_TTL_MS);
      const theirs = await measure(server, () =>
        store.put(ref, 'g1.mine.third', LONG_TTL_MS, { expectPrevious: 'g1.mine.s' }),
      );
      expect(theirs).toEqual({
        result: { matched: false, previous: 'theirs-ü' },
        total: 1,
        byPath: { '/': 1 },
      });
      expect(server.requests.commands.map((command) => command.name)).toEqual(['EVALSHA']);
      await store.delete(ref);
    });

    it('a registry refreshing with duplicate detection makes one request per refresh (no GET)', async () => {
      const registry = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: 'https://a.example.com',
        namespace: registryNs,
        ttl: 3,
        interval: 0.5,
        jitter: 0,
      });
      let refreshes = 0;
      const refreshed = (count: number) =>
        new Promise<void>((resolve) => {
          const stop = registry.on('refreshed', () => {
            refreshes++;
            if (--count > 0) return;
            stop();
            resolve();
          });
        });
      try {
        await registry.register(['things'], { serviceName: 'loop', instanceId: 'i-1', port: 443 });
        // From just after one refresh landed to the third after it: three refreshes, nothing else.
        await refreshed(1);
        refreshes = 0;
        const { total, byPath } = await measure(server, () => refreshed(3));
        expect(refreshes).toBe(3);
        expect({ total, byPath }).toEqual({ total: 3, byPath: { '/': 3 } });
        expect(server.requests.commands.map((command) => command.name)).toEqual(Array(3).fill('EVALSHA'));
        expect(registry.health().duplicate.detected).toBe(false);
      } finally {
        await registry.close();
      }
    });

    it('list(ns, service) is one request', async () => {
      await store.put({ namespace: ns, service: 'api', instanceId: 'i-2' }, 'v', LONG_TTL_MS);
      const { result, total } = await measure(server, () => store.list(ns, 'api'));
      expect(result).toHaveLength(2);
      expect(total).toBe(1);
    });

    it('list(ns) is two requests: the directory, then one pipeline of every service', async () => {
      for (const service of ['billing', 'search', 'mail'])
        await store.put({ namespace: ns, service, instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      const { result, total, byPath } = await measure(server, () => store.list(ns));
      expect(result).toHaveLength(5);
      expect({ total, byPath }).toEqual({ total: 2, byPath: { '/': 1, '/pipeline': 1 } });
      // Read-only scripts: a full database (noeviction) still answers them.
      expect(server.requests.commands.map((command) => command.name)).toEqual(Array(5).fill('EVALSHA_RO'));
    });

    it('list(ns) of an empty namespace is one request', async () => {
      const { result, total } = await measure(server, () => store.list(randomNamespace('empty')));
      expect(result).toEqual([]);
      expect(total).toBe(1);
    });

    it('a delete is one request', async () => {
      await store.put({ namespace: ns, service: 'gone', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      const { total } = await measure(server, () =>
        store.delete({ namespace: ns, service: 'gone', instanceId: 'i-1' }),
      );
      expect(total).toBe(1);
    });

    it('an auto-pipelining client keeps the same budget', async () => {
      const ref = { namespace: ns, service: 'api', instanceId: 'i-3' };
      expect((await measure(server, () => piped.put(ref, 'v', LONG_TTL_MS))).total).toBe(1);
      expect((await measure(server, () => piped.list(ns, 'api'))).total).toBe(1);
      expect((await measure(server, () => piped.list(ns))).total).toBe(2);
      // Operations started together share one request: writes with writes, reads with reads
      // (@upstash/redis batches EVALSHA_RO apart from writes).
      const writes = await measure(server, () =>
        Promise.all([
          piped.put(ref, 'v2', LONG_TTL_MS),
          piped.put({ ...ref, instanceId: 'i-4' }, 'v', LONG_TTL_MS),
        ]),
      );
      expect(writes.total).toBe(1);
      const reads = await measure(server, () =>
        Promise.all([piped.list(ns, 'api'), piped.list(ns, 'billing')]),
      );
      expect(reads.total).toBe(1);
      await piped.delete({ ...ref, instanceId: 'i-4' });
      await piped.delete(ref);
    });

    it('a serverless invocation: register = 2 requests (TIME, put), then update = 1, find(service) = 1, find() = 2', async () => {
      const registry = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: 'https://fn.example.com',
        namespace: registryNs,
        ttl: 1,
        interval: 0.25,
      });
      try {
        const registered = await measure(server, () =>
          registry.register(['things'], { serviceName: 'fn', instanceId: 'i-1', port: 443, refresh: false }),
        );
        // One TIME per registry (then at most one per 30 s): expiry runs on the store's clock.
        expect(registered.total).toBe(2);
        expect(registry.health().nextRefreshAt).toBeNull();
        expect((await measure(server, () => registry.update())).total).toBe(1);
        const one = await measure(server, () => registry.find('fn'));
        expect(one.result.instances.map((instance) => instance.id)).toEqual(['i-1']);
        expect(one.total).toBe(1);
        const all = await measure(server, () => registry.find());
        expect(all.result.instances).toHaveLength(1);
        expect(all.total).toBe(2);
        // No timer: nothing is written between invocations.
        const idle = await measure(server, () => sleep(600));
        expect(idle.total).toBe(0);
      } finally {
        const closing = await measure(server, () => registry.close());
        expect(closing.total).toBe(1); // the delete
      }
    });
  });

  describe('upstash store: scripts missing from the server (a new or flushed database)', () => {
    let own: RedisServer;
    let admin: Redis;
    let server: UpstashTestServer;
    let store: UpstashStore;
    const ns = randomNamespace('noscript');

    beforeAll(async () => {
      // SCRIPT FLUSH would break other users of a shared Redis: this server is ours.
      own = await startRedisServer();
      admin = new Redis(own.url);
      server = await startServer(own.url);
      store = upstashStore({ url: server.url, token: server.token });
    });
    afterAll(async () => {
      admin?.disconnect();
      await server?.close();
      await own?.stop();
    });

    it('the stored script hashes are the ones SCRIPT LOAD returns through the REST API', async () => {
      const client = upstashClient(server);
      for (const script of scripts)
        expect(await client.scriptLoad(script.source), script.name).toBe(script.sha1);
    });

    it('put falls back to EVAL once (two requests), then one EVALSHA again', async () => {
      await admin.script('FLUSH');
      const ref = { namespace: ns, service: 'api', instanceId: 'i-1' };
      const first = await measure(server, () => store.put(ref, 'v', LONG_TTL_MS));
      expect(server.requests.commands.map((command) => command.name)).toEqual(['EVALSHA', 'EVAL']);
      expect(first.total).toBe(2);
      expect((await measure(server, () => store.put(ref, 'v2', LONG_TTL_MS))).total).toBe(1);
      expect((await store.list(ns, 'api')).map((record) => record.value)).toEqual(['v2']);
    });

    it('list(ns) repairs a pipeline with one EVAL per script, then the rest by hash', async () => {
      for (const service of ['billing', 'search'])
        await store.put({ namespace: ns, service, instanceId: 'i-1' }, 'v', LONG_TTL_MS);
      await admin.script('FLUSH');
      const listed = await measure(server, () => store.list(ns));
      expect(listed.result.map((record) => record.service).sort()).toEqual(['api', 'billing', 'search']);
      // Directory: EVALSHA, EVAL. Services: the pipeline, one EVAL, a second pipeline for the other two.
      expect(listed.byPath).toEqual({ '/': 3, '/pipeline': 2 });
      expect((await measure(server, () => store.list(ns))).total).toBe(2);
    });

    it('an auto-pipelining client sees NOSCRIPT inside its batch and falls back the same way', async () => {
      const piped = upstashStore({ client: upstashClient(server, { enableAutoPipelining: true }) });
      await admin.script('FLUSH');
      const ref = { namespace: ns, service: 'api', instanceId: 'i-2' };
      // EVALSHA, then EVAL: each in its own auto-pipelined batch.
      expect((await measure(server, () => piped.put(ref, 'piped', LONG_TTL_MS))).byPath).toEqual({
        '/pipeline': 2,
      });
      expect((await piped.list(ns, 'api')).map((record) => record.value)).toEqual(['v2', 'piped']);
    });
  });
} else {
  skipped('upstash store requests');
}
