import { fileURLToPath } from 'node:url';
import { ServiceRegistry } from '@service-registry/core';
import {
  bundleForEdge,
  deleteNamespace,
  type EdgeBundle,
  nodeImportsIn,
  randomNamespace,
} from '@service-registry/redis-testing';
import { SECRET } from '@service-registry/test-suite';
import type { UpstashTestServer } from '@service-registry/upstash-test-server';
import { EdgeRuntime } from 'edge-runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstashStore } from '../src/index.js';
import { redis, skipped, startServer } from './support.js';

const entry = fileURLToPath(new URL('./edge/entry.ts', import.meta.url));

describe('the edge bundle of core and store-upstash', () => {
  let bundle: EdgeBundle;
  beforeAll(async () => {
    bundle = await bundleForEdge(entry);
  });

  it('holds no Node API: everything bundled, no node: imports, no require()', () => {
    const { code, external } = bundle;
    expect(external).toEqual([]);
    expect(nodeImportsIn(code)).toEqual([]);
    // The default build of core: Web Crypto, not the node condition's node:crypto backend.
    expect(code).toContain('crypto.subtle');
    expect(code).not.toContain('nodeCryptoBackend');
  });

  it('the check bites: with the node condition, core brings node:crypto along', async () => {
    const { code, external } = await bundleForEdge(entry, { extraConditions: ['node'], silent: true });
    expect([...external, ...nodeImportsIn(code)].join(' ')).toMatch(/node:crypto/);
  });
});

if (redis) {
  const found = redis;

  describe('register, update and find inside edge-runtime', () => {
    let server: UpstashTestServer;
    let bundle: EdgeBundle;
    const namespace = randomNamespace('edge');

    beforeAll(async () => {
      [server, bundle] = await Promise.all([startServer(found.url), bundleForEdge(entry)]);
      // A fresh Redis answers NOSCRIPT once per script: cache them before counting.
      const warm = upstashStore({ url: server.url, token: server.token });
      const ref = { namespace, service: 'warm', instanceId: 'i-1' };
      await warm.put(ref, 'v', 60_000);
      await warm.list(namespace);
      await warm.delete(ref);
    });
    afterAll(async () => {
      const cleaner = new Redis(found.url);
      await deleteNamespace(cleaner, namespace);
      cleaner.disconnect();
      await server?.close();
      await found.stop();
    });

    it('runs against the test server, one request per write and per find(service)', async () => {
      const runtime = new EdgeRuntime({ initialCode: bundle.code });
      server.resetCounts();
      const response = await runtime.dispatchFetch('https://edge.example.com/invoke', {
        method: 'POST',
        body: JSON.stringify({ url: server.url, token: server.token, namespace, secret: SECRET }),
      });
      await response.waitUntil();
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({
        runtime: 'edge-runtime',
        hasNodeProcess: false,
        registered: 'edge',
        health: { ok: true, registered: true, nextRefreshAt: null, consecutiveFailures: 0 },
        one: ['edge:isolate-1'],
        all: ['edge:isolate-1'],
      });
      // register 2 (TIME for the store's clock, then the write), update 1, find('edge') 1, find() 2:
      // the directory, then one pipeline.
      expect(server.requests.total).toBe(6);
      expect(server.requests.byPath).toEqual({ '/': 5, '/pipeline': 1 });

      // Written with Web Crypto on the edge, read on Node (node:crypto) through the same database.
      const reader = new ServiceRegistry({
        store: upstashStore({ url: server.url, token: server.token }),
        secret: SECRET,
        namespace,
      });
      const seen = await reader.find('edge');
      expect(seen.instances.map((instance) => instance.info.publicUrl)).toEqual(['https://edge.example.com']);
      await reader.close();
    });
  });
} else {
  skipped('edge-runtime run');
}
