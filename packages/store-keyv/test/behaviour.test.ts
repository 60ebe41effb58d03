import { type AddressInfo, createServer, type Socket } from 'node:net';
import KeyvPostgres from '@keyv/postgres';
import { createKeyv as createRedisKeyv } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { isRegistryError, RegistryError, ServiceRegistry } from '@service-registry/core';
import { freePort } from '@service-registry/redis-testing';
import Keyv from 'keyv';
import { afterAll, describe, expect, it } from 'vitest';
import { keyvStore } from '../src/index.js';
import { sqliteKeyv, tempFolder } from './support.js';

const SECRET = 'keyv-behaviour-secret-0123456789';
const folder = tempFolder();
afterAll(() => folder.remove());

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('keyvStore construction', () => {
  it('refuses a Keyv whose adapter cannot list, with unsupported', () => {
    // A key-value adapter without an iterator (as @keyv/memcache is): the registry could never find anyone.
    const cannotList = {
      get: async () => undefined,
      set: async () => true,
      delete: async () => true,
      clear: async () => {},
    };
    const error = (() => {
      try {
        keyvStore({ keyv: new Keyv({ store: cannotList }) });
      } catch (caught) {
        return caught;
      }
    })();
    expect(isRegistryError(error, 'unsupported'), String(error)).toBe(true);
  });

  it('refuses missing or wrong options with invalid-argument', () => {
    for (const bad of [
      undefined,
      {},
      { keyv: {} },
      { keyv: new Keyv(), timeoutMs: 0 },
      { keyv: new Keyv(), sweepLimit: 1.5 },
    ]) {
      expect(() => keyvStore(bad as never), JSON.stringify(bad)).toThrow(RegistryError);
    }
  });

  it('declares no push, its own expiry, a change counter and single-row reads (no compare in put)', () => {
    const store = keyvStore({ keyv: new Keyv() });
    expect(store.capabilities).toEqual({ watch: false, nativeExpiry: true, changeCount: true, get: true });
    expect(store.watch).toBeUndefined();
    expect(store.backend).toBe('map');
  });
});

describe('a dead backend is an error, never an empty fleet', () => {
  const ref = { namespace: 'ns', service: 'svc', instanceId: 'i-1' };

  it('PostgreSQL refusing connections: Keyv alone says "nothing there", the store throws store-unavailable', async () => {
    const port = await freePort();
    const keyv = new Keyv({ store: new KeyvPostgres({ uri: `postgres://postgres@127.0.0.1:${port}/test` }) });
    keyv.on('error', () => {});
    // What the registry must not believe: Keyv's own get swallows the refusal.
    expect(await keyv.get('anything')).toBeUndefined();
    const store = keyvStore({ keyv, timeoutMs: 3000 });
    for (const call of [
      () => store.list('ns'),
      () => store.list('ns', 'svc'),
      () => store.put(ref, 'v', 1000),
      () => store.delete(ref),
    ]) {
      const error = await rejection(call());
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect((error as RegistryError).message).toMatch(/ECONNREFUSED/);
      expect((error as RegistryError).cause).toBeDefined();
    }
    await store.close();
  });

  it('a SQLite file that cannot be opened: store-unavailable', async () => {
    const keyv = new Keyv({
      store: new KeyvSqlite({ uri: `sqlite://${folder.file('missing-dir/registry.sqlite')}` }),
    });
    keyv.on('error', () => {});
    const store = keyvStore({ keyv });
    const error = await rejection(store.list('ns'));
    expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
    expect((error as RegistryError).message).toMatch(/SQLITE_CANTOPEN/);
  });

  it('a Redis that accepts connections and never answers: store-unavailable after timeoutMs', async () => {
    const sockets = new Set<Socket>();
    const blackHole = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as AddressInfo;
    const keyv = createRedisKeyv(`redis://127.0.0.1:${port}`, { namespace: 'never' });
    keyv.on('error', () => {});
    const store = keyvStore({ keyv, timeoutMs: 300 });
    for (const call of [() => store.list('ns'), () => store.put(ref, 'v', 1000)]) {
      const started = Date.now();
      const error = await rejection(call());
      expect(isRegistryError(error, 'store-unavailable'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/did not answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    await store.close();
    for (const socket of sockets) socket.destroy();
    blackHole.close();
  });
});

describe('listing on SQLite, whatever the table holds', () => {
  it('finds every live record among expired, foreign and garbage rows, and counts the garbage', async () => {
    const file = folder.file('mixed.sqlite');
    const keyv = sqliteKeyv(file);
    const store = keyvStore({ keyv });
    const adapter = keyv.store as KeyvSqlite;
    const registry = new ServiceRegistry({
      store,
      secret: SECRET,
      publicUrl: 'https://a.example.com',
      namespace: 'mix',
    });
    const live = Array.from({ length: 30 }, (_, index) => `live-${index}`);
    // Real records of 30 live instances, through registries...
    const registries = live.map(
      () =>
        new ServiceRegistry({ store, secret: SECRET, publicUrl: 'https://a.example.com', namespace: 'mix' }),
    );
    await Promise.all(
      registries.map((item, index) =>
        item.register(['api'], {
          serviceName: 'api',
          instanceId: live[index] as string,
          port: 80,
          refresh: false,
        }),
      ),
    );
    // ...expired rows of the same service, interleaved in key order...
    const expired = JSON.stringify({ value: 'dead', expires: Date.now() - 60_000 });
    for (let index = 0; index < 40; index += 1) await adapter.set(`registry:mix:api:live-${index}x`, expired);
    // ...rows of another Keyv namespace and another registry namespace in the same table...
    const foreign = new Keyv({ store: adapter, namespace: 'sessions' });
    for (let index = 0; index < 20; index += 1) await foreign.set(`mix:api:s-${index}`, { user: index });
    await store.put({ namespace: 'mixed', service: 'api', instanceId: 'other' }, 'y', 60_000);
    // SQLite's LIKE ignores case: a service `API` and a namespace `MIX` must not join `api` of `mix`.
    await store.put({ namespace: 'mix', service: 'API', instanceId: 'upper' }, 'z', 60_000);
    await store.put({ namespace: 'MIX', service: 'api', instanceId: 'upper' }, 'z', 60_000);
    // ...and garbage written by hand.
    await adapter.set('registry:mix:api:garbage-1', 'not json at all');
    await adapter.set(
      'registry:mix:api:garbage-2',
      JSON.stringify({ value: 'not a record', expires: Date.now() + 60_000 }),
    );
    await adapter.set(
      'registry:mix:api:extra:part',
      JSON.stringify({ value: 'x', expires: Date.now() + 60_000 }),
    );

    const rejected: string[] = [];
    registry.on('rejected-record', (event) => rejected.push(event.key));
    const found = await registry.find('api');
    expect(found.instances.map((instance) => instance.id).sort()).toEqual([...live].sort());
    expect(rejected.sort()).toEqual(['mix:api:extra:part', 'mix:api:garbage-1', 'mix:api:garbage-2']);
    expect(found.rejected).toBe(3);
    // The expired rows went on the way, foreign rows stayed.
    expect(store.sweptRows).toBe(40);
    const count = (await adapter.query("SELECT COUNT(*) AS n FROM registry WHERE key LIKE 'sessions:%'")) as [
      { n: number },
    ];
    expect(count[0].n).toBe(20);
    const everything = await registry.find();
    expect(everything.instances).toHaveLength(30);
    expect(everything.rejected).toBe(4); // the three above and `API:upper`, whose value is no record
    await keyv.disconnect();
  });

  it('keeps a table bounded under churn: 1,000 register and kill cycles', async () => {
    const keyv = sqliteKeyv(folder.file('churn.sqlite'));
    const store = keyvStore({ keyv });
    const adapter = keyv.store as KeyvSqlite;
    const rows = async () =>
      ((await adapter.query('SELECT COUNT(*) AS n FROM registry')) as [{ n: number }])[0].n;
    const liveSet = 10;
    let most = 0;
    for (let cycle = 0; cycle < 1000; cycle += liveSet) {
      // Instances that crash: each written once with a 30 ms ttl, never deregistered, never listed by
      // anyone; only the registrations that follow clear them away.
      for (let pod = cycle; pod < cycle + liveSet; pod += 1) {
        await store.put({ namespace: 'churn', service: 'api', instanceId: `pod-${pod}` }, 'v', 30);
      }
      most = Math.max(most, await rows());
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    // At most: this round's live set, the last round's (expired, not yet met), two change tokens.
    expect(most).toBeLessThanOrEqual(2 * liveSet + 2);
    expect(store.sweptRows).toBeGreaterThanOrEqual(1000 - liveSet);
    await keyv.disconnect();
  }, 120_000);
});

describe('changeCount', () => {
  it('moves on every changed write and delete, not on routine refreshes, per service and per namespace', async () => {
    const store = keyvStore({ keyv: new Keyv({ namespace: 'registry' }) });
    const ref = { namespace: 'cc', service: 'api', instanceId: 'i-1' };
    const before = [
      await store.changeCount('cc'),
      await store.changeCount('cc', 'api'),
      await store.changeCount('cc', 'web'),
    ];
    await store.put(ref, 'v1', 60_000);
    const afterPut = [
      await store.changeCount('cc'),
      await store.changeCount('cc', 'api'),
      await store.changeCount('cc', 'web'),
    ];
    expect(afterPut[0]).not.toBe(before[0]);
    expect(afterPut[1]).not.toBe(before[1]);
    expect(afterPut[2]).toBe(before[2]);
    await store.put(ref, 'v1', 60_000, { changed: false });
    expect(await store.changeCount('cc', 'api')).toBe(afterPut[1]);
    await store.delete(ref);
    expect(await store.changeCount('cc', 'api')).not.toBe(afterPut[1]);
    expect(await store.list('cc')).toEqual([]);
  });
});
