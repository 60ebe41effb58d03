import {
  createDiscovery,
  type DiscoveryEvents,
  type DiscoveryView,
  isRegistryError,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
} from '@service-registry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomNamespace, sleep, waitFor } from './helpers.js';
import { SECRET } from './scenarios.js';

/** Options of `runDiscoveryConformance`. */
export interface DiscoveryConformanceOptions {
  /** Makes the store the tests share; closed after them. */
  createStore(): Promise<RegistryStore> | RegistryStore;
  /**
   * Empties the namespace as a restart without persistence or `FLUSHALL` would. Given, the guard is
   * tested. Never pass one that flushes a server other tests share: delete the namespace's keys.
   */
  flush?: (namespace: string) => Promise<void>;
  /** `flush` empties everything in one step (not key by key), so the guard must be seen to hold. */
  flushIsAtomic?: boolean;
  /** Seconds between polls for stores that cannot push. Default 0.2. */
  pollInterval?: number;
}

const TTL = 1.2;
const INTERVAL = 0.3;
/** How long a change may take to reach a view: a notice or a poll, on 2 busy cores. */
const PROPAGATION_MS = 3_000;

type Recorded = { [E in keyof DiscoveryEvents]?: DiscoveryEvents[E][] };

/** The discovery view's contract on a real store: loading, notices, expiry, picking, guard, bad input. */
export function runDiscoveryConformance(label: string, options: DiscoveryConformanceOptions): void {
  describe(`${label}: discovery view`, () => {
    let store: RegistryStore;
    let namespace: string;
    const registries: ServiceRegistry[] = [];
    const views: DiscoveryView[] = [];
    const pollInterval = options.pollInterval ?? 0.2;

    const registry = (publicUrl: string, overrides: Partial<RegistryOptions> = {}): ServiceRegistry => {
      const created = new ServiceRegistry({
        store,
        secret: SECRET,
        publicUrl,
        namespace,
        ttl: TTL,
        interval: INTERVAL,
        ...overrides,
      });
      registries.push(created);
      return created;
    };
    const start = async (
      service: string,
      id: string,
      endpoints: string[],
      extra: { status?: 'up' | 'draining' | 'down'; url?: string } = {},
    ) => {
      const created = registry(extra.url ?? `http://${id}.test`);
      await created.register(endpoints, {
        serviceName: service,
        instanceId: id,
        port: 8080,
        status: extra.status,
      });
      return created;
    };
    const view = (services?: string[]): { view: DiscoveryView; events: Recorded } => {
      const created = createDiscovery({
        store,
        secret: SECRET,
        namespace,
        ttl: TTL,
        interval: INTERVAL,
        pollInterval,
        ...(services ? { services } : {}),
      });
      views.push(created);
      const events: Recorded = {};
      for (const name of ['added', 'removed', 'updated', 'guarded', 'stale', 'fresh'] as const) {
        const record = (payload: unknown): void => {
          const list = (events[name] ?? []) as unknown[];
          events[name] = list as never;
          list.push(payload);
        };
        created.on(name, record);
      }
      return { view: created, events };
    };
    const ids = (discovery: DiscoveryView, service: string) =>
      discovery.instances(service).map((item) => item.id);

    beforeAll(async () => {
      store = await options.createStore();
    });
    afterEach(async () => {
      await Promise.allSettled(views.splice(0).map((item) => item.close()));
      await Promise.allSettled(registries.splice(0).map((item) => item.close()));
      namespace = randomNamespace('disc');
    });
    afterAll(async () => {
      await store.close();
    });
    namespace = randomNamespace('disc');

    it('loads, then answers synchronously: instances, services, url map, resolve (up only), snapshot', async () => {
      await start('api', 'a-1', ['users']);
      await start('api', 'a-2', ['users', 'orders'], { status: 'draining', url: 'http://other.test' });
      await start('web', 'w-1', ['pages'], { status: 'down' });
      const { view: discovery } = view();
      await discovery.ready;
      expect(ids(discovery, 'api')).toEqual(['a-1', 'a-2']);
      expect(discovery.instances('api', { status: 'up' }).map((item) => item.id)).toEqual(['a-1']);
      expect(discovery.instances('api', { status: ['draining', 'down'] }).map((item) => item.id)).toEqual([
        'a-2',
      ]);
      expect(discovery.instances('nothing')).toEqual([]);
      expect(discovery.services()).toEqual(['api', 'web']);
      expect(discovery.resolve('users')).toBe('http://a-1.test');
      // A draining or down instance never wins, even alone.
      expect(discovery.resolve('orders')).toBeUndefined();
      expect(discovery.resolve('pages')).toBeUndefined();
      expect(discovery.resolve('constructor')).toBeUndefined();
      expect(discovery.urlMap()).toEqual({ users: 'http://a-1.test' });
      const snapshot = discovery.snapshot();
      expect(snapshot.instances.map((item) => `${item.name}:${item.id}`)).toEqual([
        'api:a-1',
        'api:a-2',
        'web:w-1',
      ]);
      expect(snapshot).toMatchObject({ stale: false, ageMs: 0, guarded: [], conflicts: [] });
      expect(snapshot.updatedAt).toBeTypeOf('number');
      expect(discovery.stats().storeReads).toBeGreaterThan(0);
    });

    it('follows joins, changes and deregistrations; a crashed instance leaves at its expiry', async () => {
      await start('api', 'a-1', ['users']);
      const { view: discovery, events } = view(['api']);
      await discovery.ready;
      const joined = await start('api', 'a-2', ['users']);
      await waitFor(() => ids(discovery, 'api').length === 2, PROPAGATION_MS);
      await joined.setStatus('draining');
      await waitFor(() => discovery.instances('api', { status: 'up' }).length === 1, PROPAGATION_MS);
      expect(events.updated?.[0]?.previous.status).toBe('up');
      const version = discovery.version;
      await joined.close();
      await waitFor(() => ids(discovery, 'api').length === 1, PROPAGATION_MS);
      expect(discovery.version).toBeGreaterThan(version);
      expect(events.removed?.map((item) => [item.instance.id, item.reason])).toEqual([
        ['a-2', 'deregistered'],
      ]);

      const crashed = await start('api', 'a-3', ['users']);
      await waitFor(() => ids(discovery, 'api').length === 2, PROPAGATION_MS);
      const expiresAt = discovery.instances('api').find((item) => item.id === 'a-3')?.expiresAt as number;
      await crashed.close({ deregister: false });
      await waitFor(() => ids(discovery, 'api').length === 1, TTL * 1000 + PROPAGATION_MS);
      // Gone at its expiry (give or take a probe's lead), not a ttl later; refreshed ones stay.
      expect(Date.now()).toBeLessThan(expiresAt + TTL * 1000 + 1000);
      expect(events.removed?.at(-1)).toMatchObject({ reason: 'expired' });
      await sleep(TTL * 1000 * 2);
      expect(ids(discovery, 'api')).toEqual(['a-1']);
    });

    it('instances carry the deadline the view holds: past the expiry first read, a live one shows a later one', async () => {
      await start('api', 'a-1', ['users']);
      const { view: discovery, events } = view(['api']);
      await discovery.ready;
      const first = discovery.instances('api')[0]?.expiresAt as number;
      expect(first).toBeTypeOf('number');
      const version = discovery.snapshot().version;
      // Past the record's expiry as first read: the view learned the refreshes (a probe of the store's
      // index, or a re-read where the store has none) and the instance it hands out says so.
      await sleep(TTL * 1000 + 600);
      const [held] = discovery.instances('api');
      const now = Date.now();
      expect(held?.expiresAt).toBeGreaterThan(first);
      // In the store's clock, as records write it (one machine here): not passed, at most a ttl ahead.
      expect(held?.expiresAt).toBeGreaterThan(now - 500);
      expect(held?.expiresAt).toBeLessThanOrEqual(now + TTL * 1000 + 500);
      expect(discovery.snapshot().instances[0]?.expiresAt).toBe(held?.expiresAt);
      expect(discovery.snapshot().version).toBe(version);
      // A routine refresh is no change of content.
      expect(events.updated ?? []).toEqual([]);
      expect(events.removed ?? []).toEqual([]);
    });

    it('picks up instances only: round-robin, random, least-outstanding, hash (sticky and stable)', async () => {
      await start('api', 'a-1', ['users']);
      await start('api', 'a-2', ['users']);
      await start('api', 'a-3', ['users']);
      await start('api', 'a-4', ['users'], { status: 'draining' });
      const { view: discovery } = view(['api']);
      await discovery.ready;
      const rounds = Array.from({ length: 6 }, () => discovery.pick('api').id);
      expect(new Set(rounds)).toEqual(new Set(['a-1', 'a-2', 'a-3']));
      expect(rounds.slice(0, 3)).toEqual(rounds.slice(3));
      for (let index = 0; index < 30; index++)
        expect(['a-1', 'a-2', 'a-3']).toContain(discovery.pick('api', { strategy: 'random' }).id);
      const busy = discovery.lease('api', { strategy: 'least-outstanding' });
      const busier = Array.from({ length: 5 }, () => discovery.lease('api', { strategy: 'hash', key: 'k' }));
      for (let index = 0; index < 20; index++) {
        const picked = discovery.pick('api', { strategy: 'least-outstanding' });
        expect(picked.id === busier[0]?.instance.id && picked.id !== busy.instance.id).toBe(false);
      }
      for (const lease of [busy, ...busier]) {
        lease.release();
        lease.release();
      }
      const keys = Array.from({ length: 200 }, (_, index) => `user-${index}`);
      const owners = keys.map((key) => discovery.pick('api', { strategy: 'hash', key }).id);
      expect(keys.map((key) => discovery.pick('api', { strategy: 'hash', key }).id)).toEqual(owners);
      await start('api', 'a-5', ['users']);
      await waitFor(() => discovery.instances('api', { status: 'up' }).length === 4, PROPAGATION_MS);
      const after = keys.map((key) => discovery.pick('api', { strategy: 'hash', key }).id);
      const moved = after.filter((owner, index) => owner !== owners[index]);
      // Only keys that the newcomer now owns move (about a quarter), never between old instances.
      expect(moved.every((owner) => owner === 'a-5')).toBe(true);
      expect(moved.length).toBeLessThan(keys.length / 2);
      await expect(
        discovery.withInstance('api', () => {
          throw new Error('call failed');
        }),
      ).rejects.toThrow('call failed');
      expect(await discovery.withInstance('api', (instance) => instance.id)).toMatch(/^a-/);
      expect(() => discovery.pick('nothing')).toThrow(expect.objectContaining({ code: 'no-instance' }));
    });

    it('changed() resolves on the next change, at once when behind, and on abort', async () => {
      const { view: discovery } = view(['api']);
      await discovery.ready;
      const version = discovery.version;
      expect(await discovery.changed(version - 1)).toBe(version);
      const controller = new AbortController();
      const aborted = discovery.changed(version, controller.signal);
      controller.abort();
      expect(await aborted).toBe(version);
      const next = discovery.changed(version);
      await start('api', 'a-1', ['users']);
      expect(await next).toBeGreaterThan(version);
    });

    it('refuses bad input with RegistryError codes', async () => {
      const { view: discovery } = view(['api']);
      await discovery.ready;
      const code = (run: () => unknown): string | undefined => {
        try {
          run();
        } catch (error) {
          return isRegistryError(error) ? error.code : `not a RegistryError: ${String(error)}`;
        }
        return undefined;
      };
      const bad = discovery as unknown as Record<string, (...args: unknown[]) => unknown>;
      expect(code(() => bad.pick?.('api', { strategy: 'fastest' }))).toBe('invalid-argument');
      expect(code(() => bad.pick?.('api', { strategy: 'hash' }))).toBe('invalid-argument');
      expect(code(() => bad.pick?.('api', { colour: 'red' }))).toBe('invalid-argument');
      expect(code(() => bad.pick?.('api', 'round-robin'))).toBe('invalid-argument');
      expect(code(() => bad.instances?.('a:b'))).toBe('invalid-name');
      expect(code(() => bad.instances?.(42))).toBe('invalid-name');
      expect(code(() => bad.instances?.('api', { status: 'sleeping' }))).toBe('invalid-argument');
      expect(code(() => bad.resolve?.(null))).toBe('invalid-argument');
      expect(code(() => bad.on?.('explode', () => {}))).toBe('invalid-argument');
      expect(code(() => bad.on?.('added', 'not a function'))).toBe('invalid-argument');
      expect(code(() => bad.changed?.('1'))).toBe('invalid-argument');
      const create = (extra: Record<string, unknown>) =>
        code(() => createDiscovery({ store, secret: SECRET, namespace, ...extra } as never));
      expect(create({ services: 'api' })).toBe('invalid-argument');
      expect(create({ services: [] })).toBe('invalid-argument');
      expect(create({ services: ['a b'] })).toBe('invalid-name');
      expect(create({ guardShare: 2 })).toBe('invalid-argument');
      expect(create({ maxStaleness: -1 })).toBe('invalid-argument');
      expect(create({ pollInterval: 'fast' })).toBe('invalid-argument');
      expect(create({ colour: 'red' })).toBe('invalid-argument');
      expect(create({ secret: 'short' })).toBe('invalid-secret');
      const owner = registry('http://owner.test');
      expect(code(() => owner.discovery({ service: 'api' } as never))).toBe('invalid-argument');
      expect(code(() => owner.discovery([] as never))).toBe('invalid-argument');
    });

    it('closes idempotently; a registry closes its views; ready rejects when closed first', async () => {
      const owner = registry('http://owner.test');
      const owned = owner.discovery({ services: ['api'] });
      await owned.ready;
      await owner.close();
      expect(owned.snapshot().instances).toEqual([]);
      const early = createDiscovery({ store, secret: SECRET, namespace });
      await early.close();
      await early.close();
      await expect(early.ready).rejects.toMatchObject({ code: 'invalid-state' });
    });

    it('a burst of deregistrations is no restart: all removed as deregistered, nothing held', async () => {
      const fleet = [];
      for (const id of ['a-1', 'a-2', 'a-3', 'a-4', 'a-5']) fleet.push(await start('api', id, ['users']));
      const { view: discovery, events } = view();
      await discovery.ready;
      // Once the view has asked the store about the service's expiries (its first probe), it knows
      // the change counter the deletions will move.
      await waitFor(
        () => (store.capabilities.probe ? discovery.stats().probes : discovery.stats().storeReads) >= 2,
        TTL * 1000 + PROPAGATION_MS,
      );
      await sleep(INTERVAL * 1000);
      // Four of five leave at once (a fleet stopped together): a re-read sees most of them gone at once.
      await Promise.all(fleet.slice(1).map((item) => item.close()));
      await waitFor(() => ids(discovery, 'api').length === 1, PROPAGATION_MS);
      expect(events.removed?.map((item) => item.reason)).toEqual(Array(4).fill('deregistered'));
      expect(events.guarded ?? []).toEqual([]);
    });

    it.runIf(options.flush !== undefined)(
      'holds the fleet through a flushed store: no removed storm, guarded, current again',
      async () => {
        for (const id of ['a-1', 'a-2', 'a-3', 'a-4']) await start('api', id, ['users']);
        const leaving = await start('api', 'a-5', ['users']);
        const { view: discovery, events } = view();
        await discovery.ready;
        await leaving.close();
        await waitFor(() => ids(discovery, 'api').length === 4, PROPAGATION_MS);
        expect(events.removed?.map((item) => item.reason)).toEqual(['deregistered']);
        let missing = 0;
        const watching = setInterval(() => {
          if (ids(discovery, 'api').length < 4) missing++;
        }, 5);
        await options.flush?.(namespace);
        await sleep(INTERVAL * 1000 * 4);
        clearInterval(watching);
        expect(missing).toBe(0);
        expect(events.removed).toHaveLength(1);
        expect(ids(discovery, 'api')).toEqual(['a-1', 'a-2', 'a-3', 'a-4']);
        // A store that pushes notices told the view of the first rejoin: it saw the hole and held.
        if (store.capabilities.watch && options.flushIsAtomic)
          expect(events.guarded?.length ?? 0).toBeGreaterThan(0);
        await waitFor(() => discovery.snapshot().guarded.length === 0, PROPAGATION_MS);
      },
    );
  });
}
