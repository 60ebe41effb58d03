/**
 * Serves the edge handler on http://127.0.0.1:8787 against a local Upstash-compatible server over
 * the Redis at REDIS_URL (default redis://127.0.0.1:6379):
 *
 *   pnpm --filter @service-registry/example-edge-function start
 *
 * Every request refreshes this "isolate"'s record and answers with find(). Start it twice (PORT=8788
 * for the second) and each sees the other; stop one and it drops out ttl seconds later.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createUpstashTestServer, type UpstashTestServer } from '@service-registry/upstash-test-server';
import { createHandler, type Env } from './handler.js';

/** Options of `startLocal`; the environment variables of the same name are the defaults. */
export interface LocalOptions {
  /** The Redis behind the Upstash-compatible server. Default REDIS_URL, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Port for the handler. Default PORT, else 8787; 0 picks a free one. */
  port?: number;
  /** Settings for the handler, over the test server's credentials. Default `process.env`. */
  env?: Env;
}

export interface LocalFunction {
  /** Where the handler answers, e.g. http://127.0.0.1:8787/. */
  readonly url: string;
  readonly upstash: UpstashTestServer;
  close(): Promise<void>;
}

const DEMO_SECRET = 'edge-function-demo-secret';

async function toRequest(message: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const body =
    chunks.length > 0 && message.method !== 'GET' && message.method !== 'HEAD' ? Buffer.concat(chunks) : null;
  return new Request(new URL(message.url ?? '/', origin), { method: message.method, headers, body });
}

async function send(response: Response, out: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  out.writeHead(response.status, headers);
  out.end(Buffer.from(await response.arrayBuffer()));
}

export async function startLocal(options: LocalOptions = {}): Promise<LocalFunction> {
  const env = options.env ?? (process.env as Env);
  const upstash = await createUpstashTestServer({
    redis: options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  const handlerEnv: Env = {
    REGISTRY_SECRET: DEMO_SECRET,
    REGISTRY_TTL: '20',
    ...env,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
  };
  const handler = createHandler();
  let origin = '';
  const server: Server = createServer((message, out) => {
    toRequest(message, origin)
      .then((request) => handler.fetch(request, handlerEnv))
      .then((response) => send(response, out))
      .catch((error: unknown) => {
        out.writeHead(500, { 'content-type': 'text/plain' });
        out.end(String(error));
      });
  });
  const port = options.port ?? Number(process.env.PORT ?? 8787);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch (error) {
    await upstash.close();
    throw error;
  }
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/`,
    upstash,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await upstash.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const local = await startLocal();
  console.log(`edge function on ${local.url} (Upstash-compatible server on ${local.upstash.url})`);
  console.log(`  curl ${local.url}`);
  console.log(`  curl '${local.url}?service=edge-function'`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      local.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
