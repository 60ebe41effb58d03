// Runs inside edge-runtime: core (its Web Crypto build), store-upstash and the handler, bundled.
import { createDiscovery } from '@service-registry/core';
import { upstashStore } from '@service-registry/store-upstash';
import { createDiscoveryHandler, type DiscoveryHandler } from '../../src/index.ts';

interface Config {
  url: string;
  token: string;
  namespace: string;
  secret: string;
  apiToken: string;
}

interface FetchEventLike {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}

let handler: DiscoveryHandler | undefined;

// The test passes the Upstash test server's address in a header of the first request: an isolate
// of a real platform reads it from its env binding instead.
async function invoke(request: Request): Promise<Response> {
  if (handler === undefined) {
    const config = JSON.parse(request.headers.get('x-test-config') ?? '{}') as Config;
    const view = createDiscovery({
      store: upstashStore({ url: config.url, token: config.token, timeoutMs: 3_000 }),
      secret: config.secret,
      namespace: config.namespace,
    });
    handler = createDiscoveryHandler({ view, token: config.apiToken, publicUrlMap: true });
  }
  return handler(request);
}

(
  globalThis as unknown as {
    addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  }
).addEventListener('fetch', (event) => event.respondWith(invoke(event.request)));
