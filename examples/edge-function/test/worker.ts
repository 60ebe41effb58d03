// The handler as a Worker-style script for edge-runtime: the env comes from a global the test sets
// (Cloudflare hands it to `fetch` as the second argument).
import handler, { type Env } from '../src/handler.ts';

interface FetchEventLike {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}

const scope = globalThis as unknown as {
  WORKER_ENV: Env;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
};

scope.addEventListener('fetch', (event) => event.respondWith(handler.fetch(event.request, scope.WORKER_ENV)));
