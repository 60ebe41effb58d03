import { createServer, type Server, type Socket } from 'node:net';
import { isRegistryError, type RegistryError } from '@service-registry/core';
import {
  freePort,
  type RedisServer,
  randomNamespace,
  startRedisServer,
} from '@service-registry/redis-testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../src/index.js';
import { redis } from './found-redis.js';

// What a user sees for each connection mistake: refused at construction when the URL cannot be right,
// otherwise a store-unavailable error at first use that says where it connected and why it failed.

async function firstUse(url: string, options: Record<string, unknown> = {}): Promise<RegistryError> {
  const store = redisStore({ url, ...options });
  try {
    await store.list(randomNamespace('conn'));
  } catch (error) {
    expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
    return error as RegistryError;
  } finally {
    await store.close();
  }
  throw new Error(`list on ${url} succeeded`);
}

function construction(options: Record<string, unknown>): RegistryError {
  try {
    redisStore(options as { url: string });
  } catch (error) {
    expect(isRegistryError(error, 'invalid-argument'), String(error)).toBe(true);
    return error as RegistryError;
  }
  throw new Error(`redisStore(${JSON.stringify(options)}) was accepted`);
}

describe('a URL that cannot be right is refused by redisStore()', () => {
  it.each([
    [{ url: 'not-a-url' }, /"not-a-url" is not a URL: expected redis:\/\//],
    [
      { url: 'http://127.0.0.1:6391' },
      /scheme of http:\/\/127\.0\.0\.1:6391\/ is http: not redis: or rediss:/,
    ],
    [{ url: 'https://eu1-x.upstash.io' }, /store-upstash/],
    [{ url: 'redis://127.0.0.1:6379/abc' }, /database in .* must be a number/],
    [{ url: 'redis://127.0.0.1:6379/-1' }, /database in .* must be a number/],
    [{ url: '' }, /url must be a non-empty string/],
    [{ url: 42 }, /url must be a non-empty string .* got number/],
    [{ url: undefined }, /url is undefined \(an unset environment variable\?\)/],
    [{}, /no connection given/],
    [{ db: -1, host: '127.0.0.1' }, /db must be an integer 0 or above/],
  ])('%j', (options, message) => {
    expect(construction(options).message).toMatch(message);
  });

  it('never shows the password of a refused URL', () => {
    expect(construction({ url: 'http://user:hunter2-secret@127.0.0.1:6379' }).message).not.toContain(
      'hunter2',
    );
  });
});

describe('a server that cannot be used fails the first operation, naming where and why', () => {
  it('nothing listening: refused, with host and port, and the real error as cause', async () => {
    const port = await freePort();
    const error = await firstUse(`redis://127.0.0.1:${port}`);
    expect(error.message).toBe(
      `list failed: redis unreachable: connection to 127.0.0.1:${port} refused (ECONNREFUSED): nothing listens there`,
    );
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('a host that does not resolve', async () => {
    const error = await firstUse('redis://no-such-host.invalid:6379');
    expect(error.message).toMatch(/host no-such-host\.invalid is not (resolvable|resolved now)/);
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain((error.cause as NodeJS.ErrnoException).code);
  });

  describe('a server that accepts and never answers', () => {
    let server: Server;
    let port: number;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      port = await freePort();
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    it('times out, saying after how long', async () => {
      const error = await firstUse(`redis://127.0.0.1:${port}`, { commandTimeout: 500, connectTimeout: 500 });
      expect(error.message).toMatch(
        new RegExp(
          `127\\.0\\.0\\.1:${port} did not answer within 500 ms|connecting to 127\\.0\\.0\\.1:${port} timed out after 500 ms`,
        ),
      );
    });
  });

  describe('on a real Redis', () => {
    let secured: RedisServer | undefined;
    beforeAll(async () => {
      if (!redis) return;
      // A server of this file's own (PING must answer before it is ready, so the password comes after).
      secured = await startRedisServer();
      const admin = new Redis(secured.url);
      await admin.call('CONFIG', 'SET', 'requirepass', 'right-password');
      admin.disconnect();
    });
    afterAll(async () => {
      await secured?.stop();
      await redis?.stop();
    });

    it('a database the server lacks (/99 of 16): refused at first use, never written to database 0', async () => {
      if (!redis) return;
      const error = await firstUse(`${redis.url}/99`);
      expect(error.message).toMatch(
        /^list failed: redis unusable: database 99 does not exist on .+ \(ERR DB index is out of range\)$/,
      );
      expect((error.cause as Error).message).toMatch(/DB index is out of range/);
      // The db option wins over the URL's, as in ioredis, and is checked the same way.
      expect((await firstUse(redis.url, { db: 99 })).message).toMatch(/database 99 does not exist/);
    });

    it('a wrong password, and none where one is required: authentication failed', async () => {
      if (!secured) return;
      const wrong = await firstUse(`redis://:wrong-password@127.0.0.1:${secured.port}`);
      expect(wrong.message).toMatch(
        new RegExp(`redis unusable: authentication to 127\\.0\\.0\\.1:${secured.port} failed \\(WRONGPASS`),
      );
      const none = await firstUse(`redis://127.0.0.1:${secured.port}`);
      expect(none.message).toMatch(/authentication to .* failed \(NOAUTH/);
      const store = redisStore({ url: `redis://:right-password@127.0.0.1:${secured.port}` });
      expect(await store.list(randomNamespace('conn'))).toEqual([]);
      await store.close();
    });

    it('a database that exists works, and one SELECT is all the check costs', async () => {
      if (!redis) return;
      const store = redisStore({ url: `${redis.url}/3` });
      expect(await store.list(randomNamespace('conn'))).toEqual([]);
      expect(await store.list(randomNamespace('conn'))).toEqual([]);
      await store.close();
    });
  });
});
