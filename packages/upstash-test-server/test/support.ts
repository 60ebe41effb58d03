import { randomUUID } from 'node:crypto';
import { type RedisConfigNodejs, Redis as UpstashRedis } from '@upstash/redis';
import { Redis } from 'ioredis';
import type { UpstashTestServer } from '../src/index.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test run shares; random hex, so it needs no glob escaping. */
export function randomPrefix(): string {
  return `upstash-test-server:${randomUUID()}:`;
}

/**
 * A real @upstash/redis client for the server. Retries are off (`retries: 0` means one attempt;
 * `retry: false` would still make two) and telemetry headers are not sent.
 */
export function upstashClient(
  server: UpstashTestServer,
  config: Partial<RedisConfigNodejs> = {},
): UpstashRedis {
  return new UpstashRedis({
    url: server.url,
    token: server.token,
    enableTelemetry: false,
    retry: { retries: 0 },
    ...config,
  });
}

/** A direct RESP2 connection, to check what the server really wrote and to clean up. */
export function directRedis(): Redis {
  return new Redis(REDIS_URL, { protocol: 2 });
}

/** Deletes every key under the prefix (SCAN, never FLUSH: the Redis is shared). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** POSTs raw JSON to the server, for checks of the wire format the client hides. */
export async function post(
  server: UpstashTestServer,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json(), headers: response.headers };
}
