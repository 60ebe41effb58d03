import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandStats,
  countCommands,
  findRedis,
  type RedisServer,
  randomNamespace,
  startRedisServer,
  traceClient,
} from '../src/index.js';

describe('command counting', () => {
  let server: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
    await client.ping();
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  it('commandStats parses INFO commandstats', async () => {
    await client.set('a', '1');
    const stats = await commandStats(client);
    expect(stats.set).toBeGreaterThanOrEqual(1);
    expect(stats.ping).toBeGreaterThanOrEqual(1);
  });

  it('countCommands counts what ran meanwhile, without its own INFO', async () => {
    const { result, calls } = await countCommands(server.url, async () => {
      await client.set('b', '2');
      await client.set('c', '3');
      return client.eval("return redis.call('GET', KEYS[1])", 1, 'b');
    });
    expect(result).toBe('2');
    expect(calls).toEqual({ set: 2, eval: 1, get: 1 });
  });

  it('traceClient counts socket writes (round trips) and the commands in them', async () => {
    const trace = traceClient(client);
    await client.pipeline().set('d', 'ü✓').get('d').del('d').exec();
    await client.get('e');
    trace.stop();
    expect(trace.writes).toBe(2);
    expect(trace.commands).toEqual(['set', 'get', 'del', 'get']);
    await client.get('e');
    expect(trace.writes).toBe(2);
  });
});

describe('findRedis', () => {
  it('prefers REDIS_URL', async () => {
    const found = await findRedis({ env: { REDIS_URL: 'redis://example.invalid:6379' } });
    expect(found?.source).toBe('env');
    expect(found?.url).toBe('redis://example.invalid:6379');
  });

  it('starts redis-server from PATH when there is no REDIS_URL and no Docker engine', async () => {
    const found = await findRedis({ env: { PATH: process.env.PATH } });
    try {
      expect(found?.source).toMatch(/^(docker|redis-server)$/);
      const client = new Redis(found?.url ?? '');
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    } finally {
      await found?.stop();
    }
  });

  it('skips with a loud notice when nothing is found, and fails under CI=true', async () => {
    const notices: string[] = [];
    const warn = (message: string) => notices.push(message);
    expect(await findRedis({ env: { PATH: '/nonexistent' }, warn })).toBeUndefined();
    expect(notices.join('\n')).toContain('SKIPPING THE REDIS SUITES');
    await expect(findRedis({ env: { PATH: '/nonexistent', CI: 'true' }, warn })).rejects.toThrow(/CI=true/);
  });

  it('randomNamespace gives distinct valid names', () => {
    const names = new Set(Array.from({ length: 100 }, () => randomNamespace()));
    expect(names.size).toBe(100);
    for (const name of names) expect(name).toMatch(/^[a-z0-9-]+$/);
  });
});
