import {
  isRegistryError,
  type KeyLayout,
  type RecordRef,
  type RegistryStore,
  type StoreCapabilities,
} from '@service-registry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { asciiValue, randomNamespace, sleep, WrittenRecords } from './helpers.js';

/** Options of `runStoreConformance`. */
export interface StoreConformanceOptions {
  /** Makes a store for the suite; the suite closes it. Called once per `describe` and for the close test. */
  createStore(): Promise<RegistryStore> | RegistryStore;
  /**
   * Capabilities the suite expects the store to declare. Default: whatever the store declares. With
   * `layouts`, the suite runs again on the view (`withLayout`) of every other layout listed.
   */
  capabilities?: Partial<StoreCapabilities>;
  /** A fresh namespace per test. Default `randomNamespace()`. */
  namespace?: () => string;
  /** Waits `ms` of store time: real sleep by default; a fake clock's `advance` for in-memory stores. */
  advanceTime?: (ms: number) => Promise<void>;
  /** TTL used in expiry tests, in ms. Default 300; at least a second in the apicrud layout (`EX`). */
  shortTtlMs?: number;
}

const LONG_TTL_MS = 60_000;

/**
 * The store contract, as vitest tests. Every store's test file calls this once with a factory; a
 * store that declares several key layouts is tested in each, through `withLayout`.
 */
export function runStoreConformance(label: string, options: StoreConformanceOptions): void {
  defineConformance(label, options);
  const own = options.capabilities?.layout ?? 'native';
  const layouts = options.capabilities?.layouts ?? [];
  for (const layout of layouts.filter((other) => other !== own)) {
    defineConformance(`${label}, ${layout} layout`, {
      ...options,
      createStore: async () => {
        const store = await options.createStore();
        if (typeof store.withLayout !== 'function') throw new Error(`${store.name} has no withLayout`);
        return store.withLayout(layout);
      },
      // The view's watch and expiry are its own; only its layout is known here.
      capabilities: { layout, layouts },
      // apicrud expires in whole seconds (`SET ... EX`), as Python apicrud writes.
      shortTtlMs:
        layout === 'apicrud' ? Math.ceil((options.shortTtlMs ?? 300) / 1000) * 1000 : options.shortTtlMs,
    });
  }
}

function defineConformance(label: string, options: StoreConformanceOptions): void {
  const nextNamespace = options.namespace ?? (() => randomNamespace('conf'));
  const advance = options.advanceTime ?? sleep;
  const shortTtl = options.shortTtlMs ?? 300;

  describe(`${label}: store conformance`, () => {
    let store: RegistryStore;
    let ns: string;
    const written = new WrittenRecords();
    const ref = (service: string, instanceId: string, namespace = ns): RecordRef =>
      written.add({ namespace, service, instanceId });
    const ids = (records: readonly RecordRef[]) =>
      records.map((record) => `${record.service}:${record.instanceId}`).sort();
    // The contract has no way to delete a snapshot: cleaning up overwrites each with a 1 ms ttl.
    const snapshots: [namespace: string, service: string][] = [];
    const putSnapshot = (service: string, value: string, ttlMs: number, namespace = ns) => {
      snapshots.push([namespace, service]);
      return (store.putSnapshot as NonNullable<RegistryStore['putSnapshot']>)(
        namespace,
        service,
        value,
        ttlMs,
      );
    };
    // A store may answer the value's bytes instead of its text (UTF-8, checked): the same value.
    const getSnapshot = async (service: string, namespace = ns) => {
      const value = await (store.getSnapshot as NonNullable<RegistryStore['getSnapshot']>)(
        namespace,
        service,
      );
      return value instanceof Uint8Array ? new TextDecoder('utf-8', { fatal: true }).decode(value) : value;
    };

    beforeAll(async () => {
      store = await options.createStore();
    });
    afterEach(async () => {
      await written.cleanUp(store);
      const overwrite = store.putSnapshot?.bind(store);
      if (overwrite)
        await Promise.allSettled(snapshots.map(([space, service]) => overwrite(space, service, '', 1)));
      snapshots.length = 0;
      ns = nextNamespace();
    });
    afterAll(async () => {
      await store.close();
    });
    ns = nextNamespace();

    it('declares its name and capabilities', () => {
      expect(typeof store.name).toBe('string');
      expect(typeof store.capabilities.watch).toBe('boolean');
      expect(typeof store.capabilities.nativeExpiry).toBe('boolean');
      for (const [capability, expected] of Object.entries(options.capabilities ?? {})) {
        expect(store.capabilities[capability as keyof StoreCapabilities], capability).toEqual(expected);
      }
      // A capability is either declared and implemented, or absent: never faked.
      expect(typeof store.watch === 'function').toBe(store.capabilities.watch);
      expect(typeof store.withLayout === 'function').toBe((store.capabilities.layouts?.length ?? 0) > 1);
    });

    it('switches key layouts through withLayout, and back', async () => {
      const own: KeyLayout = store.capabilities.layout ?? 'native';
      for (const layout of store.capabilities.layouts ?? []) {
        if (layout === own) continue;
        const view = (store.withLayout as (layout: KeyLayout) => RegistryStore)(layout);
        expect(view.capabilities.layout).toBe(layout);
        expect(view.capabilities.layouts).toEqual(store.capabilities.layouts);
        expect(view.withLayout?.(own).capabilities.layout ?? 'native').toBe(own);
        // Whether layouts share records is the store's business (Redis: no; memory: yes).
        const theirs = { namespace: ns, service: 'account', instanceId: `in-${layout}` };
        try {
          await view.put(theirs, layout, LONG_TTL_MS);
          expect(ids(await view.list(ns, 'account'))).toContain(`account:in-${layout}`);
        } finally {
          await view.delete(theirs);
        }
        expect(await view.list(ns, 'account')).toEqual([]);
      }
    });

    it('lists nothing in an empty namespace', async () => {
      expect(await store.list(ns)).toEqual([]);
      expect(await store.list(ns, 'nothing')).toEqual([]);
    });

    it('puts and lists a record with its identity and value', async () => {
      await store.put(ref('account', 'i-1'), 'value-1', LONG_TTL_MS);
      expect(await store.list(ns, 'account')).toEqual([
        { namespace: ns, service: 'account', instanceId: 'i-1', value: 'value-1' },
      ]);
    });

    it('upserts: a second put replaces the value', async () => {
      await store.put(ref('account', 'i-1'), 'first', LONG_TTL_MS);
      await store.put(ref('account', 'i-1'), 'second', LONG_TTL_MS);
      const records = await store.list(ns, 'account');
      expect(records.map((record) => record.value)).toEqual(['second']);
    });

    it('lists one service, or every service of the namespace', async () => {
      await store.put(ref('account', 'a-1'), 'v', LONG_TTL_MS);
      await store.put(ref('account', 'a-2'), 'v', LONG_TTL_MS);
      await store.put(ref('billing', 'b-1'), 'v', LONG_TTL_MS);
      await store.put(ref('accounts', 'c-1'), 'v', LONG_TTL_MS);
      expect(ids(await store.list(ns, 'account'))).toEqual(['account:a-1', 'account:a-2']);
      expect(ids(await store.list(ns, 'billing'))).toEqual(['billing:b-1']);
      expect(ids(await store.list(ns))).toEqual([
        'account:a-1',
        'account:a-2',
        'accounts:c-1',
        'billing:b-1',
      ]);
    });

    it('keeps namespaces apart', async () => {
      const other = nextNamespace();
      await store.put(ref('account', 'i-1'), 'mine', LONG_TTL_MS);
      await store.put(ref('account', 'i-1', other), 'theirs', LONG_TTL_MS);
      expect((await store.list(ns)).map((record) => record.value)).toEqual(['mine']);
      await store.delete({ namespace: other, service: 'account', instanceId: 'i-1' });
      expect((await store.list(ns)).map((record) => record.value)).toEqual(['mine']);
      expect(await store.list(other)).toEqual([]);
    });

    it('keeps names with dots, dashes, @ and non-ASCII letters exactly', async () => {
      await store.put(ref('svc.v2-beta', 'pod-7f9c.zone-a@node_3'), 'v', LONG_TTL_MS);
      await store.put(ref('dienst-ü', 'instanz-ß'), 'v', LONG_TTL_MS);
      expect(ids(await store.list(ns))).toEqual(['dienst-ü:instanz-ß', 'svc.v2-beta:pod-7f9c.zone-a@node_3']);
    });

    it('deletes, and deleting a missing record is not an error', async () => {
      await store.put(ref('account', 'i-1'), 'v', LONG_TTL_MS);
      await store.put(ref('account', 'i-2'), 'v', LONG_TTL_MS);
      await store.delete({ namespace: ns, service: 'account', instanceId: 'i-1' });
      expect(ids(await store.list(ns))).toEqual(['account:i-2']);
      await store.delete({ namespace: ns, service: 'account', instanceId: 'i-1' });
      await store.delete({ namespace: ns, service: 'never', instanceId: 'written' });
      expect(ids(await store.list(ns))).toEqual(['account:i-2']);
    });

    it('keeps values byte for byte, up to 64 KiB', async () => {
      const printable = Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index)).join('');
      const values = [printable, asciiValue(64 * 1024), `g1.AbCdEf12.${asciiValue(500, 7)}`, 'ünïcode ✓ 🚀'];
      await Promise.all(
        values.map((value, index) => store.put(ref('bytes', `v-${index}`), value, LONG_TTL_MS)),
      );
      const records = await store.list(ns, 'bytes');
      const byId = new Map(records.map((record) => [record.instanceId, record.value]));
      values.forEach((value, index) => {
        expect(byId.get(`v-${index}`)?.length, `value ${index}`).toBe(value.length);
        expect(byId.get(`v-${index}`) === value, `value ${index} identical`).toBe(true);
      });
    });

    it('lists every one of 100 concurrent writers', async () => {
      await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          store.put(ref('fleet', `i-${index}`), `v-${index}`, LONG_TTL_MS),
        ),
      );
      const records = await store.list(ns, 'fleet');
      expect(records).toHaveLength(100);
      expect(new Set(records.map((record) => record.value)).size).toBe(100);
    });

    describe.runIf(options.capabilities?.nativeExpiry ?? true)('expiry', () => {
      it('a record vanishes after its ttl', async () => {
        await store.put(ref('short', 'i-1'), 'v', shortTtl);
        await store.put(ref('short', 'i-2'), 'v', LONG_TTL_MS);
        expect(ids(await store.list(ns, 'short'))).toEqual(['short:i-1', 'short:i-2']);
        await advance(shortTtl * 2);
        expect(ids(await store.list(ns, 'short'))).toEqual(['short:i-2']);
        expect(ids(await store.list(ns))).toEqual(['short:i-2']);
      });

      it('a refresh extends the ttl', async () => {
        await store.put(ref('short', 'i-1'), 'v1', shortTtl);
        await advance(shortTtl * 0.6);
        await store.put(ref('short', 'i-1'), 'v2', shortTtl);
        await advance(shortTtl * 0.6);
        expect((await store.list(ns, 'short')).map((record) => record.value)).toEqual(['v2']);
        await advance(shortTtl * 1.2);
        expect(await store.list(ns, 'short')).toEqual([]);
      });
    });

    describe('change counter and probe (when declared)', () => {
      it('declares them honestly', () => {
        expect(typeof store.changeCount === 'function').toBe(store.capabilities.changeCount === true);
        expect(typeof store.probe === 'function').toBe(store.capabilities.probe === true);
      });

      it('changeCount moves on a join, a changed write and a delete, not on a routine refresh', async () => {
        if (!store.capabilities.changeCount || !store.changeCount) return;
        const count = store.changeCount.bind(store);
        const target = ref('counted', 'i-1');
        const before = [await count(ns), await count(ns, 'counted'), await count(ns, 'other')];
        await store.put(target, 'v1', LONG_TTL_MS);
        const joined = [await count(ns), await count(ns, 'counted'), await count(ns, 'other')];
        expect(joined[0]).not.toBe(before[0]);
        expect(joined[1]).not.toBe(before[1]);
        expect(joined[2]).toBe(before[2]);
        await store.put(target, 'v1', LONG_TTL_MS, { changed: false });
        expect(await count(ns, 'counted')).toBe(joined[1]);
        expect(await count(ns)).toBe(joined[0]);
        await store.put(target, 'v2', LONG_TTL_MS);
        const changed = await count(ns, 'counted');
        expect(changed).not.toBe(joined[1]);
        await store.delete(target);
        expect(await count(ns, 'counted')).not.toBe(changed);
        expect(typeof (await count(nextNamespace(), 'never-written'))).toBe('number');
      });

      it('probe answers count, counter and the records expiring within the horizon, in order', async () => {
        if (!store.capabilities.probe || !store.probe) return;
        await store.put(ref('probed', 'long'), 'v', LONG_TTL_MS);
        await store.put(ref('probed', 'soon'), 'v', 5_000);
        await store.put(ref('probed', 'sooner'), 'v', 3_000);
        const [probed, empty] = await store.probe(ns, ['probed', 'nothing-here'], 10_000);
        expect(probed?.service).toBe('probed');
        expect(probed?.count).toBe(3);
        expect(probed?.expiring.map((entry) => entry.instanceId)).toEqual(['sooner', 'soon']);
        const [sooner, soon] = probed?.expiring ?? [];
        expect(sooner?.expiresInMs).toBeGreaterThan(1_000);
        expect(sooner?.expiresInMs).toBeLessThanOrEqual(3_000);
        expect(soon?.expiresInMs).toBeLessThanOrEqual(5_000);
        expect(empty).toMatchObject({ service: 'nothing-here', count: 0, expiring: [] });
        if (store.changeCount) expect(probed?.changes).toBe(await store.changeCount(ns, 'probed'));
        await store.delete({ namespace: ns, service: 'probed', instanceId: 'soon' });
        const [after] = await store.probe(ns, ['probed'], 10_000);
        expect(after?.count).toBe(2);
        expect(after?.changes).not.toBe(probed?.changes);
      });
    });

    // One opaque value per service beside its records (core's sealed snapshot of what a reader
    // decoded): declared by native layouts only, and invisible to everything that reads records.
    describe('snapshot (when declared)', () => {
      const declared = () => store.capabilities.snapshot === true;

      it('declares it honestly, and only in the native layout', () => {
        expect(typeof store.getSnapshot === 'function').toBe(declared());
        expect(typeof store.putSnapshot === 'function').toBe(declared());
        if ((store.capabilities.layout ?? 'native') !== 'native')
          expect(store.capabilities.snapshot).not.toBe(true);
        for (const layout of store.capabilities.layouts ?? []) {
          if (layout === 'native' || layout === store.capabilities.layout) continue;
          const view = (store.withLayout as (layout: KeyLayout) => RegistryStore)(layout);
          expect(view.capabilities.snapshot, `${layout} view`).not.toBe(true);
          expect(view.getSnapshot, `${layout} view`).toBeUndefined();
          expect(view.putSnapshot, `${layout} view`).toBeUndefined();
        }
      });

      it('reads null before the first put, then exactly what was put; a put replaces it', async () => {
        if (!declared()) return;
        expect(await getSnapshot('account')).toBeNull();
        // The size of a sealed snapshot of a service of a few thousand instances.
        const large = asciiValue(1024 * 1024, 11);
        await putSnapshot('account', large, LONG_TTL_MS);
        const read = await getSnapshot('account');
        expect(read?.length).toBe(large.length);
        expect(read === large, 'identical').toBe(true);
        await putSnapshot('account', 's1.short', LONG_TTL_MS);
        expect(await getSnapshot('account')).toBe('s1.short');
      });

      it('keeps services and namespaces apart', async () => {
        if (!declared()) return;
        const other = nextNamespace();
        await putSnapshot('account', 'mine', LONG_TTL_MS);
        expect(await getSnapshot('accounts')).toBeNull();
        expect(await getSnapshot('billing')).toBeNull();
        expect(await getSnapshot('account', other)).toBeNull();
        await putSnapshot('account', 'theirs', LONG_TTL_MS, other);
        expect(await getSnapshot('account')).toBe('mine');
        expect(await getSnapshot('account', other)).toBe('theirs');
      });

      it('vanishes after its ttl', async () => {
        if (!declared()) return;
        await putSnapshot('short', 'v', shortTtl);
        await putSnapshot('long', 'v', LONG_TTL_MS);
        expect(await getSnapshot('short')).toBe('v');
        await advance(shortTtl * 2);
        expect(await getSnapshot('short')).toBeNull();
        expect(await getSnapshot('long')).toBe('v');
      });

      it('is no record: list, probe, change counters and notices never see it', async () => {
        if (!declared()) return;
        const target = ref('account', 'i-1');
        await store.put(target, 'record', LONG_TTL_MS);
        const records = await store.list(ns);
        const counters = store.changeCount
          ? [await store.changeCount(ns), await store.changeCount(ns, 'account')]
          : [];
        const probes = store.probe ? await store.probe(ns, ['account', 'lonely'], 10_000) : [];
        const seen: string[] = [];
        const stop = await store.watch?.(ns, (service) => seen.push(service));
        try {
          await putSnapshot('account', 'snapshot', LONG_TTL_MS);
          await putSnapshot('account', 'replaced', LONG_TTL_MS);
          // A service with a snapshot and no record is no service of the directory.
          await putSnapshot('lonely', 'snapshot', LONG_TTL_MS);
          expect(await store.list(ns)).toEqual(records);
          expect(await store.list(ns, 'account')).toEqual(records);
          expect(await store.list(ns, 'lonely')).toEqual([]);
          if (store.changeCount) {
            expect([await store.changeCount(ns), await store.changeCount(ns, 'account')]).toEqual(counters);
          }
          if (store.probe) expect(await store.probe(ns, ['account', 'lonely'], 10_000)).toEqual(probes);
          if (stop) {
            // Notices of one namespace arrive in order: once this write's is in, none of the above came.
            await store.put(ref('marker', 'i-1'), 'v', LONG_TTL_MS);
            for (let waited = 0; seen.length < 1 && waited < 2000; waited += 20) await sleep(20);
            expect(seen).toEqual(['marker']);
          }
        } finally {
          await stop?.();
        }
      });
    });

    describe.runIf(options.capabilities?.watch ?? true)('watch', () => {
      it('notifies writes and deletes of the namespace, and stops when asked', async () => {
        if (!store.capabilities.watch || !store.watch) return expect(store.watch).toBeUndefined();
        const seen: string[] = [];
        const stop = await store.watch(ns, (service) => seen.push(service));
        await store.put(ref('watched', 'i-1'), 'v', LONG_TTL_MS);
        await store.put(ref('other', 'i-1', nextNamespace()), 'v', LONG_TTL_MS);
        await store.delete({ namespace: ns, service: 'watched', instanceId: 'i-1' });
        for (let waited = 0; seen.length < 2 && waited < 2000; waited += 20) await sleep(20);
        expect(seen).toEqual(['watched', 'watched']);
        await stop();
        await store.put(ref('watched', 'i-2'), 'v', LONG_TTL_MS);
        await sleep(100);
        expect(seen).toHaveLength(2);
      });
    });

    // Optional capabilities of the write side: declared means it works; undeclared means absent.
    it('time(), where declared, is the store clock in ms and moves with it', async () => {
      if (store.capabilities.time !== true) {
        expect(
          store.capabilities.time === undefined ||
            typeof store.time !== 'function' ||
            store.capabilities.time === false,
        ).toBe(true);
        return;
      }
      const first = await (store.time as () => Promise<number>)();
      expect(Number.isFinite(first)).toBe(true);
      expect(first).toBeGreaterThan(Date.parse('2020-01-01'));
      await advance(50);
      const second = await (store.time as () => Promise<number>)();
      expect(second - first).toBeGreaterThanOrEqual(40);
    });

    it('get(), where declared, reads one live record, null when missing, deleted or expired', async () => {
      if (store.capabilities.get !== true) return;
      const get = (target: RecordRef) => (store.get as (ref: RecordRef) => Promise<string | null>)(target);
      const target = ref('account', 'i-1');
      expect(await get(target)).toBeNull();
      const value = asciiValue(300, 7);
      await store.put(target, value, LONG_TTL_MS);
      expect(await get(target)).toBe(value);
      expect(await get(ref('account', 'i-2'))).toBeNull();
      await store.delete(target);
      expect(await get(target)).toBeNull();
      const short = ref('account', 'short');
      await store.put(short, 'v', shortTtl);
      await advance(shortTtl + 100);
      expect(await get(short)).toBeNull();
    });

    it('put with expectPrevious, where declared, compares what the key held in the same step', async () => {
      if (store.capabilities.comparePrevious !== true) return;
      const put = (target: RecordRef, value: string, expectPrevious: string, ttl = LONG_TTL_MS) =>
        store.put(target, value, ttl, { expectPrevious });
      const target = ref('account', 'i-1');
      // Nothing there, or what this writer wrote (its prefix): matched, and no value comes back.
      expect(await put(target, 'g1.mine-1.first', 'g1.mine-0')).toEqual({ matched: true });
      expect(await put(target, 'g1.mine-2.second', 'g1.mine-1')).toEqual({ matched: true });
      const theirs = `theirs-ü-${asciiValue(2000, 3)}`;
      await store.put(target, theirs, LONG_TTL_MS);
      expect(await put(target, 'g1.mine-3.third', 'g1.mine-2')).toEqual({ matched: false, previous: theirs });
      expect(ids(await store.list(ns, 'account'))).toEqual(['account:i-1']);
      expect((await store.list(ns, 'account'))[0]?.value).toBe('g1.mine-3.third');
      // Without expectPrevious nothing is compared; an expired record counts as none.
      expect(await store.put(target, 'plain', LONG_TTL_MS)).toBeUndefined();
      const short = ref('account', 'short');
      await store.put(short, 'old', shortTtl);
      await advance(shortTtl + 100);
      expect(await put(short, 'new', 'g1.mine')).toEqual({ matched: true });
    });
  });

  describe(`${label}: after close`, () => {
    it('every call rejects with a store-closed RegistryError, and close is idempotent', async () => {
      const store = await options.createStore();
      await store.close();
      await store.close();
      const target = { namespace: nextNamespace(), service: 'account', instanceId: 'i-1' };
      const { getSnapshot, putSnapshot } = store;
      for (const call of [
        () => store.put(target, 'v', 1000),
        () => store.delete(target),
        () => store.list('ns'),
        ...(getSnapshot && putSnapshot
          ? [
              () => getSnapshot.call(store, target.namespace, target.service),
              () => putSnapshot.call(store, target.namespace, target.service, 'v', 1000),
            ]
          : []),
      ]) {
        const error = await call().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(isRegistryError(error, 'store-closed'), String(error)).toBe(true);
      }
    });
  });
}
