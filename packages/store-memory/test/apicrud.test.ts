import {
  apicrudCodec,
  isRegistryError,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
} from '@service-registry/core';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../src/index.js';

const SECRET = 'memory-apicrud-secret-0123';
let now = Date.parse('2026-11-26T20:00:00Z');
const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };

const registry = (store: RegistryStore, overrides: Partial<RegistryOptions> = {}) =>
  new ServiceRegistry({
    store,
    mode: 'apicrud',
    secret: SECRET,
    publicUrl: 'https://api.example.com',
    clock,
    ...overrides,
  });

function constructionError(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('memory store key layouts', () => {
  it('declares both layouts; a view shares records, clock and close', async () => {
    const store = memoryStore({ clock });
    const view = store.withLayout('apicrud');
    expect(store.capabilities).toMatchObject({ layout: 'native', layouts: ['native', 'apicrud'] });
    expect(view.capabilities).toMatchObject({ layout: 'apicrud', layouts: ['native', 'apicrud'] });
    expect(view.withLayout('native')).toBe(store);
    expect(store.withLayout('apicrud')).toBe(view);
    const ref = { namespace: 'reg', service: 'main', instanceId: 'i-1' };
    await view.put(ref, 'v', 60_000);
    expect(await store.list('reg')).toEqual([{ ...ref, value: 'v' }]);
    await view.close();
    const error = await store.list('reg').catch((caught: unknown) => caught);
    expect(isRegistryError(error, 'store-closed')).toBe(true);
  });

  it('the apicrud view rounds ttls up to whole seconds, as SET EX does', async () => {
    const view = memoryStore({ clock }).withLayout('apicrud');
    const ref = { namespace: 'reg', service: 'main', instanceId: 'i-1' };
    await view.put(ref, 'v', 200);
    now += 999;
    expect(await view.list('reg')).toHaveLength(1);
    now += 1;
    expect(await view.list('reg')).toEqual([]);
  });

  it('refuses an unknown layout', () => {
    const error = constructionError(() => memoryStore().withLayout('etcd' as 'native'));
    expect(isRegistryError(error, 'unsupported')).toBe(true);
  });
});

describe('a registry in apicrud mode on the memory store', () => {
  it("writes apicrud's fields with its codec, then name, id and its own expiry; no version", async () => {
    const store = memoryStore({ clock });
    await registry(store).register(['account'], {
      serviceName: 'main',
      instanceId: 'i-1',
      port: 8080,
      refresh: false,
    });
    const [stored] = await store.list('reg', 'main');
    const plaintext = await apicrudCodec(SECRET).decode(stored?.value ?? '', 'reg:main:i-1');
    const json = JSON.parse(plaintext);
    expect(Object.keys(json)).toEqual([
      'endpoints',
      'ipv4',
      'port',
      'public_url',
      'created',
      'name',
      'id',
      'expires_at',
    ]);
    // apicrud mode's default ttl, 60 s, in ms since the epoch.
    expect(json.expires_at).toBe(now + 60_000);
    const found = await registry(store).find();
    expect(found.instances[0]).toMatchObject({ name: 'main', id: 'i-1', expiresAt: now + 60_000 });
    expect(found.instances[0]?.expiresAt).toBeGreaterThan(now);
  });

  it('skips and counts keys that do not split into valid names, reported under their key', async () => {
    const store = memoryStore({ clock });
    const writer = registry(store);
    await writer.register(['account'], {
      serviceName: 'main',
      instanceId: 'good',
      port: 8080,
      refresh: false,
    });
    const [stored] = await store.list('reg', 'main');
    store.putRaw(
      { namespace: 'reg', service: 'main', instanceId: 'good:extra' },
      stored?.value ?? '',
      60_000,
    );
    store.putRaw({ namespace: 'reg', service: 'main', instanceId: '' }, stored?.value ?? '', 60_000);
    const observer = registry(store);
    const keys: string[] = [];
    observer.on('rejected-record', (event) => keys.push(event.key));
    const result = await observer.find();
    expect(result.instances.map((instance) => instance.id)).toEqual(['good']);
    expect(result.rejected).toBe(2);
    expect(keys.sort()).toEqual(['reg:main:', 'reg:main:good:extra']);
  });

  it('refuses, at construction, a store that does not declare the apicrud layout', () => {
    const inner = memoryStore();
    const { withLayout: _, ...rest } = inner;
    const nativeOnly: RegistryStore = { ...rest, capabilities: { watch: true, nativeExpiry: true } };
    const error = constructionError(() => registry(nativeOnly));
    expect(isRegistryError(error, 'unsupported'), String(error)).toBe(true);
    expect(String(error)).toContain('apicrud');
    // Native mode needs nothing new of a store.
    expect(() => registry(nativeOnly, { mode: 'native' })).not.toThrow();
  });

  it('refuses a store whose withLayout hands back another layout', () => {
    const inner = memoryStore();
    const lying: RegistryStore = {
      ...inner,
      capabilities: inner.capabilities,
      withLayout: () => inner,
    };
    expect(
      isRegistryError(
        constructionError(() => registry(lying)),
        'unsupported',
      ),
    ).toBe(true);
  });

  it('a native registry given the apicrud view switches it back', async () => {
    const store = memoryStore({ clock });
    const native = registry(store.withLayout('apicrud'), { mode: 'native' });
    await native.register(['account'], {
      serviceName: 'main',
      instanceId: 'i-1',
      port: 8080,
      refresh: false,
    });
    const [stored] = await store.list('reg');
    expect(stored?.value.startsWith('g2.')).toBe(true);
  });
});
