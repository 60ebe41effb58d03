/**
 * Serves the edge handler on http://127.0.0.1:8787 against a local Upstash-compatible server over
 * the Redis at REDIS_URL (default redis://127.0.0.1:6379):
 *
 *   pnpm --filter @service-registry/example-edge-function start
 *
 * Every request refreshes this "isolate"'s record and answers from its discovery view (the API needs the
 * bearer token it prints). Start it twice (PORT=8788 for the second) and each sees the other; stop one
 * and it drops out ttl seconds later.
 */
import { pathToFileURL } from 'node:url';
import { serve } from '@service-registry/http/node';
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
  /** The bearer token of the discovery API. */
  readonly token: string;
  close(): Promise<void>;
}

const DEMO_SECRET = 'edge-function-demo-secret';
/** The local runner's API token (set REGISTRY_HTTP_TOKEN for another). */
const DEMO_TOKEN = 'edge-function-demo-token';

export async function startLocal(options: LocalOptions = {}): Promise<LocalFunction> {
  const env = options.env ?? (process.env as Env);
  const upstash = await createUpstashTestServer({
    redis: options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  const handlerEnv: Env = {
    REGISTRY_SECRET: DEMO_SECRET,
    REGISTRY_HTTP_TOKEN: DEMO_TOKEN,
    REGISTRY_TTL: '20',
    ...env,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
  };
  const handler = createHandler();
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    server = await serve((request) => handler.fetch(request, handlerEnv), {
      port: options.port ?? Number(process.env.PORT ?? 8787),
    });
  } catch (error) {
    await upstash.close();
    throw error;
  }
  return {
    url: `${server.url}/`,
    upstash,
    token: handlerEnv.REGISTRY_HTTP_TOKEN as string,
    async close() {
      await server.close();
      await upstash.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const local = await startLocal();
  console.log(`edge function on ${local.url} (Upstash-compatible server on ${local.upstash.url})`);
  console.log(`  dashboard: ${local.url}#token=${local.token}`);
  console.log(`  curl -H 'Authorization: Bearer ${local.token}' ${local.url}v1/services/edge-function`);
  console.log(`  curl -H 'Authorization: Bearer ${local.token}' '${local.url}v1/url-map'`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      local.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
