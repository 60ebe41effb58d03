// Runs inside edge-runtime: core (its Web Crypto build) and store-upstash, bundled, nothing from Node.
import { ServiceRegistry } from '@service-registry/core';
import { upstashStore } from '../../src/index.ts';

interface Invocation {
  url: string;
  token: string;
  namespace: string;
  secret: string;
}

interface FetchEventLike {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}

async function invoke(request: Request): Promise<Response> {
  const { url, token, namespace, secret } = (await request.json()) as Invocation;
  const store = upstashStore({ url, token, timeoutMs: 3_000 });
  const registry = new ServiceRegistry({ store, secret, publicUrl: 'https://edge.example.com', namespace });
  const registered = await registry.register(['edge-things'], {
    serviceName: 'edge',
    instanceId: 'isolate-1',
    port: 443,
    refresh: false,
  });
  const updated = await registry.update();
  const one = await registry.find('edge');
  const all = await registry.find();
  return Response.json({
    runtime: typeof EdgeRuntime === 'string' ? EdgeRuntime : null,
    hasNodeProcess: typeof (globalThis as { process?: unknown }).process !== 'undefined',
    registered: registered.name,
    health: registry.health(),
    updatedExpiresAt: updated.expiresAt,
    one: one.instances.map((instance) => `${instance.name}:${instance.id}`),
    all: all.instances.map((instance) => `${instance.name}:${instance.id}`),
  });
}

declare const EdgeRuntime: string | undefined;

(
  globalThis as unknown as {
    addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  }
).addEventListener('fetch', (event) => event.respondWith(invoke(event.request)));
