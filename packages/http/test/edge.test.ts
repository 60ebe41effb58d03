import { fileURLToPath } from 'node:url';
import { ServiceRegistry } from '@service-registry/core';
import {
  bundleForEdge,
  deleteNamespace,
  type EdgeBundle,
  findRedis,
  nodeImportsIn,
  randomNamespace,
} from '@service-registry/redis-testing';
import { upstashStore } from '@service-registry/store-upstash';
import { createUpstashTestServer, type UpstashTestServer } from '@service-registry/upstash-test-server';
import { EdgeRuntime } from 'edge-runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('./edge/entry.ts', import.meta.url));
const SECRET = 'edge-http-secret-0123456789';
const API_TOKEN = 'edge-api-token-0123456789';
const found = await findRedis();

describe('the edge bundle of core, store-upstash and the handler', () => {
  it('holds no Node API: everything bundled, no node: imports, no require()', async () => {
    const { code, external } = await bundleForEdge(entry);
    expect(external).toEqual([]);
    expect(nodeImportsIn(code)).toEqual([]);
    expect(code).toContain('crypto.subtle');
  });
});

describe.skipIf(found === undefined)(
  'the handler inside edge-runtime against the Upstash test server',
  () => {
    const namespace = randomNamespace('edge-http');
    let server: UpstashTestServer;
    let bundle: EdgeBundle;
    let writer: ServiceRegistry;

    beforeAll(async () => {
      [server, bundle] = await Promise.all([
        createUpstashTestServer({ redis: found?.url as string }),
        bundleForEdge(entry),
      ]);
      writer = new ServiceRegistry({
        store: upstashStore({ url: server.url, token: server.token }),
        secret: SECRET,
        namespace,
        publicUrl: 'https://orders.example.com',
      });
      await writer.register(['order'], { serviceName: 'orders', instanceId: 'orders-1', port: 443 });
    });
    afterAll(async () => {
      await writer?.close();
      const cleaner = new Redis(found?.url as string);
      await deleteNamespace(cleaner, namespace);
      cleaner.disconnect();
      await server?.close();
      await found?.stop();
    });

    it('answers the url map publicly, services with the token, 401 without', async () => {
      const runtime = new EdgeRuntime({ initialCode: bundle.code });
      const config = JSON.stringify({
        url: server.url,
        token: server.token,
        namespace,
        secret: SECRET,
        apiToken: API_TOKEN,
      });
      const call = async (path: string, headers: Record<string, string> = {}) => {
        const response = await runtime.dispatchFetch(`https://edge.example.com${path}`, {
          headers: { 'x-test-config': config, ...headers },
        });
        await response.waitUntil();
        return response;
      };
      const map = await call('/v1/url-map');
      expect(map.status, await map.clone().text()).toBe(200);
      expect(await map.json()).toEqual({ order: 'https://orders.example.com' });
      expect((await call('/v1/services')).status).toBe(401);
      const services = await call('/v1/services', { authorization: `Bearer ${API_TOKEN}` });
      expect((await services.json()).services).toEqual([
        { name: 'orders', instances: 1, byStatus: { starting: 0, up: 1, draining: 0, down: 0 } },
      ]);
      const etag = services.headers.get('etag') as string;
      expect(
        (await call('/v1/services', { authorization: `Bearer ${API_TOKEN}`, 'if-none-match': etag })).status,
      ).toBe(304);
      const metrics = await call('/metrics', { authorization: `Bearer ${API_TOKEN}` });
      expect(await metrics.text()).toContain('service_registry_instances{service="orders",status="up"} 1');
    });
  },
);
