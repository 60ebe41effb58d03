import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashTestServer, type UpstashTestServer } from '../src/index.js';
import { deleteKeys, directRedis, post, randomPrefix } from './support.js';

const BASE64 = { 'upstash-encoding': 'base64' };
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('wire format', () => {
  let server: UpstashTestServer;
  let redis: Redis;
  const prefix = randomPrefix();

  beforeAll(async () => {
    server = await createUpstashTestServer();
    redis = directRedis();
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await server.close();
    await redis.quit();
  });

  it('base64-encodes strings but not a top-level OK, integers or null', async () => {
    expect((await post(server, '/', ['SET', `${prefix}a`, 'bar'], BASE64)).json).toEqual({ result: 'OK' });
    expect((await post(server, '/', ['GET', `${prefix}a`], BASE64)).json).toEqual({ result: b64('bar') });
    expect((await post(server, '/', ['INCR', `${prefix}n`], BASE64)).json).toEqual({ result: 1 });
    expect((await post(server, '/', ['GET', `${prefix}missing`], BASE64)).json).toEqual({ result: null });
    // A status reply other than OK is a string like any other.
    expect((await post(server, '/', ['TYPE', `${prefix}n`], BASE64)).json).toEqual({ result: b64('string') });
  });

  it('encodes nested arrays element by element, OK included', async () => {
    const script = "return {1, 'OK', {2, 'x'}, false}";
    const { json } = await post(server, '/', ['EVAL', script, 0], BASE64);
    expect(json).toEqual({ result: [1, b64('OK'), [2, b64('x')], null] });
  });

  it('sends the exact bytes in base64 and U+FFFD for invalid UTF-8 without it', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x41, 0xe2, 0x82]);
    await redis.set(`${prefix}bin`, bytes);
    expect((await post(server, '/', ['GET', `${prefix}bin`], BASE64)).json).toEqual({
      result: bytes.toString('base64'),
    });
    expect((await post(server, '/', ['GET', `${prefix}bin`])).json).toEqual({
      result: bytes.toString('utf8'),
    });
  });

  it('answers RESP2 shapes: hashes as flat arrays, scores as strings', async () => {
    await post(server, '/', ['HSET', `${prefix}h`, 'f1', 'v1', 'f2', 'v2']);
    await post(server, '/', ['ZADD', `${prefix}z`, 1.5, 'm1', 2, 'm2']);
    expect((await post(server, '/', ['hgetall', `${prefix}h`])).json).toEqual({
      result: ['f1', 'v1', 'f2', 'v2'],
    });
    expect((await post(server, '/', ['zrange', `${prefix}z`, 0, -1, 'WITHSCORES'])).json).toEqual({
      result: ['m1', '1.5', 'm2', '2'],
    });
  });

  it('answers a failed command with 400 and the Redis error', async () => {
    const unknown = await post(server, '/', ['nosuchcommand', 'x']);
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({ error: expect.stringContaining("ERR unknown command 'nosuchcommand'") });
    const arity = await post(server, '/', ['GET']);
    expect(arity).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^ERR wrong number/) } });
  });

  it('rejects malformed bodies, stateful and denied commands with 400', async () => {
    for (const body of [{}, [], [1, 2], ['GET', null], 'GET x']) {
      expect((await post(server, '/', body)).status).toBe(400);
    }
    expect((await post(server, '/', ['MULTI'])).json).toEqual({
      error: expect.stringContaining('not available'),
    });
    expect((await post(server, '/', ['flushall'])).json).toEqual({
      error: expect.stringContaining('disabled'),
    });
    expect((await post(server, '/', ['SCRIPT', 'flush'])).status).toBe(400);
    expect(server.requests.commands.map((command) => command.name)).not.toContain('FLUSHALL');
  });

  it('answers pipelines with one entry per command, errors included, status 200', async () => {
    const { status, json } = await post(
      server,
      '/pipeline',
      [
        ['SET', `${prefix}p`, 'v'],
        ['INCR', `${prefix}p`],
        ['BLPOP', `${prefix}list`, 0],
        ['GET', `${prefix}p`],
      ],
      BASE64,
    );
    expect(status).toBe(200);
    expect(json).toEqual([
      { result: 'OK' },
      { error: 'ERR value is not an integer or out of range' },
      { error: expect.stringContaining('not available') },
      { result: b64('v') },
    ]);
  });

  it('runs /multi-exec atomically, and discards it whole with one 400 error', async () => {
    const ran = await post(server, '/multi-exec', [
      ['SET', `${prefix}m`, '1'],
      ['INCR', `${prefix}m`],
      ['HSET', `${prefix}m`, 'f', 'v'],
    ]);
    expect(ran.status).toBe(200);
    expect(ran.json).toEqual([
      { result: 'OK' },
      { result: 2 },
      { error: expect.stringMatching(/^WRONGTYPE/) },
    ]);

    const discarded = await post(server, '/multi-exec', [
      ['SET', `${prefix}m2`, '1'],
      ['SET', `${prefix}m2`],
    ]);
    expect(discarded.status).toBe(400);
    expect(discarded.json).toEqual({
      error: expect.stringMatching(/^EXECABORT .*wrong number of arguments/),
    });
    expect(await redis.exists(`${prefix}m2`)).toBe(0);
  });

  it('checks the token: 401 without it or with a wrong one, _token query accepted', async () => {
    expect((await post(server, '/', ['PING'], { authorization: 'Bearer wrong' })).status).toBe(401);
    const anonymous = await fetch(server.url, { method: 'POST', body: '["PING"]' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: expect.any(String) });
    const viaQuery = await fetch(`${server.url}/?_token=${server.token}`, {
      method: 'POST',
      body: '["PING"]',
    });
    expect(await viaQuery.json()).toEqual({ result: 'PONG' });
  });

  it('serves path-style commands, with a POST body as the last argument', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    await fetch(`${server.url}/set/${encodeURIComponent(`${prefix}path`)}?EX=100`, {
      method: 'POST',
      headers: auth,
      body: 'a value/with slash',
    });
    const got = await fetch(`${server.url}/get/${encodeURIComponent(`${prefix}path`)}`, { headers: auth });
    expect(await got.json()).toEqual({ result: 'a value/with slash' });
    expect(await redis.ttl(`${prefix}path`)).toBeGreaterThan(90);
    expect((await fetch(server.url, { method: 'DELETE', headers: auth })).status).toBe(405);
  });

  it('hands out a sync token and refuses the resp2 response format', async () => {
    const first = await post(server, '/', ['PING']);
    const second = await post(server, '/', ['PING']);
    expect(Number(second.headers.get('upstash-sync-token'))).toBeGreaterThan(
      Number(first.headers.get('upstash-sync-token')),
    );
    expect((await post(server, '/', ['PING'], { 'upstash-response-format': 'resp2' })).status).toBe(400);
  });
});

describe('without a reachable Redis', () => {
  it('answers 500 promptly, and still closes', async () => {
    const server = await createUpstashTestServer({ redis: 'redis://127.0.0.1:1' });
    try {
      const started = Date.now();
      const { status, json } = await post(server, '/', ['GET', 'k']);
      expect(status).toBe(500);
      expect(json).toEqual({ error: expect.stringContaining('Redis is unavailable') });
      expect((await post(server, '/pipeline', [['GET', 'k']])).status).toBe(500);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });
});
