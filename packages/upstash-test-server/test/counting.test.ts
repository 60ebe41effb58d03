import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashTestServer, type UpstashTestServer } from '../src/index.js';
import { deleteKeys, directRedis, REDIS_URL, randomPrefix, upstashClient } from './support.js';

describe('request counting', () => {
  let server: UpstashTestServer;
  let redis: Redis;
  const prefix = randomPrefix();
  const key = (name: string) => `${prefix}${name}`;

  beforeAll(async () => {
    server = await createUpstashTestServer();
    redis = directRedis();
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await server.close();
    await redis.quit();
  });

  it('counts one request per command without auto-pipelining', async () => {
    const client = upstashClient(server, { enableAutoPipelining: false });
    server.resetCounts();
    await client.set(key('a'), '1');
    await client.get(key('a'));
    expect(server.requests.total).toBe(2);
    expect(server.requests.byPath).toEqual({ '/': 2 });
    expect(server.requests.commands).toEqual([
      { path: '/', name: 'SET', args: [key('a'), '1'] },
      { path: '/', name: 'GET', args: [key('a')] },
    ]);
  });

  it('sees the default client batch same-tick reads into one /pipeline request', async () => {
    const client = upstashClient(server);
    server.resetCounts();
    await Promise.all([client.get(key('a')), client.get(key('b')), client.exists(key('c'))]);
    expect(server.requests.total).toBe(1);
    expect(server.requests.byPath).toEqual({ '/pipeline': 1 });
    expect(server.requests.commands.map((command) => command.name)).toEqual(['GET', 'GET', 'EXISTS']);
  });

  it('counts refused and faulted requests too, and resets in place', async () => {
    const counts = server.requests;
    server.resetCounts();
    await upstashClient(server, { token: 'wrong', enableAutoPipelining: false })
      .get(key('a'))
      .catch(() => {});
    server.faults.set({ kind: 'http-500', times: 1 });
    await upstashClient(server, { enableAutoPipelining: false })
      .get(key('a'))
      .catch(() => {});
    expect(counts).toMatchObject({ total: 2, byPath: { '/': 2 }, commands: [] });
    server.resetCounts();
    expect(counts).toEqual({ total: 0, byPath: {}, commands: [] });
  });
});

describe('an injected ioredis client', () => {
  const prefix = randomPrefix();

  it('is duplicated as RESP2 when it speaks RESP3, and left open by close()', async () => {
    const injected = new Redis(REDIS_URL); // ioredis 6 defaults to RESP3
    try {
      const server = await createUpstashTestServer({ redis: injected });
      const client = upstashClient(server, { automaticDeserialization: false });
      await client.zadd(`${prefix}z`, { score: 1.5, member: 'a' });
      expect(await client.zrange(`${prefix}z`, 0, -1, { withScores: true })).toEqual(['a', '1.5']);
      await server.close();
      expect(await injected.ping()).toBe('PONG');
    } finally {
      await deleteKeys(injected, prefix);
      await injected.quit();
    }
  });

  it('is used as it is when it speaks RESP2, and left open by close()', async () => {
    const injected = new Redis(REDIS_URL, { protocol: 2, keyPrefix: prefix });
    try {
      const server = await createUpstashTestServer({ redis: injected, token: 'fixed-token' });
      expect(server.token).toBe('fixed-token');
      const client = upstashClient(server, { automaticDeserialization: false });
      await client.hset('h', { f: 'v' });
      // The client's keyPrefix applies, as it does to ioredis's own commands.
      expect(await injected.hgetall('h')).toEqual({ f: 'v' });
      expect(await client.hgetall('h')).toEqual(['f', 'v']);
      await server.close();
      expect(await injected.ping()).toBe('PONG');
    } finally {
      await injected.del('h');
      await injected.quit();
    }
  });
});
