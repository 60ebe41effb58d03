import { errors } from '@upstash/redis';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashTestServer, type UpstashTestServer } from '../src/index.js';
import { deleteKeys, directRedis, randomPrefix, upstashClient } from './support.js';

const single = { automaticDeserialization: false, enableAutoPipelining: false } as const;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fault injection', () => {
  let server: UpstashTestServer;
  let redis: Redis;
  const prefix = randomPrefix();
  const key = (name: string) => `${prefix}${name}`;

  beforeAll(async () => {
    server = await createUpstashTestServer();
    redis = directRedis();
  });

  afterEach(() => {
    server.faults.clear();
    server.resetCounts();
  });

  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await server.close();
    await redis.quit();
  });

  it('http-500: the client rejects with the error body, once, then works again', async () => {
    const client = upstashClient(server, single);
    server.faults.set({ kind: 'http-500', times: 1 });
    await expect(client.set(key('a'), 'v')).rejects.toThrow(/injected fault/);
    expect(await redis.exists(key('a'))).toBe(0);
    expect(server.faults.active).toBeUndefined();
    expect(await client.set(key('a'), 'v')).toBe('OK');
    expect(server.faults.injected).toBeGreaterThanOrEqual(1);
  });

  it('malformed: 200 with a cut-off body after the command ran; the client cannot parse it', async () => {
    const client = upstashClient(server, single);
    server.faults.set({ kind: 'malformed', times: 1 });
    const failure = client.set(key('m'), 'landed');
    await expect(failure).rejects.toBeInstanceOf(errors.UpstashJSONParseError);
    await expect(failure).rejects.toThrow(/Unable to parse response body/);
    expect(await redis.get(key('m'))).toBe('landed');
  });

  it('drop: the connection closes without a response and nothing runs', async () => {
    const client = upstashClient(server, single);
    server.faults.set({ kind: 'drop', times: 1 });
    await expect(client.set(key('d'), 'v')).rejects.toThrow(/fetch failed/);
    expect(server.requests.total).toBe(1);
    expect(server.requests.commands).toEqual([]);
    expect(await redis.exists(key('d'))).toBe(0);
  });

  it('drop: `retry: false` still makes two attempts, `retries: 0` one, the default recovers', async () => {
    server.faults.set({ kind: 'drop' });
    await expect(upstashClient(server, { ...single, retry: false }).get(key('x'))).rejects.toThrow();
    expect(server.requests.total).toBe(2);

    server.resetCounts();
    await expect(upstashClient(server, { ...single, retry: { retries: 0 } }).get(key('x'))).rejects.toThrow();
    expect(server.requests.total).toBe(1);

    server.resetCounts();
    server.faults.set({ kind: 'drop', times: 1 });
    const retrying = upstashClient(server, { ...single, retry: { retries: 2, backoff: () => 10 } });
    expect(await retrying.set(key('r'), 'v')).toBe('OK');
    expect(server.requests.total).toBe(2);
  });

  it('delay: a per-request AbortSignal makes the client reject, and the late command never runs', async () => {
    const client = upstashClient(server, { ...single, signal: () => AbortSignal.timeout(150) });
    server.faults.set({ kind: 'delay', delayMs: 600, times: 1 });
    const started = Date.now();
    await expect(client.set(key('late'), 'v')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(550);
    await pause(700);
    expect(await redis.exists(key('late'))).toBe(0);
    expect(server.requests.commands).toEqual([]);
  });

  it('delay: a shorter delay is just latency', async () => {
    const client = upstashClient(server, single);
    server.faults.set({ kind: 'delay', delayMs: 100 });
    const started = Date.now();
    expect(await client.set(key('slow'), 'v')).toBe('OK');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('delay: with a static AbortSignal the client resolves null instead of rejecting (client quirk)', async () => {
    const client = upstashClient(server, { ...single, signal: AbortSignal.timeout(150) });
    await redis.set(key('present'), 'v');
    server.faults.set({ kind: 'delay', delayMs: 600, times: 1 });
    expect(await client.get(key('present'))).toBeNull();
  });

  it('persists until cleared, and honours the paths filter', async () => {
    const client = upstashClient(server, single);
    server.faults.set({ kind: 'http-500', paths: ['/pipeline'] });
    expect(await client.set(key('p'), 'v')).toBe('OK');
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(client.pipeline().get(key('p')).exec()).rejects.toThrow(/injected fault/);
    }
    expect(server.faults.active).toMatchObject({ kind: 'http-500' });
    server.faults.clear();
    expect(await client.pipeline().get(key('p')).exec()).toEqual(['v']);
  });

  it('refuses a bad fault spec', () => {
    expect(() => server.faults.set({ kind: 'drop', times: 0 })).toThrow(RangeError);
    expect(() => server.faults.set({ kind: 'delay', delayMs: -1 })).toThrow(RangeError);
    expect(() => server.faults.set({ kind: 'nope' as 'drop' })).toThrow(TypeError);
  });

  it('close() does not wait for a delayed request', async () => {
    const other = await createUpstashTestServer();
    other.faults.set({ kind: 'delay', delayMs: 60_000 });
    // Settled into a value at once, so the rejection during close() is never unhandled.
    const outcome = fetch(other.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.token}` },
      body: '["PING"]',
    }).then(
      () => 'answered',
      () => 'connection closed',
    );
    await pause(50);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await outcome).toBe('connection closed');
  });
});
