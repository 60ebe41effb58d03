import { isRegistryError, type RegistryError } from '@service-registry/core';
import { freePort, randomNamespace } from '@service-registry/redis-testing';
import { Redis as UpstashRedis } from '@upstash/redis';
import { Redis as CloudflareRedis } from '@upstash/redis/cloudflare';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fromEnv, type UpstashClientLike, upstashClientDefaults, upstashStore } from '../src/index.js';
import { redis, startServer, upstashClient } from './support.js';

function thrown(action: () => unknown): RegistryError {
  try {
    action();
  } catch (error) {
    if (isRegistryError(error)) return error;
    throw error;
  }
  throw new Error('expected a RegistryError');
}

const credentials = { url: 'https://eu1-example.upstash.io', token: 'AX-token' };

// Compile-time: clients from every entry of @upstash/redis satisfy the store's narrow client type.
export const acceptedClients = (): UpstashClientLike[] => [
  new UpstashRedis({ ...credentials, ...upstashClientDefaults }),
  new CloudflareRedis({ ...credentials, ...upstashClientDefaults }),
];

describe('upstashStore options', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is named upstash, polls (no watch), expires records natively and offers the apicrud layout', () => {
    const store = upstashStore(credentials);
    expect(store.name).toBe('upstash');
    expect(store.capabilities).toEqual({
      watch: false,
      nativeExpiry: true,
      time: true,
      get: true,
      comparePrevious: true,
      layout: 'native',
      layouts: ['native', 'apicrud'],
      changeCount: true,
      probe: true,
      snapshot: true,
    });
    expect('watch' in store).toBe(false);
    const view = store.withLayout('apicrud');
    expect(view.capabilities).toEqual({
      watch: false,
      nativeExpiry: true,
      layout: 'apicrud',
      layouts: ['native', 'apicrud'],
    });
    expect('getSnapshot' in view || 'putSnapshot' in view).toBe(false);
    expect(view.withLayout?.('native')).toBe(store);
    expect(store.withLayout('apicrud')).toBe(view);
  });

  it('declares no get, time nor snapshot for a client without GET and TIME, and has no snapshot methods', () => {
    const full = new UpstashRedis({ ...credentials, ...upstashClientDefaults });
    const bare: UpstashClientLike = {
      evalsha: (...args) => full.evalsha(...args),
      eval: (...args) => full.eval(...args),
      evalshaRo: (...args) => full.evalshaRo(...args),
      evalRo: (...args) => full.evalRo(...args),
      pipeline: () => full.pipeline(),
      set: (...args) => full.set(...args),
      del: (...args) => full.del(...args),
      scan: (...args) => full.scan(...args),
    };
    const store = upstashStore({ client: bare });
    expect(store.capabilities).toMatchObject({ get: false, time: false, snapshot: false });
    expect('getSnapshot' in store || 'putSnapshot' in store).toBe(false);
  });

  it('refuses bad connection options with invalid-argument', () => {
    const bad: unknown[] = [
      undefined,
      { url: '', token: 't' },
      { url: 'redis://localhost:6379', token: 't' },
      { url: 'eu1-example.upstash.io', token: 't' },
      { url: credentials.url, token: '' },
      { url: credentials.url, token: 'token\n' },
      { ...credentials, timeoutMs: 0 },
      { ...credentials, timeoutMs: Number.POSITIVE_INFINITY },
      { ...credentials, retries: -1 },
      { ...credentials, retries: 1.5 },
      { ...credentials, client: new UpstashRedis({ ...credentials, ...upstashClientDefaults }) },
    ];
    for (const options of bad) {
      const error = thrown(() => upstashStore(options as Parameters<typeof upstashStore>[0]));
      expect(error.code, JSON.stringify(options)).toBe('invalid-argument');
    }
  });

  it('says what is wrong with a URL, and names the nearest option for a misspelt one', () => {
    const message = (options: unknown) =>
      thrown(() => upstashStore(options as Parameters<typeof upstashStore>[0])).message;
    expect(message({ url: undefined, token: 't' })).toMatch(
      /^url is undefined \(UPSTASH_REDIS_REST_URL not set\?\)/,
    );
    expect(message({ url: 'not-a-url', token: 't' })).toMatch(/^url "not-a-url" is not a URL/);
    expect(message({ url: 'rediss://default:pw@eu1-x.upstash.io:6379', token: 't' })).toMatch(
      /scheme rediss: of a Redis TCP URL.*@service-registry\/store-redis/,
    );
    expect(message({ url: 'ftp://eu1-x.upstash.io', token: 't' })).toMatch(/^url must be an http\(s\) URL/);
    expect(message({ ...credentials, timeout: 100 })).toBe(
      'unknown upstashStore option "timeout" (did you mean timeoutMs?)',
    );
    expect(message({ ...credentials, retry: 2 })).toBe(
      'unknown upstashStore option "retry" (did you mean retries?)',
    );
    expect(thrown(() => fromEnv({ enc: {} } as never)).message).toBe(
      'unknown upstashStore.fromEnv option "enc" (did you mean env?)',
    );
  });

  it('refuses a client that parses replies as JSON, and says which option to set', () => {
    const parsing = new UpstashRedis(credentials);
    expect(thrown(() => upstashStore({ client: parsing })).message).toMatch(
      /automaticDeserialization: false/,
    );
    const raw = new UpstashRedis({ ...credentials, automaticDeserialization: false });
    expect(upstashStore({ client: raw }).name).toBe('upstash');
  });

  it('fromEnv reads the REST credentials from process.env or a given env, and names what is missing', () => {
    vi.stubEnv('UPSTASH_REDIS_REST_URL', credentials.url);
    vi.stubEnv('UPSTASH_REDIS_REST_TOKEN', credentials.token);
    expect(fromEnv().name).toBe('upstash');
    expect(
      upstashStore.fromEnv({ env: { KV_REST_API_URL: credentials.url, KV_REST_API_TOKEN: 't' } }).name,
    ).toBe('upstash');
    const noUrl = thrown(() => fromEnv({ env: { UPSTASH_REDIS_REST_TOKEN: 't' } }));
    expect(noUrl.code).toBe('invalid-argument');
    expect(noUrl.message).toMatch(/^UPSTASH_REDIS_REST_URL is not set/);
    const noToken = thrown(() => fromEnv({ env: { UPSTASH_REDIS_REST_URL: credentials.url } }));
    expect(noToken.message).toMatch(/^UPSTASH_REDIS_REST_TOKEN is not set/);
    vi.stubEnv('UPSTASH_REDIS_REST_TOKEN', '');
    expect(thrown(() => fromEnv()).message).toMatch(/^UPSTASH_REDIS_REST_TOKEN is not set/);
    expect(thrown(() => fromEnv({ env: {}, timeoutMs: -5 })).code).toBe('invalid-argument');
  });

  it('an unreachable URL fails fast with store-unavailable, and bad names with invalid-name', async () => {
    const port = await freePort();
    const store = upstashStore({ url: `http://127.0.0.1:${port}`, token: 't', retries: 0 });
    const started = Date.now();
    const error = await store.list('ns').catch((caught: unknown) => caught);
    expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
    expect((error as RegistryError).message).toBe(
      `list failed: upstash unreachable (fetch failed: ECONNREFUSED) at 127.0.0.1:${port}`,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    const badName = await store
      .put({ namespace: 'ns', service: 'a:b', instanceId: 'i' }, 'v', 1_000)
      .catch((caught: unknown) => caught);
    expect(isRegistryError(badName, 'invalid-name')).toBe(true);
  });
});

describe.runIf(redis)('upstashStore errors and close', () => {
  it('reports server errors without echoing the command (record value, script source)', async () => {
    const server = await startServer((redis as { url: string }).url);
    try {
      const store = upstashStore({ url: server.url, token: 'not-the-token' });
      const secretish = `ciphertext-${randomNamespace()}`;
      const error = (await store
        .put({ namespace: 'ns', service: 'api', instanceId: 'i' }, secretish, 1_000)
        .catch((caught: unknown) => caught)) as RegistryError;
      expect(isRegistryError(error, 'store-unavailable')).toBe(true);
      expect(error.message).toBe(
        'put failed: upstash answered with an error: WRONGPASS invalid or missing auth token',
      );
      expect(String((error.cause as Error).message)).toContain(secretish);
    } finally {
      await server.close();
    }
  });

  it('after close every call is store-closed; an injected client stays usable', async () => {
    const server = await startServer((redis as { url: string }).url);
    try {
      const client = upstashClient(server);
      const store = upstashStore({ client });
      await store.close();
      await store.close();
      const error = await store.list('ns').catch((caught: unknown) => caught);
      expect(isRegistryError(error, 'store-closed')).toBe(true);
      expect(await upstashStore({ client }).list(randomNamespace('closed'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  afterAll(async () => {
    await redis?.stop();
  });
});
