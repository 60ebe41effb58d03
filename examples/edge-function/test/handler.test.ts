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

const TOKEN = 'edge-example-api-token-0123';
const auth = { authorization: `Bearer ${TOKEN}` };

interface Answer {
  instances?: { name: string; id: string }[];
  services?: { name: string; instances: number }[];
  error?: { code: string; message: string };
  [resource: string]: unknown;
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
      return async (path: string, headers: Record<string, string> = auth) => {
        server.resetCounts();
        const response = await runtime.dispatchFetch(`https://fn.example.com${path}`, { headers });
        await response.waitUntil();
        const text = await response.text();
        const body = (
          response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : {}
        ) as Answer;
        return { status: response.status, body, text, requests: server.requests.total };
      };
    };

    beforeAll(async () => {
      server = await createUpstashTestServer({ redis: found.url });
      script = await bundleForEdge(fileURLToPath(new URL('./worker.ts', import.meta.url)));
      env = {
        UPSTASH_REDIS_REST_URL: server.url,
        UPSTASH_REDIS_REST_TOKEN: server.token,
        REGISTRY_SECRET: SECRET,
        REGISTRY_HTTP_TOKEN: TOKEN,
        REGISTRY_NAMESPACE: namespace,
        REGISTRY_TTL: '30',
      };
      // A fresh Redis answers NOSCRIPT once per script: cache them before counting.
      const warm = createHandler();
      await warm.fetch(new Request('https://warm.example.com/v1/url-map', { headers: auth }), {
        ...env,
        SERVICE_NAME: 'warm',
      });
    });
    afterAll(async () => {
      await deleteNamespace(server, namespace);
      await server.close();
      await found.stop();
    });

    it('registers on its first request and serves the discovery API from its view, inside edge-runtime', async () => {
      const call = isolate({ INSTANCE_ID: 'isolate-a' });
      const first = await call('/v1/services/edge-function');
      expect(first.status, first.text).toBe(200);
      expect(first.body.instances?.map((instance) => `${instance.name}:${instance.id}`)).toContain(
        'edge-function:isolate-a',
      );
      // register 2 (the store's TIME, once per isolate and 30 s, then the put), then the view's first
      // load (the directory, one pipeline, and the view's change counters where the store keeps them).
      expect(first.requests).toBeLessThanOrEqual(5);
      const map = await call('/v1/url-map');
      expect(map.body).toMatchObject({ greetings: 'https://fn.example.com' });
      // A later request: the update (the view answers from memory; a poll of it may fall in between).
      expect(map.requests).toBeLessThanOrEqual(2);
    });

    it('requires the token; the url map alone can be public', async () => {
      const call = isolate({ INSTANCE_ID: 'isolate-p' });
      const refused = await call('/v1/services', {});
      expect(refused.status).toBe(401);
      expect(refused.body.error?.code).toBe('unauthorized');
      expect((await call('/v1/url-map', {})).status).toBe(401);
      const open = isolate({ INSTANCE_ID: 'isolate-q', PUBLIC_URL_MAP: 'true' });
      expect((await open('/v1/url-map', {})).status).toBe(200);
      expect((await open('/v1/services', {})).status).toBe(401);
      // The dashboard page holds no data; it asks the API with the token.
      const page = await call('/', {});
      expect(page.status).toBe(200);
      expect(page.text).toContain('<!doctype html>');
    });

    it('two isolates see each other', async () => {
      const a = isolate({ INSTANCE_ID: 'isolate-a' });
      const b = isolate({ INSTANCE_ID: 'isolate-b' });
      await a('/v1/url-map');
      const seen = await b('/v1/services/edge-function');
      expect(seen.body.instances?.map((instance) => instance.id)).toEqual(
        expect.arrayContaining(['isolate-a', 'isolate-b']),
      );
    });

    it('keeps answering from its view while Upstash fails, and reports the failed refresh in /metrics', async () => {
      const call = isolate({ INSTANCE_ID: 'isolate-c' });
      await call('/v1/url-map');
      server.faults.set({ kind: 'http-500' });
      try {
        const during = await call('/v1/services/edge-function');
        expect(during.status).toBe(200);
        expect(during.body.instances?.map((instance) => instance.id)).toContain('isolate-c');
        const metrics = await call('/metrics');
        expect(metrics.text).toMatch(/^service_registry_refresh_consecutive_failures [12]$/m);
      } finally {
        server.faults.clear();
      }
      await call('/v1/url-map');
      const healed = await call('/metrics');
      expect(healed.text).toMatch(/^service_registry_refresh_consecutive_failures 0$/m);
    });

    it('explains missing settings and bad requests', async () => {
      const noToken = await isolate({ REGISTRY_HTTP_TOKEN: '' })('/v1/services');
      expect(noToken.status).toBe(500);
      expect(noToken.body.error?.message).toMatch(/REGISTRY_HTTP_TOKEN is not set/);
      const noSecret = await isolate({ REGISTRY_SECRET: '' })('/v1/services');
      expect(noSecret.body.error?.message).toMatch(/REGISTRY_SECRET is not set/);
      const noUrl = await isolate({ UPSTASH_REDIS_REST_URL: '' })('/v1/services');
      expect(noUrl.body.error?.message).toMatch(/UPSTASH_REDIS_REST_URL is not set/);
      const badName = await isolate({ INSTANCE_ID: 'isolate-d' })('/v1/services/a:b');
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
        const response = await fetch(`${local.url}v1/services/edge-function`, {
          headers: { authorization: `Bearer ${local.token}` },
        });
        const body = (await response.json()) as Answer;
        expect(response.status).toBe(200);
        expect(body.instances?.map((instance) => instance.id)).toContain('local-1');
        expect((await fetch(`${local.url}v1/services`)).status).toBe(401);
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
