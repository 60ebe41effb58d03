import {
  createDiscovery,
  type DiscoveryView,
  isRegistryError,
  ServiceRegistry,
} from '@service-registry/core';
import { deleteNamespace, findRedis, randomNamespace } from '@service-registry/redis-testing';
import { redisStore } from '@service-registry/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscoveryHandler } from '../src/index.js';
import { type NodeServer, serve } from '../src/node/index.js';
import { sseReader } from './support.js';

const SECRET = 'http-test-secret-0123456789';
const TOKEN = 'a-token-of-the-test-run-0123';
const found = await findRedis();

describe.skipIf(found === undefined)('the discovery handler on Node against a real Redis', () => {
  const url = found?.url as string;
  const namespace = randomNamespace('http');
  const registries: ServiceRegistry[] = [];
  let client: Redis;
  let view: DiscoveryView;
  let server: NodeServer;
  let own: ServiceRegistry;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = (path: string, headers: Record<string, string> = auth, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { headers, ...init });

  const start = async (
    service: string,
    id: string,
    endpoints: string[],
    status: 'up' | 'draining' = 'up',
  ) => {
    const registry = new ServiceRegistry({
      store: redisStore({ url }),
      secret: SECRET,
      namespace,
      publicUrl: `https://${service}.example.com`,
    });
    await registry.register(endpoints, { serviceName: service, instanceId: id, port: 8080, status });
    registries.push(registry);
    return registry;
  };

  beforeAll(async () => {
    client = new Redis(url);
    await start('orders', 'orders-1', ['order']);
    await start('orders', 'orders-2', ['order'], 'draining');
    await start('billing', 'billing-1', ['invoice']);
    own = registries[0] as ServiceRegistry;
    view = createDiscovery({ store: redisStore({ url }), secret: SECRET, namespace });
    const handler = createDiscoveryHandler({
      view,
      token: TOKEN,
      cors: { origins: ['https://ui.example.com'] },
      registry: own,
    });
    server = await serve(handler);
    await view.ready;
  });
  afterAll(async () => {
    await server?.close();
    await view?.close();
    await Promise.allSettled(registries.map((registry) => registry.close()));
    await deleteNamespace(client, namespace);
    client.disconnect();
    await found?.stop();
  });

  it('refuses to start without a token of at least 16 characters', () => {
    for (const token of [undefined, '', 'short', ['fine-token-0123456789', 'short']]) {
      expect(() => createDiscoveryHandler({ view, token } as never)).toThrow(
        expect.objectContaining({ code: 'invalid-argument' }),
      );
    }
    try {
      createDiscoveryHandler({ view } as never);
    } catch (error) {
      expect(isRegistryError(error, 'invalid-argument')).toBe(true);
    }
  });

  it('answers 401 with a challenge without the token or with a wrong one; JSON errors carry no stack', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: 'Basic abc' },
    ];
    for (const headers of attempts) {
      const response = await get('/v1/services', headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
      const body = await response.json();
      expect(body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
    expect((await get('/v1/url-map', {})).status).toBe(401);
    expect((await get('/metrics', {})).status).toBe(401);
  });

  it('serves services with counts by status, and one service filtered by status', async () => {
    const response = await get('/v1/services');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.services).toEqual([
      { name: 'billing', instances: 1, byStatus: { starting: 0, up: 1, draining: 0, down: 0 } },
      { name: 'orders', instances: 2, byStatus: { starting: 0, up: 1, draining: 1, down: 0 } },
    ]);
    expect(body.stale).toBe(false);
    const orders = await (await get('/v1/services/orders?status=draining')).json();
    expect(orders.instances.map((instance: { id: string }) => instance.id)).toEqual(['orders-2']);
    const both = await (await get('/v1/services/orders?status=up,draining')).json();
    expect(both.instances).toHaveLength(2);
    const one = await (await get('/v1/services/orders/orders-1')).json();
    expect(one).toMatchObject({
      name: 'orders',
      id: 'orders-1',
      info: { publicUrl: 'https://orders.example.com' },
    });
    expect(await (await get('/v1/url-map')).json()).toEqual({
      invoice: 'https://billing.example.com',
      order: 'https://orders.example.com',
    });
  });

  it('bad requests get 4xx JSON errors', async () => {
    const cases: [string, number, string, RequestInit?][] = [
      ['/v1/services/orders?status=sleeping', 400, 'bad-request'],
      ['/v1/services/or%3Aders', 400, 'invalid-name'],
      ['/v1/services/%E0%A4%A', 400, 'invalid-name'],
      ['/v1/services?index=abc', 400, 'bad-request'],
      ['/v1/services?index=1&wait=forever', 400, 'bad-request'],
      ['/v1/services/orders/orders-9', 404, 'not-found'],
      ['/v2/nothing', 404, 'not-found'],
      ['/v1/services', 405, 'method-not-allowed', { method: 'DELETE' }],
    ];
    for (const [path, status, code, init] of cases) {
      const response = await get(path, auth, init);
      expect(response.status, path).toBe(status);
      const text = await response.text();
      expect(JSON.parse(text).error.code, path).toBe(code);
      expect(text).not.toMatch(/\bat .*\.(ts|js)/);
    }
  });

  it('ETag and If-None-Match answer 304 while nothing changed', async () => {
    const first = await get('/v1/services');
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^".+"$/);
    const again = await get('/v1/services', { ...auth, 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('x-registry-index')).toBe(first.headers.get('x-registry-index'));
  });

  it('a blocking query waits for a change and answers with the new index; without one, when the wait ends', async () => {
    const index = Number((await get('/v1/services/payments')).headers.get('x-registry-index'));
    const started = Date.now();
    const idle = await get(`/v1/services/payments?index=${index}&wait=300ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Number(idle.headers.get('x-registry-index'))).toBe(index);
    const blocked = get(`/v1/services/payments?index=${index}&wait=20s`);
    setTimeout(() => void start('payments', 'payments-1', ['payment']), 200);
    const answer = await blocked;
    expect(Number(answer.headers.get('x-registry-index'))).toBeGreaterThan(index);
    expect((await answer.json()).instances.map((instance: { id: string }) => instance.id)).toEqual([
      'payments-1',
    ]);
  });

  it('streams the view events over SSE', async () => {
    const response = await get('/v1/events');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = sseReader(response.body as ReadableStream<Uint8Array>);
    await stream.waitFor((event) => event.event === 'ready');
    const added = await start('search', 'search-1', ['query']);
    const event = await stream.waitFor((item) => item.event === 'added');
    expect(event.data).toMatchObject({ instance: { name: 'search', id: 'search-1' } });
    await added.setStatus('draining');
    await stream.waitFor((item) => item.event === 'updated');
    await added.close();
    const removed = await stream.waitFor((item) => item.event === 'removed');
    expect(removed.data).toMatchObject({ reason: 'deregistered' });
    await stream.cancel();
  });

  it('serves Prometheus metrics: instances by service and status, rejected, refresh failures, staleness, latency', async () => {
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('service_registry_instances{service="orders",status="draining"} 1');
    expect(text).toContain('service_registry_instances{service="billing",status="up"} 1');
    expect(text).toMatch(/^# TYPE service_registry_rejected_records_total counter$/m);
    expect(text).toMatch(/^service_registry_refresh_failures_total 0$/m);
    expect(text).toMatch(/^service_registry_view_stale 0$/m);
    expect(text).toMatch(/^service_registry_store_read_seconds \d/m);
  });

  it('CORS: only configured origins, preflight included', async () => {
    const allowed = await get('/v1/services', { ...auth, origin: 'https://ui.example.com' });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ui.example.com');
    expect(allowed.headers.get('vary')).toBe('Origin');
    const other = await get('/v1/services', { ...auth, origin: 'https://evil.example.com' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await get(
      '/v1/services',
      { origin: 'https://ui.example.com', 'access-control-request-method': 'GET' },
      { method: 'OPTIONS' },
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('the url map alone can be public; the dashboard page needs nothing from outside', async () => {
    const handler = createDiscoveryHandler({ view, token: TOKEN, publicUrlMap: true, basePath: '/registry' });
    const map = await handler(new Request('http://x/registry/v1/url-map'));
    expect(map.status).toBe(200);
    expect((await handler(new Request('http://x/registry/v1/services'))).status).toBe(401);
    const page = await handler(new Request('http://x/registry'));
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<title>service registry</title>');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  });
});
