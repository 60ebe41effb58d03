import { type FoundRedis, findRedis, randomNamespace } from '@service-registry/redis-testing';
import { createUpstashTestServer, type UpstashTestServer } from '@service-registry/upstash-test-server';
import { type RedisConfigNodejs, Redis as UpstashRedis } from '@upstash/redis';
import { describe, it } from 'vitest';
import { upstashClientDefaults } from '../src/index.js';

/**
 * The Redis behind the test server for the importing file (see `findRedis`): `REDIS_URL`, Docker, or a
 * `redis-server` started for the file. `undefined` outside CI when there is none; under CI=true it throws.
 */
export const redis: FoundRedis | undefined = await findRedis();

/** Registers a skipped suite, so a run without Redis shows what it did not test. */
export function skipped(label: string): void {
  describe.skip(`${label} (no Redis: see the notice above)`, () => {
    it('needs a Redis', () => {});
  });
}

/** An Upstash-compatible server over `url`; each file starts its own, so request counts are its own. */
export function startServer(url: string): Promise<UpstashTestServer> {
  return createUpstashTestServer({ redis: url });
}

/** A real `@upstash/redis` client as the docs tell users to make one, plus `overrides`. */
export function upstashClient(
  server: { url: string; token: string },
  overrides: Partial<RedisConfigNodejs> = {},
): UpstashRedis {
  return new UpstashRedis({
    url: server.url,
    token: server.token,
    ...upstashClientDefaults,
    signal: () => AbortSignal.timeout(2_000),
    retry: { retries: 0 },
    ...overrides,
  });
}

/** Hands out random namespaces and remembers them for the cleanup. */
export function namespaces(prefix: string): { next: () => string; all: string[] } {
  const all: string[] = [];
  return {
    all,
    next: () => {
      const created = randomNamespace(prefix);
      all.push(created);
      return created;
    },
  };
}

/** A real Upstash database, when `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` are set. */
export const realUpstash =
  process.env.UPSTASH_REDIS_REST_URL && process.env.UPSTASH_REDIS_REST_TOKEN
    ? { url: process.env.UPSTASH_REDIS_REST_URL, token: process.env.UPSTASH_REDIS_REST_TOKEN }
    : undefined;
