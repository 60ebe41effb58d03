import {
  type FindResult,
  isRegistryError,
  type RegistryEvents,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
} from '@service-registry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomNamespace, sleep, WrittenRecords, waitFor } from './helpers.js';

/** Options of `runRegistryScenarios`. */
export interface RegistryScenarioOptions {
  /** Makes the store the scenarios share; closed after them. */
  createStore(): Promise<RegistryStore> | RegistryStore;
  /** Extra registry options for every registry (e.g. `mode: 'apicrud'`). */
  registryOptions?: Partial<RegistryOptions>;
}

export const SECRET = 'scenario-secret-0123456789';
export const OTHER_SECRET = 'another-cluster-secret-abcdef';

const names = (result: FindResult) => result.instances.map((instance) => `${instance.name}:${instance.id}`);

/**
 * The registry's behaviour on a real store, in real time with short ttls: the seed's own scenario
 * (register and find, two clusters on one store, conflicting URLs), expiry, healing, bad records,
 * rotation, status and close.
 */
export function runRegistryScenarios(label: string, options: RegistryScenarioOptions): void {
  describe(`${label}: registry scenarios`, () => {
    let store: RegistryStore;
    let namespace: string;
    const open: ServiceRegistry[] = [];
    const rawWrites = new WrittenRecords();
    const registry = (overrides: Partial<RegistryOptions> = {}): ServiceRegistry => {
      const created = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl: 'https://api.example.com',
        baseUrl: '/api/v1',
        namespace,
        ttl: 1,
        interval: 0.25,
        ...options.registryOptions,
        ...overrides,
      });
      open.push(created);
      return created;
    };

    beforeAll(async () => {
      const created = await options.createStore();
      // The tests' own reads and writes go to the key layout the registries use.
      const apicrud = options.registryOptions?.mode === 'apicrud' && created.withLayout;
      store = apicrud ? apicrud.call(created, 'apicrud') : created;
    });
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((item) => item.close()));
      await rawWrites.cleanUp(store);
      namespace = randomNamespace('scn');
    });
    afterAll(async () => {
      await store.close();
    });
    namespace = randomNamespace('scn');

    it("the seed's scenario: register, get, find and the url map", async () => {
      const account = registry();
      const registered = await account.register(['account', 'location'], {
        serviceName: 'main',
        instanceId: 'i-1',
        port: 8080,
        ipv4: '10.0.0.7',
      });
      expect(registered).toMatchObject({
        name: 'main',
        id: 'i-1',
        info: {
          endpoints: ['account', 'location'],
          ipv4: '10.0.0.7',
          port: 8080,
          publicUrl: 'https://api.example.com',
        },
        status: 'up',
      });
      expect(account.get()?.info.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      const media = registry({ publicUrl: 'https://media.example.com' });
      await media.register(['file', 'picture'], { serviceName: 'media', instanceId: 'm-1', port: 8085 });

      const all = await registry().find();
      expect(names(all)).toEqual(['main:i-1', 'media:m-1']);
      expect(all.urlMap).toEqual({
        account: 'https://api.example.com/api/v1',
        location: 'https://api.example.com/api/v1',
        file: 'https://media.example.com/api/v1',
        picture: 'https://media.example.com/api/v1',
      });
      expect(all.conflicts).toEqual([]);
      expect(names(await account.find('media'))).toEqual(['media:m-1']);
      // Every record a registry writes carries its own expiry, in apicrud mode too.
      expect(all.instances[0]?.expiresAt).toBeGreaterThan(Date.now());
    });

    it('ignores records written under another secret (two clusters on one store)', async () => {
      await registry().register(['account'], { serviceName: 'main', instanceId: 'ours', port: 8080 });
      await registry({ secret: OTHER_SECRET, publicUrl: 'https://other.example.com' }).register(['account'], {
        serviceName: 'main',
        instanceId: 'theirs',
        port: 8080,
      });
      const ours = await registry().find();
      expect(names(ours)).toEqual(['main:ours']);
      expect(ours.rejected).toBe(1);
      expect(ours.conflicts).toEqual([]);
      const theirs = await registry({ secret: OTHER_SECRET }).find('main');
      expect(names(theirs)).toEqual(['main:theirs']);
    });

    it('reports two instances serving one resource from different URLs', async () => {
      await registry().register(['account', 'metric'], { serviceName: 'main', instanceId: 'a', port: 8080 });
      await registry({ publicUrl: 'https://elsewhere.example.com' }).register(['account'], {
        serviceName: 'main',
        instanceId: 'b',
        port: 8080,
      });
      const observer = registry();
      const events: RegistryEvents['conflict'][] = [];
      observer.on('conflict', (conflict) => events.push(conflict));
      const result = await observer.find();
      expect(result.urlMap.account).toBe('https://api.example.com/api/v1');
      expect(result.conflicts).toEqual([
        {
          resource: 'account',
          urls: ['https://api.example.com/api/v1', 'https://elsewhere.example.com/api/v1'],
          instances: ['main:a', 'main:b'],
        },
      ]);
      expect(events).toEqual(result.conflicts);
    });

    it('a stopped instance disappears after its ttl', async () => {
      const crashed = registry();
      await crashed.register(['account'], {
        serviceName: 'main',
        instanceId: 'crashed',
        port: 8080,
        refresh: false,
      });
      await registry().register(['account'], { serviceName: 'main', instanceId: 'alive', port: 8080 });
      expect(names(await registry().find('main'))).toEqual(['main:alive', 'main:crashed']);
      const observer = registry();
      const waited = await waitFor(async () => names(await observer.find('main')).length === 1, 3000);
      expect(names(await observer.find('main'))).toEqual(['main:alive']);
      expect(waited).toBeLessThan(2500);
    });

    it('a record lost from the store comes back within one refresh interval', async () => {
      const instance = registry();
      await instance.register(['account'], { serviceName: 'main', instanceId: 'i-1', port: 8080 });
      await store.delete({ namespace, service: 'main', instanceId: 'i-1' });
      expect(names(await instance.find())).toEqual([]);
      const healedAfter = await waitFor(async () => names(await instance.find()).length === 1, 2000);
      expect(healedAfter).toBeLessThan(1000);
    });

    it('skips and counts garbage, truncated, tampered and key-swapped records', async () => {
      const good = registry();
      await good.register(['account'], {
        serviceName: 'main',
        instanceId: 'good',
        port: 8080,
        refresh: false,
      });
      const [stored] = await store.list(namespace, 'main');
      const value = stored?.value ?? '';
      const put = (instanceId: string, raw: string) =>
        store.put({ namespace, service: 'main', instanceId }, raw, 60_000);
      const flipped = value.slice(0, -6) + (value.at(-6) === 'A' ? 'B' : 'A') + value.slice(-5);
      await put('garbage', 'not a record at all');
      await put('truncated', value.slice(0, Math.floor(value.length / 2)));
      await put('tampered', flipped);
      await put('swapped', value);
      await put('empty', '');
      const observer = registry();
      const rejected: string[] = [];
      observer.on('rejected-record', (event) => rejected.push(event.key.split(':')[2] ?? ''));
      const result = await observer.find();
      expect(names(result)).toEqual(['main:good']);
      expect(result.rejected).toBe(5);
      expect(rejected.sort()).toEqual(['empty', 'garbage', 'swapped', 'tampered', 'truncated']);
      expect(observer.health().rejectedRecords).toBe(5);
    });

    it('reads records of the old secret after rotation', async () => {
      await registry().register(['account'], { serviceName: 'main', instanceId: 'old', port: 8080 });
      const rotated = registry({ secret: [OTHER_SECRET, SECRET] });
      await rotated.register(['account'], { serviceName: 'main', instanceId: 'new', port: 8080 });
      expect(names(await rotated.find())).toEqual(['main:new', 'main:old']);
      expect(names(await registry().find())).toEqual(['main:old']);
    });

    it('setStatus rewrites the record at once; down instances leave the url map', async () => {
      const instance = registry();
      await instance.register(['account'], {
        serviceName: 'main',
        instanceId: 'i-1',
        port: 8080,
        meta: { zone: 'a' },
      });
      await instance.setStatus('draining');
      let found = await registry().find('main');
      expect(found.instances[0]).toMatchObject({ status: 'draining', meta: { zone: 'a' } });
      expect(found.urlMap.account).toBeDefined();
      await instance.setStatus('down');
      found = await registry().find('main');
      expect(found.instances[0]?.status).toBe('down');
      expect(found.urlMap).toEqual({});
    });

    it('close deregisters at once and stops refreshing', async () => {
      const instance = registry();
      const events: string[] = [];
      instance.on('deregistered', (event) => events.push(`${event.name}:${event.id}`));
      await instance.register(['account'], { serviceName: 'main', instanceId: 'i-1', port: 8080 });
      await instance.close();
      expect(events).toEqual(['main:i-1']);
      const observer = registry();
      expect(names(await observer.find())).toEqual([]);
      await sleep(400);
      expect(names(await observer.find())).toEqual([]);
      const error = await instance.find().catch((caught: unknown) => caught);
      expect(isRegistryError(error, 'invalid-state')).toBe(true);
    });

    it('watch reports joins and leaves', async () => {
      const observer = registry();
      const seen: string[][] = [];
      const stop = await observer.watch((result) => seen.push(names(result)), { pollInterval: 0.1 });
      const instance = registry();
      await instance.register(['account'], { serviceName: 'main', instanceId: 'i-1', port: 8080 });
      await waitFor(() => seen.some((list) => list.includes('main:i-1')), 2000);
      await instance.deregister();
      await waitFor(() => seen.at(-1)?.length === 0, 2000);
      await stop();
      expect(seen[0]).toEqual([]);
    });
  });
}
