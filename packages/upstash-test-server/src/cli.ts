/**
 * Runs the Upstash-compatible test server until interrupted, so an edge function or any
 * `@upstash/redis` client can be pointed at a local Redis:
 *
 *   npx tsx src/cli.ts --port 8079 --redis redis://127.0.0.1:6379 [--token secret] [--host 127.0.0.1]
 */
import { parseArgs } from 'node:util';
import { createUpstashTestServer } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8079' },
    redis: { type: 'string' },
    token: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be an integer from 0 to 65535, got ${values.port}`);
  process.exit(2);
}

const server = await createUpstashTestServer({
  port,
  host: values.host,
  ...(values.redis ? { redis: values.redis } : {}),
  ...(values.token ? { token: values.token } : {}),
});

console.log(`Upstash-compatible REST server on ${server.url}`);
console.log(`UPSTASH_REDIS_REST_URL=${server.url}`);
console.log(`UPSTASH_REDIS_REST_TOKEN=${server.token}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
