import type { Redis as UpstashRedis } from '@upstash/redis';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashTestServer, type UpstashTestServer } from '../src/index.js';
import { deleteKeys, directRedis, randomPrefix, upstashClient } from './support.js';

const UNICODE = 'zürich ☃ 日本 🐄 \u0000 nul';
const LUA_ECHO = 'return {KEYS[1], ARGV[1]}';

describe('the real @upstash/redis client', () => {
  let server: UpstashTestServer;
  let redis: Redis;
  /** Raw strings, one request per command (`POST /`). */
  let raw: UpstashRedis;
  /** The client's defaults: JSON deserialization, commands batched through `/pipeline`. */
  let parsed: UpstashRedis;
  const prefix = randomPrefix();
  const key = (name: string) => `${prefix}${name}`;

  beforeAll(async () => {
    server = await createUpstashTestServer();
    redis = directRedis();
    raw = upstashClient(server, { automaticDeserialization: false, enableAutoPipelining: false });
    parsed = upstashClient(server);
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await server.close();
    await redis.quit();
  });

  it('sets, gets and deletes, with PX and EX', async () => {
    expect(await raw.set(key('px'), 'v1', { px: 60_000 })).toBe('OK');
    expect(await raw.set(key('ex'), 'v2', { ex: 60 })).toBe('OK');
    expect(await raw.get(key('px'))).toBe('v1');
    expect(await redis.pttl(key('px'))).toBeGreaterThan(55_000);
    expect(await redis.ttl(key('ex'))).toBeGreaterThan(55);
    expect(await raw.set(key('px'), 'v3', { nx: true })).toBeNull();
    expect(await raw.del(key('px'), key('ex'), key('none'))).toBe(2);
    expect(await raw.get(key('px'))).toBeNull();
  });

  it('round-trips unicode, control characters and values that look like base64 or OK', async () => {
    for (const value of [UNICODE, 'YmFy', 'OK', '', '{"not":"parsed"}', 'line\r\nbreak']) {
      await raw.set(key('u'), value);
      expect(await raw.get(key('u'))).toBe(value);
      // Byte for byte what the client meant: UTF-8 of the string.
      expect(await redis.getBuffer(key('u'))).toEqual(Buffer.from(value, 'utf8'));
    }
  });

  it('deserializes JSON by default and leaves it alone when asked', async () => {
    await parsed.set(key('json'), { a: 1, b: ['x'] });
    expect(await parsed.get(key('json'))).toEqual({ a: 1, b: ['x'] });
    expect(await raw.get(key('json'))).toBe('{"a":1,"b":["x"]}');
  });

  it('mgets, with null for missing keys', async () => {
    await raw.set(key('m1'), 'one');
    await raw.set(key('m2'), UNICODE);
    expect(await raw.mget(key('m1'), key('missing'), key('m2'))).toEqual(['one', null, UNICODE]);
  });

  it('adds to and ranges over sorted sets, with scores', async () => {
    await raw.zadd(
      key('z'),
      { score: 1.5, member: 'a' },
      { score: 3, member: 'c' },
      { score: 2, member: 'b' },
    );
    expect(await raw.zrange(key('z'), 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await raw.zrange(key('z'), 0, -1, { withScores: true })).toEqual(['a', '1.5', 'b', '2', 'c', '3']);
    expect(await parsed.zrange(key('z'), 0, -1, { withScores: true })).toEqual(['a', 1.5, 'b', 2, 'c', 3]);
    expect(await raw.zrange(key('z'), 2, '+inf', { byScore: true })).toEqual(['b', 'c']);
    expect(await raw.zrange(key('z'), '(1.5', 3, { byScore: true, withScores: true })).toEqual([
      'b',
      '2',
      'c',
      '3',
    ]);
    expect(await raw.zscore(key('z'), 'a')).toBe('1.5');
  });

  it('adds set members and lists them', async () => {
    expect(await raw.sadd(key('s'), 'x', 'y', UNICODE)).toBe(3);
    expect(((await raw.smembers(key('s'))) as string[]).sort()).toEqual([UNICODE, 'x', 'y'].sort());
  });

  it('sets hashes and gets them whole', async () => {
    expect(await raw.hset(key('h'), { f1: 'v1', f2: UNICODE })).toBe(2);
    // Without deserialization the client hands back the REST API's flat array.
    expect(await raw.hgetall(key('h'))).toEqual(['f1', 'v1', 'f2', UNICODE]);
    expect(await parsed.hgetall(key('h'))).toEqual({ f1: 'v1', f2: UNICODE });
  });

  it('scans with MATCH until the cursor comes back to 0', async () => {
    const names = Array.from({ length: 25 }, (_, index) => key(`scan:${index}`));
    await Promise.all(names.map((name) => raw.set(name, '1')));
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, { match: key('scan:*'), count: 7 });
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    expect(new Set(found)).toEqual(new Set(names));
  });

  it('runs EVAL, SCRIPT LOAD and EVALSHA', async () => {
    expect(await raw.eval(LUA_ECHO, [key('k')], [UNICODE])).toEqual([key('k'), UNICODE]);
    const sha = await raw.scriptLoad(LUA_ECHO);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await raw.evalsha(sha, [key('k')], ['arg'])).toEqual([key('k'), 'arg']);
    expect(await parsed.eval('return 42', [], [])).toBe(42);
  });

  it('surfaces NOSCRIPT for an unknown hash, and createScript falls back to EVAL', async () => {
    const unknownSha = 'f'.repeat(40);
    await expect(raw.evalsha(unknownSha, [], [])).rejects.toThrow(/NOSCRIPT/);
    // The default client goes through its auto-pipeline (/pipeline): the error must survive that too.
    await expect(parsed.evalsha(unknownSha, [], [])).rejects.toThrow(/NOSCRIPT/);
    const script = raw.createScript(`return 'fallback-${prefix}'`);
    expect(await script.exec([], [])).toBe(`fallback-${prefix}`);
  });

  it('runs a pipeline in one request and reports a failed command', async () => {
    server.resetCounts();
    const results = await raw
      .pipeline()
      .set(key('pl'), 'v')
      .incr(key('n'))
      .get(key('pl'))
      .zadd(key('plz'), { score: 1, member: 'm' })
      .exec();
    expect(results).toEqual(['OK', 1, 'v', 1]);
    expect(server.requests.byPath).toEqual({ '/pipeline': 1 });

    const failing = raw.pipeline().set(key('pl'), 'v').incr(key('pl'));
    await expect(failing.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    const kept = await raw.pipeline().set(key('pl'), 'v').incr(key('pl')).exec({ keepErrors: true });
    expect(kept[1]?.error).toMatch(/^ERR value is not an integer/);
  });

  it('runs multi as a transaction', async () => {
    server.resetCounts();
    const results = await raw.multi().set(key('tx'), '10').incrby(key('tx'), 5).get(key('tx')).exec();
    expect(results).toEqual(['OK', 15, '15']);
    expect(server.requests.byPath).toEqual({ '/multi-exec': 1 });
    expect(server.requests.commands.map((command) => command.name)).toEqual(['SET', 'INCRBY', 'GET']);
  });

  it('rejects a command error with the Redis message, alone or auto-pipelined', async () => {
    await raw.set(key('str'), 'x');
    await expect(raw.incr(key('str'))).rejects.toThrow(
      /^ERR value is not an integer or out of range, command was: \["incr"/,
    );
    await expect(parsed.lpush(key('str'), 'x')).rejects.toThrow(/^Command failed: WRONGTYPE/);
  });

  it('rejects every command when the token is wrong', async () => {
    const wrong = upstashClient(server, { token: 'not-the-token', enableAutoPipelining: false });
    await expect(wrong.get(key('any'))).rejects.toThrow(/WRONGPASS/);
    const wrongDefault = upstashClient(server, { token: 'not-the-token' });
    await expect(wrongDefault.get(key('any'))).rejects.toThrow(/WRONGPASS/);
  });
});
