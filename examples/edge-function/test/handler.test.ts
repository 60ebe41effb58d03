import { fileURLToPath } from 'node:url';
import { type FoundRedis, findRedis, randomNamespace } from '@service-registry/redis-testing';
import { createUpstashTestServer, type UpstashTestServer } from '@service-registry/upstash-test-server';
import { Redis } from '@upstash/redis';
import { EdgeRuntime } from 'edge-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type Env } from '../src/handler.js';
import { startLocal } from '../src/local.js';
import { bundleForEdge } from './bundle.js';

const redis: FoundRedis | undefined = await findRedis();
const SECRET = 'edge-example-secret-0123456789';

interface Answer {
  self?: { name: string; id: string };
  refreshed?: true | { code: string };
  instances?: { name: string; id: string }[];
  urlMap?: Record<string, string>;
  error?: { code: string; message: string };
}

/** Deletes the namespace's keys through the REST API (SCAN, never FLUSH: the Redis may be shared). */
async function deleteNamespace(server: UpstashTestServer, namespace: string): Promise<void> {
  const client = new Redis({ url: server.url, token: server.token, automaticDeserialization: false });
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, { match: `${namespace}:*`, count: 1000 });
    cursor = String(next);
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

if (redis) {
  const found = redis;

  describe('the edge function', () => {
    let server: UpstashTestServer;
    let script: string;
    const namespace = randomNamespace('edge-fn');
    let env: Env;

    // One isolate of the function: a fresh edge-runtime VM with the bundled handler.
    const isolate = (overrides: Env = {}) => {
      const runtime = new EdgeRuntime({
        initialCode: `globalThis.WORKER_ENV = ${JSON.stringify({ ...env, ...overrides })};\n${script}`,
      });
      return async (path = '/'): Promise<{ status: number; body: Answer; requests: number }> => {
        server.resetCounts();
        const response = await runtime.dispatchFetch(`https://fn.example.com${path}`);
        await response.waitUntil();
        return {
          status: response.status,
          body: (await response.json()) as Answer,
          requests: server.requests.total,
        };
      };
    };

    beforeAll(async () => {
      server = await createUpstashTestServer({ redis: found.url });
      script = await bundleForEdge(fileURLToPath(new URL('./worker.ts', import.meta.url)));
      env = {
        UPSTASH_REDIS_REST_URL: server.url,
        UPSTASH_REDIS_REST_TOKEN: server.token,
        REGISTRY_SECRET: SECRET,
        REGISTRY_NAMESPACE: namespace,
        REGISTRY_TTL: '30',
      };
      // A fresh Redis answers NOSCRIPT once per script: cache them before counting.
      const warm = createHandler();
      await warm.fetch(new Request('https://warm.example.com/'), { ...env, SERVICE_NAME: 'warm' });
    });
    afterAll(async () => {
      await deleteNamespace(server, namespace);
      await server.close();
      await found.stop();
    });

    it('registers on its first request and answers with find() as JSON, inside edge-runtime', async () => {
      const call = isolate({ INSTANCE_ID: 'isolate-a' });
      const first = await call();
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.self).toMatchObject({ name: 'edge-function', id: 'isolate-a' });
      expect(first.body.refreshed).toBe(true);
      expect(first.body.instances?.map((instance) => `${instance.name}:${instance.id}`)).toContain(
        'edge-function:isolate-a',
      );
      expect(first.body.urlMap).toMatchObject({ greetings: 'https://fn.example.com' });
      // register 1, then find() 2.
      expect(first.requests).toBe(3);

      // Later requests: update 1 beside find(service) 1, or find() 2.
      const narrowed = await call('/?service=edge-function');
      expect(narrowed.status).toBe(200);
      expect(narrowed.requests).toBe(2);
      expect((await call()).requests).toBe(3);
    });

    it('two isolates see each other', async () => {
      const a = isolate({ INSTANCE_ID: 'isolate-a' });
      const b = isolate({ INSTANCE_ID: 'isolate-b' });
      await a();
      const seen = await b('/?service=edge-function');
      expect(seen.body.instances?.map((instance) => instance.id)).toEqual(['isolate-a', 'isolate-b']);
    });

    it('answers 503 with a typed error while the store fails, and heals after', async () => {
      const call = isolate({ INSTANCE_ID: 'isolate-c' });
      await call();
      server.faults.set({ kind: 'http-500' });
      try {
        const failing = await call();
        expect(failing.status).toBe(503);
        expect(failing.body.error?.code).toBe('store-unavailable');
      } finally {
        server.faults.clear();
      }
      const healed = await call('/?service=edge-function');
      expect(healed.status).toBe(200);
      expect(healed.body.refreshed).toBe(true);
      expect(healed.body.instances?.map((instance) => instance.id)).toContain('isolate-c');
    });

    it('explains missing settings and bad queries', async () => {
      const noSecret = await isolate({ REGISTRY_SECRET: '' })();
      expect(noSecret.status).toBe(500);
      expect(noSecret.body.error?.message).toMatch(/REGISTRY_SECRET is not set/);
      const noUrl = await isolate({ UPSTASH_REDIS_REST_URL: '' })();
      expect(noUrl.body.error?.message).toMatch(/UPSTASH_REDIS_REST_URL is not set/);
      const badName = await isolate({ INSTANCE_ID: 'isolate-d' })('/?service=a:b');
      expect(badName.status).toBe(400);
      expect(badName.body.error?.code).toBe('invalid-name');
    });

    it('runs locally with one command: the handler over node:http and a local Upstash-compatible server', async () => {
      const local = await startLocal({
        redisUrl: found.url,
        port: 0,
        env: { REGISTRY_NAMESPACE: namespace, INSTANCE_ID: 'local-1', REGISTRY_SECRET: SECRET },
      });
      try {
        const response = await fetch(`${local.url}?service=edge-function`);
        const body = (await response.json()) as Answer;
        expect(response.status).toBe(200);
        expect(body.self?.id).toBe('local-1');
        expect(body.instances?.map((instance) => instance.id)).toContain('local-1');
      } finally {
        await local.close();
      }
    });
  });
} else {
  describe.skip('the edge function (no Redis: see the notice above)', () => {
    it('needs a Redis', () => {});
  });
}
